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
to the recorder's handler of its first lines just before ``record`` (the same line
and status, reported as Ctrl-C's is, until set-up's own handlers); a Ctrl-C
while this file's own first lines run, before its handler is in, ends it the
same way. What runs before this file is out of its reach: the interpreter's
start-up before it installs its own SIGINT handler (there Ctrl-C kills
quietly), then ``site``, the console script's own ``import re``, and finding
and loading the package and this file, where Ctrl-C prints Python's
traceback (the interpreter reads a pending signal on entering this file, before
its first line). Measured with strace from one handler to the other, the
least of 30 runs on a loaded machine: 15 ms from a wheel's console script, 24
ms from an editable install's (its finder loads pathlib in ``site``).

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
except KeyboardInterrupt:
    import os

    try:  # noqa: SIM105  (as the handler's)
        os.write(2, b"ktr: interrupted by SIGINT before recording began; nothing recorded\n")
    except OSError:
        pass
    os._exit(130)

from .cli import run  # (after the handler: this is the long part)

__all__ = ["run"]

if __name__ == "__main__":
    run()
