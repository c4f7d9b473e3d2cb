"""``python -m ktr``, and the ``ktr`` console script (``ktr.__main__:run``): the ``ktr`` command.

Guarantees: Ctrl-C at any point of the start-up this module sees (the
recorder's imports included, which take most of it) ends the command with
one line, ``ktr: interrupted``, and status 130, never a traceback. The handler
for it is installed before anything else is imported, and only when SIGINT
has Python's default handler (a command started with SIGINT ignored keeps
ignoring it); ``ktr.cli`` hands Ctrl-C back to ``KeyboardInterrupt`` once its
``main`` can report it. What runs before this file (the interpreter's own
start-up, ``site``, the package's ``__init__``, which imports nothing) is
out of its reach.

Importing this module is starting the command: nothing else should import it.
"""

# signal's C half, which the interpreter loaded at its start: signal.py itself
# would take 2 ms (it builds its enums) before the handler is in place.
import _signal  # type: ignore[import-not-found]
import os


class _InterruptedWhileStarting:
    """SIGINT's handler while the command starts: nothing is open or under way yet,
    so the process just ends (a KeyboardInterrupt would unwind through half-run imports)."""

    ktr_start_up = True  # what ``ktr.cli`` recognises it by

    def __call__(self, signo: int, frame: object) -> None:
        try:  # noqa: SIM105  (contextlib is not imported yet: it would widen the window)
            os.write(2, b"ktr: interrupted\n")
        except OSError:
            pass  # (standard error closed or failing: the status says it)
        os._exit(130)


if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _InterruptedWhileStarting())

from .cli import run  # noqa: E402  (after the handler: this is the long part)

__all__ = ["run"]

if __name__ == "__main__":
    run()
