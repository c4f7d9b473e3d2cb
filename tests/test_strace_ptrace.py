"""ptrace decoded as strace decodes it (a debugger or tracer traced).

Oracle: strace on the same C programs (compiled here): the request by name
and only the arguments it reads (``ptrace(PTRACE_TRACEME)``,
``ptrace(PTRACE_ATTACH, 1234)``), the signal a resuming request delivers
(``ptrace(PTRACE_CONT, 1234, NULL, SIGCONT)``), PTRACE_O_* options, NT_*
register sets, sizes in decimal, an unknown request as ``0x4299 /*
PTRACE_??? */``; ktrdump printed ``ptrace(0, 0, NULL, NULL)``. The arguments
are compared, not the results (the traced child's state at each request
differs from run to run). What PEEK*, GETEVENTMSG, GETSIGINFO and GETSIGMASK
stored, as strace prints it at exit (``[0x1122334455667788]``, ``{si_signo=...}``),
and PEEKUSER's offsets in struct user (``8*RIP``), on a child stopped in a
known state. Not compared: GETREGSET's iovec, which the trace does not hold,
and PTRACE_GETREGS's three-argument form.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from strace_support import both_views

pytestmark = pytest.mark.skipif(shutil.which("strace") is None, reason="strace is the oracle")

TRACER = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <elf.h>
#include <sys/uio.h>
int main(void) {
    ptrace(PTRACE_ATTACH, 999999, 0, 0);          /* ESRCH */
    ptrace(PTRACE_TRACEME, 0, 0, 0);               /* EPERM under a tracer */
    int ready[2];
    pipe(ready);
    pid_t child = fork();
    if (child == 0) { char c; read(ready[0], &c, 1); _exit(0); }
    ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_EXITKILL);
    ptrace(PTRACE_INTERRUPT, child, 0, 0);
    int status;
    waitpid(child, &status, __WALL);
    ptrace(PTRACE_SETOPTIONS, child, 0, PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACEEXEC);
    ptrace(PTRACE_SYSCALL, child, 0, 0);
    ptrace(PTRACE_CONT, child, 0, SIGCONT);  /* ESRCH: running */
    ptrace(PTRACE_DETACH, child, 0, 0);      /* ESRCH: running */
    ptrace(PTRACE_KILL, 999999, 0, 0);
    ptrace(PTRACE_LISTEN, 999999, 0, 0);
    ptrace(PTRACE_POKEDATA, 999999, (void *)16, (void *)42);
    ptrace(PTRACE_GETSIGMASK, 999999, (void *)8, 0);
    ptrace(PTRACE_GET_SYSCALL_INFO, 999999, (void *)88, 0);
    ptrace(0x4299, 999999, 0, 0);
    write(ready[1], "x", 1);
    kill(child, SIGKILL);
    waitpid(child, &status, __WALL);
    return 0;
}
"""

REQUESTS = r"""
#include <sys/ptrace.h>
int main(void){
  ptrace(0x4204, 999999, (void*)1, 0);
  ptrace(0x4204, 999999, (void*)2, 0);
  ptrace(0x4204, 999999, (void*)0x202, 0);
  ptrace(0x4205, 999999, (void*)0x46e62b7f, 0);
  ptrace(0x4204, 999999, (void*)6, 0);
  ptrace(0x420f, 999999, (void*)32, 0);
  ptrace(0x420c, 999999, (void*)3, 0);
  ptrace(0x420d, 999999, (void*)3, 0);
  ptrace(9, 999999, 0, 5);
  ptrace(31, 999999, 0, 0);
  ptrace(32, 999999, 0, 0);
  ptrace(33, 999999, 0, 0);
  ptrace(1, 999999, (void*)16, (void*)32);
  ptrace(0x4201, 999999, 0, (void*)8);
  ptrace(0x4202, 999999, 0, (void*)8);
  ptrace(30, 999999, (void*)8, (void*)0x1002);
  ptrace(25, 999999, (void*)8, 0);
  ptrace(0x4209, 999999, 0, 0);
  return 0; }
"""


def _arguments(text: str) -> list[str]:
    """Each ptrace line's call text up to its result, stack addresses and pids masked."""
    found = []
    for line in text.splitlines():
        line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
        if line.startswith("ptrace("):
            call = re.sub(r"\)\s+= .*$", ")", line)
            call = re.sub(r"0x7ff[0-9a-f]+", "STACK", call)
            found.append(re.sub(r"(PTRACE_\w+|/\*), \d+", r"\1, PID", call))
    return found


@pytest.mark.parametrize(("name", "source", "count"), [("tracer", TRACER, 14),
                                                      ("requests", REQUESTS, 18)])
def test_ptrace_requests_match_strace(tmp_path: Path, name: str, source: str,
                                      count: int) -> None:
    oracle, shown = both_views(tmp_path, name, source)
    expected = _arguments(oracle)
    assert len(expected) == count, oracle
    assert _arguments(shown) == expected


STOPPED = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <stddef.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
static long value = 0x1122334455667788L, zero;
int main(void) {
    pid_t child = fork();
    if (child == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        sigprocmask(SIG_BLOCK, &set, 0);
        raise(SIGSTOP);
        _exit(0);
    }
    int status;
    waitpid(child, &status, WSTOPPED);
    ptrace(PTRACE_SEIZE, child, 0, 0);
    ptrace(PTRACE_INTERRUPT, child, 0, 0);
    kill(child, SIGCONT);
    waitpid(child, &status, __WALL);
    long word;
    unsigned long message = 1;
    unsigned long long mask;
    siginfo_t info;
    syscall(SYS_ptrace, PTRACE_PEEKDATA, child, &value, &word);
    syscall(SYS_ptrace, PTRACE_PEEKTEXT, child, &zero, &word);
    syscall(SYS_ptrace, PTRACE_PEEKUSER, child, offsetof(struct user, regs.cs), &word);
    syscall(SYS_ptrace, PTRACE_PEEKUSER, child, offsetof(struct user, u_debugreg) + 8, &word);
    syscall(SYS_ptrace, PTRACE_PEEKUSER, child, 4096, &word);     /* EIO: past struct user */
    syscall(SYS_ptrace, PTRACE_PEEKDATA, child, (void *)8, &word); /* EIO: unmapped */
    ptrace(PTRACE_GETEVENTMSG, child, 0, &message);
    ptrace(PTRACE_GETSIGINFO, child, 0, &info);
    ptrace(PTRACE_GETSIGMASK, child, (void *)8, &mask);
    ptrace(PTRACE_GETSIGMASK, child, (void *)4, &mask);           /* EINVAL */
    kill(child, SIGKILL);
    waitpid(child, &status, __WALL);
    return 0;
}
"""


def test_what_ptrace_stored_matches_strace(tmp_path: Path) -> None:
    oracle, shown = both_views(tmp_path, "stopped", STOPPED)

    def lines(text: str) -> list[str]:
        found = []
        for line in text.splitlines():
            line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
            line = re.sub(r" <\d+\.\d+>$", "", line)
            if line.startswith("ptrace(PTRACE_") and "PTRACE_INTERRUPT" not in line:
                line = re.sub(r"(PTRACE_\w+), \d+", r"\1, PID", line)
                line = re.sub(r"si_pid=\d+", "si_pid=PID", line)
                found.append(re.sub(r"\)\s+= ", ") = ", line))
        return [re.sub(r"0x[0-9a-f]{9,12}\b", "ADDRESS", line) for line in found]

    expected = lines(oracle)
    assert lines(shown) == expected
    assert expected[1:] == [
        "ptrace(PTRACE_PEEKDATA, PID, ADDRESS, [0x1122334455667788]) = 0",
        "ptrace(PTRACE_PEEKTEXT, PID, ADDRESS, [NULL]) = 0",
        "ptrace(PTRACE_PEEKUSER, PID, 8*CS, [0x33]) = 0",
        "ptrace(PTRACE_PEEKUSER, PID, offsetof(struct user, u_debugreg)+8, [NULL]) = 0",
        "ptrace(PTRACE_PEEKUSER, PID, 0x1000, ADDRESS) = -1 EIO (Input/output error)",
        "ptrace(PTRACE_PEEKDATA, PID, 0x8, ADDRESS) = -1 EIO (Input/output error)",
        "ptrace(PTRACE_GETEVENTMSG, PID, NULL, [0]) = 0",
        "ptrace(PTRACE_GETSIGINFO, PID, NULL, {si_signo=SIGSTOP, si_code=0x8013, "
        "si_pid=PID, si_uid=0}) = 0",
        "ptrace(PTRACE_GETSIGMASK, PID, 8, [USR1]) = 0",
        "ptrace(PTRACE_GETSIGMASK, PID, 4, ADDRESS) = -1 EINVAL (Invalid argument)",
    ], expected


SYSCALL_INFO = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/ptrace.h>
int main(void) {
    pid_t child = fork();
    if (child == 0) {
        raise(SIGSTOP);
        syscall(SYS_getppid, 1, 2, 3, 4, 5, 6);
        syscall(SYS_chdir, "", 2, 3, 4, 5, 6);  /* ENOENT */
        syscall(SYS_exit_group, 0, 2, 3, 4, 5, 6);
    }
    int status;
    waitpid(child, &status, WSTOPPED);
    ptrace(PTRACE_SEIZE, child, 0, PTRACE_O_TRACESYSGOOD);
    ptrace(PTRACE_INTERRUPT, child, 0, 0);
    kill(child, SIGCONT);
    waitpid(child, &status, __WALL);
    struct ptrace_syscall_info info;
    for (int stop = 0; stop < 20; stop++) {
        syscall(SYS_ptrace, PTRACE_GET_SYSCALL_INFO, child, sizeof info, &info);
        syscall(SYS_ptrace, PTRACE_GET_SYSCALL_INFO, child, 40, &info);  /* one argument */
        if (info.op == PTRACE_SYSCALL_INFO_ENTRY && info.entry.nr == SYS_exit_group)
            break;
        ptrace(PTRACE_SYSCALL, child, 0, 0);
        waitpid(child, &status, __WALL);
    }
    syscall(SYS_ptrace, PTRACE_GET_SYSCALL_INFO, child, 0, &info);  /* nothing copied */
    kill(child, SIGKILL);
    waitpid(child, &status, __WALL);
    return 0;
}
"""


def test_syscall_information_matches_strace(tmp_path: Path) -> None:
    """PTRACE_GET_SYSCALL_INFO's structure, as far as the bytes the kernel copied go."""
    oracle, shown = both_views(tmp_path, "info", SYSCALL_INFO)

    def lines(text: str, op: str = "") -> list[str]:
        """The GET_SYSCALL_INFO lines, but those of the stops before the first syscall's
        (how many there are: as the signals came); ``op`` "NONE": those alone."""
        found = []
        for line in text.splitlines():
            line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
            line = re.sub(r" <\d+\.\d+>$", "", line)
            if (line.startswith("ptrace(PTRACE_GET_SYSCALL_INFO")
                    and ("_INFO_NONE" in line) == (op == "NONE")):
                line = re.sub(r"(PTRACE_\w+), \d+", r"\1, PID", line)
                line = re.sub(r"rval=\d+", "rval=PID", line)
                line = re.sub(r"0x[0-9a-f]{9,12}\b", "ADDRESS", line)
                found.append(re.sub(r"\)\s+= ", ") = ", line))
        return found

    expected = lines(oracle)
    assert lines(shown) == expected
    head = ("ptrace(PTRACE_GET_SYSCALL_INFO, PID, {}, {{op=PTRACE_SYSCALL_INFO_{}, "
            "arch=AUDIT_ARCH_X86_64, instruction_pointer=ADDRESS, stack_pointer=ADDRESS, "
            "{}}}) = {}")
    assert expected == [
        head.format(88, "ENTRY", "entry={nr=__NR_getppid, args=[0x1, 0x2, 0x3, 0x4, 0x5, 0x6]}",
                    80),
        head.format(40, "ENTRY", "entry={nr=__NR_getppid, args=[0x1]}", 80),
        head.format(88, "EXIT", "exit={rval=PID, is_error=0}", 33),
        head.format(40, "EXIT", "exit={rval=PID, is_error=0}", 33),
        head.format(88, "ENTRY", "entry={nr=__NR_chdir, args=[ADDRESS, 0x2, 0x3, 0x4, 0x5, 0x6]}",
                    80),
        head.format(40, "ENTRY", "entry={nr=__NR_chdir, args=[ADDRESS]}", 80),
        head.format(88, "EXIT", "exit={rval=-ENOENT, is_error=1}", 33),
        head.format(40, "EXIT", "exit={rval=-ENOENT, is_error=1}", 33),
        head.format(88, "ENTRY", "entry={nr=__NR_exit_group, args=[0, 0x2, 0x3, 0x4, 0x5, 0x6]}",
                    80),
        head.format(40, "ENTRY", "entry={nr=__NR_exit_group, args=[0]}", 80),
        "ptrace(PTRACE_GET_SYSCALL_INFO, PID, 0, ADDRESS) = 80",
    ], expected
    stops = set(lines(oracle, "NONE"))
    assert set(lines(shown, "NONE")) == stops == {
        head.format(size, "NONE", "", 24).replace(", }", "}") for size in (88, 40)}


REGISTERS = r"""
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>
#include <unistd.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
int main(void) {
    struct user_regs_struct regs;
    memset(&regs, 0, sizeof regs);
    regs.rip = 0x1234;
    regs.eflags = 0x246;
    struct iovec iov = {&regs, sizeof regs};
    /* no such process: what strace reads at entry, or the addresses */
    syscall(SYS_ptrace, PTRACE_GETREGS, 999999, 0, &regs);
    syscall(SYS_ptrace, PTRACE_SETREGS, 999999, 0, &regs);
    syscall(SYS_ptrace, PTRACE_SETREGS, 999999, 0, 0);
    syscall(SYS_ptrace, PTRACE_GETREGSET, 999999, NT_PRSTATUS, &iov);
    syscall(SYS_ptrace, PTRACE_SETREGSET, 999999, NT_PRSTATUS, &iov);
    iov.iov_len = 8;
    syscall(SYS_ptrace, PTRACE_SETREGSET, 999999, NT_PRSTATUS, &iov);
    syscall(SYS_ptrace, PTRACE_SETREGSET, 999999, NT_X86_XSTATE, &iov);
    struct user_fpregs_struct fp;
    memset(&fp, 0, sizeof fp);
    fp.cwd = 0x37f;
    fp.mxcsr = 0x1f80;
    for (int i = 0; i < 64; i++) fp.xmm_space[i] = i;
    struct iovec fiov = {&fp, sizeof fp};
    syscall(SYS_ptrace, PTRACE_SETFPREGS, 999999, 0, &fp);
    syscall(SYS_ptrace, PTRACE_SETREGSET, 999999, NT_PRFPREG, &fiov);
    pid_t child = fork();
    if (child == 0) { raise(SIGSTOP); _exit(0); }
    int status;
    waitpid(child, &status, WSTOPPED);
    ptrace(PTRACE_SEIZE, child, 0, 0);
    ptrace(PTRACE_INTERRUPT, child, 0, 0);
    kill(child, SIGCONT);
    waitpid(child, &status, __WALL);
    syscall(SYS_ptrace, PTRACE_GETREGS, child, 0, &regs);
    syscall(SYS_ptrace, PTRACE_GETREGS, child, 0, (void *)8);  /* EFAULT */
    iov.iov_len = 8;
    syscall(SYS_ptrace, PTRACE_GETREGSET, child, NT_PRSTATUS, &iov);
    iov.iov_len = 100;
    syscall(SYS_ptrace, PTRACE_GETREGSET, child, NT_PRSTATUS, &iov);  /* EINVAL */
    syscall(SYS_ptrace, PTRACE_GETFPREGS, child, 0, &fp);
    syscall(SYS_ptrace, PTRACE_GETREGSET, child, NT_PRFPREG, &fiov);
    kill(child, SIGKILL);
    waitpid(child, &status, __WALL);
    return 0;
}
"""


def test_registers_match_strace(tmp_path: Path) -> None:
    """x86_64's struct user_regs_struct and user_fpregs_struct: GETREGS, SETREGS,
    GETFPREGS and SETFPREGS (strace's three-argument form), GETREGSET's and SETREGSET's
    iovec with NT_PRSTATUS's and NT_PRFPREG's registers."""
    oracle, shown = both_views(tmp_path, "registers", REGISTERS)

    def lines(text: str) -> list[str]:
        found = []
        for line in text.splitlines():
            line = re.sub(r"^\d+\s+\d+\.\d+\s+", "", line)
            line = re.sub(r" <\d+\.\d+>$", "", line)
            if re.match(r"ptrace\(PTRACE_(GET|SET)(FP)?REGS", line):
                line = re.sub(r"(PTRACE_\w+), \d+", r"\1, PID", line)
                if line.startswith("ptrace(PTRACE_GET") and re.search(r"\)\s+= 0$", line):
                    line = re.sub(r"0x[0-9a-f]+", "X", line)  # the child's registers
                line = re.sub(r"0x[0-9a-f]{9,12}\b", "ADDRESS", line)
                found.append(re.sub(r"\)\s+= ", ") = ", line))
        return found

    expected = lines(oracle)
    assert lines(shown) == expected
    regs = ("{r15=0, r14=0, r13=0, r12=0, rbp=0, rbx=0, r11=0, r10=0, r9=0, r8=0, rax=0, "
            "rcx=0, rdx=0, rsi=0, rdi=0, orig_rax=0, rip=0x1234, cs=0, eflags=0x246, rsp=0, "
            "ss=0, fs_base=0, gs_base=0, ds=0, es=0, fs=0, gs=0}")
    missing = " = -1 ESRCH (No such process)"
    assert expected[:7] == [
        "ptrace(PTRACE_GETREGS, PID, ADDRESS)" + missing,
        f"ptrace(PTRACE_SETREGS, PID, {regs})" + missing,
        "ptrace(PTRACE_SETREGS, PID, NULL)" + missing,
        "ptrace(PTRACE_GETREGSET, PID, NT_PRSTATUS, {iov_base=ADDRESS, iov_len=216})" + missing,
        f"ptrace(PTRACE_SETREGSET, PID, NT_PRSTATUS, {{iov_base={regs}, iov_len=216}})"
        + missing,
        "ptrace(PTRACE_SETREGSET, PID, NT_PRSTATUS, {iov_base={r15=0}, iov_len=8})" + missing,
        "ptrace(PTRACE_SETREGSET, PID, NT_X86_XSTATE, {iov_base=ADDRESS, iov_len=8})" + missing,
    ], expected
    fp = ("{cwd=0x37f, swd=0, ftw=0, fop=0, rip=0, rdp=0, mxcsr=0x1f80, mxcr_mask=0, "
          "st_space=[" + ", ".join(["0"] * 32) + "], xmm_space=[0, "
          + ", ".join(hex(i) for i in range(1, 32)) + ", ...], padding=["
          + ", ".join(["0"] * 24) + "]}")
    assert expected[7:9] == [
        f"ptrace(PTRACE_SETFPREGS, PID, {fp})" + missing,
        f"ptrace(PTRACE_SETREGSET, PID, NT_FPREGSET, {{iov_base={fp}, iov_len=512}})" + missing,
    ]
    assert re.fullmatch(r"ptrace\(PTRACE_GETREGS, PID, \{r15=X, .*, cs=X, .*, gs=0\}\) = 0",
                        expected[9])
    assert expected[10:13] == [
        "ptrace(PTRACE_GETREGS, PID, 0x8) = -1 EFAULT (Bad address)",
        "ptrace(PTRACE_GETREGSET, PID, NT_PRSTATUS, {iov_base={r15=X}, iov_len=8}) = 0",
        "ptrace(PTRACE_GETREGSET, PID, NT_PRSTATUS, {iov_base=ADDRESS, iov_len=100}) = -1 EINVAL "
        "(Invalid argument)",
    ]
    assert re.fullmatch(r"ptrace\(PTRACE_GETFPREGS, PID, \{cwd=X, .*\]\}\) = 0", expected[13])
    assert re.fullmatch(r"ptrace\(PTRACE_GETREGSET, PID, NT_FPREGSET, \{iov_base=\{cwd=X, .*\]\}, "
                        r"iov_len=512\}\) = 0", expected[14])
    assert len(expected) == 15
