"""``python -m ktr``: the same as the ``ktr`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
