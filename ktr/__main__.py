"""``python -m ktr``: the same as the ``ktr`` command."""

import sys

from .cli import main

sys.exit(main())
