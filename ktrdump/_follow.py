"""Follow a growing trace, as ``tail -f`` does (``ktrdump -l``).

``Follower(source)`` reads a trace file and, at its end, waits for more
instead of ending: records the recorder appends come out within one poll
interval (25 ms by default; the goal is 100 ms) of being written. It reads
through the ordinary reader (``_reader.TraceReader``) over a stream that
waits, so every reading guarantee holds (damage is skipped and reported,
memory is bounded).

Ends:

- ``stop()`` (any thread; ``stop_on_sigint()`` makes Ctrl-C call it): the
  iteration ends quietly within one poll interval, without a notice, even in
  the middle of a batch (the partial batch is not shown).
- a file: once the END record ``ktr record`` writes last has been read and
  nothing follows it at the next look (the recording ended). A recording
  appended with ``ktr record -a`` (``ktr record`` writes its BEGIN record to
  the file as soon as it starts, not with its first batch) is followed when
  its BEGIN is in the file by then: any bytes after an END keep following
  going, to the next END. One that starts after following has ended is not
  followed (``ktrdump -l`` again reads it). Precisely: at an END at the end
  of the file, one more read is made at once, without waiting; if it gets
  nothing, following ends.
- a pipe, a socket or standard input: at end of input (the writer closed
  it), exactly like the reader without follow. Waiting uses ``select`` with
  the poll interval, so ``stop()`` works there too.
- the file is truncated (shorter than what was read) or replaced (its path
  now names another file: log rotation, a new recording with the same name):
  a ``FollowEnded`` event (one line: ``describe()``) ends the iteration. ktr
  does not reopen: a replaced trace is a different recording, whose header
  the records read so far do not belong to. A file that is only removed
  (unlinked) is still followed through the open descriptor, as ``tail -f``.
- a file whose recorder died without writing END (SIGKILL, a crash): while
  idle at the end of the file, once per poll interval, the recorder the
  current recording's BEGIN names is looked for in ``/proc``. When it is gone
  (no such pid, a zombie, or a pid reused by a process started after the
  BEGIN) and one more read brings nothing, the input ends there, as a file
  read without follow does: the reader's ``CutShort`` notice follows, saying
  the recorder is gone (``NO_END_RECORDER_GONE``). Only when that can be
  known: the recording has a BEGIN naming a pid, whose
  ``recorder`` option names this process's pid namespace (the inode of
  ``/proc/self/ns/pid``) and this boot (``boot_id``) -- or, for a recording
  made before the option, whose file header's hostname is this machine's
  ``uname -n`` --, ``/proc`` is this pid namespace's (``/proc/self`` is this
  process), and its ``CLOCK_MONOTONIC`` is not later than this machine's now
  (else it is another boot's, whose times cannot be compared). Otherwise
  following waits as before. So a recorder in another container is never
  judged from here, even under the same host name (an older recording, which
  does not say its namespace, still can be).

A torn tail is not an error while following: the writer appends whole
batches, so a partial batch at the end is waited for (the reader's ``fill``
simply asks for the rest). A missing file is an error at once (``InputError``,
as without follow); an empty file is waited on until its header arrives.
While the file header is incomplete (its length field may have been damaged
upwards: it claims bytes a finished file will never have), each time the file
has grown its batches are looked at (at most ``MAX_HEADER_BODY`` bytes): when
the last intact one ends the file with an END, or holds a BEGIN whose recorder
is gone (as above), the input ends there, and the header is reported damaged
(or, with ``salvage``, read past) exactly as without follow. A batch whose
length was damaged upwards is a torn tail or damage as above: following ends
at the next END read or once its recorder is gone.

Pauses (``events(pauses=PauseOptions(idle_ns, holding))``, for a consumer
that holds records back: ktrdump's reorder window for perf records): at each
batch boundary where nothing more can be read at once (the file has no byte
not read, the pipe is not readable), a ``Pause(0)`` event; then, when
``holding()`` says records are held and no part of a batch is waiting for
its rest, following waits up to ``idle_ns`` for more (``stop()`` still ends
it within a poll interval) and, if nothing came, yields ``Pause(idle_ns)``:
the consumer may let go of everything (``_merge``), then reading waits as
before. No wait once an END has ended the recording (following ends at
once, as before). A finished file read through never waits there: the
reader holds the rest of the file, or the END was read, at every boundary
with nothing left to read; so its events are the same with pauses as
without, plus ``Pause(0)`` events.

Guarantees: events are exactly the reader's (``list[Record]`` batches and
``Skipped`` notices), plus the ``Pause`` events asked for, plus at most one
final ``FollowEnded``; no busy waiting (one ``fstat`` per poll interval while
idle). Does not: reopen rotated files, use inotify, or follow several files
at once.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType, TracebackType
from typing import NamedTuple, TypeVar

import formats
from formats import FileHeader

from ._reader import (
    STDIN_NAME,
    Event,
    Pause,
    RawEvent,
    Skipped,
    TraceReader,
    _PrefixCrcs,
    ends_recording,
    recording_begin,
)
from .errors import InputError

_Event = TypeVar("_Event", Event, RawEvent)

#: Seconds between two looks at an input that has no new data.
DEFAULT_POLL_INTERVAL = 0.025


@dataclass(frozen=True)
class FollowOptions:
    poll_interval: float = DEFAULT_POLL_INTERVAL
    # ``ktrdump --salvage``: read past a damaged file header (``TraceReader``'s).
    salvage: bool = False

    def __post_init__(self) -> None:
        if not 0 < self.poll_interval <= 1:
            raise ValueError("the poll interval must be in (0, 1] seconds")


class FollowEnded(NamedTuple):
    """Following stopped because the file was truncated or replaced."""

    source: str
    reason: str  # "file truncated", "file replaced"

    def describe(self) -> str:
        return f"{self.source}: {self.reason}; stopped following"


class PauseOptions(NamedTuple):
    """``events(pauses=...)``: say when the input has nothing more for now (``Pause``).

    (A NamedTuple, not a dataclass: made once per run, and a dataclass costs every
    start-up the compiling of its methods.)

    ``idle_ns``: after a ``Pause(0)``, while ``holding()`` is true (the consumer
    holds records back, as a reorder window does), nothing more is read for up
    to this long; if nothing came, a ``Pause(idle_ns)`` says so.
    """

    idle_ns: int
    holding: Callable[[], bool]


class _Stopped(Exception):
    """Raised through the reader when ``stop()`` was called; ends the iteration quietly."""


class _StopFlag:
    """A stop request that a signal handler may set.

    ``threading.Event.set`` takes a lock that the interrupted main thread may
    be holding inside ``Event.wait`` (a SIGINT handler then deadlocks); a
    plain attribute and sleeps of one poll interval need no lock.
    """

    def __init__(self) -> None:
        self._set = False

    def set(self) -> None:
        self._set = True

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> None:
        if not self._set:
            time.sleep(timeout)


class _RecorderWatch:
    """Whether the recorder a BEGIN names still runs (``/proc/PID/stat``; see the docstring)."""

    def __init__(self, pid: int, monotonic_ns: int) -> None:
        self.pid = pid
        self.monotonic_ns = monotonic_ns
        self._tick_ns = 1_000_000_000 // os.sysconf("SC_CLK_TCK")

    def gone(self) -> bool:
        try:
            with open(f"/proc/{self.pid}/stat", "rb") as stat_file:
                line = stat_file.read()
        except (FileNotFoundError, ProcessLookupError):
            return True
        except OSError:
            return False  # cannot tell: keep following
        fields = line[line.rfind(b")") + 2:].split()  # after "pid (comm) "
        if len(fields) < 20 or not fields[19].isdigit():
            return False
        if fields[0] in (b"Z", b"X"):
            return True  # killed, not yet reaped by its parent
        # starttime counts clock ticks of CLOCK_BOOTTIME (Linux >= 5.3; MONOTONIC
        # before), which runs ahead of MONOTONIC by the time suspended: allow all the
        # suspension so far, and a tick of rounding, so a live recorder never looks
        # reused (a reused pid started within that margin is taken as alive).
        suspended = time.clock_gettime_ns(time.CLOCK_BOOTTIME) - time.monotonic_ns()
        started_ns = int(fields[19]) * self._tick_ns
        return started_ns > self.monotonic_ns + max(0, suspended) + self._tick_ns


def _watch_recorder(header: FileHeader, begin: formats.Begin) -> _RecorderWatch | None:
    """A watch on the recorder ``begin`` names, or None when whether it runs cannot be known."""
    if begin.recorder_pid <= 0:
        return None
    identity = _recorder_identity(begin.options)
    if identity is not None:
        # The recorder said where its pid means something: only there is it judged,
        # whatever the host names (two containers may share one).
        if identity != (_pid_namespace(), _boot_id()):
            return None
    elif header.hostname != os.uname().nodename:
        return None  # an older recording: the host name is all there is
    if begin.monotonic_ns > time.monotonic_ns():
        return None  # another boot's recording: its times mean nothing here
    try:
        if os.readlink("/proc/self") != str(os.getpid()):
            return None  # /proc of another pid namespace
    except OSError:
        return None  # no /proc
    return _RecorderWatch(begin.recorder_pid, begin.monotonic_ns)


def _recorder_identity(options: bytes) -> tuple[object, object] | None:
    """(pid namespace, boot id) from a BEGIN's ``recorder`` option; None if it has none.

    A value that is missing or malformed stays in the pair as None or as it is:
    it then matches no namespace here, and the recorder is not judged.
    """

    try:
        parsed = json.loads(options)
    except (ValueError, RecursionError):  # (nested deeper than json follows: crafted)
        return None
    recorder = parsed.get("recorder") if isinstance(parsed, dict) else None
    if not isinstance(recorder, dict):
        return None
    return recorder.get("pid_namespace"), recorder.get("boot_id")


def _pid_namespace() -> int | None:
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as handle:
            return handle.read().strip() or None
    except (OSError, ValueError):
        return None


#: What is known of a file whose header has not been read: nothing (the host name
#: does not match this machine's, so only a BEGIN's ``recorder`` identity is judged).
_UNKNOWN_HEADER = FileHeader(hostname="", kernel_release="", machine="", realtime_ns=0,
                             monotonic_ns=0, ktr_version="")


class _WaitingFile:
    """A regular file read as a stream that waits at its end (``TraceReader`` reads it)."""

    following = True
    #: ``TraceReader``'s hook at each batch boundary (``Follower._pauses``).
    pauses: Callable[[int], Iterator[Pause]] | None = None

    def __init__(self, path: str, fd: int, options: FollowOptions, stop: _StopFlag) -> None:
        self.name = path
        self._fd = fd
        self._poll = options.poll_interval
        self._stop = stop
        self._position = 0
        opened = os.fstat(fd)
        self._identity = (opened.st_dev, opened.st_ino)
        self.ended: str | None = None  # why following ended, when it did on its own
        # An END record was read last and nothing after it: no more to wait for.
        self.recording_ended = False
        # The recorder writing the current recording, when it can be watched.
        self.recorder: _RecorderWatch | None = None
        # The recorder was found gone (the reader's ``CutShort`` says so).
        self.recorder_gone = False
        # Until the file header has been read (``Follower`` clears it): the header
        # may claim more bytes than a finished file will ever have (its length field
        # damaged upwards), so the batches already in the file are looked at instead.
        self.header_pending = True
        self._scanned_size = -1  # the file size ``_recording_over`` last looked at
        self._scanned_over = False  # and what it found

    def read(self, size: int = -1) -> bytes:
        """At least one byte, or b"" when following ends; raises ``_Stopped`` on stop()."""
        while True:
            if self._stop.is_set():
                raise _Stopped
            data = os.read(self._fd, size if size > 0 else 1 << 20)
            if data:
                self._position += len(data)
                # Bytes after an END: another recording (ktr record -a) began. Wait
                # for the rest of its batch, should this be only part of it.
                self.recording_ended = False
                return data
            if self.recording_ended or self.recorder_gone:
                return b""  # the end of the input, as for a file not followed
            if self.header_pending and self._recording_over():
                return b""  # the header's claimed bytes will never come
            self.ended = self._gone()
            if self.ended is not None:
                return b""
            if self.recorder is not None and self.recorder.gone():
                # It may have written just before it died: read once more, at once.
                self.recorder_gone = True
                continue
            self._stop.wait(self._poll)

    def has_data(self) -> bool:
        """Whether a read would not wait: the file has bytes not read yet (or is shorter:
        the read says it was truncated)."""
        return os.fstat(self._fd).st_size != self._position

    def wait_data(self, timeout: float) -> bool:
        self._stop.wait(timeout)
        return self.has_data()

    def _recording_over(self) -> bool:
        """While the file header is incomplete: whether the file's last intact batch
        ends it with an END (the recording is over, however long the header claims
        to be). A BEGIN found on the way has its recorder watched, as after a header.

        Looked at again only when the file has grown. Bounded: the header is waited
        for only while the file is shorter than the longest header (SPEC's
        ``MAX_HEADER_BODY``), and this reads no more than that.
        """
        size = os.fstat(self._fd).st_size
        if size == self._scanned_size:
            return self._scanned_over
        self._scanned_size = size
        self._scanned_over = self._ends_with_end()
        return self._scanned_over

    def _ends_with_end(self) -> bool:
        data = os.pread(self._fd, formats.HEADER_PREFIX_SIZE + formats.MAX_HEADER_BODY, 0)
        try:
            order = formats.parse_header_prefix(data[:formats.HEADER_PREFIX_SIZE]).byte_order
        except formats.FormatError:
            return False  # the reader reports it once it has the prefix
        framing = formats.batch_framing(order)
        # Linear in the bytes, as the reader's search: a candidate's payload checksum
        # comes from prefix checksums, and only one that holds is decoded.
        crcs = _PrefixCrcs()
        position, ended = formats.HEADER_PREFIX_SIZE, False
        while (found := formats.find_batch(data, position)) >= 0:
            position = found + 1
            try:
                batch = framing.parse_header(data[found:found + framing.size], found)
            except formats.CorruptBatch:
                continue
            start = found + framing.size
            end = start + batch.stored_length
            if end > len(data) or crcs.slice_crc(data, 0, start, end) != batch.payload_crc:
                continue
            position = end
            try:
                records = framing.decode(batch, data[start:end], found)
            except formats.CorruptBatch:
                continue
            if records and (begin := recording_begin(records, framing.codec)) is not None:
                self.recorder = _watch_recorder(_UNKNOWN_HEADER, begin)
            ended = ends_recording(records, order) and end == len(data)
        return ended

    def _gone(self) -> str | None:
        if os.fstat(self._fd).st_size < self._position:
            return "file truncated"
        try:
            now = os.stat(self.name)
        except FileNotFoundError:
            return None  # unlinked: keep following the descriptor, as tail -f does
        if (now.st_dev, now.st_ino) != self._identity:
            return "file replaced"
        return None

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        os.close(self._fd)


class _WaitingPipe:
    """A pipe (or socket, terminal) read with ``select``, so ``stop()`` is seen while idle."""

    following = True
    ended: str | None = None
    pauses: Callable[[int], Iterator[Pause]] | None = None

    def __init__(self, name: str, fd: int, options: FollowOptions, stop: _StopFlag,
                 owns_fd: bool) -> None:
        self.name = name
        self._fd = fd
        self._poll = options.poll_interval
        self._stop = stop
        self._owns_fd = owns_fd

    #: Never known to have ended before its writer closes it (``_WaitingFile``'s is).
    recording_ended = False

    def has_data(self) -> bool:
        """Whether a read would not wait (bytes, or the end of input)."""
        return self.wait_data(0)

    def wait_data(self, timeout: float) -> bool:
        ready, _, _ = select.select([self._fd], [], [], timeout)
        return bool(ready)

    def read(self, size: int = -1) -> bytes:
        while True:
            if self._stop.is_set():
                raise _Stopped
            ready, _, _ = select.select([self._fd], [], [], self._poll)
            if ready:
                return os.read(self._fd, size if size > 0 else 1 << 20)  # b"": writer closed

    def fileno(self) -> int:
        return self._fd

    def close(self) -> None:
        if self._owns_fd:
            os.close(self._fd)


class Follower:
    """A followed trace: iterate ``events()``; ``stop()`` ends it (see the module docstring)."""

    def __init__(self, source: str | os.PathLike[str], options: FollowOptions | None = None
                 ) -> None:
        self.options = options or FollowOptions()
        self._stop = _StopFlag()
        path = os.fspath(source)
        self.stream: _WaitingFile | _WaitingPipe
        if path == "-":
            self.name = STDIN_NAME
            self.stream = _WaitingPipe(STDIN_NAME, sys.stdin.fileno(), self.options,
                                       self._stop, owns_fd=False)
        else:
            self.name = path
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError as error:
                raise InputError(path, error.strerror or str(error)) from None
            if stat.S_ISREG(os.fstat(fd).st_mode):
                self.stream = _WaitingFile(path, fd, self.options, self._stop)
            else:
                self.stream = _WaitingPipe(path, fd, self.options, self._stop, owns_fd=True)
        self.reader: TraceReader | None = None  # once the header has been read
        self._pause: PauseOptions | None = None
        # The reader asks the stream for pauses at each batch boundary (``events``).
        self.stream.pauses = self._pauses

    @property
    def header(self) -> FileHeader | None:
        """The trace's file header, once ``events()`` has read it."""
        return None if self.reader is None else self.reader.header

    def stop(self) -> None:
        """End ``events()`` within one poll interval (thread-safe, signal-safe)."""
        self._stop.set()

    @property
    def interactive(self) -> bool:
        """Whether the input is a pipe, socket or terminal (not a regular file)."""
        return isinstance(self.stream, _WaitingPipe)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def open(self) -> bool:
        """Wait for the file header and read it (``header`` is then known); False
        when ``stop()`` came first. Raises as ``events()`` does."""
        try:
            self._open_reader()
        except _Stopped:
            return False
        return True

    def events(self, pauses: PauseOptions | None = None
               ) -> Iterator[Event | Pause | FollowEnded]:
        """The reader's events as the file grows; then a ``FollowEnded`` if it was cut or replaced.

        Waits for the file header first. Raises what ``open_trace`` raises for
        a file that is not a trace (``TraceFormatError``) and ``InputError``
        for an I/O error. ``pauses``: between batches, when nothing more can be
        read at once, a ``Pause`` event (see ``PauseOptions``); none without it.
        """
        self._pause = pauses
        return self._follow(lambda reader: reader.events())

    def raw_events(self) -> Iterator[RawEvent | FollowEnded]:
        """As ``events``, with batches undecoded (``TraceReader.raw_events``: the summary's)."""
        self._pause = None
        return self._follow(lambda reader: reader.raw_events())  # type: ignore[return-value]

    def _open_reader(self) -> TraceReader:
        if self.reader is None:
            self.reader = TraceReader(self.stream, self.name,  # type: ignore[arg-type]
                                      salvage=self.options.salvage)
            if isinstance(self.stream, _WaitingFile):
                self.stream.header_pending = False
        return self.reader

    def _pauses(self, available: int) -> Iterator[Pause]:
        """The reader's hook at each batch boundary (``available``: bytes it holds
        unread): ``Pause`` events when nothing more can be read at once and
        ``events`` was asked for them; waits up to ``idle_ns`` for more then."""
        pause = self._pause
        stream = self.stream
        if pause is None or stream.has_data():
            return
        yield Pause(0)
        if available or stream.recording_ended or not pause.holding():
            return  # (a part of a batch, being written; or all that will come)
        deadline = time.monotonic() + pause.idle_ns / 1e9
        while (left := deadline - time.monotonic()) > 0:
            if self._stop.is_set():
                raise _Stopped
            if stream.wait_data(min(self.options.poll_interval, left)):
                return
        yield Pause(pause.idle_ns)

    def _follow(self, events: Callable[[TraceReader], Iterator[_Event]]
                ) -> Iterator[_Event | Pause | FollowEnded]:
        try:
            reader = self._open_reader()
            byte_order = reader.header.byte_order
            for event in events(reader):
                if isinstance(event, Pause):
                    yield event
                    continue
                if isinstance(self.stream, _WaitingFile) and not isinstance(event, Skipped):
                    begin = recording_begin(event, reader.record_codec)
                    if begin is not None:
                        self.stream.recorder = _watch_recorder(reader.header, begin)
                yield event
                if isinstance(self.stream, _WaitingFile) and not isinstance(event, Skipped):
                    # An END, written last by ktr record, ends the input once nothing
                    # follows it, as a pipe ends when the recorder closes it; bytes the
                    # reader already holds after it (an appended recording's) do not.
                    self.stream.recording_ended = (
                        ends_recording(event, byte_order) and not reader.buffered)
        except _Stopped:
            return
        if self.stream.ended is not None:
            yield FollowEnded(self.name, self.stream.ended)

    @contextlib.contextmanager
    def stop_on_sigint(self) -> Iterator[None]:
        """While inside, SIGINT (Ctrl-C) calls ``stop()`` instead of raising KeyboardInterrupt.

        Only in the main thread (where Python runs signal handlers); elsewhere
        it does nothing. The previous handler is restored on exit.
        """
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            self.stop()

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def close(self) -> None:
        self.stream.close()

    def __enter__(self) -> Follower:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()


def follow(source: str | os.PathLike[str], options: FollowOptions | None = None) -> Follower:
    """Follow ``source`` (a path, or ``"-"`` for standard input); see ``Follower``."""
    return Follower(source, options)
