"""ktrdump: decode ktr trace files into text, JSON Lines and viewer formats.

Never imports the recorder (``ktr``); reads only through ``formats``.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"
