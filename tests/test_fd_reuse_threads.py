"""-y and -P when one thread's close blocks and another thread gets its fd number.

The kernel frees an fd's number at close's entry, before it releases the
file; releasing a TCP socket with ``SO_LINGER`` waits until its data is
sent. One C program (compiled in the test) fills a loopback connection (its
peer reads nothing: the window closes, data stays unsent), sets
``SO_LINGER {1, 30}`` on its client socket, fd N, and then:

- thread A: writes to a pipe, then ``close(N)``, which lingers;
- thread B: reads that pipe, asks ``fcntl(N, F_GETFD)`` until it fails with
  EBADF (the kernel has freed N: no sleeping), opens a file (the program
  fails unless it got N), writes to it and reads it back, then tells main
  through another pipe;
- main: waits for B, then drains the peer to its EOF, which lets A's close
  finish (its RET comes after B's calls), and only then uses N: fstat,
  write, close.

ktrdump applied close at its RET, dropping B's file from the table: main's
calls on N had no path under -y and -P missed them. Close is now applied at
its CALL, and what the views say of a call's first fd is what it was at the
call's entry (A's close still names the socket). Checked: the text and
strace views with -y, -P with the file's path and with the socket's, JSON's
and parquet's ``fd_path`` (fast path and general path alike), and the lines
strace -f -y prints for the calls on N. The close_range rule (at its RET,
only what its CALL saw) is checked on records made here: no kernel lets a
close_range block half way through deterministically.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from c_support import build_program
from ktrdump_support import Entry, build_trace
from strace_corpus import parse

import formats
from formats import Namei, RecordKind, Syscall, Sysret

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")

_PROGRAM = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int client;          /* the socket thread A closes: its number is reused */
static int closing[2];      /* A -> B: "close is next" */
static int done[2];         /* B -> main: "the reused fd has been used" */

static void *closer(void *unused) {
    (void)unused;
    write(closing[1], "c", 1);
    close(client);          /* lingers: the peer's window is closed until main drains it */
    return NULL;
}

static void *opener(void *path) {
    char byte, buffer[8];
    read(closing[0], &byte, 1);
    /* The kernel frees the number at close's entry: wait for that, without sleeping. */
    while (fcntl(client, F_GETFD) != -1 || errno != EBADF) {
    }
    int fd = open((const char *)path, O_RDWR | O_CREAT | O_TRUNC, 0644);
    if (fd != client) {
        exit(3);            /* not the number A's close freed */
    }
    write(fd, "hello", 5);
    pread(fd, buffer, 5, 0);
    write(done[1], "d", 1);
    return NULL;
}

int main(int argc, char **argv) {
    struct sockaddr_in address = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t length = sizeof address;
    int small = 4096;
    static char chunk[65536];
    char byte;
    struct stat st;
    pthread_t a, b;
    if (argc != 2 || pipe(closing) || pipe(done)) {
        return 2;
    }
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
    if (bind(listener, (struct sockaddr *)&address, length) || listen(listener, 1)
            || getsockname(listener, (struct sockaddr *)&address, &length)) {
        return 2;
    }
    client = socket(AF_INET, SOCK_STREAM, 0);
    setsockopt(client, SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
    if (connect(client, (struct sockaddr *)&address, length)) {
        return 2;
    }
    int server = accept(listener, NULL, NULL);
    /* Fill the peer's receive buffer, then the send buffer: data stays unsent. */
    fcntl(client, F_SETFL, O_NONBLOCK);
    while (write(client, chunk, sizeof chunk) > 0) {
    }
    if (errno != EAGAIN) {
        return 2;
    }
    fcntl(client, F_SETFL, 0);
    struct linger linger = {.l_onoff = 1, .l_linger = 30};
    setsockopt(client, SOL_SOCKET, SO_LINGER, &linger, sizeof linger);
    int reused = client;
    pthread_create(&a, NULL, closer, NULL);
    pthread_create(&b, NULL, opener, argv[1]);
    read(done[0], &byte, 1);
    pthread_join(b, NULL);
    /* Now let A's close finish: drain the peer to its EOF (the FIN after the data). */
    while (read(server, chunk, sizeof chunk) > 0) {
    }
    pthread_join(a, NULL);
    fstat(reused, &st);     /* after the close's RET: still B's file */
    write(reused, "!", 1);
    close(reused);
    return 0;
}
"""

_SOCKET = re.compile(r"socket:\[\d+\]")


class Run(NamedTuple):
    trace: Path
    file: str  # the path B opened
    fd: int  # the number A's close freed and B's open got
    socket: str  # what fd was before: socket:[INODE]
    closer: int  # thread A
    opener: int  # thread B
    main: int
    records: list[dict[str, Any]]  # ktrdump --json -y


def _ktrdump(*arguments: str) -> str:
    return subprocess.run([str(KTRDUMP), *arguments], check=True, capture_output=True,
                          text=True, timeout=60).stdout


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_program(tmp_path_factory.mktemp("reuse"), "reuse", _PROGRAM, "-O0", "-pthread")


@pytest.fixture(scope="module")
def run(program: Path, tmp_path_factory: pytest.TempPathFactory) -> Run:
    where = tmp_path_factory.mktemp("ours")
    trace = where / "reuse.ktr"
    file = str(where / "file.txt")
    recorded = subprocess.run([str(KTR), "record", "-q", "-i", "-o", str(trace), "--",
                               str(program), file], cwd=where, timeout=60)
    assert recorded.returncode == 0, "the program failed: B did not get the freed number"
    records = [json.loads(line) for line in _ktrdump("--json", "-y", str(trace)).splitlines()]
    opened = next(r for r in records if r["type"] == "CALL" and r["syscall"] == "openat"
                  and r["args_decoded"][1] == json.dumps(file))
    ret = next(r for r in records if r["type"] == "RET" and r["call"] == opened["call"])
    fd = ret["retval"]
    closes = [r for r in records if r["type"] == "CALL" and r["syscall"] == "close"
              and r["args"][0] == fd and r["tid"] != opened["tid"]]
    lingering, last = closes[0], closes[-1]
    # The premise: A's close returned after B had the number (before Linux 6.7,
    # close released the file at the return to user mode, after its RET).
    ordinal = {id(record): index for index, record in enumerate(records)}
    close_ret = next(r for r in records if r["type"] == "RET" and r["call"] == lingering["call"])
    if ordinal[id(close_ret)] < ordinal[id(ret)]:
        pytest.skip("this kernel's close returned before releasing the socket")
    return Run(trace, file, fd, lingering["fd_path"], lingering["tid"], opened["tid"],
               last["tid"], records)


def test_the_reused_fd_is_named_by_the_thread_that_opened_it(run: Run) -> None:
    assert run.socket.startswith("socket:[")
    assert len({run.closer, run.opener, run.main}) == 3
    n, file, socket = run.fd, run.file, run.socket
    text = _ktrdump("-y", "-H", str(run.trace))

    def calls(tid: int) -> list[str]:
        """The thread's CALL lines on fd n, up to the fd (-H: pid, tid, comm, kind)."""
        found = []
        for line in text.splitlines():
            words = line.split(None, 4)
            if len(words) == 5 and words[1] == str(tid) and words[3] == "CALL" and (
                    f"({n}<" in words[4] or f"({n}," in words[4] or f"({n})" in words[4]):
                found.append(re.split(r"[,)]", words[4], maxsplit=1)[0])
        return found

    assert calls(run.closer) == [f"close({n}<{socket}>"]
    assert [c for c in calls(run.opener) if not c.startswith("fcntl")] == [
        f"write({n}<{file}>", f"pread64({n}<{file}>"]
    # After the close's RET: still B's file.
    assert calls(run.main)[-3:] == [
        f"newfstatat({n}<{file}>", f"write({n}<{file}>", f"close({n}<{file}>"]
    assert text.count(f"GIO   fd {n}<{file}> wrote") == 2  # B's "hello", main's "!"

    strace = _ktrdump("--format", "strace", "-y", str(run.trace))
    assert f"close({n}<{socket}> <unfinished ...>" in strace
    assert re.search(rf"^{run.closer} +\S+ <\.\.\. close resumed>\) += 0", strace, re.M)
    for line in (f'pread64({n}<{file}>, "hello", 5, 0) = 5',
                 f'write({n}<{file}>, "!", 1) = 1', f"close({n}<{file}>) = 0"):
        assert line in strace, line


def test_P_selects_the_calls_on_the_reused_fd(run: Run) -> None:
    n = run.fd
    by_file = parse(_ktrdump("--format", "strace", "-P", run.file, str(run.trace)))
    assert [(c.name, c.args.split(",")[0]) for c in by_file[run.opener]] == [
        ("openat", "AT_FDCWD"), ("write", str(n)), ("pread64", str(n))]
    assert [c.name for c in by_file[run.main]] == ["newfstatat", "write", "close"]
    assert run.closer not in by_file
    # The socket's path selects A's close (the fd as its entry found it), not B's calls.
    by_socket = parse(_ktrdump("--format", "strace", "-P", run.socket, str(run.trace)))
    assert [c.name for c in by_socket[run.closer]] == ["close"]
    assert run.opener not in by_socket or all(
        c.name == "fcntl" for c in by_socket[run.opener])  # its polls while N was the socket


def _parquet(trace: Path, output: Path, *arguments: str) -> dict[int, tuple[int, str, int, str]]:
    pq = pytest.importorskip("pyarrow.parquet")
    subprocess.run([str(KTRDUMP), "--format", "parquet", *arguments, "-o", str(output),
                    str(trace)], check=True, timeout=60)
    rows = pq.read_table(output, columns=["call_id", "tid", "syscall", "fd", "fd_path"])
    return {row["call_id"]: (row["tid"], row["syscall"], row["fd"], row["fd_path"])
            for row in rows.to_pylist()}


def test_json_and_parquet_fd_paths_agree(run: Run, tmp_path: Path) -> None:
    n = run.fd
    ours = {r["call"]: r for r in run.records if r["type"] == "CALL" and r["args"]
            and r["args"][0] == n and r["syscall"] != "fcntl"}
    wanted = {call: (r["tid"], r["syscall"], n, r.get("fd_path")) for call, r in ours.items()}
    rets = {r["call"]: r.get("fd_path") for r in run.records if r["type"] == "RET"}
    assert all(rets[call] == r.get("fd_path") for call, r in ours.items())  # RET as CALL
    late = [r for r in ours.values() if r["tid"] != run.closer][-5:]
    assert [(r["syscall"], r["fd_path"]) for r in late] == [
        ("write", run.file), ("pread64", run.file), ("newfstatat", run.file),
        ("write", run.file), ("close", run.file)]
    assert [r["fd_path"] for r in ours.values()
            if r["tid"] == run.closer and r["syscall"] == "close"] == [run.socket]
    fast = _parquet(run.trace, tmp_path / "fast.parquet")  # no filter: the fast path
    general = _parquet(run.trace, tmp_path / "general.parquet", "-p",
                       str(run.main))  # a filter: the general path
    for rows in (fast, general):
        assert {call: rows[call] for call in wanted} == wanted


def _compared(text: str, n: int, file: str) -> list[list[str]]:
    """Each thread's calls on ``file`` (its open, calls on fd ``n`` while it is the file)
    and the socket's close, masked; threads sorted (their ids differ)."""
    threads = []
    for calls in parse(_SOCKET.sub("socket:[INODE]", text)).values():
        lines = [f"{c.name}({c.args}) = {c.result}" for c in calls
                 if c.name != "fcntl" and (f"{n}<{file}>" in c.args or f'"{file}"' in c.args
                                           or c.args == f"{n}<socket:[INODE]>")]
        if lines:
            threads.append(lines)
    return sorted(threads)


@pytest.mark.skipif(STRACE is None, reason="strace is not installed")
def test_lines_are_strace_ys(program: Path, run: Run, tmp_path: Path) -> None:
    assert STRACE is not None
    where = Path(run.file).parent
    theirs_dir = tmp_path / "theirs"
    theirs_dir.mkdir()
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-y", "-ttt", "-T", "-o", str(reference), str(program),
                    str(theirs_dir / "file.txt")], cwd=theirs_dir, check=True, timeout=60)
    theirs = _compared(reference.read_text().replace(str(theirs_dir), str(where)),
                       run.fd, run.file)
    ours = _compared(_ktrdump("--format", "strace", "-y", str(run.trace)), run.fd, run.file)
    assert ours == theirs
    assert [f"close({run.fd}<socket:[INODE]>) = 0"] in ours  # A's: its socket, at the RET


# ---------------------------------------------------------------------------
# close_range, on records made here

X86_64 = int(formats.Abi.X86_64)
_NR = {"read": 0, "close": 3, "dup2": 33, "openat": 257, "close_range": 436}
AT_FDCWD = (1 << 64) - 100


def _call(tid: int, name: str, *args: int) -> Entry:
    return (RecordKind.SYSCALL, 100, tid, b"prog",
            Syscall(_NR[name], X86_64, 0, (*args, *(0,) * (6 - len(args)))))


def _ret(tid: int, name: str, retval: int) -> Entry:
    return (RecordKind.SYSRET, 100, tid, b"prog", Sysret(_NR[name], X86_64, 0, 0, retval, 1_000))


def _open(tid: int, path: str, fd: int) -> list[Entry]:
    return [_call(tid, "openat", AT_FDCWD, 0x1000, 0),
            (RecordKind.NAMEI, 100, tid, b"prog", Namei(path.encode())), _ret(tid, "openat", fd)]


def test_close_range_closes_only_what_its_call_saw(tmp_path: Path) -> None:
    """Thread 101's close_range(3, ~0) runs while 102 opens /new and gets 5 (which it
    freed) and 103 closes 4 and gets it back by dup2(9, 4): at its RET only what its
    CALL saw is closed (3, 6, 9), and the text, JSON and parquet views (both paths)
    name the fds alike."""
    entries: list[Entry] = []
    for fd in (3, 4, 5, 6, 9):
        entries += _open(100, f"/f{fd}", fd)
    entries += [_call(101, "close_range", 3, 0xFFFF_FFFF, 0),
                _call(103, "close", 4), _ret(103, "close", 0),
                *_open(102, "/new", 5),
                _call(103, "dup2", 9, 4), _ret(103, "dup2", 4),
                _ret(101, "close_range", 0)]
    for tid, fd in ((102, 5), (103, 4), (100, 6), (100, 3), (100, 9)):
        entries += [_call(tid, "read", fd, 0x2000, 8), _ret(tid, "read", 0)]
    data, _ = build_trace([entries])
    trace = tmp_path / "range.ktr"
    trace.write_bytes(data)
    wanted = {5: "/new", 4: "/f9", 6: None, 3: None, 9: None}
    records = [json.loads(line) for line in _ktrdump("--json", "-y", str(trace)).splitlines()]
    reads = {r["call"]: r for r in records if r["type"] == "CALL" and r["syscall"] == "read"}
    assert {r["args"][0]: r.get("fd_path") for r in reads.values()} == wanted
    text = _ktrdump("-y", str(trace))
    assert [line.split("CALL  ")[1] for line in text.splitlines() if "CALL  read(" in line] == [
        "read(5</new>,0x2000,8)", "read(4</f9>,0x2000,8)", "read(6,0x2000,8)",
        "read(3,0x2000,8)", "read(9,0x2000,8)"]
    fast = _parquet(trace, tmp_path / "fast.parquet")
    general = _parquet(trace, tmp_path / "general.parquet", "-p", "100")
    for rows in (fast, general):
        assert {rows[call][2]: rows[call][3] for call in reads} == wanted
