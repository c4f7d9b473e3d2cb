"""The ``ktr`` command: ``ktr record …`` (and ``--help``, ``--version``).

Guarantees: every error a user can cause ends in one line on stderr and a
non-zero exit status, never a traceback; ``ktr record -- CMD`` exits with the
command's exit status, or dies of the signal that killed it (``run``: after the
trace is complete, without a core of its own; ``main`` returns 128+signal), or
exits 1 if the trace could not be written to the end (records were lost). ``main`` returns the
status (for callers in Python); ``run`` is the command itself and exits.
Ctrl-C before the recording is one line and status 130 (during the imports,
through the handler ``ktr.__main__``, the console script's module, installs
first); once ``run`` has reported the recording, it is ignored. SIGTERM and
SIGHUP before the recorder's set-up are one line and status 128+N too
(``ktr.__main__``'s handler, then the recorder's ``stop_signals_before_set_up``,
put in before ``record`` is called, until its set-up's own: never their default
action, which killed ``ktr`` in ``record``'s first lines with no word).
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import os
import resource
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn, TextIO

from . import __version__, _trampoline
from .errors import KtrError, OutputError, SetupSignal, UsageError, errno_text


def _load_recorder() -> None:
    """Import the recorder's modules (about 90 ms), after ``run`` has forked the
    command's child while the interpreter is small (``_trampoline``).

    The recorder's modules make only objects that live as long as the process:
    the collector, paused while they load, would walk them again and again for
    nothing (about a tenth of the import time). Their value and state classes
    are NamedTuples or slotted classes, options alone dataclasses: a dataclass
    compiles its generated methods at every start, about a millisecond each.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        from . import _options, _recorder  # noqa: F401
    finally:
        if collecting:
            # Frozen: the first collections after the load would otherwise walk
            # them all once more (about 2 % of a start-up's instructions).
            gc.freeze()
            gc.enable()


def _usage() -> str:
    """Every ``ktr record`` option (argparse's usage of its parser), ``--version``."""
    _load_recorder()
    from ._options import record_usage

    return (f"{record_usage().rstrip()}\n       ktr --version\n\n"
            "Record what processes do into a trace file; read it with ktrdump.\n"
            "`ktr record --help` describes every option.\n")


def _one_line(error: KtrError) -> str:
    text = " ".join(str(error).split("\n"))
    return text if text.startswith("ktr") else f"ktr: {text}"


def main(argv: Sequence[str] | None = None) -> int:
    return _main(argv)[0]


def _main(argv: Sequence[str] | None, early_child: bool = False) -> tuple[int, int]:
    """The exit status, and the signal to die of (the one that killed the command,
    when the recording ended with it, or the SIGTERM, SIGHUP or SIGINT that stopped
    the recording; else 0). ``early_child``: fork the
    command's child before loading the recorder (``run``, a process of its own)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    closed = _occupy_closed_standard_fds()
    stderr: TextIO = (sys.stderr if sys.stderr is not None and 2 not in closed
                      else open(os.devnull, "w", encoding="utf-8"))  # noqa: SIM115
    try:
        if (early_child and arguments[:1] == ["record"] and threading.active_count() == 1
                and not _attaches(arguments[1:])):
            with contextlib.suppress(OSError):  # (then forked when it is needed, or said why)
                _trampoline.start_early()
        return _run_command(arguments, closed, stderr)
    except SetupSignal as stopped:  # (before record's first line, or as it reported an error)
        # (only the recorder's handler raises it: the recorder is loaded)
        from ._recorder import nothing_recorded

        _report(stderr, f"ktr: {nothing_recorded(stopped.signo)}")
        return 128 + stopped.signo, 0
    finally:
        _default_stop_signals()  # (not recording: --help, a usage error)
        _trampoline.dispose_early()  # (not started: -p, a usage error, --help)


def _attaches(arguments: Sequence[str]) -> bool:
    """Whether ``ktr record``'s arguments look like -p/-g (no command to start): then no
    early child is forked, whose disposal (a kill and a wait) would delay the attach.
    A guess from the tokens before ``--`` (``-p PID``, ``-pPID``, ``-g PGID``): a
    wrong one costs only time (a command's child is then forked when it is needed)."""
    for argument in arguments:
        if argument == "--":
            break
        if argument[:2] in ("-p", "-g") and (len(argument) == 2 or argument[2].isdigit()):
            return True
    return False


def _run_command(arguments: list[str], closed: frozenset[int],
                 stderr: TextIO) -> tuple[int, int]:
    recording = False
    try:
        _catch_interrupts()
        if not arguments:
            # A usage error, as argparse's: on stderr, status 2.
            _report(stderr, _usage().rstrip("\n"))
            return 2, 0
        if arguments[0] in ("-h", "--help", "help"):
            _write_stdout(_usage(), closed)
            return 0, 0
        if arguments[0] == "--version":
            _write_stdout(f"ktr {__version__}\n", closed)
            return 0, 0
        if arguments[0] != "record":
            before = arguments[:arguments.index("--")] if "--" in arguments else arguments
            if arguments[0].startswith("-") and "record" in before:
                # ktr -o f record ...: the options are record's, so they follow it
                raise UsageError(f"ktr: {arguments[0]}: options go after record (ktr record "
                                 "-o FILE ... -- CMD; see ktr record --help)")
            raise UsageError(f"ktr: unknown command {arguments[0]!r} (try ktr record --help)")
        _load_recorder()
        from ._options import parse_record_arguments
        from ._recorder import record, stop_signal, stop_signals_before_set_up, summary_lines

        options = parse_record_arguments(arguments[1:])
        if not options.command:
            _trampoline.dispose_early()  # (before attaching: the loop reaps every child)
        if options.list_counters:
            from ._perf import available_counters

            _write_stdout("".join(f"{name}\n" for name in available_counters()), closed)
            return 0, 0
        if options.list_probes:
            from ._probe_source import list_probes

            listing = list_probes(options.list_probes, options.pids[0] if options.pids
                                  else None)
            _write_stdout("".join(line + "\n" for line in listing), closed)
            return 0, 0
        if options.output == "-" and 1 in closed:
            raise OutputError("cannot write trace to standard output: it is closed", "-")
        # From here SIGTERM and SIGHUP raise SetupSignal until record's set-up handlers
        # are in, which restore the default after it (the start-up handler's exit, or
        # the default action, would leave nothing said, or a set-up's state untold).
        stop_signals_before_set_up()
        recording = True  # (from record's first line, a Ctrl-C that nothing began is said)
        report = record(options, stderr, defer_teardown=True)
        for line in summary_lines(options, report):
            _report(stderr, line)
        if report.teardown is not None:  # (the trace is complete: the summary said so)
            report.teardown.run()
        if report.late_signal:  # (the trace is complete and said: die of it now)
            return report.exit_status, report.late_signal
        signo = report.result.command_signal
        stopped_by = stop_signal(report.result.stop_reason)
        if stopped_by and report.exit_status == 128 + stopped_by:
            signo = stopped_by  # (ktr dies of the SIGTERM it was sent, as perf record)
        elif not (signo and report.exit_status == 128 + signo
                  and report.result.stop_reason is None):
            signo = 0  # (the output failed, or ktr stopped the command itself)
        return report.exit_status, signo
    except KtrError as error:
        _report(stderr, _one_line(error))
        return error.exit_status, 0
    except KeyboardInterrupt:
        # (before record, or out of it with its END written and the file closed)
        _report(stderr, "ktr: interrupted" if recording else
                "ktr: interrupted by SIGINT before recording began; nothing recorded")
        return 130, 0


def run() -> NoReturn:
    """The ``ktr`` command: ``main``, then a quick exit.

    By the time ``main`` returns, the trace is closed and every report is
    written; what is left is the interpreter's teardown (freeing every module
    and object), about 40 ms here: a tenth of a short recording's wall time.
    The exit handlers still run (the descriptor registry, tracefs groups) and
    the standard streams are flushed; a non-daemon thread still alive gets
    the normal exit, which waits for it.
    """
    _undo_locale_coercion()
    status, signo = _main(None, early_child=True)
    if any(thread.is_alive() and not thread.daemon for thread in threading.enumerate()
           if thread is not threading.main_thread()):
        sys.exit(status)  # (Ctrl-C still interrupts the wait for it)
    _ignore_interrupts()
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
    if signo:
        _die_of(signo)
    os._exit(status)


#: What Python's start-up sets LC_CTYPE to when it coerces a C or POSIX locale (PEP 538).
_COERCED_LC_CTYPE = (b"C.UTF-8", b"C.utf8", b"UTF-8")


def _undo_locale_coercion() -> None:
    """Give LC_CTYPE back the value (or the absence) ktr was started with.

    Under a C or POSIX locale (cron, systemd, ``env -i``, a container without LANG)
    the interpreter's start-up sets LC_CTYPE=C.UTF-8 in this process's environment
    (PEP 538), which the started command would inherit: its locale, its ENV records
    and execve's variable count would differ from a run without ktr (strace passes
    its environment on unchanged). The environment exec gave ktr is still the block
    /proc/self/environ reads (setenv copies, never writes over it). Only the
    coercion's own values are undone; the interpreter's locale, set already, stays.
    """
    current = os.environb.get(b"LC_CTYPE")
    if current not in _COERCED_LC_CTYPE:
        return
    try:
        with open("/proc/self/environ", "rb") as environ:
            block = environ.read()
    except OSError:
        return  # (no procfs: the recorder refuses to run without one anyway)
    original = next((item[len(b"LC_CTYPE="):] for item in block.split(b"\0")
                     if item.startswith(b"LC_CTYPE=")), None)
    if original == current:
        return
    if original is None:
        del os.environb[b"LC_CTYPE"]
    else:
        os.environb[b"LC_CTYPE"] = original


def _catch_interrupts() -> None:
    """Ctrl-C is a ``KeyboardInterrupt`` from here on, which ``_main`` reports (or the
    recorder's set-up does): the quiet exit ``ktr.__main__`` installed for the
    start-up gives way. Any other handler (a caller's; SIG_IGN) is left as it is."""
    if getattr(signal.getsignal(signal.SIGINT), "ktr_start_up", False):
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _default_stop_signals() -> None:
    """SIGTERM and SIGHUP back to their default action where ``ktr.__main__``'s start-up
    handler, or ``record``'s before its set-up (``stop_signals_before_set_up``), has them
    (once ``_main`` is over: a signal then must not be called one before recording
    began). A handler of anyone else (a caller's; SIG_IGN) is left as it is."""
    for signo in (signal.SIGTERM, signal.SIGHUP):
        with contextlib.suppress(ValueError):  # (not the main thread)
            if getattr(signal.getsignal(signo), "ktr_start_up", False):
                signal.signal(signo, signal.SIG_DFL)


def _ignore_interrupts() -> None:
    """Once ``_main`` has returned the trace is complete and reported: a Ctrl-C now would
    only cut the exit handlers short (tracefs groups) with a traceback; it is ignored."""
    with contextlib.suppress(ValueError, OSError):  # (not the main thread)
        if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def _die_of(signo: int) -> None:
    """Die of the signal that killed the command, as strace does, so the shell says
    "Segmentation fault" and a parent's waitpid sees WIFSIGNALED: the trace is
    complete by now. ktr itself dumps no core (RLIMIT_CORE 0, not dumpable: a
    core-dumping signal would otherwise leave ktr's core beside the command's).
    Returns if the signal does not kill (the caller then exits 128+N)."""
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    _not_dumpable()
    with contextlib.suppress(OSError, ValueError):  # (SIGKILL's cannot be changed)
        signal.signal(signo, signal.SIG_DFL)
    with contextlib.suppress(OSError, ValueError):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signo})
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signo)


def _not_dumpable() -> None:
    """prctl(PR_SET_DUMPABLE, 0): no core even through a core_pattern pipe, which
    RLIMIT_CORE 0 does not stop."""
    import ctypes

    pr_set_dumpable = 4
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_dumpable, 0, 0, 0, 0)


def _write_stdout(text: str, closed: frozenset[int]) -> None:
    if 1 in closed or sys.stdout is None:
        raise OutputError("cannot write to standard output: it is closed", "-")
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as error:
        number = error.errno if error.errno is not None else 0
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY | os.O_CLOEXEC), 1)  # no 2nd error at exit
        raise OutputError(f"cannot write to standard output: {errno_text(number)}", "-",
                          number) from None


def _report(stderr: TextIO, line: str) -> None:
    """One line on stderr; a stderr that cannot be written loses it, nothing more."""
    with contextlib.suppress(OSError, ValueError):
        stderr.write(line + "\n")
        stderr.flush()


def _occupy_closed_standard_fds() -> frozenset[int]:
    """Put /dev/null (close-on-exec) on closed fds 0-2; returns which were closed.

    Otherwise the trace file opened next could become fd 1 or 2 and receive
    notices; close-on-exec leaves them closed in a started command, as given.
    """
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        try:
            placeholder = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
        except OSError:
            break
        if placeholder != fd:
            os.dup2(placeholder, fd, inheritable=False)
            os.close(placeholder)
    return frozenset(closed)


if __name__ == "__main__":
    sys.exit(main())
