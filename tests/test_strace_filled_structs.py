"""Structures the recorder captures for calls strace decodes, against strace itself.

One C program (compiled in the test) makes each call; it runs under
``strace -f`` and under ``ktr record``, and every line of ``ktrdump --format
strace`` for these calls must equal strace's (addresses masked, and the values
that change between two runs: times' result and CPU times, the clock adjtimex
reads): getresuid's and getresgid's ids (``[0], [0], [0]``; a failed call's
addresses), times' struct tms, capget's and capset's header and capability
sets (versions 1 and 3, an unknown version, a NULL data pointer),
pselect6's sigmask pair (``{sigmask=[USR1], sigsetsize=8}``, a NULL set, a
size strace does not read, an unreadable pair), adjtimex's and
clock_adjtime's struct timex and the clock state they return (an unknown
clock id as strace's ``0x3039 /* CLOCK_??? */``), mincore's
vector (cut at strace's -s), get_robust_list's head and length; the same
calls from a freestanding i386 program (16-bit ids of i386's getresuid, the
32-bit ones of getresuid32, 32-bit longs and pointers, struct old_timex32).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_i386, build_program
from strace_corpus import parse

from ktrdump._structs import decode_struct, struct_fields

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"
STRACE = shutil.which("strace")
GCC = shutil.which("gcc")

PROGRAM = r"""#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/times.h>
#include <sys/timex.h>
#include <linux/capability.h>
int main(void) {
    uid_t r, e, s;
    gid_t rg, eg, sg;
    syscall(SYS_getresuid, &r, &e, &s);
    syscall(SYS_getresgid, &rg, &eg, &sg);
    syscall(SYS_getresuid, NULL, &e, &s);
    struct tms t;
    syscall(SYS_times, &t);
    syscall(SYS_times, NULL);
    struct __user_cap_header_struct h3 = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_header_struct h1 = {_LINUX_CAPABILITY_VERSION_1, 0};
    struct __user_cap_header_struct h0 = {0, 0};
    struct __user_cap_data_struct caps[2];
    syscall(SYS_capget, &h3, caps);
    syscall(SYS_capset, &h3, caps);
    syscall(SYS_capget, &h1, caps);
    syscall(SYS_capget, &h0, caps);
    h0.version = 0;
    syscall(SYS_capset, &h0, caps);
    syscall(SYS_capget, &h3, NULL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    struct { const sigset_t *ss; size_t len; } pack = {&set, 8};
    struct timespec zero = {0, 0};
    syscall(SYS_pselect6, 0, NULL, NULL, NULL, &zero, &pack);
    pack.ss = NULL;
    syscall(SYS_pselect6, 0, NULL, NULL, NULL, &zero, &pack);
    pack.ss = &set;
    pack.len = 4;
    syscall(SYS_pselect6, 0, NULL, NULL, NULL, &zero, &pack);
    syscall(SYS_pselect6, 0, NULL, NULL, NULL, &zero, NULL);
    syscall(SYS_pselect6, 0, NULL, NULL, NULL, &zero, (void *)1);
    struct timex tx;
    memset(&tx, 0, sizeof tx);
    syscall(SYS_adjtimex, &tx);
    memset(&tx, 0, sizeof tx);
    syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    tx.modes = ADJ_TICK;  /* a tick out of range: refused, nothing changed */
    tx.tick = 1;
    syscall(SYS_clock_adjtime, CLOCK_REALTIME, &tx);
    syscall(SYS_clock_adjtime, 12345, &tx);
    char *m = mmap(NULL, 40 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    m[0] = 1;
    m[2 * 4096] = 1;
    unsigned char vec[40];
    syscall(SYS_mincore, m, 4 * 4096 - 100, vec);
    syscall(SYS_mincore, m, 40 * 4096, vec);
    syscall(SYS_mincore, m + 1, 4096, vec);
    syscall(SYS_mincore, m, 0, vec);
    syscall(SYS_mincore, m, 0, NULL);
    syscall(SYS_rseq, NULL, 32, 0, 0x53053053);
    void *head;
    size_t len;
    syscall(SYS_get_robust_list, 0, &head, &len);
    syscall(SYS_get_robust_list, 999999999, &head, &len);
    return 0;
}
"""

#: The same calls by i386's numbers (a freestanding program: no C library).
PROGRAM_I386 = r"""
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
static char pages[3 * 4096] __attribute__((aligned(4096)));
void _start(void) {
    unsigned short r16, e16, s16;
    unsigned int r, e, s;
    long tms[4];
    unsigned int header[2] = {0x20080522, 0}, caps[6];
    unsigned long long set = 1ULL << 9;          /* SIGUSR1 */
    unsigned long pack[2] = {(unsigned long)&set, 8};
    long zero[2] = {0, 0};
    int timex[32] = {0};
    unsigned char vec[3];
    long head, len;
    sys6(165, (long)&r16, (long)&e16, (long)&s16, 0, 0, 0);   /* getresuid */
    sys6(171, (long)&r16, (long)&e16, (long)&s16, 0, 0, 0);   /* getresgid */
    sys6(209, (long)&r, (long)&e, (long)&s, 0, 0, 0);         /* getresuid32 */
    sys6(211, (long)&r, (long)&e, (long)&s, 0, 0, 0);         /* getresgid32 */
    sys6(43, (long)tms, 0, 0, 0, 0, 0);                       /* times */
    sys6(184, (long)header, (long)caps, 0, 0, 0, 0);          /* capget */
    sys6(308, 0, 0, 0, 0, (long)zero, (long)pack);            /* pselect6 */
    sys6(124, (long)timex, 0, 0, 0, 0, 0);                    /* adjtimex */
    sys6(343, 0, (long)timex, 0, 0, 0, 0);                    /* clock_adjtime */
    pages[4096] = 1;
    sys6(218, (long)pages, 3 * 4096, (long)vec, 0, 0, 0);     /* mincore */
    sys6(312, 0, (long)&head, (long)&len, 0, 0, 0);           /* get_robust_list */
    sys6(252, 0, 0, 0, 0, 0, 0);                              /* exit_group */
    for (;;) {}
}
"""

_COMPARED = frozenset({"getresuid", "getresgid", "getresuid32", "getresgid32", "times",
                       "capget", "capset", "pselect6", "adjtimex", "clock_adjtime", "mincore",
                       "get_robust_list", "rseq"})
_ADDRESS = re.compile(r"0x[0-9a-f]{9,}")
# what two runs of the program see differently
_VARYING = (
    (re.compile(r"^(times\(.*\) = )\d+$"), r"\1TICKS"),
    (re.compile(r"(tms_\w+=)\d+( /\* \d+\.\d\d s \*/)?"), r"\1N"),
    (re.compile(r"time=\{tv_sec=\d+, tv_usec=\d+\}"), "time={...}"),
    (re.compile(r"\b(offset|freq|maxerror|esterror|ppsfreq|jitter)=-?\d+"), r"\1=N"),
)


def _lines(text: str) -> list[str]:
    lines = []
    for calls in parse(text).values():
        for call in calls:
            if call.name in _COMPARED:
                line = _ADDRESS.sub("ADDRESS", f"{call.name}({call.args}) = {call.result}")
                for pattern, replacement in _VARYING:
                    line = pattern.sub(replacement, line)
                lines.append(line)
    return lines


def _ours_and_theirs(tmp_path: Path, program: Path) -> tuple[list[str], list[str]]:
    """``program`` under ``strace -f -ttt -T`` and recorded by ktr: ktrdump's strace view
    of it and strace's output, as compared lines."""
    assert STRACE is not None
    reference = tmp_path / "strace.txt"
    subprocess.run([STRACE, "-f", "-ttt", "-T", "-o", str(reference), str(program)],
                   check=True, timeout=60)
    trace = tmp_path / "calls.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    return _lines(ours), _lines(reference.read_text())


@pytest.mark.skipif(STRACE is None or GCC is None, reason="strace or gcc is not installed")
def test_filled_structures_match_strace(tmp_path: Path) -> None:
    ours, theirs = _ours_and_theirs(tmp_path, build_program(tmp_path, "calls", PROGRAM,
                                                            "-O0", "-w"))
    assert ours == theirs
    assert len(theirs) == 29  # (and the C library's own rseq)
    # What strace 6.1 printed when this was written: the forms compared above.
    for expected in (
        "getresuid([0], [0], [0]) = 0",
        "getresgid([0], [0], [0]) = 0",
        "getresuid(NULL, ADDRESS, ADDRESS) = -1 EFAULT (Bad address)",
        "times({tms_utime=N, tms_stime=N, tms_cutime=N, tms_cstime=N}) = TICKS",
        "times(NULL) = TICKS",
        "capget({version=0 /* _LINUX_CAPABILITY_VERSION_??? */, pid=0}, ADDRESS)"
        " = -1 EINVAL (Invalid argument)",
        "capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, NULL) = 0",
        "pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=0}, "
        "{sigmask=[USR1], sigsetsize=8}) = 0 (Timeout)",
        "pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=0}, "
        "{sigmask=NULL, sigsetsize=8}) = 0 (Timeout)",
        "pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=0}, "
        "{sigmask=ADDRESS, sigsetsize=4}) = -1 EINVAL (Invalid argument)",
        "pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=0}, 0x1) = -1 EFAULT (Bad address)",
        "clock_adjtime(CLOCK_REALTIME, ADDRESS) = -1 EINVAL (Invalid argument)",
        "clock_adjtime(0x3039 /* CLOCK_??? */, ADDRESS) = -1 EINVAL (Invalid argument)",
        "mincore(ADDRESS, 16284, [1, 0, 1, 0]) = 0",
        "mincore(ADDRESS, 163840, [1, 0, 1, " + "0, " * 29 + "...]) = 0",
        "mincore(ADDRESS, 0, []) = 0",
        "mincore(ADDRESS, 0, NULL) = 0",
        # no rseq decoder in strace 6.1: its arguments as numbers, a NULL pointer too
        "rseq(0, 0x20, 0, 0x53053053) = -1 EINVAL (Invalid argument)",
        "get_robust_list(0, [ADDRESS], [24]) = 0",
        "get_robust_list(999999999, ADDRESS, ADDRESS) = -1 ESRCH (No such process)",
    ):
        assert expected in theirs, expected
    assert any(line.startswith("capget({version=_LINUX_CAPABILITY_VERSION_3, pid=0}, "
                               "{effective=1<<CAP_CHOWN|") for line in theirs)
    assert any(line.startswith("capset({version=0 /* _LINUX_CAPABILITY_VERSION_??? */, "
                               "pid=0}, {effective=1<<CAP_CHOWN|") for line in theirs)
    assert any(re.fullmatch(r"adjtimex\(\{modes=0, offset=N, .*, tai=\d+\}\) = \d \(TIME_\w+\)",
                            line) for line in theirs)


def test_filled_structures_of_i386_calls_match_strace(tmp_path: Path) -> None:
    if STRACE is None or GCC is None:
        pytest.skip("strace or gcc is not installed")
    ours, theirs = _ours_and_theirs(tmp_path, build_i386(tmp_path, PROGRAM_I386, "calls32"))
    assert ours == theirs
    assert len(theirs) == 11
    for expected in (
        "getresuid([0], [0], [0]) = 0",
        "getresuid32([0], [0], [0]) = 0",
        "pselect6(0, NULL, NULL, NULL, {tv_sec=0, tv_nsec=0}, "
        "{sigmask=[USR1], sigsetsize=8}) = 0 (Timeout)",
        "get_robust_list(0, [NULL], [12]) = 0",
    ):
        assert expected in theirs, expected
    assert any(re.fullmatch(r"mincore\(0x[0-9a-f]+, 12288, \[0, 1, 0\]\) = 0", line)
               for line in theirs)
    adjusted = re.compile(r"clock_adjtime\(CLOCK_REALTIME, \{modes=0, .*\}\) = \d \(TIME_\w+\)")
    assert any(adjusted.fullmatch(line) for line in theirs)


def test_clock_ticks_and_upper_capabilities_print_as_strace_prints_them() -> None:
    # strace 6.1: times({tms_utime=15 /* 0.15 s */, ...}) after 0.15 s of CPU time
    tms = (15).to_bytes(8, "little") + (150).to_bytes(8, "little") + bytes(16)
    assert decode_struct("tms", 1, tms) == (
        "{tms_utime=15 /* 0.15 s */, tms_stime=150 /* 1.50 s */, tms_cutime=0, tms_cstime=0}")
    # the second word's capabilities only; unknown bits of each word in hex
    data = bytes(4) + (1 << 31).to_bytes(4, "little") + bytes(4) + \
        (1 << 8 | 1).to_bytes(4, "little") + (1 << 9).to_bytes(4, "little") + bytes(4)
    assert decode_struct("cap_user_data", 1, data) == (
        "{effective=1<<CAP_MAC_OVERRIDE|1<<CAP_CHECKPOINT_RESTORE, "
        "permitted=1<<CAP_SETFCAP|0x200 /* CAP_??? */, inheritable=0}")
    # JSON's fields: each set as one 64-bit value
    assert struct_fields("cap_user_data", 1, data) == {
        "effective": 0x101 << 32, "permitted": 1 << 31 | 0x200 << 32, "inheritable": 0}
    pack = b"".join(value.to_bytes(8, "little") for value in (0x1000, 8, 1 << 9))
    assert struct_fields("sigset_argpack", 1, pack) == {
        "sigmask": 0x1000, "sigsetsize": 8, "mask": 1 << 9}
    assert decode_struct("sigset_argpack", 1, pack[:16]) == "{sigmask=0x1000, sigsetsize=8}"
    assert struct_fields("mincore_vec[3]", 1, b"\x01\x00\x03") == {
        "[0].vec": 1, "[1].vec": 0, "[2].vec": 3}
    # i386's 16-bit ids: all bits set is -1, as strace's printuid
    assert decode_struct("id", 2, b"\xff\xff") == "[-1]"
    assert decode_struct("id", 1, b"\xe8\x03\x00\x00") == "[1000]"
