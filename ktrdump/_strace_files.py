r"""``ktrdump --format strace -ff -o PREFIX``: one strace log per thread, as ``strace -ff -o``.

strace writes ``PREFIX.TID`` per thread with ``-ff``, and its lines then have
no thread column; with ``-tt -T`` they are exactly what lnav's built-in
``strace_log`` format reads (``HH:MM:SS.uuuuuu name(args) = rc <secs>``;
lnav does not read ``-f``'s thread column, nor ``-ttt``'s epoch seconds)::

    ktrdump --format strace -ff -tt -T -o out trace.ktr && lnav out.*

Each file holds the lines of one thread in time order: its calls (never split
into ``<unfinished ...>``/``<... resumed>`` for another thread's sake, only
when a signal or the thread's exit comes while the call is open, as strace
does), its signals, its exit. Records lost (DROP) name no thread (pid 0,
tid 0: the records may be any thread's), so a DROP is written as
``--- ktr: N records lost (REASON) ---`` into the file of every thread seen
so far, and a thread first seen after DROPs has its file begin with
``--- ktr: N records lost before this thread's first line (...) ---`` (its
first records may be among them), counting the DROPs since its birth when the
trace shows it (fork, vfork, clone), else all of them; no thread's log hides
the gap. As standard output stays empty, the total lost is said on standard
error at the end (``losses_summary``), with the part no file holds (DROPs
before every thread shown). Data lost to damage (the strace view's
``--- ktr: N bytes lost at byte offset ... ---``, a recording cut short,
``--salvage``'s UNVERIFIED) goes into every thread's file so far, as a
single input's or merged inputs' strace view has it in-band, and to
standard error as damage always does. Every other option of the strace
format applies (``-y``, ``-n``, ``-m``, filters, ``-t``/``-tt``/``-ttt``/``-r``/``-T``).

Guarantees: files are created private (``_files.create_private``) as the
threads appear, written as their lines come and closed at the end; at most
``MAX_OPEN_FILES`` are open at once, fewer when the descriptor limit is lower
(``ulimit -n``: an open failing with EMFILE closes one more) (the least
recently written is closed and reopened for appending when its thread writes again, through
``_files.reopen_private``: the first open's checks again, and still the file
it created), so a trace of many threads does not run out of descriptors. Does not: write anything to
standard output.
"""

from __future__ import annotations

import errno
import os
from collections import OrderedDict
from typing import Any, NamedTuple

from formats import DROP_CAUSES, DropError, FileHeader, ProcEvent, Record, RecordKind

from . import _model
from ._bounded import Table
from ._calls import Call
from ._describe import damage_of, damage_text
from ._files import FileIds, create_private, output_file_failure, reopen_private
from ._filter import record_filter
from ._model import Names
from ._options import Options
from ._strace import StraceDescriber
from .errors import OutputError

#: Per-thread files kept open at once.
MAX_OPEN_FILES = 256

_SYSRET = int(RecordKind.SYSRET)
_PSIG = int(RecordKind.PSIG)
#: PROC events with a line of their own (an exit, a group-stop): they end the call line
_OWN_LINE = frozenset({int(ProcEvent.EXIT), int(ProcEvent.STOP)})
_EXIT = int(ProcEvent.EXIT)
_PROC = int(RecordKind.PROC)
_DROP = int(RecordKind.DROP)
#: PROC events that start a thread (``child``)
_BIRTHS = frozenset({int(ProcEvent.FORK), int(ProcEvent.VFORK), int(ProcEvent.CLONE)})


class _ThreadFiles:
    """``PREFIX.TID`` files: created on first use, a bounded number kept open."""

    def __init__(self, prefix: str, avoid: FileIds) -> None:
        self.prefix = prefix
        self._avoid = avoid
        # tid -> its file's (st_dev, st_ino): a reopen must find that file still
        self.created: dict[int, tuple[int, int]] = {}
        self._open: OrderedDict[int, int] = OrderedDict()  # tid -> fd, least recent first

    def write(self, tid: int, text: str) -> None:
        fd = self._open.pop(tid, None)
        if fd is None:
            fd = self._reopen(tid)
        self._open[tid] = fd
        data = text.encode("utf-8", "backslashreplace")
        try:
            while data:
                data = data[os.write(fd, data):]
        except OSError as error:
            raise output_file_failure(f"{self.prefix}.{tid}", error) from None

    def _reopen(self, tid: int) -> int:
        if len(self._open) >= MAX_OPEN_FILES:
            _, oldest = self._open.popitem(last=False)
            os.close(oldest)
        while True:
            try:
                return self._open_file(tid)
            except OutputError as error:
                # (under a lower ``ulimit -n`` than MAX_OPEN_FILES: fewer open at once;
                # strace -ff gives up there, "Can't fopen")
                if error.errno not in (errno.EMFILE, errno.ENFILE) or not self._open:
                    raise
                _, oldest = self._open.popitem(last=False)
                os.close(oldest)

    def _open_file(self, tid: int) -> int:
        path = f"{self.prefix}.{tid}"
        identity = self.created.get(tid)
        if identity is None:
            fd = create_private(path, self._avoid)
            info = os.fstat(fd)
            self.created[tid] = (info.st_dev, info.st_ino)
            return fd
        # Ours already: appended to, after the same checks as its creation (the
        # name may have been given a hard link, or replaced, since it was closed).
        return reopen_private(path, identity, self._avoid)

    def close(self) -> None:
        while self._open:
            _, fd = self._open.popitem()
            os.close(fd)


class PerThreadStrace(StraceDescriber):
    """The strace describer with one output per thread and no thread column."""

    def __init__(self, options: Options, prefix: str, names: Names | None = None,
                 header: FileHeader | None = None, avoid: FileIds = frozenset()) -> None:
        super().__init__(options, names, header)
        self.files = _ThreadFiles(prefix, avoid)
        self._thread_calls: dict[int, Call] = Table()  # tid -> its open call, line not yet written
        self._tid = 0  # the thread whose lines ``self._out`` collects now
        # Records lost (DROPs) so far: their number, the records, per reason (in
        # the order first seen), the last one's time.
        self._drops = 0
        self._lost = 0
        self._lost_by_reason: dict[str, int] = {}
        self._last_drop_ns = 0
        # tid -> the losses so far when the trace showed it born (fork, vfork,
        # clone): only the DROPs after that may hold its records.
        self._births: dict[int, _Losses] = Table()
        # DROPs no file holds yet (no thread's file then): (number, records, reason)
        self._unplaced: list[tuple[int, int, str]] = []

    # The base class collects lines in ``self._out``; every line it writes
    # while handling one record belongs to that record's thread.

    def describe(self, records: list[Record]) -> list[str]:
        # No look-ahead across batches: a call's line never waits for another
        # thread's, so it is whole at its RET (the base class holds records
        # back only to complete lines other threads interrupted).
        self._batch = records
        self._batch_index = None
        self.tracker.feed(records, self)
        return []

    def finish(self) -> list[str]:
        self._out = []
        self.tracker.flush(self)
        for tid in list(self._thread_calls):
            self._unfinished(tid)
        self.files.close()
        return []

    def losses_summary(self) -> str | None:
        """The records lost (DROPs) in all, for standard error, and where they are said;
        None when there were none. With ``-ff`` nothing goes to standard output, so
        this is the one place that sees them all, including those no file holds
        (they came before every thread shown)."""
        if not self._drops:
            return None
        text = f"{_lost_text(self._lost, self._drops, self._lost_by_reason)}"
        where = f"the files {self.files.prefix}.TID say where"
        if not self._unplaced:
            return f"{text}; {where}"
        nowhere = "in no thread's file (they came before every thread shown)"
        if len(self._unplaced) == self._drops:
            return f"{text}; {nowhere}"
        lost = sum(records for _, records, _ in self._unplaced)
        return (f"{text}; {lost} of them ({_plural(len(self._unplaced), 'DROP')}) {nowhere}, "
                f"the others in the files {self.files.prefix}.TID")

    def call(self, call: Call, record: Record) -> None:
        if call.tid not in self.files.created:
            # Its file is begun now, not at the call's line (written whole at its
            # RET): a DROP while the call is open goes into it, as into any other.
            self._write(call.tid, "")
        self._thread_calls[call.tid] = call
        if call.plan.abi != self._personality:
            switched = self._personality_line(call.tid, call.plan.abi, record[4])
            if switched is not None:
                self._write(call.tid, switched)

    def record(self, call: Call | None, record: Record) -> None:
        kind = record[0]
        tid = record[3]
        if kind == _DROP:
            self._dropped(call, record)
            return
        if kind == _PROC and getattr(record[6], "event", None) in _BIRTHS:
            child = getattr(record[6], "child", 0)
            if child not in self.files.created:
                self._births[child] = _Losses(self._drops, self._lost,
                                              tuple(self._lost_by_reason.items()))
        if kind == _PSIG or (kind == _PROC and getattr(record[6], "event", None) in _OWN_LINE):
            self._unfinished(tid)
            proc: Any = record[6]
            if kind == _PROC and proc.event == _EXIT and proc.child:
                self._pid_changed(proc.child, tid)  # (the old leader, superseded)
        elif kind == _SYSRET and call is not None and self._thread_calls.get(tid) is call:
            del self._thread_calls[tid]
            self._line = call  # its line was never interrupted: printed whole
        self._out = []
        super().record(call, record)
        self._emit(tid)

    def abandoned(self, call: Call, ts: int) -> None:
        """A call closed with ``= ?`` (the base class's ``abandoned``) goes to its
        thread's file: whole when its line was not written yet, else resumed."""
        if not self._never_returns(call):
            return  # exit, exec, detach: its line ends as before (``_unfinished``)
        if self._thread_calls.get(call.tid) is call:
            del self._thread_calls[call.tid]
            self._line = call
        self._out = []
        super().abandoned(call, ts)
        self._emit(call.tid)

    def notice_lines(self, notice: Any, ns: int) -> list[str]:
        """A damaged region of the input: its ``--- ktr: ... ---`` line (the strace
        view's) into every thread's file so far, as a DROP's; nothing for standard
        output. Open calls stay open (their lines come whole at their RET)."""
        source, skipped = damage_of(notice)
        if skipped is not None:
            line = f"{self._prefix(0, ns)}--- ktr: {damage_text(skipped, source)} ---\n"
            for thread in sorted(self.files.created):
                self.files.write(thread, line)
        return []

    def _unfinished(self, tid: int) -> None:
        """A signal or exit comes while the thread's call is open: ``<unfinished ...>``."""
        call = self._thread_calls.pop(tid, None)
        if call is None:
            return
        self._out = []
        self._line = call
        self._interrupt(self._out, None)
        self._emit(tid)

    def _pid_changed(self, former: int, leader: int) -> None:
        """The old leader is superseded by thread ``former``'s execve: that thread's
        file ends with the call's line so far and strace's ``<pid changed to LEADER
        ...>``; the call returns in the leader's file, ``<... execve resumed>``
        (strace -ff's threaded execve)."""
        call = self._thread_calls.pop(former, None)
        if call is None:
            return
        self._out = [self._begun_line(call, None, f"<pid changed to {leader} ...>")]
        self._emit(former)

    def _dropped(self, call: Call | None, record: Record) -> None:
        """A DROP names no thread (pid 0, tid 0): the records lost may be any thread's.
        Its line goes into the file of every thread seen so far; a thread first seen
        later has its file begin with the losses before it (``_write``)."""
        self._out = []
        super().record(call, record)
        for thread in sorted(self.files.created):
            for line in self._out:
                self.files.write(thread, line)
        self._out = []
        drop: Any = record[6]
        reason = _model.drop_error_name(drop.error, self.names)
        self._drops += 1
        self._lost += drop.lost
        self._lost_by_reason[reason] = self._lost_by_reason.get(reason, 0) + drop.lost
        self._last_drop_ns = record[4]
        if not self.files.created:
            self._unplaced.append((self._drops, drop.lost, reason))

    def _write(self, tid: int, text: str) -> None:
        """``text`` into ``tid``'s file; a new file first says the records lost before
        it that may be its thread's (since its birth, when the trace showed it)."""
        if tid not in self.files.created:
            losses = self._births.pop(tid, _NO_LOSSES)
            if self._drops > losses.drops:
                self.files.write(tid, self._lost_before(losses))
                unplaced = self._unplaced
                while unplaced and unplaced[-1][0] > losses.drops:
                    unplaced.pop()  # this file holds them
        self.files.write(tid, text)

    def _lost_before(self, since: _Losses) -> str:
        earlier = dict(since.by_reason)
        by_reason = {reason: count - earlier.get(reason, 0)
                     for reason, count in self._lost_by_reason.items()
                     if count > earlier.get(reason, 0)}
        drops = self._drops - since.drops
        lost = self._lost - since.lost
        what = (f"({_one_reason(next(iter(by_reason)))})" if drops == 1
                else f"({_reasons(drops, by_reason)})")
        return (f"{self._prefix(0, self._last_drop_ns)}--- ktr: {_plural(lost, 'record')} "
                f"lost before this thread's first line {what} ---\n")

    def _emit(self, tid: int) -> None:
        for line in self._out:
            self._write(tid, line)
        self._out = []

    def _prefix(self, tid: int, ns: int) -> str:
        text = super()._prefix(tid, ns)
        return text[len(f"{tid:<5d} "):]


class _Losses(NamedTuple):
    """The records lost so far, at some point of the trace."""

    drops: int
    lost: int
    by_reason: tuple[tuple[str, int], ...]


_NO_LOSSES = _Losses(0, 0, ())


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _one_reason(name: str) -> str:
    """A single drop's reason as the strace view's drop line words it (``drop_label``)."""
    error = DropError.__members__.get(name)
    return name if error is None else f"{name}: {DROP_CAUSES[error]}"


def _reasons(drops: int, by_reason: dict[str, int]) -> str:
    """``2 DROPs: ENOSPC 3, ENOMEM 4``."""
    counts = ", ".join(f"{reason} {count}" for reason, count in by_reason.items())
    return f"{_plural(drops, 'DROP')}: {counts}"


def _lost_text(lost: int, drops: int, by_reason: dict[str, int]) -> str:
    return f"{_plural(lost, 'record')} lost ({_reasons(drops, by_reason)})"


def per_thread_describer(options: Options, prefix: str, header: FileHeader | None,
                         selector: Any = None, avoid: FileIds = frozenset()) -> PerThreadStrace:
    describer = PerThreadStrace(options, prefix, header=header, avoid=avoid)
    if selector is not None:
        describer.tracker.keep = record_filter(options, selector.keep)
    return describer


__all__ = ["MAX_OPEN_FILES", "PerThreadStrace", "per_thread_describer"]
