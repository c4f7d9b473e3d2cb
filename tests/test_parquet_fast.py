"""The parquet view's fast path (``_rawparse`` and ``ParquetWriter.parsed_batch``) writes
exactly what the general path (decoded records through ``CallTracker.stream``) writes.

Both paths export the same trace in process; every table must be equal (values,
schema, metadata), over the golden vectors, the crafted and damaged traces, the
fuzzing seeds, generated bench traces and traces recorded here of real programs.
The parser's items are compared with the codec's records and construct's parse
of random records (hypothesis).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from c_support import build_program
from hypothesis import given, settings
from hypothesis import strategies as st

import formats
from formats import Genio, Namei, Psig, RecordKind, Struct, Syscall, Sysret, codec, schemas

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
TRACES = sorted([*(ROOT / "tests" / "vectors").glob("*.ktr"),
                 *(ROOT / "tests" / "crafted").glob("*.ktr"),
                 *(ROOT / "fuzz" / "seeds").glob("*.ktr")])


def _export(trace: Path, out: Path, *, fast: bool, salvage: bool = False) -> tuple[
        dict[str, Any], list[str], int]:
    """The tables, the notices and how many batches the fast path took."""
    from ktrdump._calls import recorded_facilities
    from ktrdump._parquet import write_parquet
    from ktrdump._rawparse import batch_parser
    from ktrdump._reader import ParsedBatch, open_trace

    out.mkdir()
    notices: list[str] = []
    parsed = 0

    def counted(events: Any) -> Any:
        nonlocal parsed
        for event in events:
            parsed += type(event) is ParsedBatch
            yield event

    try:
        with open_trace(trace, salvage=salvage) as reader:
            events = (counted(reader.parsed_events(batch_parser(reader.record_codec)))
                      if fast else reader.events())
            writer = write_parquet(events, str(out / "x.parquet"),
                                   facilities=recorded_facilities(reader.header),
                                   on_notice=lambda notice: notices.append(notice.describe()))
    except Exception as error:  # the same failure either way (a damaged header)
        return {"error": f"{type(error).__name__}: {error}"}, notices, parsed
    tables = {}
    for path in writer.files():
        table = pq.read_table(path)
        tables[Path(path).name] = (table, table.schema, pq.read_metadata(path).num_row_groups)
    return tables, notices, parsed


def _same_export(tmp_path: Path, trace: Path, *, salvage: bool = False) -> int:
    general = _export(trace, tmp_path / "general", fast=False, salvage=salvage)
    fast = _export(trace, tmp_path / "fast", fast=True, salvage=salvage)
    assert general[1] == fast[1]  # the same notices
    assert general[0].keys() == fast[0].keys()
    for name, value in general[0].items():
        if name == "error":
            assert value == fast[0][name]
            continue
        table, schema, groups = value
        other, other_schema, other_groups = fast[0][name]
        assert schema.equals(other_schema, check_metadata=True), name
        assert table.equals(other, check_metadata=True), name
        assert groups == other_groups, name
    return fast[2]


@pytest.mark.parametrize("trace", TRACES, ids=lambda path: path.name)
def test_fast_path_writes_what_the_general_path_writes(tmp_path: Path, trace: Path) -> None:
    _same_export(tmp_path, trace)


@pytest.mark.parametrize("name", ["damaged_header.ktr", "torn_tail.ktr", "corrupt_middle.ktr"])
def test_fast_path_after_salvage(tmp_path: Path, name: str) -> None:
    _same_export(tmp_path, ROOT / "tests" / "vectors" / name, salvage=True)


def test_fast_path_on_a_generated_bench_trace(tmp_path: Path) -> None:
    """bench_dump's openat/NAMI/RET and read/GIO/RET loop, over several row groups."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        from bench_dump import generate
    finally:
        sys.path.remove(str(ROOT / "bench"))
    trace = tmp_path / "bench.ktr"
    generate(trace, 40_000)
    assert _same_export(tmp_path, trace) == 40  # every batch taken by the fast path


def test_a_batch_larger_than_a_decode_chunk_takes_the_general_path(tmp_path: Path) -> None:
    """Its records are decoded lazily, as ``events`` decodes them (memory); the calls
    open across it and the batches around it are the fast path's, on the same state."""
    from ktrdump_support import build_trace, syscall_batch

    from ktrdump._reader import DECODE_CHUNK

    big = syscall_batch(DECODE_CHUNK + 7)  # ends inside a call: it is open across
    data, _ = build_trace([syscall_batch(601), big, syscall_batch(1000), syscall_batch(3)],
                          compress=True)
    trace = tmp_path / "big.ktr"
    trace.write_bytes(data)
    assert _same_export(tmp_path, trace) == 3


_PROGRAM = r"""
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void on_usr1(int signo) { (void)signo; }

static void *worker(void *arg) {
    char buffer[64];
    for (int i = 0; i < 50; i++) {
        int fd = open("/etc/hostname", O_RDONLY | O_CLOEXEC);
        if (fd >= 0) { (void)read(fd, buffer, sizeof buffer); close(fd); }
    }
    (void)arg;
    return NULL;
}

int main(void) {
    signal(SIGUSR1, on_usr1);
    pthread_t threads[3];
    for (int i = 0; i < 3; i++) pthread_create(&threads[i], NULL, worker, NULL);
    struct stat st;
    for (int i = 0; i < 20; i++) {
        stat("/etc/passwd", &st);
        rename("/nonexistent/a", "/nonexistent/b");
    }
    pid_t child = fork();
    if (child == 0) {
        int fd = open("/dev/null", O_WRONLY);
        (void)write(fd, "child\n", 6);
        kill(getpid(), SIGUSR1);
        char *argv[] = {"/bin/true", NULL};
        execv(argv[0], argv);
        _exit(3);
    }
    for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
    int status;
    waitpid(child, &status, 0);
    raise(SIGUSR1);
    int pipefd[2];
    pipe(pipefd);
    dup2(pipefd[1], 9);
    (void)write(9, "x", 1);
    return 0;
}
"""


@pytest.mark.parametrize("program", ["ls", "dd", "find", "c"])
def test_fast_path_on_live_recordings(tmp_path: Path, program: str) -> None:
    """Real programs recorded here: ls (many STRU records), dd (a loop of small
    reads and writes), find (STRU-heavy: newfstatat's stat, getdents64's entry
    count, openat's fd_path; fcntl F_DUPFD_CLOEXEC/F_SETFD/F_GETFD and close on
    the directory fds it walks), a C program with threads, a fork, an execve,
    signals, renames (two paths), dup2 and a pipe."""
    trace = tmp_path / "live.ktr"
    command = {
        "ls": ["ls", "-la", "/usr/bin", "/proc/self/fd"],
        "dd": ["dd", "if=/dev/zero", "of=/dev/null", "bs=1", "count=5000"],
        "find": ["find", str(ROOT), "/usr/include/linux", "-name", "*.h", "-newer",
                 str(ROOT / "pyproject.toml")],
    }.get(program)
    if command is None:
        command = [str(build_program(tmp_path, "prog", _PROGRAM, "-pthread"))]
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", *command], check=True,
                   timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert _same_export(tmp_path, trace) > 0


def test_the_command_takes_the_fast_path_and_writes_the_same_files(tmp_path: Path) -> None:
    """``ktrdump --format parquet`` (no filter: the fast path) writes byte for byte what
    the general path writes in process."""
    trace = ROOT / "tests" / "vectors" / "all_kinds.ktr"
    general = tmp_path / "general"
    _export(trace, general, fast=False)
    done = subprocess.run([KTRDUMP, "--format", "parquet", "-o", "x.parquet", str(trace)],
                          cwd=tmp_path, capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    names = sorted(path.name for path in general.iterdir())
    assert sorted(path.name for path in tmp_path.glob("x*.parquet")) == names
    for name in names:
        assert (tmp_path / name).read_bytes() == (general / name).read_bytes(), name


# -- the parser against the codec and construct --------------------------------

_COMMS = st.binary(max_size=16)
_I32 = st.integers(-(1 << 31), (1 << 31) - 1)
_U64 = st.integers(0, (1 << 64) - 1)


def _records() -> st.SearchStrategy[tuple[RecordKind, Any]]:
    return st.one_of(
        st.tuples(st.just(RecordKind.SYSCALL), st.builds(
            Syscall, _I32, st.integers(0, 255), st.integers(0, 255),
            st.lists(_U64, min_size=0, max_size=8).map(tuple))),
        st.tuples(st.just(RecordKind.SYSRET), st.builds(
            Sysret, _I32, st.integers(0, 255), st.integers(0, 255), _I32,
            st.integers(-(1 << 63), (1 << 63) - 1), _U64)),
        st.tuples(st.just(RecordKind.NAMEI), st.builds(Namei, st.binary(max_size=40))),
        st.tuples(st.just(RecordKind.GENIO), st.builds(
            Genio, _I32, st.integers(0, 255), st.integers(0, 255), _U64,
            st.binary(max_size=40))),
        st.tuples(st.just(RecordKind.STRUCT), st.builds(
            Struct, st.integers(0, 255), st.integers(0, 255), st.binary(max_size=12),
            st.binary(max_size=40))),
        st.tuples(st.just(RecordKind.PSIG), st.builds(
            Psig, _I32, _I32, _U64, _U64)),
    )


@pytest.mark.parametrize("order", ["little", "big"])
def test_parser_items_are_the_codecs_records(order: formats.ByteOrder) -> None:
    from ktrdump._parquet import _records_of
    from ktrdump._rawparse import batch_parser

    fast = codec(order)
    parse = batch_parser(fast)
    schema = schemas(order)

    @settings(max_examples=150, deadline=None)
    @given(st.lists(st.tuples(_records(), _I32, _I32, _U64, _COMMS, st.binary(max_size=8)),
                    max_size=12))
    def check(entries: list[Any]) -> None:
        raw = b""
        for (kind, payload), pid, tid, ts, comm, appended in entries:
            # ``appended``: bytes a newer minor may add after the payload's fields.
            body = fast.encode_payload(kind, payload) + appended
            raw += fast.encode_raw_record(kind, pid, tid, ts, comm, body)
        count, items = parse(raw)
        records = _records_of(items)
        assert count == len(entries)
        assert records == list(fast.iter_records(raw))
        position = 0
        for record in records:  # construct's reading of the same bytes
            header = schema.record_header.parse(raw[position:])
            start = position + schema.record_header.sizeof()
            parsed = schema.payloads[RecordKind(record.kind)].parse(
                raw[start:start + header.length])
            assert (record.pid, record.tid, record.timestamp_ns, record.comm) == (
                header.pid, header.tid, header.timestamp_ns, header.comm.rstrip(b"\0"))
            for name in record.payload._fields:
                expected = parsed[name]
                assert getattr(record.payload, name) == (
                    tuple(expected) if isinstance(expected, list) else expected)
            position = start + header.length

    check()


@pytest.mark.parametrize("order", ["little", "big"])
def test_parser_refuses_what_the_codec_refuses(order: formats.ByteOrder) -> None:
    """A payload its fields overrun, a record past the batch: refused (the reader then
    decodes the batch as ``events`` does, and reports the same damage)."""
    from ktrdump._rawparse import batch_parser

    fast = codec(order)
    parse = batch_parser(fast)

    @settings(max_examples=150, deadline=None)
    @given(_records(), st.integers(0, 200), st.integers(0, 8))
    def check(record: tuple[RecordKind, Any], cut: int, more: int) -> None:
        kind, payload = record
        body = fast.encode_payload(kind, payload)
        body = body[:cut] if cut < len(body) else body
        raw = fast.encode_raw_record(kind, 1, 2, 3, b"c", body)
        try:
            expected: Any = list(fast.iter_records(raw))
        except formats.PayloadError:
            expected = None
        try:
            count, _ = parse(raw)
        except ValueError:
            assert expected is None
        else:
            assert expected is not None and count == 1
        with pytest.raises(ValueError):  # a record that claims more than the batch holds
            parse(raw[:len(raw) - 1 - min(more, len(raw) - 1)])

    check()


def _open_calls_trace(path: Path, rounds: int) -> None:
    """Open-like calls in every case the fast path's RET tells apart: an absolute
    path (the effect inline), a path relative to AT_FDCWD or to a directory fd, no
    path, a failure, an unfinished RET (the effect through ``CallTracker.settle``),
    ``open`` (its flags in argument 1), then reads and closes of what they opened;
    and records longer than their fields (a later version's), which the parser
    gives as Records."""
    fast = codec()
    framing = formats.batch_framing()
    header = formats.FileHeader(hostname="t", kernel_release="6.1", machine="x86_64",
                                realtime_ns=10**18, monotonic_ns=0, ktr_version="t")
    at_fdcwd = (1 << 64) - 100
    cloexec, directory = 0o2000000, 0o200000
    ts = 10**18
    records: list[bytes] = []

    def add(kind: RecordKind, payload: Any, pid: int = 77, extra: bytes = b"") -> None:
        nonlocal ts
        ts += 1000
        body = fast.encode_payload(kind, payload) + extra
        records.append(fast.encode_raw_record(kind, pid, pid, ts, b"opener", body))

    def call(nr: int, args: tuple[int, ...], paths: list[bytes], ret: int, *,
             flags: int = 0, data: bytes | None = None, extra: bytes = b"") -> None:
        add(RecordKind.SYSCALL, Syscall(nr, 1, 0, args), extra=extra)
        for name in paths:
            add(RecordKind.NAMEI, Namei(name), extra=extra)
        if data is not None:
            add(RecordKind.GENIO, Genio(args[0], 0, 0, len(data), data), extra=extra)
        error = -ret if ret < 0 else 0
        add(RecordKind.SYSRET, Sysret(nr, 1, flags, error, -1 if error else ret, 700),
            extra=extra)

    for index in range(rounds):
        extra = b"\0\1\2\3" if index % 5 == 4 else b""
        call(257, (at_fdcwd, 0x1000, cloexec, 0, 0, 0), [b"/etc/hosts"], 3, extra=extra)
        call(257, (at_fdcwd, 0x1000, directory, 0, 0, 0), [b"/usr"], 4)
        call(257, (4, 0x1000, 0, 0, 0, 0), [b"lib/os-release"], 5)
        call(257, (at_fdcwd, 0x1000, 0, 0, 0, 0), [b"notes.txt"], 6)
        call(257, (at_fdcwd, 0, 0, 0, 0, 0), [], 8)  # no path recorded
        call(257, (at_fdcwd, 0x1000, 0, 0, 0, 0), [b"/missing"], -2)
        call(2, (0x1000, cloexec, 0, 0, 0, 0), [b"/etc/passwd\xff"], 7 + index % 3)
        call(257, (at_fdcwd, 0x1000, 0, 0, 0, 0), [b"/etc/unfinished"], 9, flags=1)
        for fd in (3, 5, 6, 7, 8, 9):
            call(0, (fd, 0x2000, 64, 0, 0, 0), [], 5, data=b"hello", extra=extra)
        for fd in (3, 4, 5, 6, 7, 8):
            call(3, (fd, 0, 0, 0, 0, 0), [], 0)
    with open(path, "wb") as out:
        out.write(formats.encode_file_header(header))
        for start in range(0, len(records), 700):
            out.write(framing.encode(records[start:start + 700], None))


def test_fast_path_on_open_like_calls(tmp_path: Path) -> None:
    trace = tmp_path / "opens.ktr"
    _open_calls_trace(trace, 300)
    assert _same_export(tmp_path, trace) > 0
    from ktrdump._parquet import write_parquet
    from ktrdump._rawparse import batch_parser
    from ktrdump._reader import open_trace

    with open_trace(trace) as reader:
        write_parquet(reader.parsed_events(batch_parser(reader.record_codec)),
                      str(tmp_path / "c.parquet"))
    rows = pq.read_table(tmp_path / "c.parquet", columns=["syscall", "fd", "fd_path"])
    paths = {(row["syscall"], row["fd"], row["fd_path"]) for row in rows.to_pylist()}
    # the effects, inline or not, as the layer applies them (-y's paths)
    assert ("read", 3, "/etc/hosts") in paths
    assert ("read", 5, "/usr/lib/os-release") in paths
    assert ("read", 6, "notes.txt") in paths
    assert ("read", 8, None) in paths  # no path: the fd is unknown
    assert ("read", 9, None) in paths  # unfinished: no effect


def _struct_calls_trace(path: Path, rounds: int) -> None:
    """find's call shapes and every case the fast path's STRU and fd-effect code tells
    apart: exit STRUs (stat, getdents64's count, openat's fd_path), a STRU of no open
    call (an attached process's cwd), the same argument twice (poll's pollfds: the
    update; sendmmsg's unsent_messages), a STRU longer than its fields (a later
    version's: a Record), a STRU inside another thread's call; fcntl (F_GETFD,
    F_SETFD, F_DUPFD_CLOEXEC, failed, unfinished), dup, dup2 and dup3, then reads of
    the fds they made (their fd_path) and closes."""
    fast = codec()
    framing = formats.batch_framing()
    header = formats.FileHeader(hostname="t", kernel_release="6.1", machine="x86_64",
                                realtime_ns=10**18, monotonic_ns=0, ktr_version="t")
    at_fdcwd = (1 << 64) - 100
    ts = 10**18
    records: list[bytes] = []

    def add(kind: RecordKind, payload: Any, pid: int = 77, extra: bytes = b"",
            tid: int | None = None) -> None:
        nonlocal ts
        ts += 1000
        body = fast.encode_payload(kind, payload) + extra
        records.append(fast.encode_raw_record(kind, pid, pid if tid is None else tid, ts,
                                              b"finder", body))

    def stru(argument: int, name: bytes, data: bytes, extra: bytes = b"",
             tid: int | None = None) -> None:
        add(RecordKind.STRUCT, Struct(1, argument, name, data), extra=extra, tid=tid)

    def call(nr: int, args: tuple[int, ...], ret: int, *, paths: tuple[bytes, ...] = (),
             structs: tuple[tuple[int, bytes, bytes], ...] = (), flags: int = 0,
             data: bytes | None = None, extra: bytes = b"") -> None:
        add(RecordKind.SYSCALL, Syscall(nr, 1, 0, (*args, 0x55, 7, 0x1234)[:6]))
        for name in paths:
            add(RecordKind.NAMEI, Namei(name))
        if data is not None:
            add(RecordKind.GENIO, Genio(args[0], 0, 0, len(data), data))
        for argument, name, value in structs:
            stru(argument, name, value, extra=extra)
        error = -ret if ret < 0 else 0
        add(RecordKind.SYSRET, Sysret(nr, 1, flags, error, -1 if error else ret, 700))

    stat_dir = bytearray(144)
    stat_dir[24:28] = (0o040755).to_bytes(4, "little")
    stat_dir[48:56] = (4096).to_bytes(8, "little")
    stat_null = bytearray(144)
    stat_null[24:28] = (0o020666).to_bytes(4, "little")
    stat_null[40:48] = (0x103).to_bytes(8, "little")
    stru(255, b"cwd", b"/work")  # of no call: the layer's process state
    for index in range(rounds):
        extra = b"\0\1" if index % 7 == 6 else b""
        stat = bytes(stat_null if index % 5 == 0 else stat_dir)
        stat = stat[:100] if index % 11 == 10 else stat  # truncated
        call(257, (at_fdcwd, 0x1000, 0o2200000, 0), 3, paths=(b"/usr/include",),
             structs=((255, b"fd_path", b"/usr/include"),), extra=extra)
        call(257, (3, 0x2000, 0o2200000, 0), 4, paths=(b"linux",),
             structs=((255, b"fd_path", b"/usr/include/linux"),) if index % 2 else ())
        call(262, (4, 0x3000, 0x4000, 0x100), 0, paths=(b"a.h",),
             structs=((2, b"stat", stat),), extra=extra)
        call(262, (at_fdcwd, 0x3000, 0x4000, 0), -2, paths=(b"/missing",))
        for count in (index % 4 + 1, 0):
            call(217, (4, 0x5000, 0x8000), 24 * count,
                 structs=((1, b"count", count.to_bytes(4, "little")),))
        call(72, (4, 1, 0), 1)  # F_GETFD
        call(72, (4, 2, 1), 0)  # F_SETFD FD_CLOEXEC
        call(72, (3, 2, 0), 0)
        call(72, (4, 1030, 3), 5)  # F_DUPFD_CLOEXEC
        call(72, (99, 1030, 3), -9)  # EBADF
        call(72, (3, 0, 10), 11, flags=1)  # F_DUPFD, unfinished: no effect
        add(RecordKind.SYSCALL, Syscall(72, 1, 0, (4, 1030, 12, 0, 0, 0)))
        add(RecordKind.SYSRET, Sysret(72, 1, 0, 24, 12, 700))  # an error: no effect
        call(32, (4,), 6)  # dup
        call(33, (3, 7), 7)  # dup2
        call(292, (4, 8, 0o2000000), 8)  # dup3 O_CLOEXEC
        call(7, (0x6000, 1, 100), 1, structs=((0, b"pollfds", b"\3\0\0\0\1\0\0\0"),
                                              (0, b"pollfds", b"\3\0\0\0\1\0\1\0")))
        call(307, (3, 0x7000, 2, 0), 1, structs=(
            (1, b"mmsghdr", bytes(16)), (1, b"unsent_messages", b"\1\0\0\0")))
        # another thread's STRU inside this thread's call: its own open call's
        add(RecordKind.SYSCALL, Syscall(262, 1, 0, (5, 0x3000, 0x4000, 0x100, 0, 0)),
            tid=78)
        add(RecordKind.SYSCALL, Syscall(262, 1, 0, (5, 0x3000, 0x4000, 0x100, 0, 0)))
        stru(2, b"stat", bytes(stat_dir), tid=78)
        stru(2, b"stat", bytes(stat_null))
        add(RecordKind.SYSRET, Sysret(262, 1, 0, 0, 0, 700), tid=78)
        add(RecordKind.SYSRET, Sysret(262, 1, 0, 0, 0, 700))
        for fd in (3, 4, 5, 6, 7, 8, 11, 12):
            call(0, (fd, 0x2000, 64), 5, data=b"hello")
        for fd in (3, 4, 5, 6, 7, 8, 11, 12):  # close: registers past its one argument vary
            call(3, (fd, index, ts & 0xFFFF, fd * index), 0 if fd != 12 else -9)
        call(0, (5, 0x2000, 64), 5, data=b"gone")  # closed at close's CALL: unknown now
    with open(path, "wb") as out:
        out.write(formats.encode_file_header(header))
        for start in range(0, len(records), 700):
            out.write(framing.encode(records[start:start + 700], None))


def test_fast_path_on_find_like_calls(tmp_path: Path) -> None:
    """Both paths write the same tables, which are also those written without the memo
    (every row rendered: the STRU records in its key, close's narrow key)."""
    trace = tmp_path / "finds.ktr"
    _struct_calls_trace(trace, 300)
    assert _same_export(tmp_path, trace) > 0
    from ktrdump._parquet import ParquetWriter, write_parquet
    from ktrdump._rawparse import batch_parser
    from ktrdump._reader import open_trace

    with open_trace(trace) as reader:
        write_parquet(reader.parsed_events(batch_parser(reader.record_codec)),
                      str(tmp_path / "c.parquet"))
    plain = ParquetWriter(str(tmp_path / "plain.parquet"), memoize=False)
    with open_trace(trace) as reader:
        for event in reader.events():
            if isinstance(event, list):
                plain.batch(event)
    plain.finish()
    assert pq.read_table(tmp_path / "plain.parquet").equals(
        pq.read_table(tmp_path / "c.parquet"))
    rows = pq.read_table(tmp_path / "c.parquet",
                         columns=["syscall", "fd", "fd_path", "args_decoded"]).to_pylist()
    paths = {(row["syscall"], row["fd"], row["fd_path"]) for row in rows}
    # the fd effects, inline or not, as the layer applies them (-y's paths)
    assert ("read", 5, "/usr/include/linux") in paths  # F_DUPFD_CLOEXEC
    assert ("read", 6, "/usr/include/linux") in paths  # dup
    assert ("read", 7, "/usr/include") in paths  # dup2
    assert ("read", 11, None) in paths  # unfinished F_DUPFD: no effect
    assert ("read", 12, None) in paths  # failed: no effect
    assert ("read", 5, None) in paths  # closed
    decoded = {tuple(row["args_decoded"]) for row in rows if row["syscall"] == "newfstatat"}
    assert ("4", '"a.h"', "{st_mode=S_IFDIR|0755, st_size=4096, ...}",
            "AT_SYMLINK_NOFOLLOW") in decoded
    assert ("4", '"a.h"', "{st_mode=S_IFCHR|0666, st_rdev=makedev(0x1, 0x3), ...}",
            "AT_SYMLINK_NOFOLLOW") in decoded
    counts = {row["args_decoded"][1] for row in rows if row["syscall"] == "getdents64"}
    assert {"0x5000 /* 0 entries */", "0x5000 /* 4 entries */"} <= counts
