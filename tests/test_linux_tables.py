"""formats.linux: syscall/errno/signal tables, strace classes, signatures, generator."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import formats.linux as linux
from formats import Abi
from formats.linux import (
    IO_IN_KINDS,
    IO_OUT_KINDS,
    SYSCALL_CLASSES,
    ArgKind,
    RetKind,
    UnknownSyscallClass,
    _errno,
    _signals,
    _syscalls_i386,
    _syscalls_x32,
    _syscalls_x86_64,
)
from formats.linux import generate_tables as gen

ABIS = (Abi.X86_64, Abi.I386, Abi.X32)
X32 = linux.X32_SYSCALL_BIT


# --------------------------------------------------------------------------- syscall numbers


@pytest.mark.parametrize(
    ("abi", "nr", "name"),
    [
        (Abi.X86_64, 0, "read"),
        (Abi.X86_64, 59, "execve"),
        (Abi.X86_64, 257, "openat"),
        (Abi.X86_64, 335, "uretprobe"),
        (Abi.X86_64, 336, "uprobe"),
        (Abi.X86_64, 435, "clone3"),
        (Abi.X86_64, 451, "cachestat"),
        (Abi.X86_64, 452, "fchmodat2"),
        (Abi.X86_64, 453, "map_shadow_stack"),
        (Abi.X86_64, 456, "futex_requeue"),
        (Abi.X86_64, 458, "listmount"),
        (Abi.X86_64, 461, "lsm_list_modules"),
        (Abi.X86_64, 462, "mseal"),
        (Abi.X86_64, 466, "removexattrat"),
        (Abi.X86_64, 467, "open_tree_attr"),
        (Abi.X86_64, 469, "file_setattr"),
        (Abi.I386, 11, "execve"),
        (Abi.I386, 295, "openat"),
        (Abi.I386, 5, "open"),
        (Abi.I386, 140, "_llseek"),
        (Abi.I386, 102, "socketcall"),
        (Abi.I386, 192, "mmap2"),
        (Abi.I386, 195, "stat64"),
        (Abi.I386, 300, "fstatat64"),
        (Abi.I386, 469, "file_setattr"),
        (Abi.X32, X32 | 0, "read"),
        (Abi.X32, X32 | 512, "rt_sigaction"),
        (Abi.X32, X32 | 520, "execve"),
        (Abi.X32, X32 | 469, "file_setattr"),
    ],
)
def test_spot_checks(abi: Abi, nr: int, name: str) -> None:
    assert linux.syscall_name(abi, nr) == name
    assert linux.syscall_number(abi, name) == nr
    assert linux.syscall_name(int(abi), nr) == name  # a plain int works as well


def test_unknown_numbers_names_and_abis_answer_none() -> None:
    assert linux.syscall_name(Abi.X86_64, 400) is None  # the 335..423 gap
    assert linux.syscall_name(Abi.X86_64, 470) is None  # newer than the tables
    assert linux.syscall_name(Abi.X86_64, -1) is None  # orig_rax of a skipped call
    assert linux.syscall_name(Abi.X86_64, X32 | 0) is None  # an x32 number
    assert linux.syscall_number(Abi.X86_64, "_llseek") is None
    assert linux.syscall_number(Abi.I386, "accept") is None  # i386: socketcall only
    assert linux.syscall_name(Abi.UNKNOWN, 0) is None
    assert linux.syscall_name(99, 0) is None
    assert linux.syscall_names(Abi.UNKNOWN) == {}
    assert linux.signature(Abi.UNKNOWN, "read") is None


def test_x32_accepts_numbers_with_or_without_the_bit() -> None:
    assert linux.syscall_name(Abi.X32, 1) == "write"
    assert linux.syscall_name(Abi.X32, 13) is None  # 64-only rt_sigaction; x32 uses 512
    assert linux.syscall_name(Abi.X32, 512) == "rt_sigaction"


@pytest.mark.parametrize("abi", ABIS)
def test_round_trips(abi: Abi) -> None:
    names = linux.syscall_names(abi)
    assert len(set(names.values())) == len(names)
    for nr, name in names.items():
        assert linux.syscall_name(abi, nr) == name
        assert linux.syscall_number(abi, name) == nr
    with pytest.raises(TypeError):
        names[0] = "mine"  # type: ignore[index]


def test_table_sizes_and_unimplemented() -> None:
    x86_64 = linux.syscall_names(Abi.X86_64)
    assert max(x86_64) == 469
    assert set(range(335)) <= set(x86_64)
    assert set(range(424, 470)) <= set(x86_64)
    assert max(linux.syscall_names(Abi.I386)) == 469
    assert 134 in linux.unimplemented_syscalls(Abi.X86_64)  # uselib: listed, no entry point
    assert 156 in linux.unimplemented_syscalls(Abi.X86_64)  # _sysctl: sys_ni_syscall
    assert 0 not in linux.unimplemented_syscalls(Abi.X86_64)
    assert 17 in linux.unimplemented_syscalls(Abi.I386)  # "break"
    assert linux.unimplemented_syscalls(Abi.UNKNOWN) == frozenset()


def _unistd(path: str, pattern: str) -> dict[int, str]:
    header = Path(path)
    if not header.exists():
        pytest.skip(f"{path} not installed")
    return {int(nr): name for name, nr in re.findall(pattern, header.read_text())}


def test_x86_64_matches_installed_unistd_64_below_451() -> None:
    installed = _unistd(
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h", r"#define __NR_(\w+) (\d+)\n"
    )
    older = {nr: name for nr, name in installed.items() if nr < 451}
    assert len(older) > 300
    ours = linux.syscall_names(Abi.X86_64)
    assert {nr: ours.get(nr) for nr in older} == older
    # and we know every number the headers know
    assert set(installed) <= set(ours)


def test_i386_matches_installed_unistd_32() -> None:
    installed = _unistd(
        "/usr/include/x86_64-linux-gnu/asm/unistd_32.h", r"#define __NR_(\w+) (\d+)\n"
    )
    ours = linux.syscall_names(Abi.I386)
    assert {nr: ours.get(nr) for nr in installed} == installed


def test_x32_matches_installed_unistd_x32() -> None:
    installed = _unistd(
        "/usr/include/x86_64-linux-gnu/asm/unistd_x32.h",
        r"#define __NR_(\w+) \(__X32_SYSCALL_BIT \+ (\d+)\)",
    )
    ours = linux.syscall_names(Abi.X32)
    assert {nr: ours.get(X32 | nr) for nr in installed} == installed


_PROBE = """
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
out = []
for nr in map(int, sys.argv[1:]):
    result = libc.syscall(ctypes.c_long(nr), *[ctypes.c_long(-1)] + [ctypes.c_long(0)] * 5)
    out.append(f"{nr}:{ctypes.get_errno() if result == -1 else 0}")
print(" ".join(out))
"""


def test_running_kernel_agrees_with_the_newest_numbers() -> None:
    """On a 6.18 kernel, the newest numbers are live and the next one is not."""
    release = os.uname().release
    match = re.match(r"(\d+)\.(\d+)", release)
    if os.uname().machine != "x86_64" or not match or (int(match[1]), int(match[2])) != (6, 18):
        pytest.skip(f"needs an x86_64 Linux 6.18 kernel, not {release}")
    # Unconditional in 6.18 (no Kconfig switch), so never ENOSYS. Called with
    # bad arguments (-1, 0, ...) in a child process: they fail with EINVAL,
    # EFAULT or EBADF and change nothing.
    live = [452, 454, 455, 456, 457, 458, 463, 464, 465, 466, 467, 468, 469]
    numbers = [*live, 470]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, *map(str, numbers)],
        capture_output=True, text=True, check=True, timeout=30,
    )
    errors: dict[int, int] = {}
    for item in result.stdout.split():
        nr, error = item.split(":")
        errors[int(nr)] = int(error)
    enosys = linux.errno_number("ENOSYS")
    assert [nr for nr in live if errors[nr] == enosys] == []
    assert errors[470] == enosys
    assert all(linux.syscall_name(Abi.X86_64, nr) for nr in live)


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize("abi", ABIS)
def test_every_class_member_is_a_syscall_of_that_abi(abi: Abi) -> None:
    names = set(linux.syscall_names(abi).values())
    for cls in SYSCALL_CLASSES:
        members = linux.syscall_class_members(abi, cls)
        assert members <= names, (cls, members - names)


@pytest.mark.parametrize(
    ("abi", "cls", "name"),
    [
        (Abi.X86_64, "%file", "openat"),
        (Abi.X86_64, "%file", "execve"),
        (Abi.X86_64, "%process", "clone3"),
        (Abi.X86_64, "%process", "exit_group"),
        (Abi.X86_64, "%network", "connect"),
        (Abi.X86_64, "%signal", "rt_sigaction"),
        (Abi.X86_64, "%ipc", "shmget"),
        (Abi.X86_64, "%desc", "read"),
        (Abi.X86_64, "%memory", "mmap"),
        (Abi.X86_64, "%creds", "setresuid"),
        (Abi.X86_64, "%clock", "clock_gettime"),
        (Abi.X86_64, "%stat", "stat"),
        (Abi.X86_64, "%lstat", "lstat"),
        (Abi.X86_64, "%fstat", "newfstatat"),
        (Abi.X86_64, "%%stat", "statx"),
        (Abi.X86_64, "%statfs", "statfs"),
        (Abi.X86_64, "%pure", "getpid"),
        (Abi.I386, "%file", "stat64"),
        (Abi.I386, "%desc", "socketcall"),
        (Abi.I386, "%network", "socket"),
        (Abi.I386, "%ipc", "ipc"),
        (Abi.I386, "%memory", "mmap2"),
        (Abi.X32, "%signal", "rt_sigaction"),
    ],
)
def test_class_spot_checks(abi: Abi, cls: str, name: str) -> None:
    assert name in linux.syscall_class_members(abi, cls)


def test_class_negative_checks_and_aliases() -> None:
    assert "read" not in linux.syscall_class_members(Abi.X86_64, "%file")
    assert "openat" not in linux.syscall_class_members(Abi.X86_64, "%network")
    assert linux.syscall_class_members(Abi.X86_64, "%net") == linux.syscall_class_members(
        Abi.X86_64, "%network"
    )


def test_unknown_class_raises_a_value_error() -> None:
    with pytest.raises(UnknownSyscallClass) as caught:
        linux.syscall_class_members(Abi.X86_64, "%files")
    assert isinstance(caught.value, ValueError)
    assert "%files" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(ValueError):
        linux.syscall_class_members(Abi.UNKNOWN, "%nope")
    assert linux.syscall_class_members(Abi.UNKNOWN, "%file") == frozenset()


# --------------------------------------------------------------------------- signatures

#: What the brief asks a signature for, per ABI (i386 spells several differently).
_REQUIRED_TEXT = """
read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 open openat openat2
creat close close_range stat lstat fstat statx access faccessat faccessat2 execve execveat
unlink unlinkat rename renameat renameat2 mkdir mkdirat rmdir chdir fchdir readlink readlinkat
link linkat symlink symlinkat chmod fchmod fchmodat fchmodat2 chown fchown lchown fchownat
truncate ftruncate mknod mknodat mount umount2 chroot utimensat getdents64 lseek dup dup2 dup3
pipe pipe2 fcntl ioctl socket socketpair connect accept4 bind listen sendto recvfrom sendmsg
recvmsg sendmmsg recvmmsg shutdown getsockopt setsockopt getsockname getpeername mmap munmap
mprotect mremap brk madvise clone clone3 fork vfork exit exit_group wait4 waitid kill tkill
tgkill rt_sigaction rt_sigprocmask rt_sigreturn rt_sigsuspend sigaltstack nanosleep
clock_nanosleep clock_gettime futex poll ppoll select pselect6 epoll_create epoll_create1
epoll_ctl epoll_wait epoll_pwait epoll_pwait2 eventfd2 memfd_create inotify_init inotify_init1
inotify_add_watch inotify_rm_watch getpid gettid getppid prctl arch_prctl set_tid_address
set_robust_list rseq getrandom sysinfo uname statfs fstatfs sendfile splice copy_file_range
"""
REQUIRED_COMMON = _REQUIRED_TEXT.split()
REQUIRED = {
    Abi.X86_64: [*REQUIRED_COMMON, "newfstatat", "accept"],
    Abi.I386: [
        *REQUIRED_COMMON, "_llseek", "mmap2", "socketcall", "stat64", "lstat64", "fstat64",
        "fstatat64", "fcntl64", "truncate64", "ftruncate64", "sendfile64", "statfs64",
        "fstatfs64", "_newselect", "chown32", "lchown32", "fchown32", "getuid32",
        "clock_gettime64", "clock_nanosleep_time64", "futex_time64", "ppoll_time64",
        "pselect6_time64", "utimensat_time64", "recvmmsg_time64", "umount", "waitpid",
        "sigreturn",
    ],
    Abi.X32: [*REQUIRED_COMMON, "newfstatat", "accept"],
}


@pytest.mark.parametrize("abi", ABIS)
def test_required_signatures_exist(abi: Abi) -> None:
    missing = [name for name in REQUIRED[abi] if linux.signature(abi, name) is None]
    assert missing == []


@pytest.mark.parametrize("abi", ABIS)
def test_every_signature_is_well_formed_and_names_a_syscall_of_its_abi(abi: Abi) -> None:
    from formats.linux._lookup import _BY_ABI

    names = set(linux.syscall_names(abi).values())
    signatures = _BY_ABI[abi].signatures
    assert len(signatures) >= len(REQUIRED[abi])
    for name, sig in signatures.items():
        assert sig.name == name
        assert name in names, f"{name} is not a {abi.name} syscall"
        assert len(sig.args) <= 6
        assert len({arg.name for arg in sig.args}) == len(sig.args), name
        for arg in sig.args:
            if arg.length_arg is not None:
                assert 0 <= arg.length_arg < len(sig.args), (name, arg)
                assert arg.length_arg != sig.args.index(arg), (name, arg)
            if arg.dirfd_arg is not None:
                assert sig.args[arg.dirfd_arg].kind is ArgKind.DIRFD, (name, arg)
            if arg.kind in {ArgKind.BUF_IN, ArgKind.BUF_OUT, ArgKind.IOVEC_IN, ArgKind.IOVEC_OUT,
                            ArgKind.MMSGHDR_IN, ArgKind.MMSGHDR_OUT, ArgKind.SOCKADDR_IN,
                            ArgKind.SOCKADDR_OUT, ArgKind.PATH_OUT}:
                assert arg.length_arg is not None, (name, arg)
            if arg.kind is ArgKind.SOCKADDR_OUT:
                assert sig.args[arg.length_arg or 0].kind is ArgKind.SOCKLEN_PTR, name
        kinds = [arg.kind for arg in sig.args]
        assert sig.path_args == tuple(i for i, k in enumerate(kinds) if k is ArgKind.PATH)
        io = tuple(i for i, k in enumerate(kinds) if k in IO_IN_KINDS | IO_OUT_KINDS)
        assert sig.io_args == io
        if io and name in ("process_vm_readv", "process_vm_writev"):
            assert sig.io_fd_arg is None  # the caller's memory: GIO fd -1
        elif io:
            assert sig.io_fd_arg is not None and kinds[sig.io_fd_arg] is ArgKind.FD, name
        else:
            assert sig.io_fd_arg is None
        # OFFSET halves only where registers are 32 bits wide
        if abi is not Abi.I386:
            assert ArgKind.OFFSET_LOW not in kinds and ArgKind.OFFSET_HIGH not in kinds, name


def _kinds(abi: Abi, name: str) -> list[ArgKind]:
    sig = linux.signature(abi, name)
    assert sig is not None
    return [arg.kind for arg in sig.args]


def test_signature_spot_checks() -> None:
    read = linux.signature(Abi.X86_64, "read")
    assert read is not None
    assert read.args[1].kind is ArgKind.BUF_OUT and read.args[1].length_arg == 2
    assert read.ret is RetKind.SIZE and read.io_fd_arg == 0 and read.io_args == (1,)
    write = linux.signature(Abi.X86_64, "write")
    assert write is not None and write.args[1].kind is ArgKind.BUF_IN
    openat = linux.signature(Abi.X86_64, "openat")
    assert openat is not None and openat.ret is RetKind.FD and openat.path_args == (1,)
    assert openat.args[1].dirfd_arg == 0
    assert _kinds(Abi.X86_64, "openat") == [
        ArgKind.DIRFD, ArgKind.PATH, ArgKind.OPEN_FLAGS, ArgKind.MODE
    ]
    renameat2 = linux.signature(Abi.X86_64, "renameat2")
    assert renameat2 is not None and renameat2.path_args == (1, 3)
    assert [renameat2.args[i].dirfd_arg for i in renameat2.path_args] == [0, 2]
    execve = linux.signature(Abi.X86_64, "execve")
    assert execve is not None
    assert _kinds(Abi.X86_64, "execve") == [ArgKind.PATH, ArgKind.ARGV, ArgKind.ENVP]
    symlink = linux.signature(Abi.X86_64, "symlink")
    assert symlink is not None and symlink.path_args == (1,)  # the target is not looked up
    exit_group = linux.signature(Abi.X86_64, "exit_group")
    assert exit_group is not None and exit_group.ret is RetKind.NONE
    assert _kinds(Abi.X86_64, "mmap")[2:4] == [ArgKind.MMAP_PROT, ArgKind.MMAP_FLAGS]
    assert linux.signature(Abi.X86_64, "recvmsg").args[1].kind is ArgKind.MSGHDR_OUT  # type: ignore[union-attr]
    assert linux.signature(Abi.X86_64, "sendmsg").args[1].kind is ArgKind.MSGHDR_IN  # type: ignore[union-attr]
    assert linux.signature(Abi.X86_64, "mmap").ret is RetKind.PTR  # type: ignore[union-attr]
    assert linux.signature(Abi.X86_64, "kill").args[1].kind is ArgKind.SIGNAL  # type: ignore[union-attr]


def test_abi_specific_signatures() -> None:
    # clone: i386 passes tls before child_tid
    clone64 = linux.signature(Abi.X86_64, "clone")
    clone32 = linux.signature(Abi.I386, "clone")
    assert clone64 is not None and clone32 is not None
    assert [a.name for a in clone64.args][3:] == ["child_tid", "tls"]
    assert [a.name for a in clone32.args][3:] == ["tls", "child_tid"]
    # i386 splits 64-bit offsets over two registers
    assert _kinds(Abi.I386, "pread64")[3:] == [ArgKind.OFFSET_LOW, ArgKind.OFFSET_HIGH]
    assert _kinds(Abi.X86_64, "pread64")[3:] == [ArgKind.OFFSET]
    assert _kinds(Abi.I386, "_llseek") == [
        ArgKind.FD, ArgKind.OFFSET_HIGH, ArgKind.OFFSET_LOW, ArgKind.PTR, ArgKind.WHENCE
    ]
    # preadv2's flags are the sixth register on x86_64, the fifth on x32
    assert _kinds(Abi.X86_64, "preadv2")[5] is ArgKind.HEX
    assert len(_kinds(Abi.X32, "preadv2")) == 5
    assert _kinds(Abi.I386, "mmap") == [ArgKind.PTR]  # old mmap: a pointer to the arguments
    assert _kinds(Abi.I386, "mmap2")[5] is ArgKind.UINT  # pages, not bytes
    assert linux.signature(Abi.I386, "accept") is None  # socketcall only on i386
    assert linux.signature(Abi.X32, "_llseek") is None


def test_socketcall_subcalls() -> None:
    assert linux.socketcall_name(1) == "socket"
    assert linux.socketcall_name(9) == "send"
    assert linux.socketcall_name(20) == "sendmmsg"
    assert linux.socketcall_name(21) is None
    send = linux.socketcall_signature(9)
    assert send is not None and send.args[1].kind is ArgKind.BUF_IN and send.io_fd_arg == 0
    accept = linux.socketcall_signature(5)
    assert accept is not None and accept.ret is RetKind.FD
    for call, name in linux.SOCKETCALLS.items():
        sub = linux.socketcall_signature(call)
        assert sub is not None and sub.name == name


def test_socketcall_numbers_match_installed_net_h() -> None:
    header = Path("/usr/include/linux/net.h")
    if not header.exists():
        pytest.skip("linux/net.h not installed")
    defined = {
        int(nr): name.lower()
        for name, nr in re.findall(r"#define SYS_(\w+)\s+(\d+)", header.read_text())
    }
    assert defined == dict(linux.SOCKETCALLS)


# --------------------------------------------------------------------------- errno, signals


def test_errno() -> None:
    assert linux.errno_name(2) == "ENOENT"
    assert linux.errno_message(2) == "No such file or directory"
    assert linux.errno_number("ENOENT") == 2
    assert linux.errno_number("enoent") == 2
    assert linux.errno_number("EWOULDBLOCK") == linux.errno_number("EAGAIN") == 11
    assert linux.errno_number("EDEADLOCK") == 35
    assert linux.errno_number("ENOTSUP") == 95
    assert linux.errno_name(11) == "EAGAIN"
    assert linux.errno_name(133) == "EHWPOISON"
    assert linux.errno_name(41) is None and linux.errno_name(0) is None
    assert linux.errno_number("ENOPE") is None


def test_errno_kernel_internal_codes() -> None:
    for number, name in [
        (512, "ERESTARTSYS"), (513, "ERESTARTNOINTR"), (514, "ERESTARTNOHAND"),
        (515, "ENOIOCTLCMD"), (516, "ERESTART_RESTARTBLOCK"), (524, "ENOTSUPP"),
    ]:
        assert linux.errno_name(number) == name
        assert linux.errno_number(name) == number
        assert linux.errno_message(number)


def test_errno_table_is_complete_and_consistent() -> None:
    # every asm-generic number but the two Linux never assigned (41, 58)
    assert set(range(1, 134)) - set(_errno.NAMES) == {41, 58}
    assert set(_errno.NAMES) == set(_errno.MESSAGES)
    for number, name in _errno.NAMES.items():
        assert linux.errno_number(name) == number
    assert all(message and "\n" not in message for message in _errno.MESSAGES.values())


def test_errno_against_installed_headers() -> None:
    texts = [
        Path(p) for p in ("/usr/include/asm-generic/errno-base.h",
                          "/usr/include/asm-generic/errno.h")
    ]
    if not all(p.exists() for p in texts):
        pytest.skip("asm-generic errno headers not installed")
    for path in texts:
        for name, value in re.findall(r"#define\s+(E\w+)\s+(\d+)", path.read_text()):
            assert linux.errno_number(name) == int(value), name


def test_signals() -> None:
    assert linux.signal_name(10) == "SIGUSR1"
    assert linux.signal_number("SIGUSR1") == 10
    assert linux.signal_number("USR1") == 10
    assert linux.signal_number("usr1") == 10
    assert linux.signal_name(9) == "SIGKILL" and linux.signal_name(17) == "SIGCHLD"
    assert linux.signal_name(6) == "SIGABRT" and linux.signal_number("SIGIOT") == 6
    assert linux.signal_number("POLL") == 29
    assert linux.signal_name(31) == "SIGSYS"
    assert linux.signal_name(32) == "SIGRT_0"
    assert linux.signal_name(34) == "SIGRT_2"
    assert linux.signal_name(64) == "SIGRT_32"
    assert linux.signal_number("SIGRT_2") == 34 and linux.signal_number("RT_2") == 34
    assert linux.KERNEL_SIGRTMIN == 32 and linux.KERNEL_SIGRTMAX == 64
    assert linux.signal_name(0) is None and linux.signal_name(65) is None
    assert linux.signal_number("SIGRTMIN") is None  # ambiguous: kernel 32, glibc 34
    assert linux.signal_number("SIGNOPE") is None
    for number, name in _signals.NAMES.items():
        assert linux.signal_number(name) == number
    assert sorted(_signals.NAMES) == list(range(1, 65))


def test_signals_against_installed_header() -> None:
    header = Path("/usr/include/x86_64-linux-gnu/asm/signal.h")
    if not header.exists():
        pytest.skip("asm/signal.h not installed")
    text = re.sub(r"/\*.*?\*/", "", header.read_text(), flags=re.DOTALL)  # drops SIGLOST
    for name, value in re.findall(r"#define\s+(SIG[A-Z0-9]+)\s+(\d+)\n", text):
        if int(value) < 32:  # not SIGRTMIN, SIGSTKSZ, ...
            assert linux.signal_number(name) == int(value), name


# --------------------------------------------------------------------------- purity


def test_formats_linux_imports_neither_ktr_nor_ktrdump() -> None:
    code = (
        "import sys, formats.linux\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('ktr', 'ktrdump'))\n"
        "assert not bad, bad\n"
        "assert 'formats.linux.generate_tables' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_lookups_do_not_consult_python_errno_or_signal() -> None:
    source = "".join(
        Path(m.__file__).read_text() for m in (linux, _errno, _signals)  # type: ignore[arg-type]
    )
    lookup = Path(str(linux.__file__)).with_name("_lookup.py").read_text()
    for text in (source, lookup):
        assert "import errno" not in text and "import signal" not in text


# --------------------------------------------------------------------------- generated files


def _sources(module: ModuleType) -> tuple[str, list[str]]:
    text = Path(module.__file__).read_text(encoding="utf-8")  # type: ignore[arg-type]
    lines = text.splitlines()
    assert lines[0] == "# GENERATED by formats/linux/generate_tables.py from"
    sources = [line[4:] for line in lines[1:] if line.startswith("#   ")]
    assert "do not edit" in lines[1 + len(sources)]
    return text, sources


@pytest.mark.parametrize(
    ("module", "spec"),
    [(_syscalls_x86_64, gen.ABI_SPECS[0]), (_syscalls_x32, gen.ABI_SPECS[1]),
     (_syscalls_i386, gen.ABI_SPECS[2])],
)
def test_generated_syscall_modules_are_the_generators_output(
    module: ModuleType, spec: gen.AbiSpec
) -> None:
    """Re-rendering a module's own data gives its exact text: nobody edited it by hand."""
    text, sources = _sources(module)
    table = gen.AbiTable(dict(module.NAMES), module.UNIMPLEMENTED)
    assert gen.render_syscalls(spec.name, table, module.CLASSES, sources, spec.number_note) == text


def test_generated_errno_and_signal_modules_are_the_generators_output() -> None:
    text, sources = _sources(_errno)
    table = gen.ErrnoTable(dict(_errno.NAMES), dict(_errno.MESSAGES), dict(_errno.ALIASES))
    assert gen.render_errno(table, sources) == text
    text, sources = _sources(_signals)
    signals = gen.SignalTable(
        dict(_signals.NAMES), dict(_signals.ALIASES), _signals.SIGRTMIN, _signals.SIGRTMAX
    )
    assert gen.render_signals(signals, sources) == text


# --------------------------------------------------------------------------- generator


TBL_64 = """\
#
# 64-bit system call numbers and entry vectors
#
0\tcommon\tread\t\t\tsys_read
1\tcommon\twrite\t\t\tsys_write
13\t64\trt_sigaction\t\tsys_rt_sigaction
134\t64\tuselib
156\t64\t_sysctl\t\t\tsys_ni_syscall
# don't use numbers 387 through 423
424\tcommon\tpidfd_send_signal\tsys_pidfd_send_signal
512\tx32\trt_sigaction\t\tcompat_sys_rt_sigaction
"""
TBL_32 = """\
0\ti386\trestart_syscall\t\tsys_restart_syscall\t\t__ia32_sys_restart_syscall
3\ti386\tread\t\t\tsys_read\t\t\t__ia32_sys_read
17\ti386\tbreak
140\ti386\t_llseek\t\t\tsys_llseek\t\t\t__ia32_sys_llseek
"""
SYSCALLENT_64 = """\
/* header comment
 * spanning lines */
[  0] = { 3,\tTD,\t\tSEN(read),\t\t\t"read"\t\t\t},
[  1] = { 3,\tTD,\t\tSEN(write),\t\t\t"write"\t\t\t},
[ 13] = { 4,\tTS,\t\tSEN(rt_sigaction),\t\t"rt_sigaction"\t\t},
[134] = { 1,\tTF,\t\tSEN(uselib),\t\t\t"uselib"\t\t},
[135 ... 423] = { },
#include "syscallent-common.h"
"""
SYSCALLENT_COMMON = """\
#ifndef BASE_NR
# define BASE_NR 0
#endif
[BASE_NR + 424] = { 4,\tTD|TS|TP,\tSEN(pidfd_send_signal),\t"pidfd_send_signal"\t},
[BASE_NR + 471] = { 0,\t0,\t\tSEN(rseq_slice_yield),\t"rseq_slice_yield"\t},
"""
SYSCALLENT_X32 = """\
[  0] = { 3,\tTD,\t\tSEN(read),\t\t\t"read"\t\t\t},
[  1] = { 3,\tTD,\t\tSEN(write),\t\t\t"write"\t\t\t},
[ 13] = { 4,\tTS,\t\tSEN(printargs),\t\t\t"rt_sigaction#64"\t},
[512] = { 4,\tCST|TS,\t\tSEN(rt_sigaction),\t\t"rt_sigaction"\t\t},
"""
SYSCALLENT_32 = """\
[  0] = { 0,\t0,\t\tSEN(restart_syscall),\t\t"restart_syscall"\t},
[  3] = { 3,\tTD,\t\tSEN(read),\t\t\t"read"\t\t\t},
[ 17] = { 0,\t0,\t\tSEN(break),\t\t\t"break"\t\t\t},
[140] = { 5,\tTD,\t\tSEN(llseek),\t\t\t"_llseek"\t\t},
[251] = { }, /* sys_set_zone_reclaim */
#define SYS_socket_subcall\t500
[SYS_socket_subcall +  1] = { 3,\tIS|TN,\tSEN(socket),\t\t"socket"\t\t},
"""
ERRNO_BASE = """\
#define\tEPERM\t\t 1\t/* Operation not permitted */
#define\tENOENT\t\t 2\t/* No such file or directory */
#define\tEAGAIN\t\t11\t/* Try again */
"""
ERRNO = """\
#define\tEDEADLK\t\t35\t/* Resource deadlock would occur */
#define\tEWOULDBLOCK\tEAGAIN\t/* Operation would block */
#define\tEOPNOTSUPP\t95\t/* Operation not supported on transport endpoint */
"""
ERRNO_KERNEL = """\
/*
 * These should never be seen by user programs.
 */
#define ERESTARTSYS\t512
#define ENOIOCTLCMD\t515\t/* No ioctl command */
#define ENOTSUPP\t524\t/* Operation is not supported */
"""
GLIBC_ERRLIST = """\
_S(0, N_("Success"))
#ifdef EAGAIN
_S(EAGAIN, N_("Resource temporarily unavailable"))
#endif
_S(ENOENT, N_("No such file or directory"))
"""
SIGNAL_UAPI = """\
#define NSIG\t\t32
#define SIGHUP\t\t 1
#define SIGABRT\t\t 6
#define SIGIOT\t\t 6
#define SIGIO\t\t29
#define SIGPOLL\t\tSIGIO
/*
#define SIGLOST\t\t29
*/
#define SIGSYS\t\t31
#define SIGRTMIN\t32
#define SIGRTMAX\t_NSIG
#define SA_RESTORER\t0x04000000
"""
SIGNAL_KERNEL = "#define _NSIG\t\t64\n#define _NSIG_BPW\t64\n"


def _fake_trees(root: Path) -> gen.Inputs:
    files = {
        "linux/Makefile": "VERSION = 6\nPATCHLEVEL = 18\nSUBLEVEL = 0\nEXTRAVERSION =\n",
        f"linux/{gen.TBL_64}": TBL_64,
        f"linux/{gen.TBL_32}": TBL_32,
        "linux/include/uapi/asm-generic/errno-base.h": ERRNO_BASE,
        "linux/include/uapi/asm-generic/errno.h": ERRNO,
        "linux/include/linux/errno.h": ERRNO_KERNEL,
        "linux/arch/x86/include/uapi/asm/signal.h": SIGNAL_UAPI,
        "linux/arch/x86/include/asm/signal.h": SIGNAL_KERNEL,
        "strace/src/linux/x86_64/syscallent.h": SYSCALLENT_64,
        "strace/src/linux/generic/syscallent-common.h": SYSCALLENT_COMMON,
        "strace/src/linux/x32/syscallent.h": SYSCALLENT_X32 + '#include "syscallent-common.h"\n',
        "strace/src/linux/i386/syscallent.h": SYSCALLENT_32,
        "errlist.h": GLIBC_ERRLIST,
    }
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return gen.Inputs(root / "linux", root / "strace", "v0-test", root / "errlist.h", "2.x", None)


def _exec(text: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(compile(text, "<generated>", "exec"), namespace)
    return namespace


def test_parse_syscall_tbl_and_select_abi() -> None:
    entries = gen.parse_syscall_tbl(TBL_64)
    assert entries[0] == gen.TableEntry(0, "common", "read", "sys_read")
    assert entries[3] == gen.TableEntry(134, "64", "uselib", None)
    x86_64 = gen.select_abi(entries, frozenset({"common", "64"}))
    assert x86_64.names == {0: "read", 1: "write", 13: "rt_sigaction", 134: "uselib",
                            156: "_sysctl", 424: "pidfd_send_signal"}
    assert x86_64.unimplemented == {134, 156}
    x32 = gen.select_abi(entries, frozenset({"common", "x32"}), X32)
    assert x32.names == {X32 | 0: "read", X32 | 1: "write", X32 | 424: "pidfd_send_signal",
                         X32 | 512: "rt_sigaction"}
    with pytest.raises(gen.GeneratorError, match=r"t\.tbl:2:"):
        gen.parse_syscall_tbl("0 common read sys_read\nbogus\n", "t.tbl")
    with pytest.raises(gen.GeneratorError, match="duplicate"):
        gen.select_abi(gen.parse_syscall_tbl("0 common read\n0 64 write\n"),
                       frozenset({"common", "64"}))


def test_parse_strace_syscallent_with_includes() -> None:
    def include(name: str, source: str) -> tuple[str, str]:
        assert name == "syscallent-common.h"
        return SYSCALLENT_COMMON, name

    entries = gen.parse_strace_syscallent(SYSCALLENT_64, "x86_64", include)
    assert [(e.number, e.name) for e in entries] == [
        (0, "read"), (1, "write"), (13, "rt_sigaction"), (134, "uselib"),
        (424, "pidfd_send_signal"), (471, "rseq_slice_yield"),
    ]
    assert entries[4].classes == {"%desc", "%signal", "%process"}
    assert entries[5].classes == frozenset()
    subcalls = gen.parse_strace_syscallent(SYSCALLENT_32, "i386")
    assert [e.number for e in subcalls] == [0, 3, 17, 140]  # pseudo numbers and gaps skipped
    with pytest.raises(gen.GeneratorError, match="unknown strace flag"):
        gen.parse_strace_syscallent('[0] = { 3, TD|TX, SEN(read), "read" },', "bad")
    with pytest.raises(gen.GeneratorError, match="unrecognised index"):
        gen.parse_strace_syscallent('[FOO] = { 3, TD, SEN(read), "read" },', "bad")


def test_class_join_is_by_number_and_reports_differences() -> None:
    table = gen.AbiTable({0: "read", 1: "write", 13: "sigaction"}, frozenset())
    entries = [
        gen.StraceEntry(0, "read", frozenset({"%desc"})),
        gen.StraceEntry(13, "rt_sigaction", frozenset({"%signal"})),
        gen.StraceEntry(99, "newer", frozenset({"%file"})),
    ]
    classes, notes = gen.class_members(table, entries)
    assert classes["%desc"] == {"read"} and classes["%signal"] == {"sigaction"}
    assert classes["%file"] == frozenset()
    assert len(notes) == 2 and "newer" in notes[0] + notes[1]


def test_build_errno_and_signals() -> None:
    glibc = gen.parse_glibc_errlist(GLIBC_ERRLIST)
    table = gen.build_errno([ERRNO_BASE, ERRNO, ERRNO_KERNEL], glibc)
    assert table.names == {1: "EPERM", 2: "ENOENT", 11: "EAGAIN", 35: "EDEADLK",
                           95: "EOPNOTSUPP", 512: "ERESTARTSYS", 515: "ENOIOCTLCMD",
                           524: "ENOTSUPP"}
    assert table.aliases == {"EWOULDBLOCK": 11, "ENOTSUP": 95}
    assert table.messages[11] == "Resource temporarily unavailable"  # glibc over kernel
    assert table.messages[1] == "Operation not permitted"  # kernel comment fallback
    assert table.messages[512] == gen.KERNEL_INTERNAL_MESSAGES["ERESTARTSYS"]
    with pytest.raises(gen.GeneratorError, match="no message"):
        gen.build_errno(["#define EFOO 7\n"], {})
    signals = gen.build_signals(SIGNAL_UAPI, gen.parse_nsig(SIGNAL_KERNEL))
    assert signals.names[1] == "SIGHUP" and signals.names[6] == "SIGABRT"
    assert signals.names[29] == "SIGIO" and signals.names[64] == "SIGRT_32"
    assert signals.aliases == {"SIGIOT": 6, "SIGPOLL": 29}  # commented SIGLOST ignored
    assert (signals.rtmin, signals.rtmax) == (32, 64)


def test_generator_is_deterministic_and_writes_valid_modules(tmp_path: Path) -> None:
    inputs = _fake_trees(tmp_path)
    first, notes = gen.generate(inputs)
    second, _ = gen.generate(inputs)
    assert first == second
    assert sorted(first) == ["_errno.py", "_signals.py", "_syscalls_i386.py",
                             "_syscalls_x32.py", "_syscalls_x86_64.py"]
    assert any("rseq_slice_yield" in note for note in notes)
    x86_64 = _exec(first["_syscalls_x86_64.py"])
    assert x86_64["NAMES"] == {0: "read", 1: "write", 13: "rt_sigaction", 134: "uselib",
                               156: "_sysctl", 424: "pidfd_send_signal"}
    assert x86_64["UNIMPLEMENTED"] == {134, 156}
    classes = x86_64["CLASSES"]
    assert isinstance(classes, dict)
    assert classes["%file"] == {"uselib"} and classes["%process"] == {"pidfd_send_signal"}
    assert set(classes) == set(SYSCALL_CLASSES)
    x32 = _exec(first["_syscalls_x32.py"])
    assert x32["NAMES"] == {X32 | 0: "read", X32 | 1: "write", X32 | 424: "pidfd_send_signal",
                            X32 | 512: "rt_sigaction"}
    i386 = _exec(first["_syscalls_i386.py"])
    assert i386["NAMES"] == {0: "restart_syscall", 3: "read", 17: "break", 140: "_llseek"}
    assert "Linux 6.18 arch/x86/entry/syscalls/syscall_32.tbl" in first["_syscalls_i386.py"]
    errno = _exec(first["_errno.py"])
    assert errno["NAMES"] == {1: "EPERM", 2: "ENOENT", 11: "EAGAIN", 35: "EDEADLK",
                              95: "EOPNOTSUPP", 512: "ERESTARTSYS", 515: "ENOIOCTLCMD",
                              524: "ENOTSUPP"}
    signals = _exec(first["_signals.py"])
    assert signals["SIGRTMIN"] == 32 and signals["ALIASES"] == {"SIGIOT": 6, "SIGPOLL": 29}


def test_generator_command_line(tmp_path: Path) -> None:
    inputs = _fake_trees(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    argv = [
        "--linux-src", str(inputs.linux_src), "--strace-src", str(inputs.strace_src),
        "--strace-version", "v0-test", "--glibc-errlist", str(tmp_path / "errlist.h"),
        "--output-dir", str(out), "--quiet",
    ]
    assert gen.main(argv) == 0
    written = {p.name: p.read_bytes() for p in out.iterdir()}
    assert len(written) == 5
    assert gen.main([*argv, "--check"]) == 0
    (out / "_errno.py").write_text("# edited\n")
    assert gen.main([*argv, "--check"]) == 1
    assert gen.main(["--linux-src", str(tmp_path / "missing"), *argv[2:]]) == 2


def test_generated_modules_pass_ruff_style_limits() -> None:
    for module in (_syscalls_x86_64, _syscalls_i386, _syscalls_x32, _errno, _signals):
        for line in Path(module.__file__).read_text().splitlines():  # type: ignore[arg-type]
            assert len(line) <= 100, line



# --------------------------------------------------------------------------- structures


def test_struct_captures_are_well_formed() -> None:
    from formats.linux._lookup import _BY_ABI

    used: set[ArgKind] = set()
    for abi in ABIS:
        for name, sig in _BY_ABI[abi].signatures.items():
            kinds = [arg.kind for arg in sig.args]
            assert sig.struct_args == tuple(
                i for i, k in enumerate(kinds) if k in linux.STRUCT_CAPTURES), name
            for index in sig.struct_args:
                arg = sig.args[index]
                capture = linux.STRUCT_CAPTURES[arg.kind]
                used.add(arg.kind)
                size = linux.struct_size(capture, abi)
                if capture.measure in ("socketcall", "msghdr", "socklen", "length_pointer",
                                       "fdset"):
                    continue
                if capture.measure in ("length", "elements") or (
                        capture.sizes is None and capture.measure == "size"):
                    # a sockaddr, a buffer, an array: sized by another argument
                    assert arg.length_arg is not None, (name, arg)
                if capture.sizes is None:
                    assert size is None, (name, arg)
                else:
                    assert size is not None and size > 0, (abi, name, arg)
    assert used == set(linux.STRUCT_CAPTURES)  # every capture kind is used somewhere
    for kind, capture in linux.STRUCT_CAPTURES.items():
        assert capture.direction in ("in", "out"), kind
        assert capture.name.isascii() and capture.name == capture.name.strip(), kind
        assert kind.name.endswith("_OUT") == (capture.direction == "out") or kind in {
            ArgKind.FD_PAIR_OUT, ArgKind.SIGSET, ArgKind.OLD_SIGSET, ArgKind.STRING,
            ArgKind.POLLFDS_IN, ArgKind.USER_DESC_IN, ArgKind.SOCKLEN_PTR,
            ArgKind.SOCKETCALL_ARGS, ArgKind.IOVEC_OUT, ArgKind.FD_SET, ArgKind.CPUSET_IN,
            ArgKind.MMSGHDR_IN}, kind  # sendmmsg's: read at exit, with msg_len filled
        assert capture.measure in linux.MEASURES, kind
        if capture.filled_on_error:
            assert capture.direction == "out"


@pytest.mark.parametrize(
    ("kind", "name", "x86_64", "i386", "x32"),
    [
        (ArgKind.STAT_OUT, "stat", 144, 64, 144),
        (ArgKind.STAT64_OUT, "stat64", None, 96, None),
        (ArgKind.OLDSTAT_OUT, "oldstat", None, 32, None),
        (ArgKind.STATX_OUT, "statx", 256, 256, 256),
        (ArgKind.STATFS_OUT, "statfs", 120, 64, 120),
        (ArgKind.STATFS64_OUT, "statfs64", None, 84, None),
        (ArgKind.TIMESPEC_IN, "timespec", 16, 8, 16),
        (ArgKind.TIMESPEC_OUT, "timespec", 16, 8, 16),
        (ArgKind.TIMESPEC64_OUT, "timespec64", 16, 16, 16),
        (ArgKind.TIMESPEC_PAIR_IN, "timespec[2]", 32, 16, 32),
        (ArgKind.TIMESPEC64_PAIR_IN, "timespec64[2]", 32, 32, 32),
        (ArgKind.TIMEVAL_IN, "timeval", 16, 8, 16),
        (ArgKind.SIGACTION_IN, "sigaction", 32, 20, 20),  # x32: compat_sigaction
        (ArgKind.SIGACTION_OUT, "sigaction", 32, 20, 20),
        (ArgKind.OLD_SIGACTION_OUT, "old_sigaction", None, 16, None),
        (ArgKind.SIGSET, "sigset", 8, 8, 8),
        (ArgKind.OLD_SIGSET_OUT, "old_sigset", None, 4, None),
        (ArgKind.FD_PAIR_OUT, "fds", 8, 8, 8),
        (ArgKind.RLIMIT_OUT, "rlimit", 16, 8, 16),
        (ArgKind.RLIMIT64_OUT, "rlimit64", 16, 16, 16),
        (ArgKind.UTSNAME_OUT, "utsname", 390, 390, 390),
        (ArgKind.OLD_UTSNAME_OUT, "old_utsname", None, 325, None),
        (ArgKind.OLDOLD_UTSNAME_OUT, "oldold_utsname", None, 45, None),
        (ArgKind.SOCKADDR_IN, "sockaddr", None, None, None),
        (ArgKind.SOCKADDR_OUT, "sockaddr", None, None, None),
    ],
)
def test_struct_capture_sizes(
    kind: ArgKind, name: str, x86_64: int | None, i386: int | None, x32: int | None
) -> None:
    capture = linux.STRUCT_CAPTURES[kind]
    assert capture.name == name
    assert [linux.struct_size(capture, abi) for abi in ABIS] == [x86_64, i386, x32]
    assert linux.struct_size(capture, Abi.UNKNOWN) is None


def test_struct_arguments_of_the_usual_calls() -> None:
    def kind(abi: Abi, name: str, index: int) -> ArgKind:
        sig = linux.signature(abi, name)
        assert sig is not None
        assert index in sig.struct_args
        return sig.args[index].kind

    for name in ("stat", "lstat", "fstat"):
        assert kind(Abi.X86_64, name, 1) is ArgKind.STAT_OUT
        assert kind(Abi.I386, name, 1) is ArgKind.STAT_OUT  # i386's 64-byte new stat
    assert kind(Abi.X86_64, "newfstatat", 2) is ArgKind.STAT_OUT
    for name, index in (("stat64", 1), ("lstat64", 1), ("fstat64", 1), ("fstatat64", 2)):
        assert kind(Abi.I386, name, index) is ArgKind.STAT64_OUT
    for name in ("oldstat", "oldlstat", "oldfstat"):
        assert kind(Abi.I386, name, 1) is ArgKind.OLDSTAT_OUT
    assert kind(Abi.X86_64, "statx", 4) is ArgKind.STATX_OUT
    assert kind(Abi.X86_64, "fstatfs", 1) is ArgKind.STATFS_OUT
    assert kind(Abi.I386, "statfs64", 2) is ArgKind.STATFS64_OUT
    assert kind(Abi.X86_64, "clock_gettime", 1) is ArgKind.TIMESPEC_OUT
    assert kind(Abi.I386, "clock_gettime", 1) is ArgKind.TIMESPEC_OUT  # 8 bytes there
    assert kind(Abi.I386, "clock_gettime64", 1) is ArgKind.TIMESPEC64_OUT
    assert kind(Abi.X86_64, "clock_getres", 1) is ArgKind.TIMESPEC_OUT
    assert kind(Abi.X86_64, "nanosleep", 0) is ArgKind.TIMESPEC_IN
    assert kind(Abi.X86_64, "nanosleep", 1) is ArgKind.TIMESPEC_REMAIN_OUT
    assert linux.STRUCT_CAPTURES[ArgKind.TIMESPEC_REMAIN_OUT].filled_on_error
    assert kind(Abi.I386, "clock_nanosleep_time64", 3) is ArgKind.TIMESPEC64_REMAIN_OUT
    assert kind(Abi.X86_64, "ppoll", 2) is ArgKind.TIMESPEC_IN
    assert kind(Abi.X86_64, "pselect6", 4) is ArgKind.TIMESPEC_IN
    assert kind(Abi.I386, "pselect6_time64", 4) is ArgKind.TIMESPEC64_IN
    assert kind(Abi.X86_64, "epoll_pwait2", 3) is ArgKind.TIMESPEC_IN
    assert kind(Abi.I386, "epoll_pwait2", 3) is ArgKind.TIMESPEC64_IN  # __kernel_timespec
    assert kind(Abi.X86_64, "utimensat", 2) is ArgKind.TIMESPEC_PAIR_IN
    assert kind(Abi.I386, "utimensat_time64", 2) is ArgKind.TIMESPEC64_PAIR_IN
    assert kind(Abi.X86_64, "select", 4) is ArgKind.TIMEVAL_IN
    assert kind(Abi.I386, "_newselect", 4) is ArgKind.TIMEVAL_IN
    futex = linux.signature(Abi.X86_64, "futex")
    assert futex is not None and futex.args[3].kind is ArgKind.PTR  # a count for some ops
    for name in ("connect", "bind"):
        assert kind(Abi.X86_64, name, 1) is ArgKind.SOCKADDR_IN
    assert kind(Abi.X86_64, "sendto", 4) is ArgKind.SOCKADDR_IN
    for name in ("accept", "accept4", "getsockname", "getpeername"):
        assert kind(Abi.X86_64, name, 1) is ArgKind.SOCKADDR_OUT
    assert kind(Abi.X86_64, "recvfrom", 4) is ArgKind.SOCKADDR_OUT
    assert kind(Abi.X86_64, "pipe2", 0) is ArgKind.FD_PAIR_OUT
    assert kind(Abi.X86_64, "socketpair", 3) is ArgKind.FD_PAIR_OUT
    assert kind(Abi.X86_64, "rt_sigaction", 1) is ArgKind.SIGACTION_IN
    assert kind(Abi.X86_64, "rt_sigaction", 2) is ArgKind.SIGACTION_OUT
    assert kind(Abi.X32, "rt_sigaction", 2) is ArgKind.SIGACTION_OUT
    assert kind(Abi.I386, "sigaction", 1) is ArgKind.OLD_SIGACTION_IN
    assert kind(Abi.X86_64, "rt_sigprocmask", 1) is ArgKind.SIGSET
    assert kind(Abi.X86_64, "rt_sigprocmask", 2) is ArgKind.SIGSET_OUT
    assert kind(Abi.X86_64, "rt_sigpending", 0) is ArgKind.SIGSET_OUT
    assert kind(Abi.I386, "sigprocmask", 2) is ArgKind.OLD_SIGSET_OUT
    assert kind(Abi.X86_64, "prlimit64", 2) is ArgKind.RLIMIT64_IN
    assert kind(Abi.X86_64, "prlimit64", 3) is ArgKind.RLIMIT64_OUT
    assert kind(Abi.X86_64, "getrlimit", 1) is ArgKind.RLIMIT_OUT
    assert kind(Abi.X86_64, "setrlimit", 1) is ArgKind.RLIMIT_IN
    assert kind(Abi.I386, "ugetrlimit", 1) is ArgKind.RLIMIT_OUT
    assert kind(Abi.X86_64, "uname", 0) is ArgKind.UTSNAME_OUT
    assert kind(Abi.I386, "olduname", 0) is ArgKind.OLD_UTSNAME_OUT
    accept = linux.socketcall_signature(5)  # i386 socketcall subcalls carry them too
    assert accept is not None and accept.struct_args == (1, 2)  # the address and its length
    read = linux.signature(Abi.X86_64, "read")
    assert read is not None and read.struct_args == ()


@pytest.mark.parametrize("abi", [Abi.X86_64, Abi.I386], ids=["x86_64", "i386"])
def test_every_syscall_has_a_signature(abi: Abi) -> None:
    # Issue 11: no call prints six raw register words (stale values included).
    names = list(linux.syscall_names(abi).values())
    missing = [name for name in names if linux.signature(abi, name) is None]
    assert not missing
    assert len(names) > 350


def test_argument_counts_agree_with_strace_where_checked() -> None:
    # strace's linux/*/syscallent.h counts, for calls whose count is easy to get wrong.
    counts = {
        (Abi.X86_64, "fadvise64"): 4, (Abi.I386, "fadvise64"): 5,
        (Abi.I386, "fadvise64_64"): 6, (Abi.X86_64, "fallocate"): 4,
        (Abi.I386, "fallocate"): 6, (Abi.X86_64, "getxattr"): 4, (Abi.X86_64, "fsync"): 1,
        (Abi.X86_64, "futex"): 6, (Abi.X86_64, "clone3"): 2, (Abi.I386, "ipc"): 6,
        (Abi.X86_64, "pause"): 0, (Abi.X86_64, "sync_file_range"): 4,
        (Abi.I386, "sync_file_range"): 6, (Abi.X86_64, "setitimer"): 3,
    }
    for (abi, name), count in counts.items():
        signature = linux.signature(abi, name)
        assert signature is not None and len(signature.args) == count, (abi, name)
    assert linux.signature(Abi.X86_64, "lgetxattr").path_args == (0,)  # a NAMI record
