"""ktrdump._flags: symbolic argument values, checked against the installed C headers."""

from __future__ import annotations

from pathlib import Path

import pytest
from c_support import c_values
from hypothesis import given, settings
from hypothesis import strategies as st

import formats.linux as linux
from formats import Abi
from formats.linux import ArgKind
from ktrdump import _flags
from ktrdump._flags import (
    decode_argument,
    decode_arguments,
    decode_ioctl,
    decode_sigset,
    decode_sockopt_name,
    decoder_for,
    render_flags,
    render_mode,
)

X86_64, I386, X32 = Abi.X86_64, Abi.I386, Abi.X32
K = ArgKind

# --------------------------------------------------------------------------- exact renderings


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (K.OPEN_FLAGS, 0o1 | 0o100 | 0o1000 | 0o2000000, "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"),
        (K.OPEN_FLAGS, 0, "O_RDONLY"),
        (K.OPEN_FLAGS, 0o2 | 0o4000, "O_RDWR|O_NONBLOCK"),
        (K.OPEN_FLAGS, 0o200000 | 0o2000000, "O_RDONLY|O_CLOEXEC|O_DIRECTORY"),
        (K.OPEN_FLAGS, 0o4010000 | 0o1, "O_WRONLY|O_SYNC"),  # O_SYNC = __O_SYNC|O_DSYNC
        (K.OPEN_FLAGS, 0o10000, "O_RDONLY|O_DSYNC"),
        (K.OPEN_FLAGS, 0o20200002, "O_RDWR|O_TMPFILE"),  # O_TMPFILE includes O_DIRECTORY
        (K.OPEN_FLAGS, 0o100000, "O_RDONLY|O_LARGEFILE"),
        (K.OPEN_FLAGS, 0o10000000 | 0o2000000, "O_RDONLY|O_CLOEXEC|O_PATH"),
        (K.OPEN_FLAGS, 0x40000000 | 2, "O_RDWR|0x40000000"),  # unknown bits in hex
        (K.OPEN_FLAGS, (1 << 63) | 1, "O_WRONLY"),  # an int: the high register half is ignored
        (K.MODE, 0o644, "0644"),
        (K.MODE, 0o40755, "S_IFDIR|0755"),
        (K.MODE, 0o100644, "S_IFREG|0644"),
        (K.MODE, 0o20620, "S_IFCHR|0620"),
        (K.MODE, 0o104755, "S_IFREG|S_ISUID|0755"),
        (K.MODE, 0o1777, "S_ISVTX|0777"),
        (K.MODE, 0o22, "022"),
        (K.MODE, 0, "000"),
        (K.MODE, 0o170644, "0170644"),  # no such file type: all octal
        (K.ACCESS_MODE, 0, "F_OK"),
        (K.ACCESS_MODE, 4 | 2 | 1, "R_OK|W_OK|X_OK"),
        (K.ACCESS_MODE, 8 | 4, "R_OK|0x8"),
        (K.DIRFD, 0xFFFFFF9C, "AT_FDCWD"),  # -100 in a 32-bit register
        (K.DIRFD, 2**64 - 100, "AT_FDCWD"),  # -100 sign-extended in a 64-bit one
        (K.DIRFD, 3, None),
        (K.AT_FLAGS, 0, "0"),
        (K.AT_FLAGS, 0x100 | 0x1000, "AT_SYMLINK_NOFOLLOW|AT_EMPTY_PATH"),
        (K.AT_FLAGS, 0x200, "AT_REMOVEDIR"),
        (K.AT_FLAGS, 0x6000, "AT_STATX_FORCE_SYNC|AT_STATX_DONT_SYNC"),
        (K.RENAME_FLAGS, 1 | 4, "RENAME_NOREPLACE|RENAME_WHITEOUT"),
        (K.MMAP_PROT, 3, "PROT_READ|PROT_WRITE"),
        (K.MMAP_PROT, 0, "PROT_NONE"),
        (K.MMAP_PROT, 5 | 0x01000000, "PROT_READ|PROT_EXEC|PROT_GROWSDOWN"),
        (K.MMAP_FLAGS, 0x22, "MAP_PRIVATE|MAP_ANONYMOUS"),
        (K.MMAP_FLAGS, 0x812, "MAP_PRIVATE|MAP_FIXED|MAP_DENYWRITE"),
        (K.MMAP_FLAGS, 0x01, "MAP_SHARED"),
        (K.MMAP_FLAGS, 0x03 | 0x80000, "MAP_SHARED_VALIDATE|MAP_SYNC"),
        (K.MMAP_FLAGS, 0x20022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_STACK"),
        (K.MMAP_FLAGS, 0x40022 | (21 << 26), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_2MB"),
        (K.MMAP_FLAGS, 0x40022 | (30 << 26), "MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB|MAP_HUGE_1GB"),
        (K.MMAP_FLAGS, 0x4000022, "MAP_PRIVATE|MAP_ANONYMOUS|MAP_UNINITIALIZED"),
        (K.MMAP_FLAGS, 0x0C, "0xc"),  # an unknown mapping type
        (K.MREMAP_FLAGS, 3, "MREMAP_MAYMOVE|MREMAP_FIXED"),
        (K.MADVISE_ADVICE, 4, "MADV_DONTNEED"),
        (K.MADVISE_ADVICE, 14, "MADV_HUGEPAGE"),
        (K.MADVISE_ADVICE, 7, None),
        (K.FCNTL_CMD, 1, "F_GETFD"),
        (K.FCNTL_CMD, 1030, "F_DUPFD_CLOEXEC"),
        (K.FCNTL_CMD, 1031, "F_SETPIPE_SZ"),
        (K.FCNTL_CMD, 1033, "F_ADD_SEALS"),
        (K.FCNTL_CMD, 37, "F_OFD_SETLK"),
        (K.FCNTL_CMD, 12, None),  # F_GETLK64 exists only on i386
        (K.IOCTL_REQUEST, 0x5401, "TCGETS"),
        (K.IOCTL_REQUEST, 0x5402, "TCSETS"),
        (K.IOCTL_REQUEST, 0x5403, "TCSETSW"),
        (K.IOCTL_REQUEST, 0x5404, "TCSETSF"),
        (K.IOCTL_REQUEST, 0x5413, "TIOCGWINSZ"),
        (K.IOCTL_REQUEST, 0x5414, "TIOCSWINSZ"),
        (K.IOCTL_REQUEST, 0x540F, "TIOCGPGRP"),
        (K.IOCTL_REQUEST, 0x5410, "TIOCSPGRP"),
        (K.IOCTL_REQUEST, 0x540E, "TIOCSCTTY"),
        (K.IOCTL_REQUEST, 0x5422, "TIOCNOTTY"),
        (K.IOCTL_REQUEST, 0x541B, "FIONREAD"),
        (K.IOCTL_REQUEST, 0x5421, "FIONBIO"),
        (K.IOCTL_REQUEST, 0x5451, "FIOCLEX"),
        (K.IOCTL_REQUEST, 0x5450, "FIONCLEX"),
        (K.IOCTL_REQUEST, 0x5452, "FIOASYNC"),
        (K.IOCTL_REQUEST, 0x5411, "TIOCOUTQ"),
        (K.IOCTL_REQUEST, 0x80045430, "TIOCGPTN"),
        (K.IOCTL_REQUEST, 0x40045431, "TIOCSPTLCK"),
        (K.IOCTL_REQUEST, 0x80086601, "FS_IOC_GETFLAGS"),
        (K.IOCTL_REQUEST, 0x40049409, "FICLONE"),
        (K.IOCTL_REQUEST, 0x80081272, "BLKGETSIZE64"),
        (K.IOCTL_REQUEST, 0x8933, "SIOCGIFINDEX"),
        (K.IOCTL_REQUEST, 0xC0105499, "_IOC(_IOC_READ|_IOC_WRITE, 0x54, 0x99, 0x10)"),
        (K.IOCTL_REQUEST, 0x40045499, "_IOC(_IOC_WRITE, 0x54, 0x99, 0x4)"),
        (K.IOCTL_REQUEST, 0x5499, "_IOC(_IOC_NONE, 0x54, 0x99, 0)"),
        (K.IOCTL_REQUEST, 0, "_IOC(_IOC_NONE, 0, 0, 0)"),
        (K.CLONE_FLAGS, 0x01200011, "CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD"),
        (K.CLONE_FLAGS, 0x003D0F00, "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD"
                                    "|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID"
                                    "|CLONE_CHILD_CLEARTID"),
        (K.CLONE_FLAGS, 0x4111, "CLONE_VM|CLONE_VFORK|SIGCHLD"),
        (K.CLONE_FLAGS, 0x11, "SIGCHLD"),
        (K.CLONE_FLAGS, 0x100 | 0x41, "CLONE_VM|0x41"),  # 65 is no signal
        (K.CLONE_FLAGS, 0, "0"),
        (K.SIGNAL, 9, "SIGKILL"),
        (K.SIGNAL, 34, "SIGRT_2"),
        (K.SIGNAL, 0, None),
        (K.SIGNAL, 65, None),
        (K.SIGPROCMASK_HOW, 2, "SIG_SETMASK"),
        (K.WAIT_OPTIONS, 1 | 0x40000000, "WNOHANG|__WALL"),
        (K.WAIT_OPTIONS, 0, "0"),
        (K.WAIT_OPTIONS, 2 | 4, "WEXITED|WSTOPPED"),
        (K.DELETE_MODULE_FLAGS, 0, "0"),
        (K.DELETE_MODULE_FLAGS, 0o5000, "O_NONBLOCK|O_TRUNC"),
        (K.KEY_SERIAL, 2**32 - 3, "KEY_SPEC_SESSION_KEYRING"),
        (K.KEY_SERIAL, 12345, None),
        (K.KEYCTL_CMD, 11, "KEYCTL_READ"),
        (K.KEXEC_FILE_FLAGS, 6, "KEXEC_FILE_ON_CRASH|KEXEC_FILE_NO_INITRAMFS"),
        (K.SOCKET_DOMAIN, 1, "AF_UNIX"),
        (K.SOCKET_DOMAIN, 10, "AF_INET6"),
        (K.SOCKET_DOMAIN, 16, "AF_NETLINK"),
        (K.SOCKET_DOMAIN, 99, None),
        (K.SOCKET_TYPE, 1, "SOCK_STREAM"),
        (K.SOCKET_TYPE, 0x80802, "SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK"),
        (K.SOCKET_TYPE, 0x80000, "SOCK_CLOEXEC"),  # accept4's flags: no type
        (K.SOCKET_TYPE, 0, "0"),
        (K.SOCKET_TYPE, 9, "0x9"),
        (K.SOCKOPT_LEVEL, 1, "SOL_SOCKET"),
        (K.SOCKOPT_LEVEL, 6, "SOL_TCP"),
        (K.SOCKOPT_LEVEL, 41, "SOL_IPV6"),
        (K.SOCKOPT_NAME, 2, None),  # needs its level: decode_arguments
        (K.MSG_FLAGS, 0x4000 | 0x40, "MSG_DONTWAIT|MSG_NOSIGNAL"),
        (K.MSG_FLAGS, 0x40000000, "MSG_CMSG_CLOEXEC"),
        (K.SHUTDOWN_HOW, 2, "SHUT_RDWR"),
        (K.WHENCE, 0, "SEEK_SET"),
        (K.WHENCE, 4, "SEEK_HOLE"),
        (K.WHENCE, 5, None),
        (K.CLOCK_ID, 0, "CLOCK_REALTIME"),
        (K.CLOCK_ID, 1, "CLOCK_MONOTONIC"),
        (K.CLOCK_ID, 7, "CLOCK_BOOTTIME"),
        (K.CLOCK_ID, 12, "0xc /* CLOCK_??? */"),  # as strace prints it
        (K.CLOCK_ID, (~1234 << 3 | 2) & 0xFFFFFFFF, "MAKE_PROCESS_CPUCLOCK(1234, CPUCLOCK_SCHED)"),
        (K.CLOCK_ID, (~77 << 3 | 4 | 0) & 0xFFFFFFFF, "MAKE_THREAD_CPUCLOCK(77, CPUCLOCK_PROF)"),
        (K.CLOCK_ID, (~5 << 3 | 3) & 0xFFFFFFFF, "FD_TO_CLOCKID(5)"),
        (K.FUTEX_OP, 0, "FUTEX_WAIT"),
        (K.FUTEX_OP, 0x81, "FUTEX_WAKE_PRIVATE"),
        (K.FUTEX_OP, 0x189, "FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME"),
        (K.FUTEX_OP, 0x7F, "0x7f"),
        (K.FUTEX_OP, 0xFF, "FUTEX_PRIVATE_FLAG|0x7f"),
        (K.FUTEX_OP, 0x1000, "FUTEX_WAIT|0x1000"),
        (K.PRCTL_OPTION, 15, "PR_SET_NAME"),
        (K.PRCTL_OPTION, 38, "PR_SET_NO_NEW_PRIVS"),
        (K.PRCTL_OPTION, 0x59616D61, "PR_SET_PTRACER"),
        (K.PRCTL_OPTION, 17, None),
        (K.ARCH_PRCTL_CODE, 0x1002, "ARCH_SET_FS"),
        (K.ARCH_PRCTL_CODE, 0x3001, None),
        (K.EPOLL_CTL_OP, 1, "EPOLL_CTL_ADD"),
        (K.UMOUNT_FLAGS, 2 | 8, "MNT_DETACH|UMOUNT_NOFOLLOW"),
        (K.MOUNT_FLAGS, 4096 | 16384, "MS_BIND|MS_REC"),
        (K.MOUNT_FLAGS, 0xC0ED0000 | 1, "MS_MGC_VAL|MS_RDONLY"),
        (K.MOUNT_FLAGS, 0xC0ED0000, "MS_MGC_VAL"),
        (K.MOUNT_FLAGS, 1 << 18 | 1 << 14, "MS_REC|MS_PRIVATE"),
        (K.RLIMIT_RESOURCE, 7, "RLIMIT_NOFILE"),
        (K.SOCKETCALL_CALL, 1, "SYS_SOCKET"),
        (K.SOCKETCALL_CALL, 18, "SYS_ACCEPT4"),
    ],
)
def test_rendering(kind: ArgKind, value: int, expected: str | None) -> None:
    assert decode_argument(kind, value, X86_64) == expected


def test_abi_dependent_values() -> None:
    # sizeof(long) is part of these request numbers: x32 programs have i386's
    assert decode_argument(K.IOCTL_REQUEST, 0x80046601, I386) == "FS_IOC_GETFLAGS"
    assert decode_argument(K.IOCTL_REQUEST, 0x80046601, X32) == "FS_IOC_GETFLAGS"
    assert decode_argument(K.IOCTL_REQUEST, 0x80046601, X86_64) == "FS_IOC32_GETFLAGS"
    assert decode_argument(K.IOCTL_REQUEST, 0x80041272, I386) == "BLKGETSIZE64"
    assert decode_argument(K.IOCTL_REQUEST, 0x80041272, X86_64) == (
        "_IOC(_IOC_READ, 0x12, 0x72, 0x4)")
    # the 64-bit fcntl has no F_GETLK64
    assert decode_argument(K.FCNTL_CMD, 12, I386) == "F_GETLK64"
    assert decode_argument(K.FCNTL_CMD, 14, I386) == "F_SETLKW64"
    assert decode_argument(K.FCNTL_CMD, 12, X32) is None
    # an unknown ABI decodes as x86_64, never fails
    assert decode_argument(K.IOCTL_REQUEST, 0x80086601, 99) == "FS_IOC_GETFLAGS"
    assert decode_argument(K.OPEN_FLAGS, 0o101, Abi.UNKNOWN) == "O_WRONLY|O_CREAT"


def test_render_mode_and_flags_directly() -> None:
    assert render_mode(0o140777) == "S_IFSOCK|0777"
    assert render_mode(0o120777) == "S_IFLNK|0777"
    assert render_mode(0o10600) == "S_IFIFO|0600"
    assert render_mode(0o60660) == "S_IFBLK|0660"
    assert render_mode(0o7) == "007"
    assert render_flags((("A", 1), ("B", 2)), 0, "NONE") == "NONE"
    assert render_flags((("AB", 3), ("A", 1), ("B", 2)), 7) == "AB|0x4"


def test_decoder_for() -> None:
    decoder = decoder_for(K.OPEN_FLAGS)
    assert decoder is not None and decoder(0o101, X86_64) == "O_WRONLY|O_CREAT"
    for kind in (K.INT, K.PTR, K.SIZE, K.FD, K.PATH, K.BUF_IN, K.HEX, K.STAT_OUT, K.PID):
        assert decoder_for(kind) is None
        assert decode_argument(kind, 5, X86_64) is None


def test_every_symbolic_kind_has_a_decoder() -> None:
    symbolic = {
        K.DIRFD, K.MODE, K.OPEN_FLAGS, K.ACCESS_MODE, K.AT_FLAGS, K.RENAME_FLAGS,
        K.MOUNT_FLAGS, K.UMOUNT_FLAGS, K.WHENCE, K.FCNTL_CMD, K.IOCTL_REQUEST, K.MMAP_PROT,
        K.MMAP_FLAGS, K.MREMAP_FLAGS, K.MADVISE_ADVICE, K.CLONE_FLAGS, K.WAIT_OPTIONS,
        K.SIGNAL, K.SIGPROCMASK_HOW, K.CLOCK_ID, K.FUTEX_OP, K.PRCTL_OPTION,
        K.ARCH_PRCTL_CODE, K.EPOLL_CTL_OP, K.SOCKET_DOMAIN, K.SOCKET_TYPE, K.SOCKOPT_LEVEL,
        K.MSG_FLAGS, K.SHUTDOWN_HOW, K.SOCKETCALL_CALL, K.RLIMIT_RESOURCE,
        K.FLOCK_OP, K.ITIMER_WHICH, K.FADVISE_ADVICE, K.EPOLL_FLAGS, K.XATTR_FLAGS,
        K.RUSAGE_WHO, K.TIMER_FLAGS, K.GETRANDOM_FLAGS, K.PIPE_FLAGS, K.STATX_MASK,
        K.UMASK, K.EVENTFD_FLAGS, K.IPC_KEY, K.IPC_FLAGS, K.TIMERFD_FLAGS, K.SIGNALFD_FLAGS,
        K.INOTIFY_FLAGS, K.MEMFD_FLAGS, K.CLOSE_RANGE_FLAGS, K.INOTIFY_MASK,
        K.SPLICE_FLAGS, K.WAITID_IDTYPE, K.PRIO_WHICH, K.SCHED_POLICY, K.IOPRIO_WHICH,
        K.IOPRIO, K.MSYNC_FLAGS, K.MSGFLG, K.SHMAT_FLAGS, K.MPOL_MODE,
        K.GET_MEMPOLICY_FLAGS, K.MBIND_FLAGS, K.DELETE_MODULE_FLAGS, K.KEY_SERIAL,
        K.KEYCTL_CMD, K.KEXEC_FILE_FLAGS, K.SECCOMP_OP, K.SECCOMP_FLAGS, K.MLOCK_FLAGS,
        K.MLOCKALL_FLAGS, K.BPF_CMD, K.LANDLOCK_RULESET_FLAGS, K.PTRACE_REQUEST, K.KCMP_TYPE,
        K.MEMBARRIER_CMD, K.MEMBARRIER_FLAGS, K.PERSONALITY, K.FANOTIFY_INIT_FLAGS,
        K.FANOTIFY_MARK_FLAGS, K.FANOTIFY_MASK,
    }
    assert {kind for kind in ArgKind if decoder_for(kind) is not None} == symbolic


# --------------------------------------------------------------------------- context


def _signature(abi: Abi, name: str) -> linux.Signature:
    signature = linux.signature(abi, name)
    assert signature is not None
    return signature


def test_decode_arguments_with_context() -> None:
    assert decode_arguments(_signature(X86_64, "setsockopt"), [3, 1, 2, 0x7FF0, 4], X86_64) == [
        None, "SOL_SOCKET", "SO_REUSEADDR", None, None]
    assert decode_arguments(_signature(X86_64, "getsockopt"), [3, 6, 1, 0, 0], X86_64)[1:3] == [
        "SOL_TCP", "TCP_NODELAY"]
    assert decode_arguments(_signature(X86_64, "setsockopt"), [3, 41, 26, 0, 4], X86_64)[2] == (
        "IPV6_V6ONLY")
    assert decode_arguments(_signature(X86_64, "setsockopt"), [3, 0, 1, 0, 4], X86_64)[2] == (
        "IP_TOS")
    assert decode_arguments(_signature(X86_64, "setsockopt"), [3, 999, 1, 0, 4], X86_64)[1:3] == [
        None, None]
    fcntl = _signature(X86_64, "fcntl")
    assert decode_arguments(fcntl, [3, 4, 0o4002], X86_64) == [None, "F_SETFL", "O_RDWR|O_NONBLOCK"]
    assert decode_arguments(fcntl, [3, 2, 1], X86_64) == [None, "F_SETFD", "FD_CLOEXEC"]
    assert decode_arguments(fcntl, [3, 10, 10], X86_64)[2] == "SIGUSR1"
    assert decode_arguments(fcntl, [3, 1033, 0x9], X86_64)[2] == "F_SEAL_SEAL|F_SEAL_WRITE"
    assert decode_arguments(fcntl, [3, 1024, 1], X86_64)[2] == "F_WRLCK"
    assert decode_arguments(fcntl, [3, 0, 10], X86_64) == [None, "F_DUPFD", None]
    assert decode_arguments(_signature(I386, "fcntl64"), [3, 4, 0o4000], I386)[2] == (
        "O_RDONLY|O_NONBLOCK")
    assert decode_arguments(_signature(X86_64, "faccessat2"), [2**64 - 100, 0, 4, 0x200],
                            X86_64) == ["AT_FDCWD", None, "R_OK", "AT_EACCESS"]
    assert decode_arguments(_signature(X86_64, "unlinkat"), [3, 0, 0x200], X86_64)[2] == (
        "AT_REMOVEDIR")
    assert decode_arguments(_signature(X86_64, "waitid"), [1, 0, 0, 2 | 4, 0], X86_64)[3] == (
        "WEXITED|WSTOPPED")
    # one table for both calls, as strace's (2 is WSTOPPED, also for wait4)
    assert decode_arguments(_signature(X86_64, "wait4"), [-1, 0, 2, 0], X86_64)[2] == "WSTOPPED"
    openat = _signature(X86_64, "openat")
    assert decode_arguments(openat, [2**64 - 100, 0x1000, 0o1101, 0o644], X86_64) == [
        "AT_FDCWD", None, "O_WRONLY|O_CREAT|O_TRUNC", "0644"]
    assert decode_arguments(openat, [3], X86_64) == [None, None, None, None]  # values short
    clone = _signature(I386, "clone")
    assert decode_arguments(clone, [0x11, 0, 0, 0, 0], I386)[0] == "SIGCHLD"


# --------------------------------------------------------------------------- signal sets


def test_decode_sigset() -> None:
    assert decode_sigset(0) == "[]"
    assert decode_sigset(1 << 1 | 1 << 14) == "[INT TERM]"
    assert decode_sigset(1 << 8 | 1 << 18) == "[KILL STOP]"
    assert decode_sigset(~(1 << 8 | 1 << 18) & (2**64 - 1)) == "~[KILL STOP]"
    assert decode_sigset(2**64 - 1) == "~[]"
    # strace names signal 32 RTMIN
    assert decode_sigset(1 << 31 | 1 << 33 | 1 << 63) == "[RTMIN RT_2 RT_32]"
    assert decode_sigset(1 << 16) == "[CHLD]"
    assert decode_sigset(2**32 - 1 - (1 << 0), signals=32) == "~[HUP]"
    assert decode_sigset(1 << 40, signals=32) == "[]"  # past the set's width
    assert decode_sigset(-1) == "~[]"


# --------------------------------------------------------------------------- properties

_DECODED_KINDS = [kind for kind in ArgKind if decoder_for(kind) is not None]
_ABIS = st.sampled_from([0, 1, 2, 3, 99])


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(ArgKind)),
       value=st.integers(min_value=-(2**70), max_value=2**70), abi=_ABIS)
def test_any_value_decodes_without_raising(kind: ArgKind, value: int, abi: int) -> None:
    result = decode_argument(kind, value, abi)
    assert result is None or (isinstance(result, str) and result)


def _parse(text: str, names: dict[str, int]) -> int:
    value = 0
    for part in text.split("|"):
        value |= int(part, 16) if part.startswith("0x") else names[part]
    return value


_ROUND_TRIP = {
    K.OPEN_FLAGS: (dict(_flags.OPEN_FLAGS) | {"O_RDONLY": 0, "O_WRONLY": 1, "O_RDWR": 2,
                                               "O_ACCMODE": 3}),
    K.MMAP_PROT: dict(_flags.MMAP_PROT) | {"PROT_NONE": 0},
    K.MSG_FLAGS: dict(_flags.MSG_FLAGS) | {"0": 0},
    K.AT_FLAGS: dict(_flags.AT_FLAGS) | {"0": 0},
    K.WAIT_OPTIONS: dict(_flags.WAIT_OPTIONS) | {"0": 0},
    K.CLONE_FLAGS: (dict(_flags.CLONE_FLAGS) | {"0": 0}
                    | {name: number for number in range(1, 65)
                       if (name := linux.signal_name(number)) is not None}
                    | {"SIGRTMIN": 32}),
    K.SOCKET_TYPE: dict(_flags.SOCKET_TYPES) | dict(_flags.SOCKET_TYPE_FLAGS) | {"0": 0},
    K.MOUNT_FLAGS: dict(_flags.MOUNT_FLAGS) | {"0": 0, "MS_MGC_VAL": 0xC0ED0000},
}


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(list(_ROUND_TRIP)), value=st.integers(0, 2**32 - 1))
def test_flag_renderings_parse_back_to_the_value(kind: ArgKind, value: int) -> None:
    text = decode_argument(kind, value, X86_64)
    assert text is not None
    assert _parse(text, _ROUND_TRIP[kind]) == value


@settings(max_examples=200, deadline=None)
@given(mask=st.integers(0, 2**64 - 1))
def test_sigset_renderings_parse_back(mask: int) -> None:
    text = decode_sigset(mask)
    complement = text.startswith("~")
    inner = text.removeprefix("~")[1:-1]
    parsed = 0
    for name in inner.split():
        number = 32 if name == "RTMIN" else linux.signal_number(name)
        assert number is not None, name
        parsed |= 1 << (number - 1)
    assert (~parsed & (2**64 - 1) if complement else parsed) == mask
    assert len(inner.split()) <= 32


@settings(max_examples=200, deadline=None)
@given(request=st.integers(0, 2**32 - 1), abi=_ABIS)
def test_ioctl_generic_form_parses_back(request: int, abi: int) -> None:
    text = decode_ioctl(request, abi)
    if not text.startswith("_IOC("):
        return
    direction, kind, nr, size = (part.strip() for part in text[5:-1].split(", "))
    directions = {"_IOC_NONE": 0, "_IOC_WRITE": 1, "_IOC_READ": 2, "_IOC_READ|_IOC_WRITE": 3}
    rebuilt = (directions[direction] << 30 | int(size, 16) << 16 | int(kind, 16) << 8
               | int(nr, 16))
    assert rebuilt == request


def test_sockopt_names() -> None:
    assert decode_sockopt_name(1, 15) == "SO_REUSEPORT"
    assert decode_sockopt_name(1, 20) == "SO_RCVTIMEO_OLD"
    assert decode_sockopt_name(17, 103) == "UDP_SEGMENT"
    assert decode_sockopt_name(270, 1) == "NETLINK_ADD_MEMBERSHIP"
    assert decode_sockopt_name(1, 1000) is None
    assert decode_sockopt_name(12345, 1) is None


# --------------------------------------------------------------------------- against the headers

#: Tables checked against glibc's headers (64-bit compile).
_GLIBC_HEADERS = [
    "fcntl.h", "sys/stat.h", "unistd.h", "sys/mman.h", "sys/socket.h", "netinet/in.h",
    "netinet/tcp.h", "netinet/udp.h", "sys/wait.h", "signal.h", "sys/resource.h",
    "sys/mount.h", "sys/epoll.h", "time.h", "sys/ioctl.h", "sys/prctl.h", "asm/prctl.h",
    "linux/futex.h", "linux/netlink.h",
]
#: The same for the kernel's own uapi headers (64- and 32-bit compiles).
_KERNEL_HEADERS = [
    "linux/fcntl.h", "linux/fs.h", "linux/sched.h", "linux/stat.h", "asm/ioctls.h",
    "linux/sockios.h", "linux/loop.h", "linux/nsfs.h", "linux/perf_event.h", "linux/random.h",
    "linux/if_tun.h", "linux/mman.h", "linux/wait.h", "linux/eventpoll.h", "linux/time.h",
    "linux/resource.h", "linux/futex.h", "linux/prctl.h", "asm/prctl.h", "linux/in.h",
    "linux/in6.h", "linux/tcp.h", "linux/udp.h", "linux/netlink.h", "asm/socket.h",
    "asm/signal.h",
]
# glibc defines O_LARGEFILE as 0 on x86_64 (the kernel makes every open large);
# the kernel's value is checked instead. Also known to differ: SOCK_* types are
# glibc-only, the rest agree.
_GLIBC_DIFFERS = {"O_LARGEFILE", "__O_TMPFILE", "__O_SYNC"}

_TABLES = [
    _flags.OPEN_FLAGS, _flags.ACCESS_MODE, _flags.AT_FLAGS, _flags.RENAME_FLAGS, _flags.WHENCE,
    _flags.FCNTL_COMMANDS, _flags.FD_FLAGS, _flags.LOCK_TYPES, _flags.SEALS,
    _flags.NOTIFY_FLAGS, _flags.MMAP_PROT, _flags.MMAP_TYPES, _flags.MMAP_FLAGS,
    _flags.MREMAP_FLAGS, _flags.MADVISE_ADVICE, _flags.CLONE_FLAGS, _flags.WAIT_OPTIONS,
    _flags.SIGPROCMASK_HOW, _flags.RLIMIT_RESOURCES, _flags.PRCTL_OPTIONS,
    _flags.ARCH_PRCTL_CODES, _flags.CLOCK_IDS, _flags.FUTEX_COMMANDS, _flags.EPOLL_CTL_OPS,
    _flags.MOUNT_FLAGS, _flags.UMOUNT_FLAGS, _flags.SOCKET_DOMAINS, _flags.SOCKET_TYPES,
    _flags.SOCKET_TYPE_FLAGS, _flags.MSG_FLAGS, _flags.SHUTDOWN_HOW, _flags.SOCKOPT_LEVELS,
    _flags.SOCKET_OPTIONS, _flags.IP_OPTIONS, _flags.IPV6_OPTIONS, _flags.TCP_OPTIONS,
    _flags.UDP_OPTIONS, _flags.NETLINK_OPTIONS, _flags.MODE_CONSTANTS,
    (("O_RDONLY", 0), ("O_WRONLY", 1), ("O_RDWR", 2), ("O_ACCMODE", 3), ("AT_FDCWD", -100)),
]
#: Names the installed headers (Linux 6.1 uapi, glibc 2.36) lack: newer than them,
#: or (SOL_SCTP, SOL_UDPLITE, SOL_VSOCK) only in the kernel's non-uapi
#: include/linux/socket.h. Their values are from later Linux headers.
_NOT_IN_OLD_HEADERS = {
    "ARCH_ENABLE_TAGGED_ADDR", "ARCH_FORCE_TAGGED_SVA", "ARCH_GET_MAX_TAG_BITS",
    "ARCH_GET_UNTAG_MASK", "ARCH_SHSTK_DISABLE", "ARCH_SHSTK_ENABLE", "ARCH_SHSTK_LOCK",
    "ARCH_SHSTK_STATUS", "ARCH_SHSTK_UNLOCK", "AT_EXECVE_CHECK", "F_CREATED_QUERY",
    "F_DUPFD_QUERY", "F_SEAL_EXEC",
    "MADV_GUARD_INSTALL", "MADV_GUARD_REMOVE", "MAP_DROPPABLE", "MSG_SOCK_DEVMEM",
    "PR_FUTEX_HASH", "PR_GET_AUXV", "PR_GET_MDWE", "PR_GET_MEMORY_MERGE",
    "PR_GET_SHADOW_STACK_STATUS", "PR_LOCK_SHADOW_STACK_STATUS", "PR_PPC_GET_DEXCR",
    "PR_PPC_SET_DEXCR", "PR_RISCV_SET_ICACHE_FLUSH_CTX", "PR_RISCV_V_GET_CONTROL",
    "PR_RISCV_V_SET_CONTROL", "PR_SET_MDWE", "PR_SET_MEMORY_MERGE",
    "PR_SET_SHADOW_STACK_STATUS", "PR_TIMER_CREATE_RESTORE_IDS", "SOL_SCTP", "SOL_UDPLITE",
    "SOL_VSOCK", "SO_PASSPIDFD", "SO_PEERPIDFD",
}


def _names_and_values() -> list[tuple[str, int]]:
    return [(name, value) for table in _TABLES for name, value in table]


def _check(found: dict[str, int | None], expected: list[tuple[str, int]]) -> set[str]:
    # C gives 1 << 31 as a negative int: compare the 32-bit patterns.
    wrong = {name: (value, found[name]) for name, value in expected
             if (seen := found.get(name)) is not None and seen & 0xFFFFFFFF != value & 0xFFFFFFFF}
    assert wrong == {}
    return {name for name, _ in expected if found.get(name) is None}


def test_values_match_installed_headers_64(tmp_path: Path) -> None:
    pairs = _names_and_values()
    names = sorted({name for name, _ in pairs})
    kernel = dict(zip(names, c_values(tmp_path, _KERNEL_HEADERS, names, guard_names=True),
                      strict=True))
    glibc = dict(zip(names, c_values(tmp_path, _GLIBC_HEADERS, names, guard_names=True,
                                     defines=["_GNU_SOURCE"]), strict=True))
    merged = {name: kernel[name] if kernel[name] is not None or name in _GLIBC_DIFFERS
              else glibc[name] for name in names}
    missing = _check(merged, pairs)
    # what only glibc defines must agree with the kernel's value too
    _check({name: glibc[name] for name in names if name not in _GLIBC_DIFFERS}, pairs)
    assert missing <= _NOT_IN_OLD_HEADERS, sorted(missing - _NOT_IN_OLD_HEADERS)
    assert len(missing) < len(names) // 10  # the check covered nearly every name


def test_values_match_installed_headers_32(tmp_path: Path) -> None:
    pairs = [*_names_and_values(), *_flags.FCNTL64_COMMANDS]
    names = sorted({name for name, _ in pairs})
    kernel = dict(zip(names, c_values(tmp_path, _KERNEL_HEADERS, names, m32=True,
                                      guard_names=True), strict=True))
    missing = _check(kernel, pairs)
    assert kernel["F_GETLK64"] == 12 and kernel["O_LARGEFILE"] == 0o100000
    assert len(missing) < len(names) // 2


_IOCTL_HEADERS = [
    "asm/termbits.h", "linux/fiemap.h", "asm/ioctls.h", "linux/fs.h", "linux/sockios.h",
    "linux/loop.h", "linux/nsfs.h", "linux/perf_event.h", "linux/random.h", "linux/if_tun.h",
]
_IOCTLS_NOT_IN_OLD_HEADERS = {"FS_IOC_GETFSUUID", "FS_IOC_GETFSSYSFSPATH", "BLKGETDISKSEQ",
                              "TCGETX", "TCSETX", "TCSETXF", "TCSETXW", "TIOCSERGSTRUCT"}


@pytest.mark.parametrize("m32", [False, True], ids=["x86_64", "i386"])
def test_ioctl_numbers_match_installed_headers(tmp_path: Path, m32: bool) -> None:
    ours = _flags.ioctl_values(4 if m32 else 8)
    names = sorted(ours)
    found = dict(zip(names, c_values(tmp_path, _IOCTL_HEADERS, names, m32=m32,
                                     guard_names=True), strict=True))
    wrong = {name: (hex(ours[name]), hex(value & 0xFFFFFFFF)) for name, value in found.items()
             if value is not None and value & 0xFFFFFFFF != ours[name]}
    assert wrong == {}
    missing = {name for name, value in found.items() if value is None}
    assert missing <= _IOCTLS_NOT_IN_OLD_HEADERS, sorted(missing - _IOCTLS_NOT_IN_OLD_HEADERS)
    # and the names decode back (first name of a number wins: aliases are left out)
    abi = I386 if m32 else X86_64
    assert decode_ioctl(ours["TIOCGPTN"], abi) == "TIOCGPTN"
    assert decode_ioctl(ours["FS_IOC_SETFLAGS"], abi) == "FS_IOC_SETFLAGS"


def test_decoding_coverage_values_match_installed_headers(tmp_path: Path) -> None:
    # The tables issue 11 added, against glibc's and the kernel's headers.
    tables = [
        _flags.FADVISE_ADVICE, _flags.GETRANDOM_FLAGS, _flags.EPOLL_FLAGS, _flags.EVENTFD_FLAGS,
        _flags.ITIMER_WHICH, _flags.TIMER_FLAGS, _flags.FLOCK_OPS, _flags.XATTR_FLAGS,
        _flags.RUSAGE_WHO, _flags.STATX_MASK, _flags.INET_PROTOCOLS, _flags.TIMERFD_FLAGS,
        _flags.SIGNALFD_FLAGS, _flags.INOTIFY_FLAGS, _flags.MEMFD_FLAGS,
        _flags.CLOSE_RANGE_FLAGS, _flags.IPC_FLAGS, _flags.INOTIFY_MASK,
        _flags.SPLICE_FLAGS, _flags.WAITID_IDTYPES, _flags.IORING_SETUP_FLAGS,
        _flags.IORING_FEATURES, _flags.SECCOMP_OPS, _flags.SECCOMP_FILTER_FLAGS,
        _flags.MLOCK_FLAGS, _flags.MLOCKALL_FLAGS, _flags.LANDLOCK_RULESET_FLAGS,
        _flags.FANOTIFY_CLASSES, _flags.FANOTIFY_INIT_FLAGS, _flags.FANOTIFY_MARK_FLAGS,
        _flags.FANOTIFY_EVENTS,
    ]
    pairs = [pair for table in tables for pair in table]
    names = sorted({name for name, _ in pairs})
    headers = ["fcntl.h", "sys/random.h", "sys/epoll.h", "sys/eventfd.h", "sys/time.h",
               "time.h", "sys/file.h", "sys/xattr.h", "sys/resource.h", "sys/stat.h",
               "netinet/in.h", "sys/timerfd.h", "sys/signalfd.h", "sys/inotify.h",
               "sys/mman.h", "linux/close_range.h", "sys/ipc.h", "sys/wait.h",
               "linux/io_uring.h", "linux/seccomp.h", "linux/landlock.h", "sys/fanotify.h"]
    values = dict(zip(names, c_values(tmp_path, headers, names, guard_names=True,
                                      defines=["_GNU_SOURCE"]), strict=True))
    wrong = [(name, value, values[name]) for name, value in pairs
             if values[name] is not None and values[name] != value]
    assert not wrong
    known = [name for name in names if values[name] is not None]
    assert len(known) > len(names) * 3 // 4  # the check covered most names


def test_ptrace_values_match_installed_headers(tmp_path: Path) -> None:
    # the kernel's headers (glibc's sys/ptrace.h has enums, not macros, for the requests)
    pairs = [*_flags.PTRACE_REQUESTS, *_flags.PTRACE_OPTIONS, *_flags.NT_TYPES]
    names = sorted({name for name, _ in pairs} | {"PTRACE_PEEKUSR", "PTRACE_POKEUSR",
                                                   "NT_PRFPREG"})
    values = dict(zip(names, c_values(tmp_path, ["linux/ptrace.h", "asm/ptrace-abi.h",
                                                 "linux/elf.h"], names, guard_names=True),
                      strict=True))
    assert [(name, value, values[name]) for name, value in pairs
            if values[name] is not None and values[name] != value] == []
    # newer than the installed headers (Linux 6.1): the syscall user dispatch requests;
    # glibc's and strace's spelling of the kernel's PTRACE_PEEKUSR, PTRACE_POKEUSR, NT_PRFPREG
    assert {name for name in names if values[name] is None} <= {
        "PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", "PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG",
        "PTRACE_PEEKUSER", "PTRACE_POKEUSER", "NT_FPREGSET"}
    assert values["PTRACE_PEEKUSR"] == 3 and values["PTRACE_POKEUSR"] == 6
    assert values["NT_PRFPREG"] == 2


def test_kcmp_types_match_installed_headers(tmp_path: Path) -> None:
    # enum kcmp_type's constants (no macros): compiled as expressions
    names = [name for name, _ in _flags.KCMP_TYPES]
    assert list(zip(names, c_values(tmp_path, ["linux/kcmp.h"], names), strict=True)) \
        == list(_flags.KCMP_TYPES)


def test_membarrier_commands_match_installed_headers(tmp_path: Path) -> None:
    # enum membarrier_cmd's constants: compiled as expressions (GET_REGISTRATIONS: Linux 6.3,
    # newer than the installed headers)
    pairs = [*(pair for pair in _flags.MEMBARRIER_COMMANDS
               if pair[0] != "MEMBARRIER_CMD_GET_REGISTRATIONS"), *_flags.MEMBARRIER_FLAGS]
    names = [name for name, _ in pairs]
    assert list(zip(names, c_values(tmp_path, ["linux/membarrier.h"], names),
                    strict=True)) == pairs


def test_personality_values_match_installed_headers(tmp_path: Path) -> None:
    # enum constants; a type's value carries flags too (PER_SVR4 = 1 | STICKY_TIMEOUTS |
    # MMAP_PAGE_ZERO): its low byte is the type
    types = [name for name, _ in _flags.PERSONALITY_TYPES]
    flags = [name for name, _ in _flags.PERSONALITY_FLAGS]
    values = c_values(tmp_path, ["linux/personality.h"],
                      [*(f"({name}) & 0xff" for name in types), *flags])
    assert list(zip([*types, *flags], values, strict=True)) == [
        *_flags.PERSONALITY_TYPES, *_flags.PERSONALITY_FLAGS]


def test_bpf_commands_match_installed_headers(tmp_path: Path) -> None:
    # enum bpf_cmd's constants (no macros): compiled as expressions; BPF_TOKEN_CREATE
    # (Linux 6.9) is newer than the installed headers
    pairs = [pair for pair in _flags.BPF_COMMANDS if pair[0] != "BPF_TOKEN_CREATE"]
    names = [name for name, _ in pairs]
    assert list(zip(names, c_values(tmp_path, ["linux/bpf.h"], names), strict=True)) == pairs
    assert [value for _, value in _flags.BPF_COMMANDS] == list(range(len(_flags.BPF_COMMANDS)))


def test_memory_policy_values_match_installed_headers(tmp_path: Path) -> None:
    # MPOL_* modes are enum constants (no macros): compiled as expressions
    pairs = [*_flags.MPOL_MODES, *_flags.MPOL_MODE_FLAGS, *_flags.GET_MEMPOLICY_FLAGS,
             *_flags.MBIND_FLAGS]
    names = [name for name, _ in pairs]
    values = c_values(tmp_path, ["linux/mempolicy.h"], names)
    assert list(zip(names, values, strict=True)) == pairs
    assert _flags.mpol_mode_name(2 | 1 << 15) == "MPOL_BIND|MPOL_F_STATIC_NODES"
    assert _flags.mpol_mode_name(9) == "0x9 /* MPOL_??? */"
