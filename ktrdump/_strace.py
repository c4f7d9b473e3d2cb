r"""The strace output: what ``strace -f -ttt -T -o FILE`` writes, from a ktr trace.

One line per call, so tools that read strace logs (strace-process-tree,
scripts; lnav reads the per-thread ``-ff -tt -T`` files of ``_strace_files``)
read ktr traces unchanged::

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
bytes of a string (``-m N``: N, strace's ``-s``; without -m, fewer when the
recording kept fewer I/O bytes, ``ktr record -s N``: as ``strace -s N`` cuts
them, execve's argv too) then ``...``, paths in full);
a space, padding to column 40, ``= `` and the result: a number, a pointer in
hex, ``-1 ENOENT (No such file or directory)``, ``? ERESTARTSYS (To be
restarted if SA_RESTART is set)`` for the kernel's restart codes, ``?`` for a
call that never returned; then the time spent, `` <0.000012>``.
restart_syscall's argument is strace's ``<... resuming interrupted NAME ...>``
(NAME: the thread's last call that ended ERESTART_RESTARTBLOCK, else
``system call``); a call ktr let go in when it detached the thread (an
UNFINISHED RET flagged DETACHED; in files written before the flag, one
followed by the thread's DETACH within the look-ahead) ends its line with
`` <detached ...>`` instead of a result, as strace's does -- the same when
following a live trace, where the DETACH may not have arrived yet (there, an
unfinished RET without the flag that ends its batch waits for the next batch,
``_held_for_detach``).

A line is printed when the call returns. When another thread's line must be
printed first, the call's line so far (its name and the arguments the call
reads, with the call's timestamp) ends in ``<unfinished ...>``, and its RET
prints ``<... NAME resumed>`` with the rest, at the RET's time, as strace
does. A call that gets no RET because its thread went on to another call
(no RET was written), or because its RET was lost in a DROP, is closed as
strace closes a call whose exit it never saw: ``read(3,  <unfinished ...>) =
?``, or ``<... read resumed> <unfinished ...>) = ?`` once its line was
interrupted. Signals print ``--- SIGNAL {siginfo} ---`` (``_siginfo``), exits
``+++ exited with N +++`` or ``+++ killed by SIGNAL [(core dumped)] +++``.

``-y``: fds as ``3</etc/passwd>`` (``_fdtable``); ``-n``: arguments as raw
hex words (strace's ``-e raw=all``); ``-p``/``-t``: which calls, signals and
exits are printed.

A thread's call of another ABI than the one before prints strace's
``[ Process PID=N runs in 32 bit mode. ]`` first (``int $0x80`` in a
64-bit program, a 32-bit program after its execve), by strace's rule
(``_personality_line``), from the calls' ABIs and the EMUL records the
recorder writes at a switch (so a call the filters hide still counts).

Not shown (strace has no line for them): EMUL other than as above, CSW,
USER, PROBE, SAMPLE, MMAP, and the PROC events other than exit. DROP records, which strace has no
notion of, print ``--- ktr: N records lost (ENOSPC: queue full, the writer fell
behind) ---`` with thread id 0,
so a loss is never silent; neither is damage to the file (``notice_lines``):
``--- ktr: 256 bytes lost at byte offset 356 (1 batch skipped: REASON) ---``,
thread id 0, at the time of the last record before it. Differences from strace
itself: the contents of
buffers and structures are what the recorder captured (GIO, STRU records);
a structure it did not capture prints as its pointer (README lists which).
A write-like call's data comes at its exit (GIO): when its line is
interrupted, the data is looked up ahead (``LOOK_AHEAD`` records; reading a
file, that many records, with at most ``LOOK_AHEAD_BYTES`` of data, are held
back between batches); i386 socketcall
prints as its subcall (``send(3, "ping", 4, 0)``), as strace shows it.

Guarantees: one line per call, signal, exit or loss, in trace order; the
``<unfinished ...>``/``<... resumed>`` pairs match; state is per live thread
(``_calls``). Describing never raises for a record ``formats`` decoded.
"""

from __future__ import annotations

import time
from typing import Any

from formats import (
    ABI_EMUL_NAMES,
    Abi,
    FileHeader,
    ProcEvent,
    ProcFlag,
    Record,
    RecordKind,
    SyscallFlag,
)
from formats.linux import ArgKind, errno_message

from . import _model
from ._args import CLONE_EXIT_FLAGS, CallArguments, Style, compile_arguments, strace_result
from ._bounded import Cache, Table
from ._calls import Call, CallTracker, LineView, recorded_facilities
from ._describe import damage_of, damage_text, duration_text
from ._filter import record_filter
from ._model import Names
from ._netlink import same_boot
from ._options import DEFAULT_STRACE_TIMES, STRACE_STRING_LIMIT, Options
from ._siginfo import strace_siginfo

#: Calls whose first argument strace may complete at exit (`` => {parent_tid=[N]}``):
#: an interrupted line shows it alone, the resumed one what it gained
#: (``_grows``: only when it can gain something; else the line was whole at entry).
GROWING_CALLS = frozenset({"clone3"})
#: clone3's flags whose fields the kernel fills (strace prints them again at exit)
_CLONE_PIDFD, _CLONE_PARENT_SETTID = 0x1000, 0x0010_0000
#: struct clone_args as strace 6 knows it: its first version's size (up to tls),
#: below which strace prints the address alone, and its whole size, past which
#: strace prints the caller's extra bytes (at entry and again at exit)
_CLONE_ARGS_V0, _CLONE_ARGS_SIZE = 64, 88

#: Records searched ahead for the data of an interrupted write-like call.
LOOK_AHEAD = 4096
#: The I/O data (GIO bytes) the records held for the look-ahead may carry: with
#: ``ktr record -s 8M``, 4096 held records could hold 32 GiB (memory grew with the
#: trace). Two batches' worth; a record past it is not looked ahead at across batches.
LOOK_AHEAD_BYTES = 32 << 20
_DETACHED = int(SyscallFlag.DETACHED)


def _held_from(records: list[Record]) -> int:
    """Where a file's records are cut so that the tail waits for the next batch (the
    look-ahead): at most ``LOOK_AHEAD`` records and ``LOOK_AHEAD_BYTES`` of I/O data
    (a lone record larger than that is not held)."""
    cut = len(records) - LOOK_AHEAD
    held = 0
    for index in range(len(records) - 1, max(cut, 0) - 1, -1):
        record = records[index]
        if record[0] == _GENIO:
            held += len(getattr(record[6], "data", b""))
            if held > LOOK_AHEAD_BYTES:
                return index + 1
    return cut


def _held_for_detach(records: list[Record]) -> int:
    """Where a live batch is cut so that its tail waits for the next one: at an
    UNFINISHED RET without the DETACHED flag (a file written before the flag)
    that no later record of its thread follows within this batch and the
    look-ahead. Whether the thread's DETACH comes next (``<detached ...>``) or not
    (``= ?``) is then seen as the file view sees it; otherwise ``len(records)``.
    Only the batch's last ``LOOK_AHEAD`` records are looked at: a RET followed
    by more than that is decided as the file view decides it, without them."""
    cut = len(records)
    seen: set[int] = set()  # threads with a record after the one at hand
    for index in range(len(records) - 1, max(-1, len(records) - 1 - LOOK_AHEAD), -1):
        record = records[index]
        tid = record[3]
        if (record[0] == _SYSRET and tid not in seen and record[6].flags & 1  # type: ignore[union-attr]
                and not record[6].flags & _DETACHED):  # type: ignore[union-attr]
            cut = index  # (the earliest such RET: every one of them waits)
        seen.add(tid)
    return cut

#: strace's names of x86_64's personalities, by the ABI of a call.
PERSONALITY_NAMES = {int(Abi.X86_64): "64 bit", int(Abi.I386): "32 bit", int(Abi.X32): "x32"}
#: An EMUL record's name -> its ABI.
ABI_BY_EMUL_NAME = {name.encode(): int(abi) for abi, name in ABI_EMUL_NAMES.items()}

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
#: Kinds besides CALL and RET that print a line of their own (``record``).
_EMUL = int(RecordKind.EMUL)
_OWN_LINES = frozenset({_PSIG, _PROC, _DROP, _EMUL})
#: The errno of a call the kernel resumes with restart_syscall.
_RESTART_RESTARTBLOCK = 516


def prefix(tid: int, ns: int) -> str:
    """``4242  1700000000.123456 ``: the thread and the time, as ``strace -f -ttt``."""
    micro = ns // 1000
    return f"{tid:<5d} {micro // 1_000_000}.{micro % 1_000_000:06d} "


def _clone_grows(call: Call) -> bool:
    """Whether strace leaves clone's line open after its flags at entry (``clone(child_stack=NULL,
    flags=... <unfinished ...>``, then ``<... clone resumed>, child_tidptr=...) = N``): when its
    flags ask the kernel to store a tid or fd or set a TLS, which it prints at exit. Otherwise
    strace printed the call whole at entry (its RVAL_DECODED); ``flags`` is the first argument
    in every ABI."""
    return bool(call.args) and bool(call.args[0] & CLONE_EXIT_FLAGS)


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
        # fds are followed without -y too: a netlink socket's messages are
        # decoded by the protocol its socket call gave
        self.tracker = CallTracker(track_fds=not options.raw, keep_calls=True,
                                   facilities=recorded_facilities(header))
        self._track = track_fds
        self.tracker.fds.strace_style(options.strace_hex)
        limit = options.max_data
        if limit is None:
            limit = STRACE_STRING_LIMIT
            kept = header.options.get("io_bytes") if header is not None else None
            if type(kept) is int and 0 <= kept < limit:
                # Recorded with ``ktr record -s N``: strace -s N cuts every string there
                # (execve's argv too, which ktr records whole), as the I/O data was.
                limit = kept
        self._style = Style(strace=True, raw=options.raw, fd_paths=track_fds, string_limit=limit,
                            ifnames=same_boot(header), hex_strings=options.strace_hex)
        self.tracker.keep = record_filter(options)
        self._out: list[str] = []
        self._line: Call | None = None  # the call whose line is begun but not printed
        self._full: dict[tuple[int, int, str], CallArguments] = Cache()
        self._entry: dict[tuple[int, int, str], CallArguments] = Cache()
        self._batch: list[Record] = []
        self._pending: list[Record] = []  # records held for the look-ahead (a file)
        self._grown_from: dict[int, str] = {}  # tid -> clone3's first argument as interrupted
        # tid -> its last call that ended ERESTART_RESTARTBLOCK (restart_syscall resumes it)
        self._interrupted: dict[int, str] = Table()
        self._keep: Any = None  # the filters, while records are held
        self._hidden: set[int] = set()  # ids of held records the filters hide
        self._window_keep = self._held_keep  # bound once: compared by identity
        self._batch_index: dict[int, int] | None = None  # id(record) -> position
        self._errors: dict[int, str] = Cache()
        times = options.strace_times
        self._times = times
        self._default_times = times == DEFAULT_STRACE_TIMES
        self._previous_ns: int | None = None  # -r: the time of the line before
        self._clock_second = -1
        self._clock_text = ""
        # strace's current personality (the last shown call's ABI) and each
        # thread's, for "[ Process PID=N runs in 32 bit mode. ]"
        self._personality = int(Abi.X86_64)
        self._modes: dict[int, int] = Table()

    # -- the loop (``defer_entries`` is ``LineView``'s) ------------------------

    def describe(self, records: list[Record]) -> list[str]:
        out: list[str] = []
        self._out = out
        if not self.tracker.defer_entries:  # a live input: nothing is held back, but
            if self._pending:  # an old-style unfinished RET (see _held_for_detach)
                records = self._pending + records
                self._pending = []
            self._batch = records
            self._batch_index = None
            cut = _held_for_detach(records)
            if cut < len(records):
                self._pending = records[cut:]
                records = records[:cut]
            self._feed(records)
            return out
        # A file: the last LOOK_AHEAD records wait for the next batch, so the
        # look-ahead for an interrupted call's data sees across batches. The
        # filters' verdicts are taken now (the selector's are per batch).
        tracker = self.tracker
        if tracker.keep is not self._window_keep:
            self._keep = tracker.keep
            tracker.keep = None if self._keep is None else self._window_keep
        keep = self._keep
        if keep is not None:
            self._hidden.update(id(record) for record in records if not keep(record))
        pending = self._pending + records if self._pending else records
        cut = _held_from(pending)
        if cut <= 0:
            self._pending = list(pending)
            return out
        self._batch = pending
        self._batch_index = None
        chunk = pending[:cut]
        self._feed(chunk)
        self._pending = pending[cut:]
        self._forget(chunk)
        return out

    def _feed(self, records: list[Record]) -> None:
        """``tracker.feed(records, self)`` with its dispatch inline (the hot loop).

        A shown CALL goes to ``call``, a RET to ``_ret``, signals, process
        events and DROPs to ``record``; other records print nothing; a call
        abandoned, nothing either (its line ends when another line is printed).
        """
        out = self._out
        ret = self._ret
        on_call = self.call
        on_record = self.record
        for call, record in self.tracker.stream(records):
            if record is None:
                if call is not None:
                    self.abandoned(call, call.ret_ts)
                continue
            kind = record[0]
            if kind == _SYSRET and call is not None:
                ret(out, record, call)
            elif kind == _SYSCALL and call is not None:
                on_call(call, record)
            elif kind in _OWN_LINES:
                on_record(call, record)

    def _held_keep(self, record: Record) -> bool:
        return id(record) not in self._hidden

    def _forget(self, records: list[Record]) -> None:
        hidden = self._hidden
        if hidden:
            for record in records:
                hidden.discard(id(record))

    def finish(self) -> list[str]:
        """The line of a call still open at the end of the input, as ``<unfinished ...>``."""
        out: list[str] = []
        self._out = out
        if self._pending:
            self._batch = self._pending
            self._batch_index = None
            self._feed(self._pending)
            self._forget(self._pending)
            self._pending = []
        self.tracker.flush(self)
        self._interrupt(out, None)
        return out

    def notice_lines(self, notice: Any, ns: int) -> list[str]:
        """A damaged region of the input, in-band where it is in the trace order:
        ``--- ktr: N bytes lost (...) ---`` with thread id 0, as a DROP's line (strace
        has no notion of either). What was held for the look-ahead goes first; an
        open call's line is interrupted (``<unfinished ...>``), as for any other
        line. ``ns``: the time of the last record read before the damage."""
        out = self.finish()
        source, skipped = damage_of(notice)
        if skipped is not None:
            out.append(f"{self._prefix(0, ns)}--- ktr: {damage_text(skipped, source)} ---\n")
        return out

    def call(self, call: Call, record: Record) -> None:
        """A shown CALL: its line is begun (printed at its RET, or interrupted)."""
        self._interrupt(self._out, call.tid, record)
        if call.plan.abi != self._personality:
            switched = self._personality_line(call.tid, call.plan.abi, record[4])
            if switched is not None:
                self._out.append(switched)
        self._line = call

    def _personality_line(self, tid: int, abi: int, ns: int) -> str | None:
        """``[ Process PID=N runs in 32 bit mode. ]`` when strace prints it for a
        call of ``abi`` by ``tid``.

        strace's own rule, quirks included: a thread's mode changes only when
        the call's ABI differs from the last call's of any thread; a thread
        first seen starts in that last call's mode (the first thread in 64
        bit mode). So a 32-bit program prints the line after its execve, and
        a 64-bit one at each ``int $0x80`` call and at the call after it.
        Each shown call applies it; so does the EMUL record the recorder
        writes before a call of another ABI, for the calls the filters hide
        (strace prints the line for those too).
        """
        if abi == self._personality:
            return None
        previous = self._personality
        self._personality = abi
        mode = self._modes.get(tid, previous)
        if mode == abi:
            return None
        self._modes[tid] = abi
        name = PERSONALITY_NAMES.get(abi)
        if name is None:
            return None
        return f"{self._prefix(tid, ns)}[ Process PID={tid} runs in {name} mode. ]\n"

    def record(self, call: Call | None, record: Record) -> None:
        kind = record[0]
        out = self._out
        if kind == _SYSRET:
            assert call is not None
            self._ret(out, record, call)
        elif kind == _PSIG:
            self._interrupt(out, None, record)
            self._signal(out, record)
        elif kind == _PROC:
            self._proc(out, record)
        elif kind == _EMUL:
            # Before a call of another ABI (the call may be hidden by the
            # filters). After an exec, the new program's EMUL comes inside
            # the execve, before its RET: its first call prints the line.
            abi = ABI_BY_EMUL_NAME.get(bytes(getattr(record[6], "name", b"")))
            if abi is not None and record[3] not in self.tracker.open:
                switched = self._personality_line(record[3], abi, record[4])
                if switched is not None:
                    self._interrupt(out, None, record)
                    out.append(switched)
        elif kind == _DROP:
            self._interrupt(out, None)
            drop: Any = record[6]
            name = _model.drop_label(drop.error, self.names)
            count = drop.lost
            out.append(f"{self._prefix(0, record[4])}--- ktr: {count} record"
                       f"{'' if count == 1 else 's'} lost ({name}) ---\n")
        # Other records have no line in strace's output (see the module docstring).

    # -- calls ---------------------------------------------------------------

    def _renderer(self, call: Call, entry: bool) -> CallArguments:
        plan = call.plan
        key = (plan.abi, plan.nr, plan.name)  # socketcall's subcalls share a number
        table = self._entry if entry else self._full
        render = table.get(key)
        if render is None:
            stop = plan.first_output_arg if entry and not self.options.raw else None
            if stop is not None and plan.name in GROWING_CALLS:
                stop = 1
            render = table[key] = compile_arguments(plan, self._style, self.tracker.fds, stop)
        return render

    def _interrupt(self, out: list[str], tid: int | None, at: Record | None = None) -> None:
        """Another line is about to be printed: the open call's line ends unfinished.

        ``at``: the record that prints the other line, where a look-ahead for
        the open call's data starts.
        """
        call = self._line
        if call is None or call.tid == tid:
            return
        self._line = None
        out.append(self._begun_line(call, at, "<unfinished ...>"))

    def _begun_line(self, call: Call, at: Record | None, tail: str) -> str:
        """The call's line as far as its entry shows it, ending in ``tail``
        (``<unfinished ...>``, or ``<detached ...>`` when ktr let the thread go)."""
        plan = call.plan
        if (at is not None and plan.io_args and call.io is None
                and plan.first_output_arg > min(plan.io_args)):
            self._look_ahead_for_data(call, at)
        arguments = self._arguments(call, entry=True)
        call.started = len(arguments)
        if plan.name in GROWING_CALLS and arguments and self._grows(call):
            self._grown_from[call.tid] = arguments[0]
        text = ", ".join(arguments)
        if (arguments and plan.signature is not None and not self.options.raw
                and plan.first_output_arg < len(plan.kinds) and plan.name != "clone"):
            text += ", "  # the rest comes with "<... resumed>" (clone's brings its ", ")
        return f"{self._prefix(call.tid, call.ts)}{plan.name}({text} {tail}\n"

    def _arguments(self, call: Call, entry: bool) -> list[str]:
        """The call's arguments; restart_syscall's is strace's
        ``<... resuming interrupted NAME ...>``: NAME is the thread's last call
        that ended in ERESTART_RESTARTBLOCK, or, when the trace does not show
        it (attached during the sleep), strace's ``system call``."""
        if call.plan.name == "restart_syscall" and not self.options.raw:
            name = self._interrupted.get(call.tid, "system call")
            return [f"<... resuming interrupted {name} ...>"]
        if entry and call.plan.name in GROWING_CALLS and not self._grows(call):
            entry = False  # strace decoded it whole at entry: ``clone3({...}, 88 <unfinished``
        return self._renderer(call, entry=entry)(call)

    def _grows(self, call: Call) -> bool:
        """Whether strace leaves clone3's line open after its first argument at entry
        (``clone3({...} <unfinished ...>``, then ``<... clone3 resumed> => {...}, 88)``):
        when the kernel fills a field its flags ask for (CLONE_PIDFD,
        CLONE_PARENT_SETTID) or the caller passed bytes past the structure strace
        knows. Otherwise strace printed the whole call at entry (its
        RVAL_DECODED): ``clone3({...}, 88 <unfinished ...>``, ``<... clone3
        resumed>) = N`` -- also when it printed the address alone (a size below
        the first version's, or memory it could not read), and with ``-n`` (raw
        words, all at entry)."""
        if self.options.raw:
            return False
        struct = call.struct(0)
        if struct is None or len(struct.data) < _CLONE_ARGS_V0:
            return False
        flags = int.from_bytes(struct.data[:8], "little")
        size = call.args[1] if len(call.args) > 1 else 0
        return bool(flags & (_CLONE_PIDFD | _CLONE_PARENT_SETTID)) or size > _CLONE_ARGS_SIZE

    def _detached_after(self, record: Record) -> bool:
        """The thread's next record (within the look-ahead) is its DETACH."""
        batch = self._batch
        if self._batch_index is None:
            self._batch_index = {id(held): index for index, held in enumerate(batch)}
        position = self._batch_index.get(id(record))
        if position is None:
            return False
        tid = record[3]
        for index in range(position + 1, min(len(batch), position + 1 + LOOK_AHEAD)):
            other = batch[index]
            if other[3] == tid:
                return other[0] == _PROC and getattr(other[6], "event", None) == ProcEvent.DETACH
        return False

    def _look_ahead_for_data(self, call: Call, at: Record) -> None:
        """An interrupted write-like call: find its GIO further on in this batch.

        strace prints the data a call sends at entry; the recorder writes it
        at exit (GIO before RET; for a call that failed, what it was asked to
        send, a STRUCT ``bytes`` for its data argument). Looking ahead (at
        most LOOK_AHEAD records, within the batch at hand) finds it for the
        ``<unfinished ...>`` line; the call layer adds it only once when its
        turn comes.
        """
        batch = self._batch
        if self._batch_index is None:
            self._batch_index = {id(record): index for index, record in enumerate(batch)}
        position = self._batch_index.get(id(at))
        if position is None:
            return
        tid = call.tid
        for index in range(position + 1, min(len(batch), position + 1 + LOOK_AHEAD)):
            record = batch[index]
            if record[3] != tid:
                continue
            kind = record[0]
            if kind == _GENIO:
                self.tracker.add_exit_record(record)
                return
            if kind == _STRUCT:
                struct: Any = record[6]
                if struct.name == b"bytes" and struct.argument in call.plan.io_args:
                    self.tracker.add_exit_record(record)  # what a failed call did not send
                    return
                continue
            if kind in (_SYSRET, _SYSCALL, _PROC):
                return

    def abandoned(self, call: Call, ts: int) -> None:
        """A call that gets no RET. One whose RET was lost with dropped records
        (``CallTracker.return_lost``), or whose thread went on to another call
        without it (``CallTracker.superseded``: its RET was never written), is
        closed as strace closes a call whose exit it never saw (its
        ``PTRACE_EVENT_EXIT`` line): ``NAME(ARGS) = ?`` while its line is still
        open (`` <unfinished ...>)`` after the arguments its entry shows, when
        the exit would have shown more), else ``<... NAME resumed>) = ?``, at
        ``ts``, before the thread's next line. Others (exit, exec, detach) end
        as they did: ``<unfinished ...>``."""
        if not self._never_returns(call):
            return
        out = self._out
        if self._line is call:  # its line is still open: it ends there, as strace's does
            self._line = None
            if self._more_at_exit(call):
                head = self._begun_line(call, None, "<unfinished ...>").rstrip("\n") + ")"
            else:
                arguments = self._arguments(call, entry=True)
                head = f"{self._prefix(call.tid, call.ts)}{call.plan.name}({', '.join(arguments)})"
        else:
            self._interrupt(out, None)
            head = self._resumed_unknown(call, ts)
        out.append(_result_line(head, "?"))

    def _never_returns(self, call: Call) -> bool:
        """Whether an abandoned call is closed with ``= ?`` (see ``abandoned``)."""
        return self.tracker.return_lost(call) or self.tracker.superseded(call)

    def _more_at_exit(self, call: Call) -> bool:
        """Whether the call's exit would print more arguments (strace: ``<unfinished ...>)``).

        clone and clone3: as strace decides it by their flags (``_clone_grows``)."""
        plan = call.plan
        if not self.options.raw:
            if plan.name == "clone":
                return _clone_grows(call)
            if plan.name in GROWING_CALLS:
                return self._grows(call)
        return plan.first_output_arg < len(plan.kinds)

    def _resumed_unknown(self, call: Call, ns: int) -> str:
        """The resumption of an interrupted call whose exit is unknown (no RET, or one
        that says it never returned): what it would have filled in is unknown, as strace
        says (a call whose arguments were all shown resumes with ``) = ?``)."""
        tail = " <unfinished ...>)" if self._more_at_exit(call) else ")"
        return f"{self._prefix(call.tid, ns)}<... {call.plan.name} resumed>{tail}"

    def _ret(self, out: list[str], record: Record, call: Call) -> None:
        tracker = self.tracker
        tid = record[3]
        ret: Any = call.ret
        if ret is not None and ret.flags & 1 and (ret.flags & _DETACHED
                                                  or self._detached_after(record)):
            # ktr let the thread go in the call (it resumes untraced): strace
            # ends the line it began with " <detached ...>"; a line already
            # ended "<unfinished ...>" stays as it is, as strace leaves it.
            if self._line is call:
                self._line = None
                out.append(self._begun_line(call, record, "<detached ...>"))
            return
        if self._line is not call:
            self._interrupt(out, None, record)
        self._line = None
        if (ArgKind.FD_PAIR_OUT in call.plan.kinds or call.plan.name == "clone3"
                or call.plan.name == "clone"
                or call.plan.name == "recvmsg" or call.plan.name == "recvmmsg"):
            # pipe, socketpair, clone's and clone3's pidfd, the fds recvmsg received: their new fds
            # shown with what they are
            tracker.settle(call)
        arguments = self._arguments(call, entry=False)
        tracker.settle(call)
        if ret is not None and ret.error == _RESTART_RESTARTBLOCK and not ret.flags & 1:
            # What the thread's next restart_syscall resumes: this call, a
            # restart_syscall interrupted in turn included (strace then prints
            # "resuming interrupted restart_syscall"). Set after this line's own
            # arguments: a restart_syscall names the call before it.
            self._interrupted[tid] = call.plan.name
        if (call.started >= 0 and call.ret is not None and call.ret.flags & 1
                and self._more_at_exit(call)):
            head = self._resumed_unknown(call, record[4])  # never returned
        elif call.started >= 0 or call.ts == -1:
            start = max(call.started, 0)
            rest = ", ".join(arguments[start:])
            shown = (self._grown_from.pop(tid, None)
                     if start and call.plan.name in GROWING_CALLS and not self.options.raw
                     else None)
            if shown is not None:
                # clone3: what the first argument gained at exit, then the rest
                grown = arguments[0][len(shown):] if arguments else ""
                rest = f"{grown}, {rest}"
            if rest and call.plan.name == "clone" and not self.options.raw:
                rest = f", {rest}"  # strace's clone prints its exit part after a comma
            head = (f"{self._prefix(tid, record[4])}<... {call.plan.name} resumed>"
                    f"{rest})")
        elif call.ret is not None and call.ret.flags & 1 and self._more_at_exit(call):
            # Never returned (killed in it): strace shows what it printed at entry only.
            head = self._begun_line(call, None, "<unfinished ...>").rstrip("\n") + ")"
            self._grown_from.pop(tid, None)
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
            result = strace_result(call.plan, ret.retval, description, call.args, call,
                                   self._style.string_limit)
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
        if proc.event == ProcEvent.STOP:  # a group-stop (job control)
            self._interrupt(out, None, record)
            out.append(f"{self._prefix(record[3], record[4])}--- stopped by "
                       f"{self.names.signal(proc.signal)} ---\n")
            return
        if proc.event != ProcEvent.EXIT:
            return
        tid = record[3]
        self._interrupt(out, None, record)
        if proc.child:  # the old leader, superseded by another thread's execve
            what = f"superseded by execve in pid {proc.child}"
        elif proc.flags & ProcFlag.SIGNALED:
            core = " (core dumped)" if proc.flags & ProcFlag.CORE_DUMPED else ""
            what = f"killed by {self.names.signal(proc.signal)}{core}"
        else:
            what = f"exited with {proc.status}"
        out.append(f"{self._prefix(tid, record[4])}+++ {what} +++\n")
