"""The ptrace adapter: errors keep request, pid and errno; decoded stops are right."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
from pathlib import Path

import pytest
from c_support import c_values
from control_support import proc_state, wait_until

from formats import Abi
from ktr import _ptrace as pt
from ktr.errors import PtraceError


def test_request_option_and_event_numbers_match_the_kernel_header(tmp_path: Path) -> None:
    names = sorted(name for name in dir(pt) if name.startswith(("PTRACE_", "SYSCALL_INFO_"))
                   and name != "SYSCALL_INFO_SIZE")
    assert len(names) > 30
    # linux/ptrace.h (the uapi header) defines every name; <sys/ptrace.h> is not
    # included beside it because glibc's enum clashes with the macros.
    # The header spells two families differently.
    header_names = ["PTRACE_PEEKUSR" if name == "PTRACE_PEEKUSER"
                    else f"PTRACE_{name}" if name.startswith("SYSCALL_INFO_") else name
                    for name in names]
    values = c_values(tmp_path, ["linux/ptrace.h"], header_names, guard_names=True)
    assert dict(zip(names, values, strict=True)) == {name: getattr(pt, name) for name in names}


def test_numbers_python_ptrace_also_defines_agree_with_it() -> None:
    """The adapter does not import python-ptrace (its import costs a tenth of
    the start-up); it stays the second oracle for the numbers it knows."""
    from ptrace.binding import func as binding

    shared = [name for name in dir(pt) if name.startswith("PTRACE_") and hasattr(binding, name)]
    assert len(shared) >= 20
    assert {name: getattr(pt, name) for name in shared} == {
        name: getattr(binding, name) for name in shared}


@pytest.fixture
def sleeper() -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["sleep", "30"])
    yield process
    process.kill()
    process.wait()


def test_a_request_on_an_untraced_process_fails_with_esrch(
    sleeper: subprocess.Popen[bytes],
) -> None:
    with pytest.raises(PtraceError) as caught:
        pt.syscall(sleeper.pid, 0)
    error = caught.value
    assert (error.request, error.pid, error.errno) == ("SYSCALL", sleeper.pid, errno.ESRCH)
    assert "ESRCH" in str(error) and "\n" not in str(error)


def test_seize_interrupt_syscall_info_and_detach(sleeper: subprocess.Popen[bytes]) -> None:
    pid = sleeper.pid
    wait_until(lambda: proc_state(pid) == "S", "sleep to sleep")
    pt.seize(pid, pt.PTRACE_O_TRACESYSGOOD)
    try:
        pt.interrupt(pid)
        _, status = os.waitpid(pid, 0x40000000)
        assert os.WIFSTOPPED(status)
        assert status >> 16 == pt.PTRACE_EVENT_STOP
        assert os.WSTOPSIG(status) == signal.SIGTRAP
        info = pt.get_syscall_info(pid)
        assert info.op == pt.SYSCALL_INFO_NONE
        assert info.abi is Abi.X86_64 and info.arch == pt.AUDIT_ARCH_X86_64
        assert info.instruction_pointer and info.stack_pointer
        assert pt.getsigmask(pid) == 0
        siginfo = pt.getsiginfo(pid)
        assert len(siginfo.raw) == 128 and siginfo.signo == signal.SIGTRAP
        # the next stop is the entry of the restarted sleep
        pt.syscall(pid, 0)
        _, status = os.waitpid(pid, 0x40000000)
        assert status >> 8 == signal.SIGTRAP | 0x80
        entry = pt.get_syscall_info(pid)
        assert entry.op == pt.SYSCALL_INFO_ENTRY
        assert entry.nr in (219, 230, 35)  # restart_syscall, clock_nanosleep, nanosleep
        assert pt.peekuser(pid, pt.ORIG_RAX_OFFSET) == entry.nr
        with pytest.raises(PtraceError) as caught:
            pt.listen(pid)  # not in a group-stop
        assert caught.value.errno == errno.EIO
    finally:
        pt.detach(pid, 0)
    wait_until(lambda: proc_state(pid) == "S", "sleep to sleep again")


def test_abi_of_arch() -> None:
    assert pt.abi_of_arch(pt.AUDIT_ARCH_X86_64, 1) is Abi.X86_64
    assert pt.abi_of_arch(pt.AUDIT_ARCH_X86_64, pt.X32_SYSCALL_BIT | 1) is Abi.X32
    assert pt.abi_of_arch(pt.AUDIT_ARCH_X86_64, -1) is Abi.X86_64
    assert pt.abi_of_arch(pt.AUDIT_ARCH_I386, 1) is Abi.I386
    assert pt.abi_of_arch(0xC00000B7, 1) is Abi.UNKNOWN
