"""``python -m ktrdump``, and the ``ktrdump`` console script (``ktrdump.__main__:main``).

Guarantees: Ctrl-C at any point of the start-up this module sees (the
reader's imports included, which take most of it) ends the command quietly
with status 130, as a Ctrl-C later does, never a traceback. The handler for it
is installed before anything else is imported, and only when SIGINT has
Python's default handler (a command started with SIGINT ignored keeps
ignoring it); ``ktrdump.cli`` hands Ctrl-C back to ``KeyboardInterrupt`` once
its ``main`` can report it; a Ctrl-C while this file's own first lines run,
before its handler is in, ends it the same way. What runs before this file
(the interpreter's own start-up, ``site``, the console script's ``import re``,
finding and loading the package, which imports nothing, and this file) is out
of its reach: there Ctrl-C prints Python's traceback (about as long as
``ktr``'s, see ``ktr.__main__``).

Importing this module is starting the command: nothing else should import it.
"""

# Every line up to the handler's installation is in this ``try``: a Ctrl-C while
# they run meets Python's default handler, whose KeyboardInterrupt ends the command
# here as the handler would (it printed a traceback).
try:
    # signal's C half, which the interpreter loaded at its start: signal.py itself
    # would take 2 ms (it builds its enums) before the handler is in place.
    import _signal  # type: ignore[import-not-found]
    import os

    class _InterruptedWhileStarting:
        """SIGINT's handler while the command starts: nothing is open or under way yet,
        so the process just ends (a KeyboardInterrupt would unwind through half-run
        imports)."""

        ktrdump_start_up = True  # what ``ktrdump.cli`` recognises it by

        def __call__(self, signo: int, frame: object) -> None:
            os._exit(130)

    if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
        _signal.signal(_signal.SIGINT, _InterruptedWhileStarting())
except KeyboardInterrupt:
    import os

    os._exit(130)

import sys  # (after the handler, as everything)

from .cli import main  # (the long part)

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
