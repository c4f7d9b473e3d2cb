"""ktr: ktrace for Linux — the recorder.

Attaches to processes with ptrace (or starts one), turns what they do into
trace records and writes them through a bounded per-output queue and a writer
thread. ``ktrdump`` reads what it writes; ``formats`` defines the bytes.
"""

from __future__ import annotations

__version__ = "0.1.0.dev0"

from ._utrace import utrace

__all__ = ["__version__", "utrace"]
