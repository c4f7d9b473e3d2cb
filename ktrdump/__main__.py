"""``python -m ktrdump``, and the ``ktrdump`` console script (``ktrdump.__main__:main``).

Guarantees: Ctrl-C at any point of the start-up this module sees (the
reader's imports included, which take most of it) ends the command quietly
with status 130, as a Ctrl-C later does, never a traceback. The handler for it
is installed before anything else is imported, and only when SIGINT has
Python's default handler (a command started with SIGINT ignored keeps
ignoring it); ``ktrdump.cli`` hands Ctrl-C back to ``KeyboardInterrupt`` once
its ``main`` can report it. What runs before this file (the interpreter's own
start-up, ``site``, the package's ``__init__``, which imports nothing) is out
of its reach.

Importing this module is starting the command: nothing else should import it.
"""

# signal's C half, which the interpreter loaded at its start: signal.py itself
# would take 2 ms (it builds its enums) before the handler is in place.
import _signal  # type: ignore[import-not-found]
import os


class _InterruptedWhileStarting:
    """SIGINT's handler while the command starts: nothing is open or under way yet,
    so the process just ends (a KeyboardInterrupt would unwind through half-run imports)."""

    ktrdump_start_up = True  # what ``ktrdump.cli`` recognises it by

    def __call__(self, signo: int, frame: object) -> None:
        os._exit(130)


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _InterruptedWhileStarting())

import sys  # noqa: E402  (after the handler, as everything)

from .cli import main  # noqa: E402  (the long part)

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
