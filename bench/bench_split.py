"""Issue 13's untried direction, measured: record building moved out of the tracer's process.

A prototype, not a recorder path (``ktr record`` never runs it). The tracer
process runs the real control loop (``ktr._control.Control``) and, per stop,
the real builder's reads (``RecordBuilder.prepare``: paths, STRUCT captures,
read/write data, read while the thread is stopped); after the resume it
copies the raw stop (the event's fields, ``comm`` and what was read) into a
shared-memory ring (a memfd, ``mmap``). A second process drains the ring:
either doing nothing with it, or turning each raw stop into the records the
builder makes (the same finishers, fed from the raw data) and writing them
through a real ``Descriptor`` to a trace file. Stops the builder cannot
prepare (a syscall's first stop, EMUL owed, exec strings, lifecycle, signals:
its general path) are built in the tracer as today and go through the ring
as finished records, in stop order: the consumer's output is the trace
``ktr record`` writes (``--check`` compares the two with ktrdump).

Rows, each against strace on the same workload in the same run (A B A B,
medians), as bench_record.py:

- (a) the control loop alone (a consumer that does nothing),
- (b) (a) + the builder's reads + the ring copy; the consumer process only
  drains the ring,
- (c) (b) with the consumer building the records and writing the file,
- ``ktr record`` itself, for reference.

Pinned: tracer and tracee on CPU 0 (``--pin=0``) against ``taskset -c 0
strace``; the consumer process on CPU 1 (``pinned, consumer CPU 1``) or on
CPU 0 with them (``pinned, all on CPU 0``).

    python bench/bench_split.py [--rounds 5] [--count 20000]   # wall ratios
    python bench/bench_split.py --instructions                  # callgrind, per stop
    python bench/bench_split.py --check                         # ktrdump: same trace?
    python bench/bench_split.py run MODE [--pin] [--consumer-cpu N] OUT -- CMD...

What it measured (2026-11-30, callgrind, dd bs=1, instructions per stop of the
tracer process; strace 3,130-3,180): (a) the loop alone 23,700; (a') + the
builder's reads, nothing copied 31,700; (b) + the
builder's reads + a marshalled raw copy 46,900; (b') the hottest raw stops
packed straight into the ring 40,700; (d) records built as today, the ring
in place of the descriptor and writer 38,500; ``ktr record --pin=0`` 39,800.
A raw stop costs as much to copy as its record costs to build (the hot
records are one ``struct.pack`` each), so moving building out saves nothing;
what leaves the process with the descriptor and writer is about 1,300 a
stop. The tracer's floor in this design stays near today's ``ktr record``.

Not a test: nothing here asserts. The ring has one producer and one
consumer; the producer publishes its write offset every ``FLUSH_EVERY``
stops and when the loop flushes (as the real source hands over its held
records), the consumer polls with 1 ms sleeps when the ring is empty, and a
full ring makes the producer wait (counted, printed).
"""

from __future__ import annotations

import argparse
import gc
import marshal
import mmap
import os
import re
import shutil
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_record import (
    IMPORTS,
    KTR,
    bench_environment,
    dd,
    find,
    imports,
    load,
    run_rounds,
    strace,
)

RING_BYTES = 32 << 20  # the data area; a power of two
_HEADER = 4096  # write offset at 0, read offset at 64, closed flag at 128
# Native formats: packed with one memcpy of the C type, so an aligned offset word is
# written by one store, which the other process never sees half done (x86-64). The
# standard-size "<Q" writes byte by byte: a consumer can read a torn offset.
_U64 = struct.Struct("Q")
_U32 = struct.Struct("I")
_WRAP = 0xFFFF_FFFF  # a length that says "continue at the start of the data area"

# Message tags (the first item of each marshalled tuple).
T_RECORD = 0  # records the tracer built (general path): (tag, [bytes, ...])
T_ENTRY_FREE = 1  # a bare CALL
T_EXIT_FREE = 2  # a bare RET
T_EXIT_IO = 3  # read()/write(): GENIO data, then RET
T_ENTRY_CAPTURED = 4  # CALL + NAMI/STRUCT from (paths, found)
T_EXIT_CAPTURED = 5  # GENIO/STRUCT from (data, found) + RET
T_DROP = 6  # the tracer's builder counted a record it could not make
T_END = 7  # the run's result: (tag, exit_status, stop_reason, processes, threads, lost, detached)
#: Mode ``records``: what starts a control message among records (no record's payload
#: length: a record is at most 16 MiB).
_CONTROL = b"\xff\xff\xff\xff"


class Ring:
    """A single-producer, single-consumer byte ring in a shared memfd mapping."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.map = mmap.mmap(fd, _HEADER + RING_BYTES)
        self.mask = RING_BYTES - 1

    @classmethod
    def create(cls) -> Ring:
        # close-on-exec: the traced command must not inherit it (pass_fds gives it
        # to the consumer alone)
        fd = os.memfd_create("ktr-split-ring", os.MFD_CLOEXEC)
        os.ftruncate(fd, _HEADER + RING_BYTES)
        return cls(fd)

    def head(self) -> int:
        return int(_U64.unpack_from(self.map, 0)[0])

    def tail(self) -> int:
        return int(_U64.unpack_from(self.map, 64)[0])

    def closed(self) -> bool:
        return bool(_U64.unpack_from(self.map, 128)[0])


class Producer:
    """The tracer's side: messages appended at a private offset, published in bulk."""

    def __init__(self, ring: Ring) -> None:
        self.ring = ring
        self.map = ring.map
        self.head = 0  # private: what has been written
        self.tail_seen = 0  # the consumer's offset when last looked at
        self.waits = 0  # times the ring was full
        self.messages = 0
        self.bytes = 0

    def put(self, message: bytes) -> None:
        size = len(message)
        needed = (size + 11) & ~7  # the length word, the message, 8-byte aligned
        head = self.head
        offset = head & self.ring.mask
        if offset + needed + 4 > RING_BYTES:  # keep room for a wrap marker
            needed += RING_BYTES - offset
        if head + needed - self.tail_seen > RING_BYTES:
            self._wait_room(head + needed)
        mapped = self.map
        if offset + (size + 11 & ~7) + 4 > RING_BYTES:
            _U32.pack_into(mapped, _HEADER + offset, _WRAP)
            offset = 0
        _U32.pack_into(mapped, _HEADER + offset, size)
        start = _HEADER + offset + 4
        mapped[start:start + size] = message
        self.head = head + needed
        self.messages += 1
        self.bytes += size

    def _wait_room(self, wanted_head: int) -> None:
        self.publish()
        while True:
            self.tail_seen = self.ring.tail()
            if wanted_head - self.tail_seen <= RING_BYTES:
                return
            self.waits += 1
            time.sleep(0.0005)

    def publish(self) -> None:
        _U64.pack_into(self.map, 0, self.head)

    def close(self) -> None:
        self.publish()
        _U64.pack_into(self.map, 128, 1)


def consume(ring: Ring, handle: Callable[[bytes], None]) -> int:
    """Drain ``ring`` until the producer closed it and it is empty; messages seen."""
    mapped = ring.map
    mask = ring.mask
    tail = 0
    count = 0
    unpublished = 0
    anomalies = 0
    while True:
        head = ring.head()
        if head == tail:
            if ring.closed() and ring.head() == tail:
                return count
            _U64.pack_into(mapped, 64, tail)
            time.sleep(0.001)
            continue
        if head < tail or head - tail > RING_BYTES:
            # Seen only with the producer under valgrind (a few times in dozens of
            # runs): a write offset read as 0. Read it again until it makes sense.
            anomalies += 1
            if anomalies > 10_000:
                raise RuntimeError(f"ring offsets make no sense: head {head}, tail {tail}")
            time.sleep(0.0001)
            continue
        while tail != head:
            offset = tail & mask
            size = int(_U32.unpack_from(mapped, _HEADER + offset)[0])
            if size == _WRAP:
                tail += RING_BYTES - offset
                continue
            start = _HEADER + offset + 4
            handle(mapped[start:start + size])
            tail += (size + 11) & ~7
            count += 1
            unpublished += 1
            if unpublished >= 256:
                _U64.pack_into(mapped, 64, tail)
                unpublished = 0
        _U64.pack_into(mapped, 64, tail)


# ------------------------------------------------------------------ the tracer's side

class Shipper:
    """The control loop's consumer: the builder's reads at the stop, raw data to the ring.

    ``prepare`` asks the real builder what to read and lets it read; the
    finisher it returns ships what was read, after the resume. An event the
    builder cannot prepare is built here, while stopped, and its records are
    shipped finished (``T_RECORD``), so the ring carries everything in stop order.
    """

    def __init__(self, producer: Producer, options: Any) -> None:
        from ktr._builder import BuilderOptions, RecordBuilder

        self.producer = producer
        self.held: list[bytes] = []  # records the general path made for this event
        self.builder = RecordBuilder(
            BuilderOptions(options.kinds, options.io_bytes, options.syscalls.selects),
            self.held.append, self._log_error)
        self.built = 0  # events built here (general path)
        self.shipped = 0  # events shipped raw
        builder = self.builder
        self._ships: dict[object, Callable[[Any], None]] = {
            RecordBuilder._entry_free: self._ship_entry_free,
            RecordBuilder._exit_free: self._ship_exit_free,
            RecordBuilder._exit_plain_io: self._ship_exit_io,
            RecordBuilder._finish_captured: self._ship_captured,
        }
        self._prepare = builder.prepare

    def _log_error(self, error: object) -> None:
        self.producer.put(marshal.dumps((T_DROP, int(cast(int, error)))))

    def __call__(self, event: Any) -> None:
        self.built += 1
        held = self.held
        self.builder(event)
        if held:
            self.producer.put(marshal.dumps((T_RECORD, held)))
            held.clear()

    def prepare(self, event: Any) -> Callable[[Any], None] | None:
        finish = self._prepare(event)
        if finish is None:
            return None
        return self._ships.get(getattr(finish, "__func__", None), _nothing)

    def _ship_entry_free(self, event: Any) -> None:
        tracee, timestamp_ns, _, abi, nr, args, _ = event
        self.shipped += 1
        self.producer.put(marshal.dumps((T_ENTRY_FREE, tracee.pid, tracee.tid, tracee.comm,
                                         timestamp_ns, int(abi), nr, args)))

    def _ship_exit_free(self, event: Any) -> None:
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        self.shipped += 1
        self.producer.put(marshal.dumps((
            T_EXIT_FREE, tracee.pid, tracee.tid, tracee.comm, timestamp_ns,
            monotonic_ns - entry.monotonic_ns if entry is not None else -1,
            int(abi), nr, retval, error)))

    def _ship_exit_io(self, event: Any) -> None:
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        builder = self.builder
        data = builder._ready_data
        builder._ready_data = None
        self.shipped += 1
        self.producer.put(marshal.dumps((
            T_EXIT_IO, tracee.pid, tracee.tid, tracee.comm, timestamp_ns,
            monotonic_ns - entry.monotonic_ns, int(abi), nr, retval, error, entry.args, data)))

    def _ship_captured(self, event: Any) -> None:
        builder = self.builder
        captured: Any = builder._captured
        builder._captured = None
        self.shipped += 1
        tracee = event[0]
        if len(event) == 7:  # SyscallEntry
            _, timestamp_ns, monotonic_ns, abi, nr, args, _ = event
            self.producer.put(marshal.dumps((
                T_ENTRY_CAPTURED, tracee.pid, tracee.tid, tracee.comm, timestamp_ns,
                int(abi), nr, args, captured)))
        else:
            _, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
            self.producer.put(marshal.dumps((
                T_EXIT_CAPTURED, tracee.pid, tracee.tid, tracee.comm, timestamp_ns,
                monotonic_ns - entry.monotonic_ns if entry is not None else -1,
                int(abi), nr, retval, error, entry.args if entry is not None else None,
                captured)))


# The lean messages: the length word, then fixed fields packed straight into the ring.
_LEAN_ENTRY = struct.Struct("IBxxxiiq16sii6Q")  # tag, pid, tid, time, comm, nr, abi, args
_LEAN_EXIT = struct.Struct("IBxxxiiq16sqiiqq")  # ..., duration, nr, abi, retval, error
_LEAN_IO = struct.Struct("IBxxxiiq16sqiiqqQI")  # ..., the fd word, then the data's length


class LeanShipper(Shipper):
    """Mode ``lean``: the three hottest raw stops (a bare CALL, a bare RET, a
    read()/write() RET with its data) packed by one ``pack_into`` each straight
    into the ring, with no intermediate bytes: the cheapest raw copy written
    in Python here. Other stops go as in ``drain``. The consumer only drains."""

    def __init__(self, producer: Producer, options: Any) -> None:
        super().__init__(producer, options)
        self._map = producer.map
        self._room_left = 0  # bytes writable from producer.head without a check

    def _reserve(self, size: int) -> int:
        """The ring offset where ``size`` bytes (with their length word) go, when they
        fit before the end and the consumer: the usual case is two comparisons."""
        producer = self.producer
        head = producer.head
        needed = (size + 7) & ~7
        offset = head & (RING_BYTES - 1)
        if offset + needed + 8 > RING_BYTES or needed > self._room_left:
            return -1
        self._room_left -= needed
        producer.head = head + needed
        return _HEADER + offset

    def _refill(self) -> None:
        producer = self.producer
        producer.tail_seen = producer.ring.tail()
        self._room_left = RING_BYTES - (producer.head - producer.tail_seen) - 64

    def _ship_entry_free(self, event: Any) -> None:
        tracee, timestamp_ns, _, abi, nr, args, _ = event
        at = self._reserve(_LEAN_ENTRY.size)
        if at < 0:
            super()._ship_entry_free(event)
            self._refill()
            return
        _LEAN_ENTRY.pack_into(self._map, at, _LEAN_ENTRY.size - 4, T_ENTRY_FREE, tracee.pid,
                              tracee.tid, timestamp_ns, tracee.comm, nr, abi, *args)

    def _ship_exit_free(self, event: Any) -> None:
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        at = self._reserve(_LEAN_EXIT.size)
        if at < 0:
            super()._ship_exit_free(event)
            self._refill()
            return
        _LEAN_EXIT.pack_into(self._map, at, _LEAN_EXIT.size - 4, T_EXIT_FREE, tracee.pid,
                             tracee.tid, timestamp_ns, tracee.comm,
                             monotonic_ns - entry.monotonic_ns if entry is not None else -1,
                             nr, abi, retval, error)

    def _ship_exit_io(self, event: Any) -> None:
        tracee, timestamp_ns, monotonic_ns, abi, nr, retval, error, entry = event
        builder = self.builder
        data = builder._ready_data or b""
        size = len(data)
        at = self._reserve(_LEAN_IO.size + size)
        if at < 0:
            super()._ship_exit_io(event)
            self._refill()
            return
        mapped = self._map
        _LEAN_IO.pack_into(mapped, at, _LEAN_IO.size - 4 + size, T_EXIT_IO, tracee.pid,
                           tracee.tid, timestamp_ns, tracee.comm,
                           monotonic_ns - entry.monotonic_ns, nr, abi, retval, error,
                           entry.args[builder._ready_plan.io_fd_arg or 0], size)
        builder._ready_data = None
        if size:
            start = at + _LEAN_IO.size
            mapped[start:start + size] = data


class ReadsOnly(Shipper):
    """Mode ``reads``: the builder's reads at each stop and nothing shipped (the general
    path's records are made and dropped): what the reads alone cost the tracer."""

    def __init__(self, producer: Producer, options: Any) -> None:
        super().__init__(producer, options)
        self._ships = dict.fromkeys(self._ships, _forget)

    def __call__(self, event: Any) -> None:
        self.builder(event)
        self.held.clear()


def _forget(event: object) -> None:
    """Mode ``reads``: what prepare read is dropped."""


def _nothing(event: object) -> None:
    """An unselected call: no record, nothing shipped."""


def tracer_main(mode: str, pinned: bool, consumer_cpu: int | None, output: str,
                command: list[str]) -> int:
    from ktr._control import Control
    from ktr._options import parse_record_arguments
    from ktr._recorder import _control_options

    record_argv = ["-q", "-o", output, *(["--pin=0"] if pinned else []), "--", *command]
    options = parse_record_arguments(record_argv)
    control = Control(_control_options(options))
    if mode == "loop":
        control.spawn(command)
        control.run(lambda event: None)
        return 0
    ring = Ring.create()
    consumer = subprocess.Popen(
        [sys.executable, __file__, "consume", mode, str(ring.fd),
         str(-1 if consumer_cpu is None else consumer_cpu), *record_argv],
        pass_fds=[ring.fd])
    producer = Producer(ring)
    if mode == "records":
        return _ship_records(options, control, command, producer, consumer.pid)
    shipper = {"lean": LeanShipper, "reads": ReadsOnly}.get(mode, Shipper)(producer, options)
    control.spawn(command)
    gc.freeze()
    try:
        result = control.run(shipper, producer.publish)
    finally:
        gc.unfreeze()
    _ship_end(producer, result)
    return _wait_consumer(consumer.pid, (
        f"{shipper.shipped} stops shipped raw, {shipper.built} built in the tracer, "
        f"{producer.messages} messages, {producer.bytes} bytes, "
        f"{producer.waits} waits for room"))


def _ship_records(options: Any, control: Any, command: list[str], producer: Producer,
                  consumer: int) -> int:
    """Mode ``records``: the ptrace source as ``ktr record`` runs it (the builder, its
    held records handed over in bulk), the bulk going to the ring instead of the
    descriptor: only the descriptor and its writer thread leave the tracer's process."""
    from ktr._clock import TraceClock
    from ktr._sources import PtraceSource, SourceOutput

    source = PtraceSource(options, control.options, TraceClock())
    source.control = control
    put = producer.put
    publish = producer.publish
    join = b"".join

    def ship_many(records: list[bytes]) -> int:
        put(join(records))
        publish()
        return len(records)

    def ship_one(record: bytes) -> bool:
        put(record)
        return True

    def log_lost(error: object, count: int, at_ns: int | None = None) -> None:
        put(_CONTROL + marshal.dumps((T_DROP, int(cast(int, error)), count)))

    output = SourceOutput(ship_one, log_lost, lambda message: None, ship_many)
    control.spawn(command)
    gc.freeze()
    try:
        result = source.run(output, lambda error: log_lost(error, 1), bulk=True)
    finally:
        gc.unfreeze()
    _ship_end(producer, result, _CONTROL)
    return _wait_consumer(consumer, f"{producer.messages} messages, {producer.bytes} bytes, "
                          f"{producer.waits} waits for room")


def _ship_end(producer: Producer, result: Any, prefix: bytes = b"") -> None:
    producer.put(prefix + marshal.dumps((
        T_END, -1 if result.exit_status is None else result.exit_status,
        result.stop_reason or result.spawn_error or "", result.processes, result.threads,
        result.lost, result.detached)))
    producer.close()


def _wait_consumer(consumer: int, stats: str) -> int:
    # The loop reaps every child, the consumer too if it ended early: wait on it by pid.
    try:
        _, status = os.waitpid(consumer, 0)
        code = os.waitstatus_to_exitcode(status)
    except ChildProcessError:
        code = -1
    if os.environ.get("KTR_SPLIT_STATS"):
        print(f"split: {stats}; consumer exit {code}", file=sys.stderr)
    return 0 if code == 0 else 1


# ------------------------------------------------------------------ the consumer's side

class _Thread:
    """What the builder's finishers read of a tracee: ids and name."""

    __slots__ = ("abi", "call_abi", "comm", "emul_pending", "pid", "tid")

    def __init__(self, pid: int, tid: int, comm: bytes, abi: Any) -> None:
        self.pid = pid
        self.tid = tid
        self.comm = comm
        self.abi = self.call_abi = abi
        self.emul_pending = False


def consumer_main(mode: str, fd: int, cpu: int, record_argv: list[str]) -> int:
    ring = Ring(fd)
    if mode in ("drain", "lean", "reads"):
        if cpu >= 0:
            os.sched_setaffinity(0, {cpu})
        consume(ring, lambda message: None)
        return 0
    return _build(ring, record_argv, cpu, records=mode == "records")


def _build(ring: Ring, record_argv: list[str], cpu: int, records: bool = False) -> int:
    import formats
    from formats import Abi
    from ktr._builder import BuilderOptions, RecordBuilder
    from ktr._descriptor import open_descriptor
    from ktr._events import SyscallEntry, SyscallExit
    from ktr._options import parse_record_arguments
    from ktr._recorder import (
        _begin_payload,
        _control_options,
        _file_header,
        _output_options,
    )

    options = parse_record_arguments(record_argv)  # before pinning: it checks --pin's CPU
    if cpu >= 0:
        os.sched_setaffinity(0, {cpu})
    header = _file_header(options, _control_options(options))
    descriptor = open_descriptor(_output_options(options), header, begin=_begin_payload(header))
    held: list[bytes] = []
    builder = RecordBuilder(
        BuilderOptions(options.kinds, options.io_bytes, options.syscalls.selects),
        held.append, descriptor.log_error)
    abis = {int(abi): abi for abi in Abi}
    threads: dict[int, _Thread] = {}
    plan = builder._plan
    entry_free = builder._entry_free
    exit_free = builder._exit_free
    exit_io = builder._exit_plain_io
    finish_captured = builder._finish_captured
    new_tuple = tuple.__new__
    loads = marshal.loads
    sink_many = descriptor.add_entries
    end: list[Any] = []

    def thread(pid: int, tid: int, comm: bytes, abi: Any) -> _Thread:
        found = threads.get(tid)
        if found is None:
            found = threads[tid] = _Thread(pid, tid, comm, abi)
        else:
            found.pid = pid
            found.comm = comm
            found.call_abi = abi
        return found

    def entry_of(tracee: _Thread, abi: Any, nr: int, args: Any, duration: int
                 ) -> SyscallEntry | None:
        # The SYSRET's duration is exit - entry: an entry at -duration gives it back.
        if duration < 0:
            return None
        return new_tuple(SyscallEntry, (tracee, 0, -duration, abi, nr, args, 0))

    header_size = formats.codec().header.size
    payload_length = struct.Struct(formats.codec().header.format[:2]).unpack_from

    def handle_records(raw: bytes) -> None:
        """Mode ``records``: finished records, one after the other; or ``_CONTROL``
        and a marshalled DROP or END."""
        if raw[:4] == _CONTROL:
            message = loads(raw[4:])
            if message[0] == T_END:
                end.append(message)
            else:
                for _ in range(message[2]):
                    descriptor.log_error(formats.DropError(message[1]))
            return
        position = 0
        size = len(raw)
        batch: list[bytes] = []
        while position < size:
            stop = position + header_size + payload_length(raw, position)[0]
            batch.append(raw[position:stop])
            position = stop
        sink_many(batch)

    def handle(raw: bytes) -> None:
        message = loads(raw)
        tag = message[0]
        if tag in (T_EXIT_IO, T_EXIT_FREE, T_EXIT_CAPTURED):
            if tag == T_EXIT_FREE:
                _, pid, tid, comm, ts, duration, abi_number, nr, retval, error = message
                args: Any = None
            elif tag == T_EXIT_IO:
                (_, pid, tid, comm, ts, duration, abi_number, nr, retval, error, args,
                 data) = message
            else:
                (_, pid, tid, comm, ts, duration, abi_number, nr, retval, error, args,
                 captured) = message
            abi = abis[abi_number]
            tracee = thread(pid, tid, comm, abi)
            event = new_tuple(SyscallExit, (tracee, ts, 0, abi, nr, retval, error,
                                            entry_of(tracee, abi, nr, args, duration)))
            builder._ready_plan = plan(abi, nr)
            if tag == T_EXIT_FREE:
                exit_free(event)
            elif tag == T_EXIT_IO:
                builder._ready_data = data
                exit_io(event)
            else:
                builder._captured = captured
                finish_captured(event)
        elif tag in (T_ENTRY_FREE, T_ENTRY_CAPTURED):
            if tag == T_ENTRY_FREE:
                _, pid, tid, comm, ts, abi_number, nr, args = message
            else:
                _, pid, tid, comm, ts, abi_number, nr, args, captured = message
            abi = abis[abi_number]
            tracee = thread(pid, tid, comm, abi)
            entry_event = new_tuple(SyscallEntry, (tracee, ts, 0, abi, nr, args, 0))
            builder._ready_plan = plan(abi, nr)
            if tag == T_ENTRY_FREE:
                entry_free(entry_event)
            else:
                builder._captured = captured
                finish_captured(entry_event)
        elif tag == T_RECORD:
            held.extend(message[1])
        elif tag == T_DROP:
            descriptor.log_error(formats.DropError(message[1]))
        elif tag == T_END:
            end.append(message)
        if len(held) >= 64:
            sink_many(held)
            held.clear()

    try:
        consume(ring, handle_records if records else handle)
        if held:
            sink_many(held)
            held.clear()
        if end:
            _, status, reason, processes, threads_seen, lost, detached = end[0]
            descriptor.add_end(formats.End(
                status, int(formats.EndFlag.STOPPED_EARLY if reason else formats.EndFlag.NONE),
                processes, threads_seen, lost, detached, reason.encode("utf-8", "replace"),
                0, b""))
    finally:
        descriptor.release()
    return 0


# ------------------------------------------------------------------ the comparison

def split(mode: str, workload: list[str], output: str, pinned: bool = False,
          consumer_cpu: int | None = None) -> list[str]:
    options = ["--pin"] if pinned else []
    if consumer_cpu is not None:
        options += ["--consumer-cpu", str(consumer_cpu)]
    return [sys.executable, __file__, "run", mode, *options, output, "--", *workload]


def compare(rounds: int, count: int, directory: str, environment: Mapping[str, str]) -> None:
    output = os.path.join(directory, "split.ktr")
    workloads = [
        (f"dd bs=1 count={count}", dd(count), False, None),
        ("find /usr/lib/python3 /usr/share/doc", find(), False, None),
        ("python3 -c 'import json,email,...'", imports(), False, None),
        (f"dd count={count} pinned, consumer CPU 1", dd(count), True, 1),
        (f"dd count={count} pinned, all on CPU 0", dd(count), True, 0),
    ]
    columns = [("(a) loop", "loop"), ("(b) reads+ring", "drain"), ("(b') lean copy", "lean"),
               ("(c) +consumer builds", "build"), ("(d) records to ring", "records"),
               ("ktr record", "ktr")]
    runs: dict[str, list[str]] = {}
    for name, workload, pinned, cpu in workloads:
        for _, mode in columns:
            # A B A B: strace before each configuration
            runs[f"{name} | strace {mode}"] = strace(workload, pinned)
            if mode == "ktr":
                runs[f"{name} | {mode}"] = [KTR, "record", "-q", "-o", output,
                                            *(["--pin=0"] if pinned else []), "--", *workload]
            elif mode == "loop" and cpu == 0:
                del runs[f"{name} | strace {mode}"]  # the loop alone: the row above
            else:
                runs[f"{name} | {mode}"] = split(mode, workload, output, pinned, cpu)
    times = run_rounds(runs, rounds, environment)
    print(f"\nktr/strace wall time, medians of {rounds} (each against the strace runs "
          "beside it)")
    print(f"{'workload':<40}" + "".join(f"{label:>22}" for label, _ in columns))
    for name, *_ in workloads:
        cells = []
        for _, mode in columns:
            if f"{name} | {mode}" not in times:
                cells.append(f"{'(as above)':>22}")
                continue
            ours = statistics.median(times[f"{name} | {mode}"])
            peer = statistics.median(times[f"{name} | strace {mode}"])
            cells.append(f"{ours / peer:>9.2f} ({ours:5.2f}/{peer:5.2f})")
        print(f"{name:<40}" + "".join(cells))
    print(f"\nruns ({rounds} rounds):")
    for label, values in times.items():
        print(f"  {label:<58} " + " ".join(f"{value:.3f}" for value in values))


def instructions(small: int, large: int, environment: dict[str, str],
                 only: str | None = None) -> None:
    """Callgrind's user-mode instructions per stop of the tracer process (the consumer
    runs natively: valgrind does not follow the exec that starts it)."""
    from bench_instructions import instructions as count_instructions

    scratch = tempfile.mkdtemp(prefix="bench-split-")
    output = os.path.join(scratch, "out.ktr")
    rows: list[tuple[str, Callable[[int], list[str]]]] = [
        ("strace -f -o /dev/null", lambda n: ["strace", "-f", "-o", "/dev/null", *dd(n)]),
        ("(a) control loop alone", lambda n: split("loop", dd(n), output, True)),
        ("(a') loop + the builder's reads", lambda n: split("reads", dd(n), output, True, 1)),
        ("(b) loop + reads + ring copy", lambda n: split("drain", dd(n), output, True, 1)),
        ("(b') lean ring copy", lambda n: split("lean", dd(n), output, True, 1)),
        ("(c) tracer of (b), consumer builds", lambda n: split("build", dd(n), output, True, 1)),
        ("(d) builds, records to ring", lambda n: split("records", dd(n), output, True, 1)),
        ("ktr record --pin=0", lambda n: [KTR, "record", "-q", "--pin=0", "-o", output, "--",
                                          *dd(n)]),
    ]
    if only:
        # strace always: the ratios need it
        rows = [row for row in rows if row[0].startswith("strace")
                or any(row[0].startswith(prefix) for prefix in only.split(","))]
    stops = 4 * (large - small)
    print(f"user-mode instructions per stop of the tracer process (callgrind Ir), dd bs=1 "
          f"count={small} vs {large}: {stops} stops apart")
    results: dict[str, float] = {}
    try:
        for label, command in rows:
            count_instructions(command(10), environment)
            fewer = count_instructions(command(small), environment)
            more = count_instructions(command(large), environment)
            results[label] = (more - fewer) / stops
            print(f"  {label:<40} {results[label]:10,.0f}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    peer = results["strace -f -o /dev/null"]
    for label, value in results.items():
        print(f"  {label:<40} {value / peer:6.1f} x strace")


def check(count: int, directory: str, environment: Mapping[str, str]) -> int:
    """The consumer's trace against ``ktr record``'s, through ktrdump (pids, times masked).

    ``ktr record`` runs twice, before and after the split recorder: a workload
    that does not repeat itself exactly (pyenv's shims, caches) shows as the
    two ``ktr record`` traces differing from each other.
    """
    ktrdump = str(Path(sys.executable).parent / "ktrdump")
    failures = 0
    # The import workload without pyenv's shell shims (whose signals race with their
    # children: two runs differ), run once first so that its bytecode is cached.
    direct_imports = [sys.executable, "-c", IMPORTS]
    subprocess.run(direct_imports, check=True, env=environment)
    for name, workload in (("dd", dd(count)), ("find", find()), ("imports", direct_imports)):
        texts = []
        for index in range(4):
            out = os.path.join(directory, f"check-{name}-{index}.ktr")
            argv = (split("build", workload, out) if index == 1
                    else split("records", workload, out) if index == 3
                    else [KTR, "record", "-q", "-o", out, "--", *workload])
            subprocess.run(argv, check=True, env=environment, stdout=subprocess.DEVNULL)
            dumped = subprocess.run([ktrdump, out], check=True, capture_output=True,
                                    env=environment).stdout.decode("utf-8", "replace")
            texts.append(_masked(dumped))
        first, ours, second, records = texts
        verdicts = _verdict(ours, first, second), _verdict(records, first, second)
        failures += "DIFFERENT" in verdicts
        lines = [len(text.splitlines()) for text in texts]
        print(f"{name:<8} ktr record {lines[0]}/{lines[2]} lines (the two "
              f"{'identical' if first == second else 'differ'}); split raw (c) {lines[1]}: "
              f"{verdicts[0]}; split records (d) {lines[3]}: {verdicts[1]}")
        if verdicts[0] == "DIFFERENT":
            import difflib

            diff = list(difflib.unified_diff(first.splitlines(), ours.splitlines(),
                                             "ktr record", "split", lineterm="", n=1))
            print("\n".join(diff[:30]))
    return 1 if failures else 0


def _verdict(text: str, first: str, second: str) -> str:
    """``text`` against two ``ktr record`` runs. A workload that is not deterministic
    (the two runs differ): the same lines in another order is all that can be asked."""
    if text in (first, second):
        return "identical"
    if first != second and sorted(text.splitlines()) in (
            sorted(first.splitlines()), sorted(second.splitlines())):
        return "same lines, another order"
    return "DIFFERENT"


def _masked(text: str) -> str:
    """What differs between two recordings of one deterministic command."""
    text = re.sub(r"\b\d{3,}\b", "N", text)  # pids, tids, durations, pointers in decimal
    text = re.sub(r"0x[0-9a-f]+", "0xX", text)  # addresses (ASLR)
    # the command's name before its exec is the recorder's: the ktr script or python
    text = text.replace(" ktr      ", " python   ")
    # what the kernel gives differently each run
    text = re.sub(r"(STRU  struct (bytes|sysinfo|statfs)) .*", r"\1 ...", text)
    return text


def main(arguments: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if arguments is None else arguments)
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser(prog="bench_split.py run")
        parser.add_argument("mode", choices=("loop", "reads", "drain", "lean", "build",
                                             "records"))
        parser.add_argument("--pin", action="store_true")
        parser.add_argument("--consumer-cpu", type=int)
        parser.add_argument("output")
        parser.add_argument("command", nargs=argparse.REMAINDER)
        run = parser.parse_args(argv[1:])
        command = run.command[1:] if run.command[:1] == ["--"] else run.command
        return tracer_main(run.mode, run.pin, run.consumer_cpu, run.output, command)
    if argv and argv[0] == "consume":
        return consumer_main(argv[1], int(argv[2]), int(argv[3]), argv[4:])
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--count", type=int, default=20000, help="dd bytes (2 syscalls each)")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=3000)
    parser.add_argument("--rows", help="with --instructions: only the rows whose labels "
                        "start with these (comma-separated), and strace's")
    parser.add_argument("--check", action="store_true")
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as directory:
        environment = bench_environment(directory)
        print(f"machine: kernel {os.uname().release}; {load()} (before)")
        if options.instructions:
            instructions(options.small, options.large, environment, options.rows)
        elif options.check:
            return check(options.count, directory, environment)
        else:
            compare(options.rounds, options.count, directory, environment)
        print(f"\n{load()} (after)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
