"""The ABI a program's calls switch to, i386 semctl, and the summary, against strace itself.

A 64-bit C program compiled here makes some calls with ``int $0x80`` (i386
getpid and write) between native ones: the recorder writes an EMUL record at
each switch, ``ktrdump --format strace`` prints strace's ``[ Process PID=N
runs in 32 bit mode. ]`` lines where strace prints them, and ``ktrdump
--summary`` counts what ``strace -c -w`` counts (calls counted at their exit:
exit_group is listed under the table, not in it; one table per ABI). A
freestanding i386 program's ipc(SEMCTL) calls print their union semun as
strace does. The oracle is strace run on the same binaries in the same test.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_i386

pytestmark = pytest.mark.skipif(shutil.which("strace") is None or shutil.which("gcc") is None,
                                reason="strace and gcc are needed")

BIN = Path(sys.executable).parent
KTR, KTRDUMP = BIN / "ktr", BIN / "ktrdump"

#: 64-bit, not position independent (the i386 calls take 32-bit addresses).
MIXED_C = r"""
#include <unistd.h>
static long int80(long nr, long a, long b, long c) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c) : "memory");
    return ret;
}
static char message[] = "from int80\n";
int main(void) {
    getpid();
    int80(20, 0, 0, 0);                                   /* i386 getpid */
    int80(4, 1, (long)message, sizeof message - 1);       /* i386 write */
    write(1, "back\n", 5);
    int80(20, 0, 0, 0);
    for (int i = 0; i < 7; i++) getppid();
    for (int i = 0; i < 3; i++) close(1000);              /* EBADF, three errors */
    int80(6, 1000, 0, 0);                                 /* i386 close: EBADF */
    return 0;
}
"""

SEMCTL_C = r"""
static long sys6(long nr, long a, long b, long c, long d, long e, long f) {
    long ret;
    long args[2] = {e, f};
    long *pointer = args;
    __asm__ volatile ("push %%ebp\n\tmov 4(%%edi), %%ebp\n\tmov 0(%%edi), %%edi\n\t"
                      "int $0x80\n\tpop %%ebp"
                      : "=a"(ret), "+D"(pointer) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                      : "memory");
    return ret;
}
void _start(void) {
    long sem = sys6(117, 2, 0, 1, 01600, 0, 0);        /* ipc(SEMGET) */
    long value = 5, none = 0;
    sys6(117, 3, sem, 0, 16, (long)&value, 0);         /* ipc(SEMCTL, SETVAL): [0x5] */
    sys6(117, 3, sem, 0, 12, 0, 0);                    /* GETVAL, ptr NULL: EINVAL */
    sys6(117, 3, sem, 0, 12, 0x10, 0);                 /* GETVAL, ptr unreadable: EFAULT */
    sys6(117, 3, sem, 0, 0x10c, (long)&none, 0);       /* IPC_64|GETVAL: [NULL] = 5 */
    sys6(117, 3, sem, 0, 0, (long)&none, 0);           /* IPC_RMID: [NULL] */
    sys6(252, 0, 0, 0, 0, 0, 0);                       /* exit_group */
    for (;;) {}
}
"""


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("abi")
    source = directory / "mixed.c"
    source.write_text(MIXED_C)
    binary = directory / "mixed"
    result = subprocess.run(["gcc", "-O1", "-no-pie", "-o", str(binary), str(source)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        pytest.skip(f"gcc cannot build the program here: {result.stderr.strip()[:200]}")
    return binary


def _record(binary: Path, trace: Path) -> None:
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(binary)],
                   check=True, stdout=subprocess.DEVNULL, timeout=60)


def _dump(*arguments: str) -> str:
    return subprocess.run([str(KTRDUMP), *arguments], check=True, capture_output=True,
                          text=True, timeout=60).stdout


def _strace(binary: Path, output: Path, *options: str) -> str:
    subprocess.run(["strace", *options, "-o", str(output), "--", str(binary)], check=True,
                   stdout=subprocess.DEVNULL, timeout=60)
    return output.read_text()


_PREFIX = re.compile(r"^(?:\d+ +)?\d+\.\d{6} ")  # -ff: no thread column
_DURATION = re.compile(r" <\d+\.\d{6}>$")
_NUMBER = re.compile(r"\b\d{3,}\b")  # pids and the like (each run's own)
# a semaphore id is each run's own too, and small on a fresh machine (14)
_SEM_ID = re.compile(r"^(sem\w*)\(\d+")


def _lines(text: str, wanted: tuple[str, ...]) -> list[str]:
    """The lines starting with ``wanted`` (after the tid and time), numbers masked."""
    out = []
    for line in text.splitlines():
        body = _DURATION.sub("", _PREFIX.sub("", line))
        if body.startswith(wanted):
            body = _SEM_ID.sub(r"\1(N", body)
            out.append(_NUMBER.sub("N", re.sub(r"\s+=", " =", body)))
    return out


def test_int80_calls_bring_emul_records(mixed: Path, tmp_path: Path) -> None:
    trace = tmp_path / "mixed.ktr"
    _record(mixed, trace)
    emul = [line.split()[-1] for line in _dump(str(trace)).splitlines() if " EMUL " in line]
    # the process's ABI (before its execve and after it), then each switch:
    # int $0x80 getpid+write, back, getpid, back, close, back
    assert emul == ['"linux-x86_64"', '"linux-x86_64"', '"linux-i386"', '"linux-x86_64"',
                    '"linux-i386"', '"linux-x86_64"', '"linux-i386"', '"linux-x86_64"']


def test_strace_view_prints_strace_personality_lines(mixed: Path, tmp_path: Path) -> None:
    trace = tmp_path / "mixed.ktr"
    _record(mixed, trace)
    # -o makes strace quiet about personalities unless told otherwise
    theirs = _strace(mixed, tmp_path / "strace.txt", "-f", "-ttt", "-T", "--quiet=none")
    ours = _dump("--format", "strace", str(trace))
    wanted = ("[ Process", "getpid(", "getppid(", "write(", "close(1000", "exit_group(")
    expected = _lines(theirs, wanted)
    assert expected.count("[ Process PID=N runs in 32 bit mode. ]") == 3
    assert _lines(ours, wanted) == expected
    # a filter hides calls, not strace's lines for them (the recorder's EMUL
    # records stand for the hidden calls' switches)
    only = ("[ Process", "write(", "getppid(")
    theirs = _strace(mixed, tmp_path / "filtered.txt", "-f", "-ttt", "-T", "--quiet=none",
                     "-e", "trace=write,getppid")
    filtered = _dump("--format", "strace", "-e", "trace=write,getppid", str(trace))
    assert _lines(theirs, only) == [line for line in expected if line.startswith(only)]
    assert _lines(filtered, only) == _lines(theirs, only)
    # -ff: the lines go to the thread's own file, in the same places
    prefix = tmp_path / "split"
    _dump("--format", "strace", "-ff", "-o", str(prefix), str(trace))
    files = list(tmp_path.glob("split.*"))
    assert len(files) == 1
    assert _lines(files[0].read_text(), wanted) == expected


def _table(lines: list[str]) -> dict[str, tuple[int, int]]:
    counts = {}
    for line in lines:
        fields = line.split()
        if len(fields) in (5, 6) and fields[0][0].isdigit() and fields[-1] != "total":
            counts[fields[-1]] = (int(fields[3]), int(fields[4]) if len(fields) == 6 else 0)
    return counts


def _tables(text: str) -> dict[str, dict[str, tuple[int, int]]]:
    """strace -c's tables by heading ("" for the first, unheaded one)."""
    tables: dict[str, list[str]] = {"": []}
    heading = ""
    for line in text.splitlines():
        if line.startswith("System call usage summary for"):
            heading = line
            tables[heading] = []
        else:
            tables[heading].append(line)
    return {name: _table(lines) for name, lines in tables.items()}


def test_summary_counts_what_strace_c_counts(mixed: Path, tmp_path: Path) -> None:
    trace = tmp_path / "mixed.ktr"
    _record(mixed, trace)
    theirs = _tables(_strace(mixed, tmp_path / "strace.txt", "-c", "-w"))
    text = _dump("--summary", str(trace))
    ours = _tables(text)
    assert list(ours) == list(theirs) == ["", "System call usage summary for 32 bit mode:"]
    assert ours == theirs
    assert theirs[""]["getppid"] == (7, 0) and theirs[""]["close"][1] == 3
    assert theirs["System call usage summary for 32 bit mode:"] == {
        "getpid": (2, 0), "write": (1, 0), "close": (1, 1)}
    assert "exit_group" not in theirs[""] and "exit_group" not in ours[""]
    # ... and the call that never returned is still shown, under the table
    assert "never returned, not counted above (as strace -c): exit_group 1\n" in text


def test_i386_semctl_prints_the_union_semun_as_strace(tmp_path: Path) -> None:
    binary = build_i386(tmp_path, SEMCTL_C, "semctl32")
    trace = tmp_path / "semctl.ktr"
    _record(binary, trace)
    theirs = _lines(_strace(binary, tmp_path / "strace.txt", "-f", "-ttt", "-T"), ("semctl(",))
    assert theirs == [
        "semctl(N, 0, SETVAL, [0x5]) = 0",
        "semctl(N, 0, GETVAL, NULL) = -1 EINVAL (Invalid argument)",
        "semctl(N, 0, GETVAL, 0x10) = -1 EFAULT (Bad address)",
        "semctl(N, 0, IPC_64|GETVAL, [NULL]) = 5",
        "semctl(N, 0, IPC_RMID, [NULL]) = 0",
    ]
    assert _lines(_dump("--format", "strace", str(trace)), ("semctl(",)) == theirs
    # the kdump-style view shows the word the recorder read
    text = _dump(str(trace))
    assert text.count("STRU  struct semun [0x5]") == 1
    assert text.count("STRU  struct semun [NULL]") == 2
