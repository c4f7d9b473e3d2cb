"""``python -m ktr``, and the ``ktr`` console script (``ktr.__main__:run``): the ``ktr`` command.

Guarantees: Ctrl-C, SIGTERM or SIGHUP at any point of the start-up this
module sees (the recorder's imports included, which take most of it) ends the
command with one line, ``ktr: interrupted by SIGINT before recording began;
nothing recorded`` (the signal's name), and status 128+N (130, 143, 129),
never a traceback; no file is made. The handlers are installed before
anything else is imported, and only over the default disposition (a command
started with a signal ignored, as a background job's SIGINT or nohup's
SIGHUP, keeps ignoring it); ``ktr.cli`` hands Ctrl-C back to
``KeyboardInterrupt`` once its ``main`` can report it, and SIGTERM and SIGHUP
to their default action just before the recorder installs its own. What runs
before this file (the interpreter's own start-up, ``site``, the package's
``__init__``, which imports nothing: about 10 ms from a virtual
environment's console script, where Ctrl-C prints Python's own traceback) is
out of its reach.

Importing this module is starting the command: nothing else should import it.
"""

# signal's C half, which the interpreter loaded at its start: signal.py itself
# would take 2 ms (it builds its enums) before the handler is in place.
import _signal  # type: ignore[import-not-found]
import os


class _InterruptedWhileStarting:
    """The handler of SIGINT, SIGTERM and SIGHUP while the command starts: nothing is
    open or under way yet, so the process just ends (a KeyboardInterrupt would unwind
    through half-run imports)."""

    ktr_start_up = True  # what ``ktr.cli`` recognises it by

    def __call__(self, signo: int, frame: object) -> None:
        name = _NAMES.get(signo, f"signal {signo}")
        try:  # noqa: SIM105  (contextlib is not imported yet: it would widen the window)
            os.write(2, f"ktr: interrupted by {name} before recording began; "
                        "nothing recorded\n".encode())
        except OSError:
            pass  # (standard error closed or failing: the status says it)
        os._exit(128 + signo)


# (signal.py's Signals would take its 2 ms; these are the kernel's numbers on every ABI)
_NAMES = {2: "SIGINT", 15: "SIGTERM", 1: "SIGHUP"}

_HANDLER = _InterruptedWhileStarting()
if _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    _signal.signal(_signal.SIGINT, _HANDLER)
for _signo in (_signal.SIGTERM, _signal.SIGHUP):
    if _signal.getsignal(_signo) == _signal.SIG_DFL:
        _signal.signal(_signo, _HANDLER)

from .cli import run  # noqa: E402  (after the handler: this is the long part)

__all__ = ["run"]

if __name__ == "__main__":
    run()
