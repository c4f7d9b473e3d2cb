"""An i386 caller's siginfo (rt_sigqueueinfo, rt_tgsigqueueinfo, pidfd_send_signal) is
decoded with the i386 layout, the kernel's compat_siginfo, as strace decodes it.

Two oracles: strace itself on a freestanding i386 program (every union member
strace shows: the sender, SI_QUEUE's value, a timer, SIGCHLD's status and times, a
fault address, SIGIO's band and fd, SIGSYS's call); and the installed uapi header's
i386 ``siginfo_t`` (``gcc -m32``: the layout compat_siginfo mirrors), whose
offsets place the fields of a crafted record that the ``ktrdump`` command decodes.
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_i386, c_values
from ktrdump_support import encode_entries, file_header

import formats
from formats import RecordKind, Struct, Syscall, Sysret

BIN = Path(sys.executable).parent
KTR, KTRDUMP = BIN / "ktr", BIN / "ktrdump"
I386 = int(formats.Abi.I386)
RT_SIGQUEUEINFO_32 = 178

#: Each call passes a compat_siginfo (include/linux/compat.h: three ints, then the
#: union at byte 12, every field 4 bytes). Sent to the program itself only with a
#: signal it ignores (SIGURG); the others go to no process: si_code >= 0 to another
#: pid is EPERM before anything is delivered (kernel/signal.c, do_rt_sigqueueinfo).
SIGQUEUE_C = r"""
static long sys4(long nr, long a, long b, long c, long d) {
    long ret;
    __asm__ volatile ("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d)
                      : "memory");
    return ret;
}
struct info { int signo, errno_, code; int f[29]; };
static void clear(struct info *i) { for (int k = 0; k < 29; k++) i->f[k] = 0; }
void _start(void) {
    struct info i;
    long self = sys4(20, 0, 0, 0, 0);                               /* getpid */
    clear(&i); i.signo = 23; i.errno_ = 0; i.code = -1;             /* SI_QUEUE */
    i.f[0] = self; i.f[1] = 0; i.f[2] = 42;
    sys4(178, self, 23, (long)&i, 0);                               /* rt_sigqueueinfo */
    clear(&i); i.signo = 23; i.code = -2;                           /* SI_TIMER */
    i.f[0] = 0x12; i.f[1] = 3; i.f[2] = 0x8049abc;
    sys4(335, self, self, 23, (long)&i);                            /* rt_tgsigqueueinfo */
    clear(&i); i.signo = 17; i.code = 1;                            /* CLD_EXITED */
    i.f[0] = 5; i.f[1] = 6; i.f[2] = 7; i.f[3] = 150; i.f[4] = 250;
    sys4(178, 999999, 17, (long)&i, 0);
    clear(&i); i.signo = 11; i.code = 1;                            /* SEGV_MAPERR */
    i.f[0] = (int)0xdeadbeef; i.f[1] = 0x11111111;
    sys4(178, 999999, 11, (long)&i, 0);
    clear(&i); i.signo = 29; i.code = 1;                            /* POLL_IN */
    i.f[0] = -5; i.f[1] = 3;
    sys4(424, -1, 29, (long)&i, 0);                                 /* pidfd_send_signal */
    clear(&i); i.signo = 31; i.code = 1;                            /* SYS_SECCOMP */
    i.f[0] = 0x8049000; i.f[1] = 20; i.f[2] = 0x40000003;
    sys4(178, 999999, 31, (long)&i, 0);
    clear(&i); i.signo = 10; i.code = 0;                            /* SI_USER */
    i.f[0] = 77; i.f[1] = 88;
    sys4(178, 999999, 10, (long)&i, 0);
    sys4(252, 0, 0, 0, 0);                                          /* exit_group */
    for (;;) {}
}
"""

_CALLS = ("rt_sigqueueinfo(", "rt_tgsigqueueinfo(", "pidfd_send_signal(")
_PREFIX = re.compile(r"^(?:\d+ +)?\d+\.\d{6} ")
_DURATION = re.compile(r" <\d+\.\d{6}>$")


def _calls(text: str, pid: int) -> list[str]:
    """The siginfo calls' lines, without thread, time and duration; the pid as PID."""
    lines = []
    for line in text.splitlines():
        body = _DURATION.sub("", _PREFIX.sub("", line))
        if body.startswith(_CALLS):
            lines.append(re.sub(r"\s+=", " =", re.sub(rf"\b{pid}\b", "PID", body)))
    return lines


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is the oracle")
def test_an_i386_callers_siginfo_as_strace_prints_it(tmp_path: Path) -> None:
    program = build_i386(tmp_path, SIGQUEUE_C, "sigqueue32")
    strace_out = tmp_path / "strace.txt"
    traced = subprocess.run(["strace", "-o", str(strace_out), "--", str(program)],
                            capture_output=True, timeout=60)
    assert traced.returncode == 0, traced.stderr
    strace_text = strace_out.read_text()
    strace_pid = int(re.search(r"^getpid\(\) += (\d+)", strace_text, re.M).group(1))  # type: ignore[union-attr]
    trace = tmp_path / "sigqueue.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)
    ours = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                          capture_output=True, text=True, timeout=60).stdout
    our_pid = int(re.search(r" getpid\(\) += (\d+)", ours).group(1))  # type: ignore[union-attr]
    expected = _calls(strace_text, strace_pid)
    assert len(expected) == 7
    assert "si_pid=PID, si_uid=0, si_int=42, si_ptr=0x2a}" in expected[0]
    assert _calls(ours, our_pid) == expected


#: (field, C expression of its offset in the i386 siginfo_t, size) -- uapi
#: asm-generic/siginfo.h, which the kernel's compat_siginfo mirrors for i386.
_FIELDS = ["si_pid", "si_uid", "si_int", "si_ptr", "si_tid", "si_overrun", "si_status",
           "si_utime", "si_stime", "si_addr", "si_band", "si_fd", "si_call_addr",
           "si_syscall", "si_arch"]


def _i386_layout(tmp_path: Path) -> dict[str, tuple[int, int]]:
    expressions = ["sizeof(siginfo_t)"]
    for field in _FIELDS:
        expressions += [f"offsetof(siginfo_t, {field})",
                        f"sizeof(((siginfo_t *)0)->{field})"]
    values = c_values(tmp_path, ["asm/siginfo.h"], expressions, m32=True)
    assert values[0] == 128
    numbers = [value for value in values[1:] if value is not None]
    return {field: (numbers[2 * i], numbers[2 * i + 1]) for i, field in enumerate(_FIELDS)}


def _siginfo(layout: dict[str, tuple[int, int]], signo: int, code: int,
             **fields: int) -> bytes:
    data = bytearray(128)
    struct.pack_into("<iii", data, 0, signo, 0, code)
    for name, value in fields.items():
        offset, size = layout[name]
        data[offset:offset + size] = (value & ((1 << 8 * size) - 1)).to_bytes(size, "little")
    return bytes(data)


def test_the_compat_layout_is_the_kernel_headers(tmp_path: Path) -> None:
    """Records crafted at the offsets the i386 header gives, through ``ktrdump``."""
    layout = _i386_layout(tmp_path)
    # The header's i386 layout is what the decoder assumes: the union at 12, 4-byte fields.
    assert layout["si_pid"] == (12, 4) and layout["si_addr"] == (12, 4)
    assert layout["si_utime"] == (24, 4) and layout["si_stime"] == (28, 4)
    assert layout["si_band"] == (12, 4) and layout["si_fd"] == (16, 4)
    cases = [
        (_siginfo(layout, 23, -1, si_pid=4242, si_uid=1000, si_int=-7),
         "{si_signo=SIGURG, si_code=SI_QUEUE, si_pid=4242, si_uid=1000, si_int=-7, "
         "si_ptr=0xfffffff9}"),
        (_siginfo(layout, 23, -2, si_tid=0x12, si_overrun=3, si_ptr=0x8049abc),
         "{si_signo=SIGURG, si_code=SI_TIMER, si_timerid=0x12, si_overrun=3, "
         "si_int=134519484, si_ptr=0x8049abc}"),
        (_siginfo(layout, 17, 2, si_pid=5, si_uid=6, si_status=9, si_utime=150,
                  si_stime=250),
         "{si_signo=SIGCHLD, si_code=CLD_KILLED, si_pid=5, si_uid=6, si_status=SIGKILL, "
         "si_utime=150 /* 1.50 s */, si_stime=250 /* 2.50 s */}"),
        (_siginfo(layout, 7, 2, si_addr=0xdeadbeef),
         "{si_signo=SIGBUS, si_code=BUS_ADRERR, si_addr=0xdeadbeef}"),
        (_siginfo(layout, 29, 2, si_band=-5, si_fd=3),
         "{si_signo=SIGIO, si_code=POLL_OUT, si_band=-5, si_fd=3}"),
        (_siginfo(layout, 31, 1, si_call_addr=0x8049000, si_syscall=20,
                  si_arch=0x40000003),
         "{si_signo=SIGSYS, si_code=SYS_SECCOMP, si_call_addr=0x8049000, "
         "si_syscall=__NR_getpid, si_arch=AUDIT_ARCH_I386}"),
    ]
    entries = []
    for siginfo, _ in cases:
        entries += [
            (RecordKind.SYSCALL, 300, 300, b"prog",
             Syscall(RT_SIGQUEUEINFO_32, I386, 0, (999999, 23, 0x8050000, 0, 0, 0))),
            (RecordKind.STRUCT, 300, 300, b"prog", Struct(I386, 2, b"siginfo", siginfo)),
            (RecordKind.SYSRET, 300, 300, b"prog",
             Sysret(RT_SIGQUEUEINFO_32, I386, 0, 1, -1, 1000)),
        ]
    trace = tmp_path / "crafted.ktr"
    trace.write_bytes(file_header() + formats.batch_framing().encode(encode_entries(entries)))
    out = subprocess.run([str(KTRDUMP), "--format", "strace", str(trace)], check=True,
                         capture_output=True, text=True, timeout=60).stdout
    lines = [line for line in out.splitlines() if "rt_sigqueueinfo(" in line]
    assert [line.split(", SIGURG, ", 1)[1].split("}) ", 1)[0] + "}" for line in lines] == [
        text for _, text in cases]


def test_an_x32_callers_siginfo_has_64_bit_times() -> None:
    """x32's siginfo_t (``gcc -mx32``'s asm/siginfo.h: the union at 12, 4-byte
    pointers and ``long``, 8-byte ``clock_t`` at 24 and 32; the kernel's
    ``_sigchld_x32``)."""
    from ktrdump._siginfo import strace_siginfo

    data = bytearray(128)
    struct.pack_into("<iiiiiiqq", data, 0, 17, 0, 1, 5, 6, 0, 1 << 33, 250)
    assert strace_siginfo(0, 0, bytes(data), int(formats.Abi.X32)) == (
        "{si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=5, si_uid=6, si_status=0, "
        "si_utime=8589934592 /* 85899345.92 s */, si_stime=250 /* 2.50 s */}")
    struct.pack_into("<iiiiI", data, 0, 11, 0, 1, -0x21524111, 0xFFFF)
    assert strace_siginfo(0, 0, bytes(data), int(formats.Abi.X32)) == (
        "{si_signo=SIGSEGV, si_code=SEGV_MAPERR, si_addr=0xdeadbeef}")


#: The kernel fills an i386 caller's siginfo in the compat layout too (waitid's infop).
WAITID_C = r"""
static long sys5(long nr, long a, long b, long c, long d, long e) {
    long ret;
    __asm__ volatile ("push %%edi\n\tmov %6, %%edi\n\tint $0x80\n\tpop %%edi"
                      : "=a"(ret) : "a"(nr), "b"(a), "c"(b), "d"(c), "S"(d), "g"(e)
                      : "memory");
    return ret;
}
struct info { int f[32]; };
void _start(void) {
    struct info i;
    long child = sys5(2, 0, 0, 0, 0, 0);             /* fork */
    if (child == 0) sys5(252, 3, 0, 0, 0, 0);        /* exit_group(3) */
    sys5(284, 0, 0, (long)&i, 4, 0);                 /* waitid(P_ALL, 0, &i, WEXITED, NULL) */
    sys5(252, 0, 0, 0, 0, 0);
    for (;;) {}
}
"""


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is the oracle")
def test_an_i386_waitid_siginfo_as_strace_prints_it(tmp_path: Path) -> None:
    program = build_i386(tmp_path, WAITID_C, "waitid32")
    strace_out = tmp_path / "strace.txt"
    # Neither output splits the line for the child's: strace does not follow it,
    # ktrdump writes each thread's lines to its own file (-ff).
    subprocess.run(["strace", "-o", str(strace_out), "--", str(program)], check=True,
                   capture_output=True, timeout=60)
    trace = tmp_path / "waitid.ktr"
    subprocess.run([str(KTR), "record", "-q", "-o", str(trace), "--", str(program)],
                   check=True, timeout=60)
    subprocess.run([str(KTRDUMP), "--format", "strace", "-ff", "-o", str(tmp_path / "out"),
                    str(trace)], check=True, capture_output=True, timeout=60)
    ours = "".join(path.read_text() for path in sorted(tmp_path.glob("out.*")))

    def waitid(text: str) -> list[str]:
        return [re.sub(r"si_pid=\d+", "si_pid=N", _DURATION.sub("", line[line.index("waitid("):]))
                for line in text.splitlines() if "waitid(" in line]

    expected = waitid(strace_out.read_text())
    assert expected == ["waitid(P_ALL, 0, {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=N, "
                        "si_uid=0, si_status=3, si_utime=0, si_stime=0}, WEXITED, NULL) = 0"]
    assert waitid(ours) == expected
