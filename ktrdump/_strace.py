r"""The strace output: what ``strace -f -ttt -T -o FILE`` writes, from a ktr trace.

One line per call, so tools that read strace logs (lnav, Perfetto's strace
importer, scripts) read ktr traces unchanged::

    4242  1700000000.123456 openat(AT_FDCWD, "/etc/passwd", O_RDONLY) = 3 <0.000012>
    4242  1700000000.123470 read(3, "root:x:0:0:root:/root:/bin/bash\n"..., 4096) = 1234 <0.000005>
    4243  1700000000.123500 read(0,  <unfinished ...>
    4242  1700000000.123510 write(1, "x", 1) = 1 <0.000003>
    4243  1700000000.123600 <... read resumed>"y", 1) = 1 <0.000100>
    4242  1700000000.124000 --- SIGUSR1 {si_signo=SIGUSR1, si_code=SI_USER, si_pid=42, ...} ---
    4242  1700000000.125000 exit_group(0)           = ?
    4242  1700000000.125100 +++ exited with 0 +++

Layout, as strace's: the thread id left-aligned in 5 columns and a space;
seconds.microseconds; the call with its arguments (``_args``, strace style:
``", "`` between arguments, ``NULL``, strace's string quoting, at most 32
bytes of a string (``-m N``: N, strace's ``-s``) then ``...``, paths in full);
a space, padding to column 40, ``= `` and the result: a number, a pointer in
hex, ``-1 ENOENT (No such file or directory)``, ``? ERESTARTSYS (To be
restarted if SA_RESTART is set)`` for the kernel's restart codes, ``?`` for a
call that never returned; then the time spent, `` <0.000012>``.

A line is printed when the call returns. When another thread's line must be
printed first, the call's line so far (its name and the arguments the call
reads, with the call's timestamp) ends in ``<unfinished ...>``, and its RET
prints ``<... NAME resumed>`` with the rest, at the RET's time, as strace
does. Signals print ``--- SIGNAL {siginfo} ---`` (``_siginfo``), exits
``+++ exited with N +++`` or ``+++ killed by SIGNAL [(core dumped)] +++``.

``-y``: fds as ``3</etc/passwd>`` (``_fdtable``); ``-n``: arguments as raw
hex words (strace's ``-e raw=all``); ``-p``/``-t``: which calls, signals and
exits are printed.

Not shown (strace has no line for them): EMUL, CSW, USER, PROBE, SAMPLE,
MMAP, and the PROC events other than exit. DROP records, which strace has no
notion of, print ``--- ktr: N records lost (ENOSPC) ---`` with thread id 0,
so a loss is never silent. Differences from strace itself: the contents of
buffers and structures are what the recorder captured (GIO, STRU records),
so an I/O vector prints as its pointer, a structure the recorder did not
capture as its pointer, a string argument that is not a path (a symlink
target, a memfd name) as its pointer; execve's envp is ``0x7ffd... /* N vars
*/`` as strace prints it.

Guarantees: one line per call, signal, exit or loss, in trace order; the
``<unfinished ...>``/``<... resumed>`` pairs match; state is per live thread
(``_calls``). Describing never raises for a record ``formats`` decoded.
"""

from __future__ import annotations

import time
from typing import Any

from formats import FileHeader, ProcEvent, ProcFlag, Record, RecordKind
from formats.linux import errno_message

from . import _model
from ._args import CallArguments, Style, compile_arguments, strace_result
from ._calls import Call, CallTracker, LineView, recorded_facilities
from ._describe import duration_text
from ._filter import record_filter
from ._model import Names
from ._options import DEFAULT_STRACE_TIMES, STRACE_STRING_LIMIT, Options
from ._siginfo import strace_siginfo

#: Column where `` = `` starts (strace's default -a 40).
RESULT_COLUMN = 40

#: strace's texts for the kernel's restart codes (they never reach the program).
RESTART_ERRORS = {
    512: "ERESTARTSYS (To be restarted if SA_RESTART is set)",
    513: "ERESTARTNOINTR (To be restarted)",
    514: "ERESTARTNOHAND (To be restarted if no handler)",
    516: "ERESTART_RESTARTBLOCK (Interrupted by signal)",
}

_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_NAMEI = int(RecordKind.NAMEI)
_GENIO = int(RecordKind.GENIO)
_STRUCT = int(RecordKind.STRUCT)
_EXEC_ARG = int(RecordKind.EXEC_ARG)
_EXEC_ENV = int(RecordKind.EXEC_ENV)
_PSIG = int(RecordKind.PSIG)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)


def prefix(tid: int, ns: int) -> str:
    """``4242  1700000000.123456 ``: the thread and the time, as ``strace -f -ttt``."""
    micro = ns // 1000
    return f"{tid:<5d} {micro // 1_000_000}.{micro % 1_000_000:06d} "


def _result_line(text: str, result: str) -> str:
    text += " "
    if len(text) < RESULT_COLUMN:
        text = text.ljust(RESULT_COLUMN)
    return f"{text}= {result}\n"


class StraceDescriber(LineView):
    """Records as ``strace -f -ttt -T`` output (see the module docstring)."""

    def __init__(self, options: Options, names: Names | None = None,
                 header: FileHeader | None = None) -> None:
        self.options = options
        self.names = names if names is not None else Names()
        track_fds = options.fd_paths and not options.raw
        self.tracker = CallTracker(track_fds=track_fds, keep_calls=True,
                                   facilities=recorded_facilities(header))
        self._track = track_fds
        limit = STRACE_STRING_LIMIT if options.max_data is None else options.max_data
        self._style = Style(strace=True, raw=options.raw, fd_paths=track_fds, string_limit=limit)
        self.tracker.keep = record_filter(options)
        self._out: list[str] = []
        self._line: Call | None = None  # the call whose line is begun but not printed
        self._full: dict[tuple[int, int], CallArguments] = {}
        self._entry: dict[tuple[int, int], CallArguments] = {}
        self._errors: dict[int, str] = {}
        times = options.strace_times
        self._times = times
        self._default_times = times == DEFAULT_STRACE_TIMES
        self._previous_ns: int | None = None  # -r: the time of the line before
        self._clock_second = -1
        self._clock_text = ""

    # -- the loop ------------------------------------------------------------

    def _finished(self, out: list[str]) -> None:
        """A call still open at the end of the input prints as ``<unfinished ...>``."""
        self._interrupt(out, None)

    def call(self, call: Call, record: Record) -> None:
        """A shown CALL: its line is begun (printed at its RET, or interrupted)."""
        self._interrupt(self._out, call.tid)
        self._line = call

    def record(self, call: Call | None, record: Record) -> None:
        kind = record[0]
        out = self._out
        if kind == _SYSRET:
            assert call is not None
            self._ret(out, record, call)
        elif kind == _PSIG:
            self._interrupt(out, None)
            self._signal(out, record)
        elif kind == _PROC:
            self._proc(out, record)
        elif kind == _DROP:
            self._interrupt(out, None)
            drop: Any = record[6]
            name = _model.drop_error_name(drop.error, self.names)
            count = drop.lost
            out.append(f"{self._prefix(0, record[4])}--- ktr: {count} record"
                       f"{'' if count == 1 else 's'} lost ({name}) ---\n")
        # Other records have no line in strace's output (see the module docstring).

    # -- calls ---------------------------------------------------------------

    def _renderer(self, call: Call, entry: bool) -> CallArguments:
        plan = call.plan
        key = (plan.abi, plan.nr)
        table = self._entry if entry else self._full
        render = table.get(key)
        if render is None:
            stop = plan.first_output_arg if entry and not self.options.raw else None
            render = table[key] = compile_arguments(plan, self._style, self.tracker.fds, stop)
        return render

    def _interrupt(self, out: list[str], tid: int | None) -> None:
        """Another line is about to be printed: the open call's line ends unfinished."""
        call = self._line
        if call is None or call.tid == tid:
            return
        self._line = None
        arguments = self._renderer(call, entry=True)(call)
        call.started = len(arguments)
        plan = call.plan
        text = ", ".join(arguments)
        if (arguments and plan.signature is not None and not self.options.raw
                and plan.first_output_arg < len(plan.kinds)):
            text += ", "  # the rest comes with "<... resumed>"
        out.append(f"{self._prefix(call.tid, call.ts)}{plan.name}({text} <unfinished ...>\n")

    def _ret(self, out: list[str], record: Record, call: Call) -> None:
        tracker = self.tracker
        tid = record[3]
        if self._line is not call:
            self._interrupt(out, None)
        self._line = None
        arguments = self._renderer(call, entry=False)(call)
        tracker.settle(call)
        if call.started >= 0 or call.ts == -1:
            start = max(call.started, 0)
            head = (f"{self._prefix(tid, record[4])}<... {call.plan.name} resumed>"
                    f"{', '.join(arguments[start:])})")
        else:
            head = f"{self._prefix(tid, call.ts)}{call.plan.name}({', '.join(arguments)})"
        out.append(_result_line(head, self._result(call)))

    def _result(self, call: Call) -> str:
        ret = call.ret
        assert ret is not None
        if ret.flags & 1:  # never returned
            return "?"
        error = ret.error
        if error:
            text = self._errors.get(error)
            if text is None:
                text = self._errors[error] = self._error_text(error)
            return f"{text} {duration_text(ret.duration_ns)}" if self._times.durations else text
        description = None
        if self._track and ret.retval >= 0:
            description = self.tracker.fds.describe(call.pid, ret.retval)
        if self.options.raw:
            result = hex(ret.retval & ((1 << 64) - 1)) if ret.retval < 0 else str(ret.retval)
        else:
            result = strace_result(call.plan, ret.retval, description)
        return f"{result} {duration_text(ret.duration_ns)}" if self._times.durations else result

    def _prefix(self, tid: int, ns: int) -> str:
        """The thread column and the time columns strace's -t/-tt/-ttt/-r ask for."""
        if self._default_times:
            return prefix(tid, ns)
        times = self._times
        words = [f"{tid:<5d}"]
        micro = ns // 1000
        clock = times.clock
        if clock == "epoch":
            words.append(f"{micro // 1_000_000}.{micro % 1_000_000:06d}")
        elif clock != "none":
            second = micro // 1_000_000
            if second != self._clock_second:
                self._clock_second = second
                self._clock_text = time.strftime("%H:%M:%S", time.localtime(second))
            words.append(self._clock_text if clock == "time"
                         else f"{self._clock_text}.{micro % 1_000_000:06d}")
        if times.relative:
            previous = self._previous_ns
            self._previous_ns = ns
            delta = 0 if previous is None else (ns - previous) // 1000
            seconds, fraction = divmod(abs(delta), 1_000_000)
            text = f"{seconds:6d}.{fraction:06d}" if delta >= 0 else f"-{seconds:5d}.{fraction:06d}"
            words.append(f"(+{text})" if clock != "none" else text)
        return " ".join(words) + " "

    def _error_text(self, error: int) -> str:
        restart = RESTART_ERRORS.get(error)
        if restart is not None:
            return f"? {restart}"
        name = self.names.errno(error)
        message = errno_message(error) or f"Unknown error {error}"
        return f"-1 {name} ({message})"

    # -- signals and lifecycle ---------------------------------------------------

    def _signal(self, out: list[str], record: Record) -> None:
        payload: Any = record[6]
        signo = payload.signo
        code = payload.code
        siginfo = payload.siginfo
        name = self.names.signal(signo)
        info = strace_siginfo(signo, code, siginfo)
        out.append(f"{self._prefix(record[3], record[4])}--- {name} {info} ---\n")

    def _proc(self, out: list[str], record: Record) -> None:
        proc: Any = record[6]
        if proc.event != ProcEvent.EXIT:
            return
        tid = record[3]
        self._interrupt(out, None)
        if proc.flags & ProcFlag.SIGNALED:
            core = " (core dumped)" if proc.flags & ProcFlag.CORE_DUMPED else ""
            what = f"killed by {self.names.signal(proc.signal)}{core}"
        else:
            what = f"exited with {proc.status}"
        out.append(f"{self._prefix(tid, record[4])}+++ {what} +++\n")
