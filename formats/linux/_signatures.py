"""Hand-written syscall signatures: what each argument and return value *is*.

The recorder reads these to decide which arguments are paths to record as
NAMEI, which buffers hold I/O data to record as GENIO, and where argv/envp
are; ktrdump reads them to decode the raw argument words of a SYSCALL/SYSRET
record. The model is the falcosecurity/libs event table: a name and typed
parameters, as data. (Not derived from it or from strace: written from the
kernel's ``SYSCALL_DEFINE`` prototypes and the man pages.)

Guarantees:

- Every signature of an ABI names a syscall of that ABI's table (a test checks
  it), with its arguments in the kernel's register order for that ABI: e.g.
  i386 ``clone`` passes ``tls`` before ``child_tid``, and i386 splits 64-bit
  offsets across two registers (``OFFSET_LOW``/``OFFSET_HIGH``).
- ``length_arg`` and ``dirfd_arg`` always point at an argument of the same
  signature; data-carrying kinds (``IO_IN_KINDS``/``IO_OUT_KINDS``) only
  appear next to an ``FD`` argument, ``Signature.io_fd_arg``, except for
  process_vm_readv/writev, whose local vectors' data has no descriptor.
- x32 processes use the x86_64 signatures (same registers, 32-bit pointers),
  except for the few calls whose x32 entry takes different arguments.

A PATH, STRING or buffer pointer may be NULL (utimensat's pathname, a
recvfrom without src_addr); a consumer checks before reading memory.

Structures: the kinds in ``STRUCT_CAPTURES`` point to a structure worth
recording (stat, statx, statfs, timespec, sockaddr, the fds of a pipe,
sigaction, rlimit, utsname, signal sets, the ids getresuid fills, struct tms,
capability sets, struct timex, ...); each says the STRUCT record's name,
whether it is read at entry or exit, and its size per ABI
(``struct_size``), so the recorder needs no layout knowledge of its own.

Every syscall of the x86_64 and i386 tables has a signature, with strace's
argument count (its ``linux/*/syscallent.h``; a test checks both tables);
calls strace decodes with a dedicated printer get the kinds that let ktrdump
print them the same way.

Does not: describe the structures behind every pointer (a ``PTR`` is an
address; futex's timeout, fcntl's struct flock and ioctl arguments depend on
a command: the recorder captures those by command, ``ktr._builder``), or say
how wide a value is: raw argument words are ABI-sized, and a consumer
sign-extends ``INT``/``FD``/``OFFSET`` values of a 32-bit ABI itself.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import enum
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import NamedTuple

from . import _syscalls_i386, _syscalls_x86_64


class ArgKind(enum.Enum):
    """What a syscall argument is; the value is a stable lowercase label."""

    INT = "int"  # a signed number
    UINT = "uint"  # an unsigned number
    HEX = "hex"  # a flag word or mask that has no decoder of its own
    FD = "fd"  # a file descriptor
    DIRFD = "dirfd"  # a directory fd, or AT_FDCWD (-100) for the current directory
    PATH = "path"  # a NUL-terminated path the kernel looks up (a NAMEI record)
    STRING = "string"  # a NUL-terminated string that is not looked up (a key's type)
    # a NUL-terminated path that is not looked up (a symlink's target, mount's
    # source, a message queue's name): recorded as a STRING, printed whole as a path
    PATH_STRING = "path_string"
    PATH_OUT = "path_out"  # a buffer the call fills with a path; length = return value
    PTR = "ptr"  # an address; what it points to is not decoded
    SIZE = "size"  # a byte count
    OFFSET = "offset"  # a file offset in one register
    OFFSET_LOW = "offset_low"  # low 32 bits of a 64-bit offset split over two registers
    OFFSET_HIGH = "offset_high"  # high 32 bits of it
    IGNORED = "ignored"  # a register slot the kernel does not read on this ABI
    BUF_IN = "buf_in"  # data the call reads from memory; length_arg gives its size
    BUF_OUT = "buf_out"  # data the call writes to memory; size = return value
    IOVEC_IN = "iovec_in"  # struct iovec[] the call reads; length_arg gives the count
    IOVEC_OUT = "iovec_out"  # struct iovec[] the call fills; total = return value
    REMOTE_IOVEC = "remote_iovec"  # struct iovec[] of another process (process_vm_*): no data
    MSGHDR_IN = "msghdr_in"  # struct msghdr whose iovecs the call reads
    MSGHDR_OUT = "msghdr_out"  # struct msghdr whose iovecs the call fills
    MMSGHDR_IN = "mmsghdr_in"  # struct mmsghdr[]; length_arg gives the count
    MMSGHDR_OUT = "mmsghdr_out"  # struct mmsghdr[] the call fills
    SOCKADDR_IN = "sockaddr_in"  # a socket address the call reads; length_arg = its size
    SOCKADDR_OUT = "sockaddr_out"  # a socket address the call fills; length_arg = SOCKLEN_PTR
    SOCKLEN_PTR = "socklen_ptr"  # socklen_t *: in, the buffer size; out, the address size
    FD_PAIR_OUT = "fd_pair_out"  # int[2] the call fills with two new fds (STRUCT "fds")
    ARGV = "argv"  # NULL-terminated array of string pointers (execve argv)
    ENVP = "envp"  # the same, for the environment
    PID = "pid"  # a process or thread id (0 and negatives have meanings)
    UID = "uid"
    GID = "gid"
    DEV = "dev"  # a device number (dev_t)
    MODE = "mode"  # file type and permission bits (S_IF*, 0755)
    OPEN_FLAGS = "open_flags"  # O_*
    ACCESS_MODE = "access_mode"  # F_OK / R_OK | W_OK | X_OK
    AT_FLAGS = "at_flags"  # AT_*
    RENAME_FLAGS = "rename_flags"  # RENAME_*
    MOUNT_FLAGS = "mount_flags"  # MS_*
    UMOUNT_FLAGS = "umount_flags"  # MNT_FORCE, MNT_DETACH, ...
    WHENCE = "whence"  # SEEK_*
    FCNTL_CMD = "fcntl_cmd"  # F_*
    IOCTL_REQUEST = "ioctl_request"  # an ioctl request number
    MMAP_PROT = "mmap_prot"  # PROT_*
    MMAP_FLAGS = "mmap_flags"  # MAP_*
    MREMAP_FLAGS = "mremap_flags"  # MREMAP_*
    MADVISE_ADVICE = "madvise_advice"  # MADV_*
    CLONE_FLAGS = "clone_flags"  # CLONE_* | exit signal
    WAIT_OPTIONS = "wait_options"  # WNOHANG, WSTOPPED, __WALL, ...
    SIGNAL = "signal"  # a signal number
    SIGSET = "sigset"  # a pointer to a signal set the call reads (STRUCT "sigset")
    SIGSET_OUT = "sigset_out"  # a pointer to a signal set the call fills
    SIGPROCMASK_HOW = "sigprocmask_how"  # SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK
    CLOCK_ID = "clock_id"  # CLOCK_*
    FUTEX_OP = "futex_op"  # FUTEX_* | FUTEX_PRIVATE_FLAG ...
    PRCTL_OPTION = "prctl_option"  # PR_*
    ARCH_PRCTL_CODE = "arch_prctl_code"  # ARCH_SET_FS, ...
    EPOLL_CTL_OP = "epoll_ctl_op"  # EPOLL_CTL_*
    SOCKET_DOMAIN = "socket_domain"  # AF_*
    SOCKET_TYPE = "socket_type"  # SOCK_* | SOCK_CLOEXEC | SOCK_NONBLOCK
    SOCKOPT_LEVEL = "sockopt_level"  # SOL_*
    SOCKOPT_NAME = "sockopt_name"  # SO_*, TCP_*, ... (meaning depends on the level)
    MSG_FLAGS = "msg_flags"  # MSG_*
    SHUTDOWN_HOW = "shutdown_how"  # SHUT_*
    SOCKETCALL_CALL = "socketcall_call"  # i386 socketcall: SYS_SOCKET, ... (see SOCKETCALLS)
    RLIMIT_RESOURCE = "rlimit_resource"  # RLIMIT_*
    FLOCK_OP = "flock_op"  # LOCK_SH, LOCK_EX, LOCK_UN | LOCK_NB
    XATTR_FLAGS = "xattr_flags"  # XATTR_CREATE, XATTR_REPLACE
    RUSAGE_WHO = "rusage_who"  # RUSAGE_SELF, RUSAGE_CHILDREN, RUSAGE_THREAD
    ITIMER_WHICH = "itimer_which"  # ITIMER_REAL, ITIMER_VIRTUAL, ITIMER_PROF
    TIMER_FLAGS = "timer_flags"  # TIMER_ABSTIME
    FADVISE_ADVICE = "fadvise_advice"  # POSIX_FADV_*
    GETRANDOM_FLAGS = "getrandom_flags"  # GRND_*
    EPOLL_FLAGS = "epoll_flags"  # EPOLL_CLOEXEC
    PIPE_FLAGS = "pipe_flags"  # O_CLOEXEC | O_NONBLOCK | O_DIRECT (no access mode)
    SOCKET_PROTOCOL = "socket_protocol"  # IPPROTO_* (for AF_INET/AF_INET6 sockets)
    STATX_MASK = "statx_mask"  # STATX_*
    UMASK = "umask"  # permission bits, in octal
    EVENTFD_FLAGS = "eventfd_flags"  # EFD_*
    SPLICE_FLAGS = "splice_flags"  # SPLICE_F_* (splice, tee, vmsplice)
    WAITID_IDTYPE = "waitid_idtype"  # P_ALL, P_PID, P_PGID, P_PIDFD
    PRIO_WHICH = "prio_which"  # PRIO_PROCESS, PRIO_PGRP, PRIO_USER
    SCHED_POLICY = "sched_policy"  # SCHED_* | SCHED_RESET_ON_FORK
    IOPRIO_WHICH = "ioprio_which"  # IOPRIO_WHO_*
    IOPRIO = "ioprio"  # an I/O priority: class << 13 | data
    MSYNC_FLAGS = "msync_flags"  # MS_ASYNC, MS_INVALIDATE, MS_SYNC
    MSGFLG = "msgflg"  # msgsnd/msgrcv: IPC_NOWAIT | MSG_NOERROR | MSG_EXCEPT | MSG_COPY
    SHMAT_FLAGS = "shmat_flags"  # SHM_RDONLY | SHM_RND | SHM_REMAP | SHM_EXEC
    # Data the call reads or fills that is not I/O on a descriptor: captured as
    # a STRUCT "bytes" (in: length_arg bytes at entry; out: the return value's
    # bytes at exit), shown as strace shows such buffers (a quoted string).
    DATA_IN = "data_in"
    DATA_OUT = "data_out"
    DIRENTS_OUT = "dirents_out"  # getdents' buffer: STRUCT "count", the entries filled
    WSTATUS_OUT = "wstatus_out"  # int * a wait call fills with the status (STRUCT "wstatus")
    SOCKOPT_VAL_OUT = "sockopt_val_out"  # getsockopt's optval; length_arg: its socklen_t *
    CLONE_ARGS_IN = "clone_args_in"  # clone3's struct clone_args; length_arg: its size
    SIGINFO_OUT = "siginfo_out"  # siginfo_t the call fills (rt_sigtimedwait, waitid)
    SIGINFO_IN = "siginfo_in"  # siginfo_t the call sends (rt_sigqueueinfo, pidfd_send_signal)
    SIGEVENT_IN = "sigevent_in"  # struct sigevent (timer_create)
    INT_OUT = "int_out"  # an int the call fills (timer_create's timer id)
    INT_IN = "int_in"  # an int the call reads (struct sched_param: the priority)
    FD_SET = "fd_set"  # select's fd_set; length_arg: nfds (the bits read and written)
    IPC_KEY = "ipc_key"  # a System V IPC key (IPC_PRIVATE)
    IPC_FLAGS = "ipc_flags"  # IPC_CREAT | IPC_EXCL | IPC_NOWAIT | permission bits
    IPC_CMD = "ipc_cmd"  # semctl/msgctl/shmctl's command (IPC_RMID, GETVAL, ...)
    TIMERFD_FLAGS = "timerfd_flags"  # TFD_* (timerfd_create, timerfd_settime)
    SIGNALFD_FLAGS = "signalfd_flags"  # SFD_*
    INOTIFY_FLAGS = "inotify_flags"  # IN_NONBLOCK | IN_CLOEXEC
    MEMFD_FLAGS = "memfd_flags"  # MFD_*
    CLOSE_RANGE_FLAGS = "close_range_flags"  # CLOSE_RANGE_*
    INOTIFY_MASK = "inotify_mask"  # IN_ACCESS, IN_MODIFY, ...
    MPOL_MODE = "mpol_mode"  # MPOL_* | MPOL_F_STATIC_NODES | ... (set_mempolicy, mbind)
    MPOL_MODE_OUT = "mpol_mode_out"  # int *: the MPOL_* get_mempolicy writes
    NODEMASK_IN = "nodemask_in"  # unsigned long[]: NUMA nodes; length_arg: maxnode (bits)
    NODEMASK_OUT = "nodemask_out"  # the same, filled by the call
    GET_MEMPOLICY_FLAGS = "get_mempolicy_flags"  # MPOL_F_NODE | MPOL_F_ADDR | ...
    MBIND_FLAGS = "mbind_flags"  # MPOL_MF_*
    DELETE_MODULE_FLAGS = "delete_module_flags"  # O_NONBLOCK | O_TRUNC (not an open's flags)
    KEY_SERIAL = "key_serial"  # key_serial_t: a key's id, or KEY_SPEC_* (negative)
    KEYCTL_CMD = "keyctl_cmd"  # KEYCTL_*
    KEXEC_FILE_FLAGS = "kexec_file_flags"  # KEXEC_FILE_*
    SECCOMP_OP = "seccomp_op"  # SECCOMP_SET_MODE_*, SECCOMP_GET_*
    SECCOMP_FLAGS = "seccomp_flags"  # SECCOMP_FILTER_FLAG_*
    MLOCK_FLAGS = "mlock_flags"  # mlock2's MLOCK_ONFAULT
    MLOCKALL_FLAGS = "mlockall_flags"  # MCL_*
    BPF_CMD = "bpf_cmd"  # BPF_MAP_CREATE, BPF_PROG_LOAD, ...
    LANDLOCK_RULESET_FLAGS = "landlock_ruleset_flags"  # LANDLOCK_CREATE_RULESET_*
    PTRACE_REQUEST = "ptrace_request"  # PTRACE_*
    KCMP_TYPE = "kcmp_type"  # KCMP_*
    MEMBARRIER_CMD = "membarrier_cmd"  # MEMBARRIER_CMD_*
    MEMBARRIER_FLAGS = "membarrier_flags"  # MEMBARRIER_CMD_FLAG_CPU
    PERSONALITY = "personality"  # PER_* | ADDR_NO_RANDOMIZE ... (0xffffffff: the query)
    FANOTIFY_INIT_FLAGS = "fanotify_init_flags"  # FAN_CLASS_* | FAN_CLOEXEC | FAN_REPORT_* ...
    FANOTIFY_MARK_FLAGS = "fanotify_mark_flags"  # FAN_MARK_*
    FANOTIFY_MASK = "fanotify_mask"  # FAN_OPEN | FAN_CLOSE_WRITE ... (64 bits)
    MQ_ATTR_IN = "mq_attr_in"  # struct mq_attr the call reads (mq_open with O_CREAT)
    CPUSET_IN = "cpuset_in"  # a CPU mask the call reads; length_arg: its size
    CPUSET_OUT = "cpuset_out"  # a CPU mask the call fills (the return value's bytes)
    GIDS_IN = "gids_in"  # gid_t[] the call reads; length_arg: the count
    GIDS_OUT = "gids_out"  # gid_t[] the call fills; the return value is the count
    # i386 socketcall's array of the subcall's argument words (STRUCT
    # "socketcall_args"): the recorder and ktrdump treat the call as the
    # subcall (SOCKETCALL_SIGNATURES) with those words as its arguments.
    SOCKETCALL_ARGS = "socketcall_args"
    # Pointers to structures worth recording as STRUCT records; STRUCT_CAPTURES
    # says, per kind, the record's name, whether the call reads ("in") or
    # fills ("out") the structure, and its size per ABI.
    STAT_OUT = "stat_out"  # struct stat (i386: the 64-byte "new" stat)
    STAT64_OUT = "stat64_out"  # i386 struct stat64
    OLDSTAT_OUT = "oldstat_out"  # i386 struct __old_kernel_stat
    STATX_OUT = "statx_out"  # struct statx
    STATFS_OUT = "statfs_out"  # struct statfs
    STATFS64_OUT = "statfs64_out"  # i386 struct statfs64
    TIMESPEC_IN = "timespec_in"  # struct timespec the call reads (i386: 32-bit time_t)
    TIMESPEC_OUT = "timespec_out"  # struct timespec the call fills
    TIMESPEC_REMAIN_OUT = "timespec_remain_out"  # the time left, filled when interrupted
    TIMESPEC_PAIR_IN = "timespec_pair_in"  # struct timespec[2] (utimensat)
    TIMESPEC64_IN = "timespec64_in"  # i386 *_time64 calls: struct __kernel_timespec
    TIMESPEC64_OUT = "timespec64_out"
    TIMESPEC64_REMAIN_OUT = "timespec64_remain_out"
    TIMESPEC64_PAIR_IN = "timespec64_pair_in"
    TIMEVAL_IN = "timeval_in"  # struct timeval (select's timeout)
    SIGACTION_IN = "sigaction_in"  # the kernel's struct sigaction (rt_sigaction)
    SIGACTION_OUT = "sigaction_out"
    OLD_SIGACTION_IN = "old_sigaction_in"  # i386 sigaction's struct old_sigaction
    OLD_SIGACTION_OUT = "old_sigaction_out"
    OLD_SIGSET = "old_sigset"  # i386 old_sigset_t * (32 signals) the call reads
    OLD_SIGSET_OUT = "old_sigset_out"
    RLIMIT_IN = "rlimit_in"  # struct rlimit (i386: 32-bit words)
    RLIMIT_OUT = "rlimit_out"
    RLIMIT64_IN = "rlimit64_in"  # struct rlimit64 (prlimit64)
    RLIMIT64_OUT = "rlimit64_out"
    UTSNAME_OUT = "utsname_out"  # struct new_utsname
    OLD_UTSNAME_OUT = "old_utsname_out"  # i386 olduname's struct old_utsname
    OLDOLD_UTSNAME_OUT = "oldold_utsname_out"  # i386 oldolduname's struct oldold_utsname
    TIMEVAL_OUT = "timeval_out"  # struct timeval the call fills (gettimeofday)
    RUSAGE_OUT = "rusage_out"  # struct rusage (i386: 32-bit timevals and longs)
    SYSINFO_OUT = "sysinfo_out"  # struct sysinfo
    ITIMERVAL_IN = "itimerval_in"  # struct itimerval
    ITIMERVAL_OUT = "itimerval_out"
    ITIMERSPEC_IN = "itimerspec_in"  # struct itimerspec (i386: 32-bit time_t)
    ITIMERSPEC_OUT = "itimerspec_out"
    EPOLL_EVENT_IN = "epoll_event_in"  # struct epoll_event (packed: 12 bytes on x86)
    EPOLL_EVENTS_OUT = "epoll_events_out"  # struct epoll_event[]: as many as the return value
    POLLFDS_IN = "pollfds_in"  # struct pollfd[]; length_arg gives the count
    USER_DESC_IN = "user_desc_in"  # struct user_desc (set_thread_area)
    LOFF_IN = "loff_in"  # loff_t * the call reads (splice, copy_file_range; NULL: none)
    # sendfile's offset: read at entry and again at exit (the call advances it);
    # off_t (i386: 32 bits) for sendfile, loff_t for i386 sendfile64.
    OFF_INOUT = "off_inout"
    LOFF_INOUT = "loff_inout"
    # io_uring_setup's struct io_uring_params: the caller's at entry, the
    # kernel's (sizes, features, ring offsets) again at exit
    IO_URING_PARAMS_INOUT = "io_uring_params_inout"
    OPEN_HOW_IN = "open_how_in"  # openat2's struct open_how; length_arg: its size
    SCHED_ATTR_IN = "sched_attr_in"  # sched_setattr's struct sched_attr
    SCHED_ATTR_OUT = "sched_attr_out"  # sched_getattr's; length_arg: the caller's size
    SEMBUF_IN = "sembuf_in"  # struct sembuf[] (semop); length_arg: the count
    STACK_IN = "stack_in"  # sigaltstack's stack_t the call reads
    STACK_OUT = "stack_out"  # sigaltstack's stack_t the call fills (the old stack)
    MSGBUF_IN = "msgbuf_in"  # msgsnd's long mtype + mtext; length_arg: msgsz
    MSGBUF_OUT = "msgbuf_out"  # msgrcv's, filled; length_arg: msgsz
    ID_OUT = "id_out"  # a uid_t / gid_t the call fills (32 bits)
    OLD_ID_OUT = "old_id_out"  # i386's 16-bit old_uid_t / old_gid_t the call fills
    TMS_OUT = "tms_out"  # times' struct tms (four clock_t)
    CAP_HEADER_IN = "cap_header_in"  # capget/capset's struct __user_cap_header_struct
    # their struct __user_cap_data_struct array: two elements for the header's
    # _LINUX_CAPABILITY_VERSION_2 and _3, one for any other; length_arg: the header
    CAP_DATA_IN = "cap_data_in"
    CAP_DATA_OUT = "cap_data_out"
    # pselect6's {const sigset_t *ss; size_t ss_len}, then the set ss points to
    SIGSET_ARGPACK_IN = "sigset_argpack_in"
    PTR_OUT = "ptr_out"  # a pointer the call fills (get_robust_list's head)
    ULONG_OUT = "ulong_out"  # an unsigned long the call fills (get_robust_list's length)
    # struct timex (adjtimex, clock_adjtime): read at entry, again at exit (i386:
    # the old 32-bit one); TIMEX64_INOUT: i386 clock_adjtime64's 64-bit one
    TIMEX_INOUT = "timex_inout"
    TIMEX64_INOUT = "timex64_inout"
    # mincore's vector: a byte per page of the length argument (length_arg)
    MINCORE_VEC_OUT = "mincore_vec_out"


class RetKind(enum.Enum):
    """What a syscall's return value is (when it is not an error)."""

    INT = "int"
    HEX = "hex"
    FD = "fd"
    SIZE = "size"  # a byte count
    OFFSET = "offset"  # a file offset
    PTR = "ptr"  # an address
    PID = "pid"
    UID = "uid"
    GID = "gid"
    SIGNAL = "signal"
    UMASK = "umask"  # the previous mask, in octal
    NONE = "none"  # does not return to the caller (exit) or its value is not a result


#: Kinds whose memory the call reads: the data a write-like call sends (GENIO out).
IO_IN_KINDS: frozenset[ArgKind] = frozenset(
    {ArgKind.BUF_IN, ArgKind.IOVEC_IN, ArgKind.MSGHDR_IN, ArgKind.MMSGHDR_IN}
)
#: Kinds whose memory the call fills: the data a read-like call receives (GENIO in).
IO_OUT_KINDS: frozenset[ArgKind] = frozenset(
    {ArgKind.BUF_OUT, ArgKind.IOVEC_OUT, ArgKind.MSGHDR_OUT, ArgKind.MMSGHDR_OUT}
)


# --------------------------------------------------------------------------- structures

#: Bytes of sockaddr_storage: the most a SOCKADDR_IN/SOCKADDR_OUT capture needs.
SOCKADDR_STORAGE_SIZE = 128


class StructCapture(NamedTuple):
    """How the recorder captures what an argument of one kind points to (a STRUCT record).

    ``name``: the STRUCT record's name (``formats.Struct.name``, as bytes); with
    the record's ABI it selects the layout ktrdump decodes (so "timespec" is
    8 bytes for i386, 16 for x86_64 and x32). ``direction``: "in", read at
    syscall entry (the call reads it), or "out", read at exit (the call
    filled it). ``sizes``: bytes to read, per ``formats.Abi`` value; None when
    the size comes from the argument's ``length_arg`` instead (a sockaddr:
    the address length, or for SOCKADDR_OUT the SOCKLEN_PTR's value at exit,
    at most its value at entry and SOCKADDR_STORAGE_SIZE). ``filled_on_error``:
    the kernel fills an "out" structure when a signal interrupts the call
    (the tracer's exit stop sees ERESTART_RESTARTBLOCK or another ERESTART*
    code; the program later sees EINTR), not when it succeeds (nanosleep's
    remaining time; clock_nanosleep's only without TIMER_ABSTIME); other
    "out" structures are meaningful only when the call succeeded.
    """

    name: str
    direction: str
    sizes: Mapping[int, int] | None
    filled_on_error: bool = False
    measure: str = "size"


#: ``StructCapture.measure``: how many bytes the recorder reads. "size": the
#: ``sizes`` of the ABI (None: the length argument's value, at most
#: SOCKADDR_STORAGE_SIZE); "length": the length argument's value, at most the
#: recording's I/O byte limit; "retval": the return value's bytes (at most that
#: limit); "string": a NUL-terminated string (at most PATH_MAX bytes);
#: "elements": the length argument's value times the element size ``sizes``
#: (the record's name gets ``[N]``); "retval_elements": the same with the
#: return value as the count; "dirents": not the bytes but how many directory
#: entries the return value's bytes hold (STRUCT "count", one u32);
#: "socketcall": 4 bytes per argument of the subcall the first argument names;
#: "msghdr": the structure (``sizes``), then the struct iovec array it points to;
#: "socklen": a socklen_t's value at entry then at exit (two u32); "length_pointer":
#: as many bytes as the u32 behind the length argument says at exit; "fdset":
#: the length argument's bits in whole words of ``sizes`` bytes; "mmsghdr": for
#: each of the length argument's elements (at most 1024), its struct mmsghdr
#: (``sizes``: the msghdr in it, then msg_len and padding) and its iovec array;
#: "retval_mmsghdr": the same for as many elements as the return value says;
#: "msgbuf": ``sizes`` bytes (a long) then the length argument's bytes;
#: "nodemask": a NUMA node mask of the length argument's bits less one, in
#: whole words of ``sizes`` bytes (as the kernel reads it), at most 1024 words;
#: "self_sized": a structure whose first u32 is its size (0: ``sizes``, the
#: first version's), as many bytes as that says, at most 4096 (the kernel
#: refuses more: E2BIG); "retval_length": the return value's bytes, at most the
#: length argument's (a call that returns the size it needed: keyctl's
#: KEYCTL_READ), at most the I/O byte limit; "cap_data": as many elements of
#: ``sizes`` bytes as the capability header the length argument points to
#: says (two for _LINUX_CAPABILITY_VERSION_2 and _3, else one; none when the
#: header cannot be read); "sigset_argpack": the ``sizes`` bytes of a
#: {sigset_t *, size_t} pair, then, when the pointer is not NULL and the size
#: is 1 to 8, that many bytes of the set it points to; "pages": one element
#: of ``sizes`` bytes per 4096-byte page of the length argument (rounded up),
#: at most 1024 (the record's name gets ``[N]``); "regset": x86_64 ptrace
#: PTRACE_GETREGSET/SETREGSET's struct iovec (16 bytes), then, for NT_PRSTATUS
#: (argument 2), at most 216 of the iov_len bytes at iov_base (the registers), for
#: NT_PRFPREG at most 512 (the record's name is then ``fpregset``).
MEASURES = frozenset({"size", "length", "retval", "string", "elements", "retval_elements",
                      "dirents", "socketcall", "msghdr", "socklen", "length_pointer",
                      "fdset", "mmsghdr", "retval_mmsghdr", "msgbuf", "self_sized",
                      "nodemask", "retval_length", "cap_data", "sigset_argpack", "pages",
                      "regset"})


def _sizes(x86_64: int, i386: int, x32: int | None = None) -> Mapping[int, int]:
    # formats.Abi values (X86_64=1, I386=2, X32=3); not imported: _kinds is the
    # parent package's and this module stays importable on its own.
    return MappingProxyType({1: x86_64, 2: i386, 3: x86_64 if x32 is None else x32})


def _i386_only(size: int) -> Mapping[int, int]:
    return MappingProxyType({2: size})


def _capture(name: str, direction: str, sizes: Mapping[int, int] | None,
             filled_on_error: bool = False, measure: str = "size") -> StructCapture:
    return StructCapture(name, direction, sizes, filled_on_error, measure)


# Sizes are the kernel's (uapi headers named below; "compat" = the x86_64
# kernel's i386/x32 layout, which the tests check against real i386 calls):
# struct stat: arch/x86/include/uapi/asm/stat.h, 144 bytes x86_64 (x32 uses the
# same calls), 64 i386; struct stat64 96 (packed); __old_kernel_stat 32;
# struct statx 256 (include/uapi/linux/stat.h); struct statfs 120 / 64 and
# struct statfs64 84 (include/uapi/asm-generic/statfs.h, __statfs_word = long;
# compat_statfs64 is packed to 84 too); timespec: __kernel_timespec 16,
# old_timespec32 8 (include/vdso/time32.h); timeval 16 / 8; the kernel's
# struct sigaction (handler, flags, restorer, 64-bit mask; not the C
# library's): 32 x86_64, 20 i386 and x32 (compat_sigaction); struct
# old_sigaction (handler, 32-bit mask, flags, restorer) 16; struct rlimit two
# longs (x32: the x86_64 calls, 64-bit); struct rlimit64 two __u64;
# new_utsname 6 x 65, old_utsname 5 x 65, oldold_utsname 5 x 9.
_TIMESPEC = _sizes(16, 8)
_TIMESPEC64 = _sizes(16, 16)

#: What the recorder captures for each structure-pointing kind.
STRUCT_CAPTURES: Mapping[ArgKind, StructCapture] = MappingProxyType({
    ArgKind.STAT_OUT: _capture("stat", "out", _sizes(144, 64)),
    ArgKind.STAT64_OUT: _capture("stat64", "out", _i386_only(96)),
    ArgKind.OLDSTAT_OUT: _capture("oldstat", "out", _i386_only(32)),
    ArgKind.STATX_OUT: _capture("statx", "out", _sizes(256, 256)),
    ArgKind.STATFS_OUT: _capture("statfs", "out", _sizes(120, 64)),
    ArgKind.STATFS64_OUT: _capture("statfs64", "out", _i386_only(84)),
    ArgKind.TIMESPEC_IN: _capture("timespec", "in", _TIMESPEC),
    ArgKind.TIMESPEC_OUT: _capture("timespec", "out", _TIMESPEC),
    ArgKind.TIMESPEC_REMAIN_OUT: _capture("timespec", "out", _TIMESPEC, filled_on_error=True),
    ArgKind.TIMESPEC_PAIR_IN: _capture("timespec[2]", "in", _sizes(32, 16)),
    ArgKind.TIMESPEC64_IN: _capture("timespec64", "in", _TIMESPEC64),
    ArgKind.TIMESPEC64_OUT: _capture("timespec64", "out", _TIMESPEC64),
    ArgKind.TIMESPEC64_REMAIN_OUT: _capture("timespec64", "out", _TIMESPEC64,
                                            filled_on_error=True),
    ArgKind.TIMESPEC64_PAIR_IN: _capture("timespec64[2]", "in", _sizes(32, 32)),
    ArgKind.TIMEVAL_IN: _capture("timeval", "in", _sizes(16, 8)),
    ArgKind.SOCKADDR_IN: _capture("sockaddr", "in", None),
    ArgKind.SOCKADDR_OUT: _capture("sockaddr", "out", None),
    ArgKind.FD_PAIR_OUT: _capture("fds", "out", _sizes(8, 8)),
    ArgKind.SIGSET: _capture("sigset", "in", _sizes(8, 8)),
    ArgKind.SIGSET_OUT: _capture("sigset", "out", _sizes(8, 8)),
    ArgKind.OLD_SIGSET: _capture("old_sigset", "in", _i386_only(4)),
    ArgKind.OLD_SIGSET_OUT: _capture("old_sigset", "out", _i386_only(4)),
    ArgKind.SIGACTION_IN: _capture("sigaction", "in", _sizes(32, 20, 20)),
    ArgKind.SIGACTION_OUT: _capture("sigaction", "out", _sizes(32, 20, 20)),
    ArgKind.OLD_SIGACTION_IN: _capture("old_sigaction", "in", _i386_only(16)),
    ArgKind.OLD_SIGACTION_OUT: _capture("old_sigaction", "out", _i386_only(16)),
    ArgKind.RLIMIT_IN: _capture("rlimit", "in", _sizes(16, 8)),
    ArgKind.RLIMIT_OUT: _capture("rlimit", "out", _sizes(16, 8)),
    ArgKind.RLIMIT64_IN: _capture("rlimit64", "in", _sizes(16, 16)),
    ArgKind.RLIMIT64_OUT: _capture("rlimit64", "out", _sizes(16, 16)),
    ArgKind.UTSNAME_OUT: _capture("utsname", "out", _sizes(390, 390)),
    ArgKind.OLD_UTSNAME_OUT: _capture("old_utsname", "out", _i386_only(325)),
    ArgKind.OLDOLD_UTSNAME_OUT: _capture("oldold_utsname", "out", _i386_only(45)),
    # Strings and data that are not I/O on a descriptor (xattr names and
    # values, getcwd's path, readlink's target, getrandom's bytes; DATA_OUT
    # and PATH_OUT record the same bytes: the kinds differ in how they print).
    ArgKind.STRING: _capture("string", "in", None, measure="string"),
    ArgKind.PATH_STRING: _capture("string", "in", None, measure="string"),
    ArgKind.DATA_IN: _capture("bytes", "in", None, measure="length"),
    ArgKind.DATA_OUT: _capture("bytes", "out", None, measure="retval"),
    ArgKind.PATH_OUT: _capture("bytes", "out", None, measure="retval"),
    ArgKind.DIRENTS_OUT: _capture("count", "out", None, measure="dirents"),
    # int wstatus; struct timeval 16/8; struct rusage: two timevals and 14
    # longs, 144/72; struct sysinfo 112/64 (include/uapi/linux/sysinfo.h);
    # itimerval two timevals, itimerspec two timespecs; struct epoll_event
    # is packed on x86 (u32 events, u64 data): 12 bytes; struct pollfd 8;
    # struct user_desc 16 (asm/ldt.h).
    ArgKind.WSTATUS_OUT: _capture("wstatus", "out", _sizes(4, 4)),
    ArgKind.TIMEVAL_OUT: _capture("timeval", "out", _sizes(16, 8)),
    ArgKind.RUSAGE_OUT: _capture("rusage", "out", _sizes(144, 72)),
    ArgKind.SYSINFO_OUT: _capture("sysinfo", "out", _sizes(112, 64)),
    ArgKind.ITIMERVAL_IN: _capture("itimerval", "in", _sizes(32, 16)),
    ArgKind.ITIMERVAL_OUT: _capture("itimerval", "out", _sizes(32, 16)),
    ArgKind.ITIMERSPEC_IN: _capture("itimerspec", "in", _sizes(32, 16)),
    ArgKind.ITIMERSPEC_OUT: _capture("itimerspec", "out", _sizes(32, 16)),
    ArgKind.EPOLL_EVENT_IN: _capture("epoll_event", "in", _sizes(12, 12)),
    ArgKind.EPOLL_EVENTS_OUT: _capture("epoll_event", "out", _sizes(12, 12),
                                       measure="retval_elements"),
    ArgKind.POLLFDS_IN: _capture("pollfd", "in", _sizes(8, 8), measure="elements"),
    ArgKind.USER_DESC_IN: _capture("user_desc", "in", _sizes(16, 16)),
    # loff_t is 64 bits on every ABI; sendfile's off_t is a long (x32: the
    # x86_64 call). The inout kinds are read again at exit (ktr._builder).
    ArgKind.LOFF_IN: _capture("loff", "in", _sizes(8, 8)),
    ArgKind.OFF_INOUT: _capture("off", "in", _sizes(8, 4)),
    ArgKind.LOFF_INOUT: _capture("loff", "in", _sizes(8, 8)),
    # struct io_uring_params: 120 bytes on every ABI (linux/io_uring.h)
    ArgKind.IO_URING_PARAMS_INOUT: _capture("io_uring_params", "in", _sizes(120, 120)),
    # struct open_how (24 bytes as of Linux 5.6), as long as openat2's size says;
    # struct sched_attr (56 bytes as of Linux 5.3; its first u32 is its size, 0
    # meaning the first version's 48): sched_setattr's as long as the size the
    # caller set says, sched_getattr's as long as its size argument says
    ArgKind.OPEN_HOW_IN: _capture("open_how", "in", None, measure="length"),
    ArgKind.SCHED_ATTR_IN: _capture("sched_attr", "in", _sizes(48, 48), measure="self_sized"),
    ArgKind.SCHED_ATTR_OUT: _capture("sched_attr", "out", None, measure="length"),
    # struct sembuf: u16 sem_num, s16 sem_op, s16 sem_flg (6 bytes); a message:
    # long mtype (``sizes``), then msgsz bytes of mtext (at most the -s limit)
    ArgKind.SEMBUF_IN: _capture("sembuf", "in", _sizes(6, 6), measure="elements"),
    # stack_t: void *ss_sp, int ss_flags, size_t ss_size (24 bytes; i386 and x32 12)
    ArgKind.STACK_IN: _capture("stack_t", "in", _sizes(24, 12, 12)),
    ArgKind.STACK_OUT: _capture("stack_t", "out", _sizes(24, 12, 12)),
    ArgKind.MSGBUF_IN: _capture("msgbuf", "in", _sizes(8, 4, 4), measure="msgbuf"),
    ArgKind.MSGBUF_OUT: _capture("msgbuf", "out", _sizes(8, 4, 4), measure="msgbuf"),
    # socklen_t *: the length the call wrote back (the caller's value is lost)
    # socklen_t *: the caller's value (read at entry) then the call's (8 bytes)
    ArgKind.SOCKLEN_PTR: _capture("socklen", "out", _sizes(8, 8), measure="socklen"),
    # siginfo_t 128 bytes on every ABI; struct sigevent 64 (sigval, signo,
    # notify, then a union); an int.
    ArgKind.SIGINFO_OUT: _capture("siginfo", "out", _sizes(128, 128)),
    ArgKind.SIGINFO_IN: _capture("siginfo", "in", _sizes(128, 128)),
    ArgKind.SIGEVENT_IN: _capture("sigevent", "in", _sizes(64, 64)),
    # struct mq_attr's four fields the kernel reads (longs; its reserved words left out)
    ArgKind.MQ_ATTR_IN: _capture("mq_attr", "in", _sizes(32, 16, 32)),
    ArgKind.INT_OUT: _capture("int", "out", _sizes(4, 4)),
    # uid_t/gid_t (getresuid, getresgid; i386's are the old 16-bit ids, its
    # *32 calls 32-bit); struct tms: four clock_t (longs); the capability
    # header (u32 version, int pid) and data (u32 effective, permitted,
    # inheritable per element); pselect6's {sigset_t *, size_t} (longs); a
    # pointer and an unsigned long (x32: get_robust_list is the compat call)
    ArgKind.ID_OUT: _capture("id", "out", _sizes(4, 4)),
    ArgKind.OLD_ID_OUT: _capture("old_id", "out", _i386_only(2)),
    ArgKind.TMS_OUT: _capture("tms", "out", _sizes(32, 16)),
    ArgKind.CAP_HEADER_IN: _capture("cap_user_header", "in", _sizes(8, 8)),
    ArgKind.CAP_DATA_IN: _capture("cap_user_data", "in", _sizes(12, 12), measure="cap_data"),
    ArgKind.CAP_DATA_OUT: _capture("cap_user_data", "out", _sizes(12, 12), measure="cap_data"),
    ArgKind.SIGSET_ARGPACK_IN: _capture("sigset_argpack", "in", _sizes(16, 8, 16),
                                        measure="sigset_argpack"),
    ArgKind.PTR_OUT: _capture("ptr", "out", _sizes(8, 4, 4)),
    ArgKind.ULONG_OUT: _capture("ulong", "out", _sizes(8, 4, 4)),
    # struct timex: the kernel's __kernel_timex, 208 bytes (i386's adjtimex and
    # clock_adjtime: struct old_timex32, 128); one unsigned char per page
    ArgKind.TIMEX_INOUT: _capture("timex", "in", _sizes(208, 128)),
    ArgKind.TIMEX64_INOUT: _capture("timex64", "in", _sizes(208, 208)),
    ArgKind.MINCORE_VEC_OUT: _capture("mincore_vec", "out", _sizes(1, 1), measure="pages"),
    ArgKind.INT_IN: _capture("int", "in", _sizes(4, 4)),
    # CPU masks: bit n is CPU n (sched_getaffinity returns the bytes it filled)
    # NUMA node masks: unsigned longs (i386, x32: the compat calls' 32-bit words);
    # get_mempolicy's mode: an int
    ArgKind.NODEMASK_IN: _capture("nodemask", "in", _sizes(8, 4, 4), measure="nodemask"),
    ArgKind.NODEMASK_OUT: _capture("nodemask", "out", _sizes(8, 4, 4), measure="nodemask"),
    ArgKind.MPOL_MODE_OUT: _capture("int", "out", _sizes(4, 4)),
    ArgKind.CPUSET_IN: _capture("cpuset", "in", None, measure="length"),
    ArgKind.CPUSET_OUT: _capture("cpuset", "out", None, measure="retval"),
    # gid_t lists (getgroups/setgroups; i386's 16-bit getgroups is not one of them)
    ArgKind.GIDS_IN: _capture("gid", "in", _sizes(4, 4), measure="elements"),
    ArgKind.GIDS_OUT: _capture("gid", "out", _sizes(4, 4), measure="retval_elements"),
    # fd_set: nfds bits rounded up to whole longs (the kernel's core_sys_select)
    ArgKind.FD_SET: _capture("fd_set", "in", _sizes(8, 4, 4), measure="fdset"),
    # clone3's struct clone_args (88 bytes as of Linux 5.7), as long as the call says
    ArgKind.CLONE_ARGS_IN: _capture("clone_args", "in", None, measure="length"),
    # getsockopt's value: as many bytes as *optlen says at exit
    ArgKind.SOCKOPT_VAL_OUT: _capture("bytes", "out", None, measure="length_pointer"),
    ArgKind.SOCKETCALL_ARGS: _capture("socketcall_args", "in", None, measure="socketcall"),
    # struct iovec[] (base, length): their layout, read at entry; the data
    # itself is the GIO record (struct iovec: 16 bytes, i386 8).
    ArgKind.IOVEC_IN: _capture("iovec", "in", _sizes(16, 8, 8), measure="elements"),
    ArgKind.IOVEC_OUT: _capture("iovec", "in", _sizes(16, 8, 8), measure="elements"),
    ArgKind.REMOTE_IOVEC: _capture("iovec", "in", _sizes(16, 8, 8), measure="elements"),
    # struct msghdr (56 bytes, i386 and x32 28) followed by its struct iovec
    # array: sendmsg's as the call read it, recvmsg's as the call left it.
    ArgKind.MSGHDR_IN: _capture("msghdr", "in", _sizes(56, 28, 28), measure="msghdr"),
    ArgKind.MSGHDR_OUT: _capture("msghdr", "out", _sizes(56, 28, 28), measure="msghdr"),
    # sendmmsg's struct mmsghdr array as the call left it (msg_len filled), at
    # exit: each element (struct msghdr, u32 msg_len, 4 bytes of padding), then
    # the struct iovec array its header points to; the data is one GIO per message.
    ArgKind.MMSGHDR_IN: _capture("mmsghdr", "out", _sizes(56, 28, 28), measure="mmsghdr"),
    # recvmmsg's: the same for the messages received (the return value's count)
    ArgKind.MMSGHDR_OUT: _capture("mmsghdr", "out", _sizes(56, 28, 28),
                                  measure="retval_mmsghdr"),
})


def struct_size(capture: StructCapture, abi: int) -> int | None:
    """Bytes to capture for ``capture`` in ``abi``; None: take it from the length argument.

    Also None for an ABI that has no such structure (no signature of that ABI
    uses the kind, so a recorder following the signatures never asks).
    """
    sizes = capture.sizes
    return None if sizes is None else sizes.get(abi)


class Arg(NamedTuple):
    """One argument: its man-page name, its kind, and the argument it depends on.

    ``length_arg``: for BUF_IN the byte count; for BUF_OUT and PATH_OUT the
    buffer's capacity (the bytes filled are the return value); for IOVEC_* and
    MMSGHDR_* the element count; for SOCKADDR_IN the address length; for
    SOCKADDR_OUT the SOCKLEN_PTR argument. ``dirfd_arg``: for a PATH (or
    PATH_OUT) resolved relative to a DIRFD, that DIRFD.
    """

    name: str
    kind: ArgKind
    length_arg: int | None = None
    dirfd_arg: int | None = None


class Signature(NamedTuple):
    """A syscall's typed parameters and return kind, with derived indices.

    ``path_args``: indices of PATH arguments (the recorder's NAMEI records).
    ``io_args``: indices of I/O data arguments (IO_IN_KINDS | IO_OUT_KINDS).
    ``io_fd_arg``: the FD those move data through, or None when there are none.
    ``struct_args``: indices of arguments whose kind is in STRUCT_CAPTURES
    (the recorder's STRUCT records).
    """

    name: str
    args: tuple[Arg, ...]
    ret: RetKind
    path_args: tuple[int, ...]
    io_args: tuple[int, ...]
    io_fd_arg: int | None
    struct_args: tuple[int, ...] = ()


_IO_KINDS = IO_IN_KINDS | IO_OUT_KINDS
#: Calls whose data moves between memories, through no descriptor (GIO fd -1).
_FDLESS_IO = frozenset({"process_vm_readv", "process_vm_writev"})


def _sig(name: str, ret: RetKind, *args: Arg) -> Signature:
    # One pass over the arguments: ~500 signatures are built at every import.
    path_args: list[int] = []
    io_args: list[int] = []
    struct_args: list[int] = []
    first_fd = None
    for index, (_, kind, _, _) in enumerate(args):
        if kind is ArgKind.PATH:
            path_args.append(index)
        elif kind is ArgKind.FD:
            if first_fd is None:
                first_fd = index
        elif kind in _IO_KINDS:
            io_args.append(index)
        if kind in STRUCT_CAPTURES:
            struct_args.append(index)
    if io_args and first_fd is None and name not in _FDLESS_IO:
        raise ValueError(f"{name}: I/O data with no file descriptor")
    return Signature(name, args, ret, tuple(path_args), tuple(io_args),
                     first_fd if io_args else None, tuple(struct_args))


K = ArgKind
R = RetKind


def _a(name: str, kind: ArgKind, *, length: int | None = None, dirfd: int | None = None) -> Arg:
    return Arg(name, kind, length, dirfd)


# Argument shorthands used over and over below.
_FD = _a("fd", K.FD)
_PATHNAME = _a("pathname", K.PATH)
_DIRFD = _a("dirfd", K.DIRFD)
_AT_PATHNAME = _a("pathname", K.PATH, dirfd=0)
_STATBUF = _a("statbuf", K.STAT_OUT)
_STAT64BUF = _a("statbuf", K.STAT64_OUT)
_OLDSTATBUF = _a("statbuf", K.OLDSTAT_OUT)
_MODE = _a("mode", K.MODE)
_SOCKFD = _a("sockfd", K.FD)


def _same_args(names: Iterable[str], ret: RetKind, *args: Arg) -> list[Signature]:
    return [_sig(name, ret, *args) for name in names]


# --------------------------------------------------------------------------- common
# Calls whose arguments are the same on x86_64 and i386 (i386 passes 32-bit words).

_COMMON: list[Signature] = [
    # I/O
    _sig("read", R.SIZE, _FD, _a("buf", K.BUF_OUT, length=2), _a("count", K.SIZE)),
    _sig("write", R.SIZE, _FD, _a("buf", K.BUF_IN, length=2), _a("count", K.SIZE)),
    _sig("readv", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT)),
    _sig("writev", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT)),
    _sig("lseek", R.OFFSET, _FD, _a("offset", K.OFFSET), _a("whence", K.WHENCE)),
    _sig("getdents64", R.SIZE, _FD, _a("dirp", K.DIRENTS_OUT), _a("count", K.SIZE)),
    _sig("getdents", R.SIZE, _FD, _a("dirp", K.DIRENTS_OUT), _a("count", K.SIZE)),
    _sig("sendfile", R.SIZE, _a("out_fd", K.FD), _a("in_fd", K.FD),
         _a("offset", K.OFF_INOUT), _a("count", K.SIZE)),
    _sig("splice", R.SIZE, _a("fd_in", K.FD), _a("off_in", K.LOFF_IN), _a("fd_out", K.FD),
         _a("off_out", K.LOFF_IN), _a("len", K.SIZE), _a("flags", K.SPLICE_FLAGS)),
    _sig("copy_file_range", R.SIZE, _a("fd_in", K.FD), _a("off_in", K.LOFF_IN),
         _a("fd_out", K.FD), _a("off_out", K.LOFF_IN), _a("len", K.SIZE),
         _a("flags", K.UINT)),  # strace: in decimal (no flag is defined)
    # opening and closing
    _sig("open", R.FD, _PATHNAME, _a("flags", K.OPEN_FLAGS), _MODE),
    _sig("openat", R.FD, _DIRFD, _AT_PATHNAME, _a("flags", K.OPEN_FLAGS), _MODE),
    _sig("openat2", R.FD, _DIRFD, _AT_PATHNAME, _a("how", K.OPEN_HOW_IN, length=3),
         _a("size", K.SIZE)),
    _sig("creat", R.FD, _PATHNAME, _MODE),
    _sig("close", R.INT, _FD),
    _sig("close_range", R.INT, _a("first", K.UINT), _a("last", K.UINT),
         _a("flags", K.CLOSE_RANGE_FLAGS)),
    _sig("dup", R.FD, _a("oldfd", K.FD)),
    _sig("dup2", R.FD, _a("oldfd", K.FD), _a("newfd", K.FD)),
    _sig("dup3", R.FD, _a("oldfd", K.FD), _a("newfd", K.FD), _a("flags", K.PIPE_FLAGS)),
    _sig("pipe", R.INT, _a("pipefd", K.FD_PAIR_OUT)),
    _sig("pipe2", R.INT, _a("pipefd", K.FD_PAIR_OUT), _a("flags", K.PIPE_FLAGS)),
    _sig("fcntl", R.INT, _FD, _a("cmd", K.FCNTL_CMD), _a("arg", K.HEX)),
    _sig("ioctl", R.INT, _FD, _a("request", K.IOCTL_REQUEST), _a("arg", K.HEX)),
    # file status
    _sig("stat", R.INT, _PATHNAME, _STATBUF),
    _sig("lstat", R.INT, _PATHNAME, _STATBUF),
    _sig("fstat", R.INT, _FD, _STATBUF),
    _sig("statx", R.INT, _DIRFD, _AT_PATHNAME, _a("flags", K.AT_FLAGS), _a("mask", K.STATX_MASK),
         _a("statxbuf", K.STATX_OUT)),
    _sig("statfs", R.INT, _a("path", K.PATH), _a("buf", K.STATFS_OUT)),
    _sig("fstatfs", R.INT, _FD, _a("buf", K.STATFS_OUT)),
    _sig("access", R.INT, _PATHNAME, _a("mode", K.ACCESS_MODE)),
    _sig("faccessat", R.INT, _DIRFD, _AT_PATHNAME, _a("mode", K.ACCESS_MODE)),
    _sig("faccessat2", R.INT, _DIRFD, _AT_PATHNAME, _a("mode", K.ACCESS_MODE),
         _a("flags", K.AT_FLAGS)),
    # A link's target is data, not a path the kernel wrote: strace prints it as
    # the returned count of bytes, cut at -s (getcwd's buffer is a path, in full).
    _sig("readlink", R.SIZE, _PATHNAME, _a("buf", K.DATA_OUT, length=2),
         _a("bufsiz", K.SIZE)),
    _sig("readlinkat", R.SIZE, _DIRFD, _AT_PATHNAME, _a("buf", K.DATA_OUT, length=3),
         _a("bufsiz", K.SIZE)),
    _sig("getcwd", R.SIZE, _a("buf", K.PATH_OUT, length=1), _a("size", K.SIZE)),
    # changing the file system
    _sig("unlink", R.INT, _PATHNAME),
    _sig("unlinkat", R.INT, _DIRFD, _AT_PATHNAME, _a("flags", K.AT_FLAGS)),
    _sig("rename", R.INT, _a("oldpath", K.PATH), _a("newpath", K.PATH)),
    _sig("renameat", R.INT, _a("olddirfd", K.DIRFD), _a("oldpath", K.PATH, dirfd=0),
         _a("newdirfd", K.DIRFD), _a("newpath", K.PATH, dirfd=2)),
    _sig("renameat2", R.INT, _a("olddirfd", K.DIRFD), _a("oldpath", K.PATH, dirfd=0),
         _a("newdirfd", K.DIRFD), _a("newpath", K.PATH, dirfd=2),
         _a("flags", K.RENAME_FLAGS)),
    _sig("mkdir", R.INT, _PATHNAME, _MODE),
    _sig("mkdirat", R.INT, _DIRFD, _AT_PATHNAME, _MODE),
    _sig("rmdir", R.INT, _PATHNAME),
    _sig("link", R.INT, _a("oldpath", K.PATH), _a("newpath", K.PATH)),
    _sig("linkat", R.INT, _a("olddirfd", K.DIRFD), _a("oldpath", K.PATH, dirfd=0),
         _a("newdirfd", K.DIRFD), _a("newpath", K.PATH, dirfd=2), _a("flags", K.AT_FLAGS)),
    # The target of a symlink is stored, not looked up: not a PATH.
    _sig("symlink", R.INT, _a("target", K.PATH_STRING), _a("linkpath", K.PATH)),
    _sig("symlinkat", R.INT, _a("target", K.PATH_STRING), _a("newdirfd", K.DIRFD),
         _a("linkpath", K.PATH, dirfd=1)),
    _sig("chmod", R.INT, _PATHNAME, _MODE),
    _sig("fchmod", R.INT, _FD, _MODE),
    _sig("fchmodat", R.INT, _DIRFD, _AT_PATHNAME, _MODE),
    _sig("fchmodat2", R.INT, _DIRFD, _AT_PATHNAME, _MODE, _a("flags", K.AT_FLAGS)),
    # On i386 chown/lchown/fchown are the 16-bit-id calls; chown32 & co. below.
    _sig("chown", R.INT, _PATHNAME, _a("owner", K.UID), _a("group", K.GID)),
    _sig("lchown", R.INT, _PATHNAME, _a("owner", K.UID), _a("group", K.GID)),
    _sig("fchown", R.INT, _FD, _a("owner", K.UID), _a("group", K.GID)),
    _sig("fchownat", R.INT, _DIRFD, _AT_PATHNAME, _a("owner", K.UID), _a("group", K.GID),
         _a("flags", K.AT_FLAGS)),
    _sig("truncate", R.INT, _a("path", K.PATH), _a("length", K.OFFSET)),
    _sig("ftruncate", R.INT, _FD, _a("length", K.OFFSET)),
    _sig("mknod", R.INT, _PATHNAME, _MODE, _a("dev", K.DEV)),
    _sig("mknodat", R.INT, _DIRFD, _AT_PATHNAME, _MODE, _a("dev", K.DEV)),
    # mount's source is often not a path at all ("proc", "tmpfs"): not looked up here.
    # Its data is a file system's options, most often a string ("size=1m,mode=0755").
    _sig("mount", R.INT, _a("source", K.PATH_STRING), _a("target", K.PATH),
         _a("filesystemtype", K.STRING), _a("mountflags", K.MOUNT_FLAGS),
         _a("data", K.STRING)),
    _sig("umount2", R.INT, _a("target", K.PATH), _a("flags", K.UMOUNT_FLAGS)),
    _sig("chroot", R.INT, _a("path", K.PATH)),
    _sig("chdir", R.INT, _a("path", K.PATH)),
    _sig("fchdir", R.INT, _FD),
    # utimensat's pathname may be NULL (then dirfd is the file itself).
    _sig("utimensat", R.INT, _DIRFD, _AT_PATHNAME, _a("times", K.TIMESPEC_PAIR_IN),
         _a("flags", K.AT_FLAGS)),
    _sig("umask", R.UMASK, _a("mask", K.UMASK)),
    # sockets
    _sig("socket", R.FD, _a("domain", K.SOCKET_DOMAIN), _a("type", K.SOCKET_TYPE),
         _a("protocol", K.SOCKET_PROTOCOL)),
    _sig("socketpair", R.INT, _a("domain", K.SOCKET_DOMAIN), _a("type", K.SOCKET_TYPE),
         _a("protocol", K.INT), _a("sv", K.FD_PAIR_OUT)),
    _sig("connect", R.INT, _SOCKFD, _a("addr", K.SOCKADDR_IN, length=2),
         _a("addrlen", K.UINT)),
    _sig("bind", R.INT, _SOCKFD, _a("addr", K.SOCKADDR_IN, length=2), _a("addrlen", K.UINT)),
    _sig("listen", R.INT, _SOCKFD, _a("backlog", K.INT)),
    _sig("accept4", R.FD, _SOCKFD, _a("addr", K.SOCKADDR_OUT, length=2),
         _a("addrlen", K.SOCKLEN_PTR), _a("flags", K.SOCKET_TYPE)),
    _sig("sendto", R.SIZE, _SOCKFD, _a("buf", K.BUF_IN, length=2), _a("len", K.SIZE),
         _a("flags", K.MSG_FLAGS), _a("dest_addr", K.SOCKADDR_IN, length=5),
         _a("addrlen", K.UINT)),
    _sig("recvfrom", R.SIZE, _SOCKFD, _a("buf", K.BUF_OUT, length=2), _a("len", K.SIZE),
         _a("flags", K.MSG_FLAGS), _a("src_addr", K.SOCKADDR_OUT, length=5),
         _a("addrlen", K.SOCKLEN_PTR)),
    _sig("sendmsg", R.SIZE, _SOCKFD, _a("msg", K.MSGHDR_IN), _a("flags", K.MSG_FLAGS)),
    _sig("recvmsg", R.SIZE, _SOCKFD, _a("msg", K.MSGHDR_OUT), _a("flags", K.MSG_FLAGS)),
    _sig("sendmmsg", R.INT, _SOCKFD, _a("msgvec", K.MMSGHDR_IN, length=2),
         _a("vlen", K.UINT), _a("flags", K.MSG_FLAGS)),
    _sig("recvmmsg", R.INT, _SOCKFD, _a("msgvec", K.MMSGHDR_OUT, length=2),
         _a("vlen", K.UINT), _a("flags", K.MSG_FLAGS), _a("timeout", K.TIMESPEC_IN)),
    _sig("shutdown", R.INT, _SOCKFD, _a("how", K.SHUTDOWN_HOW)),
    _sig("getsockopt", R.INT, _SOCKFD, _a("level", K.SOCKOPT_LEVEL),
         _a("optname", K.SOCKOPT_NAME), _a("optval", K.SOCKOPT_VAL_OUT, length=4),
         _a("optlen", K.SOCKLEN_PTR)),
    _sig("setsockopt", R.INT, _SOCKFD, _a("level", K.SOCKOPT_LEVEL),
         _a("optname", K.SOCKOPT_NAME), _a("optval", K.DATA_IN, length=4),
         _a("optlen", K.UINT)),
    *_same_args(("getsockname", "getpeername"), R.INT, _SOCKFD,
                _a("addr", K.SOCKADDR_OUT, length=2), _a("addrlen", K.SOCKLEN_PTR)),
    # memory
    _sig("munmap", R.INT, _a("addr", K.PTR), _a("length", K.SIZE)),
    _sig("mprotect", R.INT, _a("addr", K.PTR), _a("len", K.SIZE), _a("prot", K.MMAP_PROT)),
    _sig("mremap", R.PTR, _a("old_address", K.PTR), _a("old_size", K.SIZE),
         _a("new_size", K.SIZE), _a("flags", K.MREMAP_FLAGS), _a("new_address", K.PTR)),
    _sig("brk", R.PTR, _a("addr", K.PTR)),
    _sig("madvise", R.INT, _a("addr", K.PTR), _a("length", K.SIZE),
         _a("advice", K.MADVISE_ADVICE)),
    # processes
    _sig("clone3", R.PID, _a("cl_args", K.CLONE_ARGS_IN, length=1), _a("size", K.SIZE)),
    _sig("fork", R.PID),
    _sig("vfork", R.PID),
    _sig("execve", R.INT, _PATHNAME, _a("argv", K.ARGV), _a("envp", K.ENVP)),
    _sig("execveat", R.INT, _DIRFD, _AT_PATHNAME, _a("argv", K.ARGV), _a("envp", K.ENVP),
         _a("flags", K.AT_FLAGS)),
    _sig("exit", R.NONE, _a("status", K.INT)),
    _sig("exit_group", R.NONE, _a("status", K.INT)),
    _sig("wait4", R.PID, _a("pid", K.PID), _a("wstatus", K.WSTATUS_OUT),
         _a("options", K.WAIT_OPTIONS), _a("rusage", K.RUSAGE_OUT)),
    _sig("waitid", R.INT, _a("idtype", K.WAITID_IDTYPE), _a("id", K.INT),
         _a("infop", K.SIGINFO_OUT),
         _a("options", K.WAIT_OPTIONS), _a("rusage", K.RUSAGE_OUT)),
    _sig("kill", R.INT, _a("pid", K.PID), _a("sig", K.SIGNAL)),
    _sig("tkill", R.INT, _a("tid", K.PID), _a("sig", K.SIGNAL)),
    _sig("tgkill", R.INT, _a("tgid", K.PID), _a("tid", K.PID), _a("sig", K.SIGNAL)),
    *_same_args(("getpid", "gettid", "getppid", "getpgrp", "setsid"), R.PID),
    *_same_args(("getpgid", "getsid"), R.PID, _a("pid", K.PID)),
    _sig("setpgid", R.INT, _a("pid", K.PID), _a("pgid", K.PID)),
    *_same_args(("getuid", "geteuid"), R.UID),
    *_same_args(("getgid", "getegid"), R.GID),
    _sig("setuid", R.INT, _a("uid", K.UID)),
    _sig("setgid", R.INT, _a("gid", K.GID)),
    _sig("prctl", R.INT, _a("option", K.PRCTL_OPTION), _a("arg2", K.HEX), _a("arg3", K.HEX),
         _a("arg4", K.HEX), _a("arg5", K.HEX)),
    _sig("arch_prctl", R.INT, _a("code", K.ARCH_PRCTL_CODE), _a("addr", K.HEX)),
    _sig("set_tid_address", R.PID, _a("tidptr", K.PTR)),
    _sig("set_robust_list", R.INT, _a("head", K.PTR), _a("len", K.SIZE)),
    _sig("get_robust_list", R.INT, _a("pid", K.PID), _a("head_ptr", K.PTR_OUT),
         _a("len_ptr", K.ULONG_OUT)),
    _sig("rseq", R.INT, _a("rseq", K.PTR), _a("rseq_len", K.HEX), _a("flags", K.HEX),
         _a("sig", K.HEX)),
    # signals
    _sig("rt_sigaction", R.INT, _a("signum", K.SIGNAL), _a("act", K.SIGACTION_IN),
         _a("oldact", K.SIGACTION_OUT), _a("sigsetsize", K.SIZE)),
    _sig("rt_sigprocmask", R.INT, _a("how", K.SIGPROCMASK_HOW), _a("set", K.SIGSET),
         _a("oldset", K.SIGSET_OUT), _a("sigsetsize", K.SIZE)),
    # rt_sigreturn "returns" the interrupted context's register, not a result.
    _sig("rt_sigreturn", R.NONE),
    _sig("rt_sigsuspend", R.INT, _a("mask", K.SIGSET), _a("sigsetsize", K.SIZE)),
    _sig("rt_sigpending", R.INT, _a("set", K.SIGSET_OUT), _a("sigsetsize", K.SIZE)),
    _sig("rt_sigtimedwait", R.SIGNAL, _a("set", K.SIGSET), _a("info", K.SIGINFO_OUT),
         _a("timeout", K.TIMESPEC_IN), _a("sigsetsize", K.SIZE)),
    _sig("rt_sigqueueinfo", R.INT, _a("tgid", K.PID), _a("sig", K.SIGNAL),
         _a("info", K.SIGINFO_IN)),
    _sig("sigaltstack", R.INT, _a("ss", K.STACK_IN), _a("old_ss", K.STACK_OUT)),
    # time
    _sig("nanosleep", R.INT, _a("req", K.TIMESPEC_IN), _a("rem", K.TIMESPEC_REMAIN_OUT)),
    _sig("clock_nanosleep", R.INT, _a("clockid", K.CLOCK_ID), _a("flags", K.TIMER_FLAGS),
         _a("request", K.TIMESPEC_IN), _a("remain", K.TIMESPEC_REMAIN_OUT)),
    _sig("clock_gettime", R.INT, _a("clockid", K.CLOCK_ID), _a("tp", K.TIMESPEC_OUT)),
    _sig("clock_getres", R.INT, _a("clockid", K.CLOCK_ID), _a("res", K.TIMESPEC_OUT)),
    _sig("clock_settime", R.INT, _a("clockid", K.CLOCK_ID), _a("tp", K.TIMESPEC_IN)),
    # waiting for events
    # futex's fourth argument is a timeout only for the waiting operations (for
    # FUTEX_REQUEUE & co. it is a count), so it stays a PTR: no STRUCT for it.
    _sig("futex", R.INT, _a("uaddr", K.PTR), _a("futex_op", K.FUTEX_OP), _a("val", K.UINT),
         _a("timeout", K.PTR), _a("uaddr2", K.PTR), _a("val3", K.UINT)),
    _sig("poll", R.INT, _a("fds", K.POLLFDS_IN, length=1), _a("nfds", K.UINT),
         _a("timeout", K.INT)),
    # ppoll and pselect6 also write the time left back into the timeout; the
    # STRUCT is the timeout as the call read it.
    _sig("ppoll", R.INT, _a("fds", K.POLLFDS_IN, length=1), _a("nfds", K.UINT),
         _a("tmo_p", K.TIMESPEC_IN),
         _a("sigmask", K.SIGSET), _a("sigsetsize", K.SIZE)),
    # pselect6's sixth argument points at {const sigset_t *ss; size_t ss_len}.
    _sig("pselect6", R.INT, _a("nfds", K.INT), _a("readfds", K.FD_SET, length=0),
         _a("writefds", K.FD_SET, length=0), _a("exceptfds", K.FD_SET, length=0),
         _a("timeout", K.TIMESPEC_IN), _a("sigmask", K.SIGSET_ARGPACK_IN)),
    _sig("epoll_create", R.FD, _a("size", K.INT)),
    _sig("epoll_create1", R.FD, _a("flags", K.EPOLL_FLAGS)),
    _sig("epoll_ctl", R.INT, _a("epfd", K.FD), _a("op", K.EPOLL_CTL_OP), _FD,
         _a("event", K.EPOLL_EVENT_IN)),
    _sig("epoll_wait", R.INT, _a("epfd", K.FD), _a("events", K.EPOLL_EVENTS_OUT),
         _a("maxevents", K.INT), _a("timeout", K.INT)),
    _sig("epoll_pwait", R.INT, _a("epfd", K.FD), _a("events", K.EPOLL_EVENTS_OUT),
         _a("maxevents", K.INT), _a("timeout", K.INT), _a("sigmask", K.SIGSET),
         _a("sigsetsize", K.SIZE)),
    _sig("eventfd", R.FD, _a("initval", K.UINT)),
    _sig("eventfd2", R.FD, _a("initval", K.UINT), _a("flags", K.EVENTFD_FLAGS)),
    _sig("memfd_create", R.FD, _a("name", K.STRING), _a("flags", K.MEMFD_FLAGS)),
    _sig("inotify_init", R.FD),
    _sig("inotify_init1", R.FD, _a("flags", K.INOTIFY_FLAGS)),
    _sig("inotify_add_watch", R.INT, _FD, _PATHNAME, _a("mask", K.INOTIFY_MASK)),
    _sig("inotify_rm_watch", R.INT, _FD, _a("wd", K.INT)),
    # system
    _sig("getrandom", R.SIZE, _a("buf", K.DATA_OUT, length=1), _a("buflen", K.SIZE),
         _a("flags", K.GETRANDOM_FLAGS)),
    _sig("sysinfo", R.INT, _a("info", K.SYSINFO_OUT)),
    _sig("uname", R.INT, _a("buf", K.UTSNAME_OUT)),
    # On i386 getrlimit is the old call that clamps to 0x7fffffff; ugetrlimit is the real one.
    _sig("getrlimit", R.INT, _a("resource", K.RLIMIT_RESOURCE), _a("rlim", K.RLIMIT_OUT)),
    _sig("setrlimit", R.INT, _a("resource", K.RLIMIT_RESOURCE), _a("rlim", K.RLIMIT_IN)),
    _sig("prlimit64", R.INT, _a("pid", K.PID), _a("resource", K.RLIMIT_RESOURCE),
         _a("new_limit", K.RLIMIT64_IN), _a("old_limit", K.RLIMIT64_OUT)),
]

# --------------------------------------------------------------------------- x86_64

_MMAP_ARGS = (
    _a("addr", K.PTR), _a("length", K.SIZE), _a("prot", K.MMAP_PROT),
    _a("flags", K.MMAP_FLAGS), _FD,
)
# select also writes the time left back into the timeout (STRUCT: as read).
_SELECT_ARGS = (
    _a("nfds", K.INT), _a("readfds", K.FD_SET, length=0), _a("writefds", K.FD_SET, length=0),
    _a("exceptfds", K.FD_SET, length=0), _a("timeout", K.TIMEVAL_IN),
)
# epoll_pwait2 takes a struct __kernel_timespec on every ABI ("timespec64" on i386).
_EPOLL_PWAIT2_HEAD = (_a("epfd", K.FD), _a("events", K.EPOLL_EVENTS_OUT),
                      _a("maxevents", K.INT))
_EPOLL_PWAIT2_TAIL = (_a("sigmask", K.SIGSET), _a("sigsetsize", K.SIZE))

_X86_64_ONLY: list[Signature] = [
    _sig("pread64", R.SIZE, _FD, _a("buf", K.BUF_OUT, length=2), _a("count", K.SIZE),
         _a("offset", K.OFFSET)),
    _sig("pwrite64", R.SIZE, _FD, _a("buf", K.BUF_IN, length=2), _a("count", K.SIZE),
         _a("offset", K.OFFSET)),
    # The kernel takes the offset as (pos_l, pos_h) everywhere; on 64-bit pos_l
    # holds all of it and pos_h is shifted out, but it still occupies a register.
    _sig("preadv", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("pos_h", K.IGNORED)),
    _sig("pwritev", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("pos_h", K.IGNORED)),
    _sig("preadv2", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("pos_h", K.IGNORED), _a("flags", K.HEX)),
    _sig("pwritev2", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("pos_h", K.IGNORED), _a("flags", K.HEX)),
    _sig("newfstatat", R.INT, _DIRFD, _AT_PATHNAME, _STATBUF, _a("flags", K.AT_FLAGS)),
    _sig("mmap", R.PTR, *_MMAP_ARGS, _a("offset", K.OFFSET)),
    _sig("select", R.INT, *_SELECT_ARGS),
    _sig("accept", R.FD, _SOCKFD, _a("addr", K.SOCKADDR_OUT, length=2),
         _a("addrlen", K.SOCKLEN_PTR)),
    _sig("clone", R.PID, _a("flags", K.CLONE_FLAGS), _a("stack", K.PTR),
         _a("parent_tid", K.PTR), _a("child_tid", K.PTR), _a("tls", K.PTR)),
    _sig("epoll_pwait2", R.INT, *_EPOLL_PWAIT2_HEAD, _a("timeout", K.TIMESPEC_IN),
         *_EPOLL_PWAIT2_TAIL),
]

# --------------------------------------------------------------------------- i386

_OFFSET_PAIR = (_a("offset_low", K.OFFSET_LOW), _a("offset_high", K.OFFSET_HIGH))

_I386_ONLY: list[Signature] = [
    _sig("pread64", R.SIZE, _FD, _a("buf", K.BUF_OUT, length=2), _a("count", K.SIZE),
         *_OFFSET_PAIR),
    _sig("pwrite64", R.SIZE, _FD, _a("buf", K.BUF_IN, length=2), _a("count", K.SIZE),
         *_OFFSET_PAIR),
    _sig("preadv", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         *_OFFSET_PAIR),
    _sig("pwritev", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         *_OFFSET_PAIR),
    _sig("preadv2", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         *_OFFSET_PAIR, _a("flags", K.HEX)),
    _sig("pwritev2", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         *_OFFSET_PAIR, _a("flags", K.HEX)),
    # The result lands in *result; the return value is 0 or an error.
    _sig("_llseek", R.INT, _FD, _a("offset_high", K.OFFSET_HIGH),
         _a("offset_low", K.OFFSET_LOW), _a("result", K.PTR), _a("whence", K.WHENCE)),
    _sig("truncate64", R.INT, _a("path", K.PATH), _a("length_low", K.OFFSET_LOW),
         _a("length_high", K.OFFSET_HIGH)),
    _sig("ftruncate64", R.INT, _FD, _a("length_low", K.OFFSET_LOW),
         _a("length_high", K.OFFSET_HIGH)),
    _sig("sendfile64", R.SIZE, _a("out_fd", K.FD), _a("in_fd", K.FD),
         _a("offset", K.LOFF_INOUT), _a("count", K.SIZE)),
    _sig("fcntl64", R.INT, _FD, _a("cmd", K.FCNTL_CMD), _a("arg", K.HEX)),
    # stat/lstat/fstat (common) fill i386's 64-byte struct stat; these the others.
    *_same_args(("stat64", "lstat64"), R.INT, _PATHNAME, _STAT64BUF),
    _sig("fstat64", R.INT, _FD, _STAT64BUF),
    _sig("fstatat64", R.INT, _DIRFD, _AT_PATHNAME, _STAT64BUF, _a("flags", K.AT_FLAGS)),
    *_same_args(("oldstat", "oldlstat"), R.INT, _PATHNAME, _OLDSTATBUF),
    _sig("oldfstat", R.INT, _FD, _OLDSTATBUF),
    # sz must be sizeof(struct statfs64), 84, or the call fails with EINVAL.
    _sig("statfs64", R.INT, _a("path", K.PATH), _a("sz", K.SIZE), _a("buf", K.STATFS64_OUT)),
    _sig("fstatfs64", R.INT, _FD, _a("sz", K.SIZE), _a("buf", K.STATFS64_OUT)),
    # Old mmap (90) takes one pointer to {addr, len, prot, flags, fd, offset};
    # mmap2's last argument counts 4096-byte pages, not bytes.
    _sig("mmap", R.PTR, _a("args", K.PTR)),
    _sig("mmap2", R.PTR, *_MMAP_ARGS, _a("pgoffset", K.UINT)),
    # Old select (82) takes one pointer to {n, inp, outp, exp, tvp}.
    _sig("select", R.INT, _a("args", K.PTR)),
    _sig("_newselect", R.INT, *_SELECT_ARGS),
    # i386 (CONFIG_CLONE_BACKWARDS) passes tls before child_tid.
    _sig("clone", R.PID, _a("flags", K.CLONE_FLAGS), _a("stack", K.PTR),
         _a("parent_tid", K.PTR), _a("tls", K.PTR), _a("child_tid", K.PTR)),
    _sig("waitpid", R.PID, _a("pid", K.PID), _a("wstatus", K.WSTATUS_OUT),
         _a("options", K.WAIT_OPTIONS)),
    _sig("umount", R.INT, _a("target", K.PATH)),
    _sig("socketcall", R.INT, _a("call", K.SOCKETCALL_CALL), _a("args", K.SOCKETCALL_ARGS)),
    _sig("sigreturn", R.NONE),
    _sig("sigaction", R.INT, _a("signum", K.SIGNAL), _a("act", K.OLD_SIGACTION_IN),
         _a("oldact", K.OLD_SIGACTION_OUT)),
    _sig("sigprocmask", R.INT, _a("how", K.SIGPROCMASK_HOW), _a("set", K.OLD_SIGSET),
         _a("oldset", K.OLD_SIGSET_OUT)),
    _sig("signal", R.PTR, _a("signum", K.SIGNAL), _a("handler", K.PTR)),
    *_same_args(("getuid32", "geteuid32"), R.UID),
    *_same_args(("getgid32", "getegid32"), R.GID),
    _sig("setuid32", R.INT, _a("uid", K.UID)),
    _sig("setgid32", R.INT, _a("gid", K.GID)),
    *_same_args(("chown32", "lchown32"), R.INT, _PATHNAME, _a("owner", K.UID),
                _a("group", K.GID)),
    _sig("fchown32", R.INT, _FD, _a("owner", K.UID), _a("group", K.GID)),
    _sig("olduname", R.INT, _a("buf", K.OLD_UTSNAME_OUT)),
    _sig("oldolduname", R.INT, _a("buf", K.OLDOLD_UTSNAME_OUT)),
    _sig("ugetrlimit", R.INT, _a("resource", K.RLIMIT_RESOURCE), _a("rlim", K.RLIMIT_OUT)),
    _sig("epoll_pwait2", R.INT, *_EPOLL_PWAIT2_HEAD, _a("timeout", K.TIMESPEC64_IN),
         *_EPOLL_PWAIT2_TAIL),
    # The 64-bit time_t variants a 32-bit process uses since Linux 5.1.
    _sig("clock_gettime64", R.INT, _a("clockid", K.CLOCK_ID), _a("tp", K.TIMESPEC64_OUT)),
    _sig("clock_settime64", R.INT, _a("clockid", K.CLOCK_ID), _a("tp", K.TIMESPEC64_IN)),
    _sig("clock_getres_time64", R.INT, _a("clockid", K.CLOCK_ID),
         _a("res", K.TIMESPEC64_OUT)),
    _sig("clock_nanosleep_time64", R.INT, _a("clockid", K.CLOCK_ID), _a("flags", K.HEX),
         _a("request", K.TIMESPEC64_IN), _a("remain", K.TIMESPEC64_REMAIN_OUT)),
    _sig("futex_time64", R.INT, _a("uaddr", K.PTR), _a("futex_op", K.FUTEX_OP),
         _a("val", K.UINT), _a("timeout", K.PTR), _a("uaddr2", K.PTR), _a("val3", K.UINT)),
    _sig("ppoll_time64", R.INT, _a("fds", K.POLLFDS_IN, length=1), _a("nfds", K.UINT),
         _a("tmo_p", K.TIMESPEC64_IN), _a("sigmask", K.SIGSET), _a("sigsetsize", K.SIZE)),
    _sig("pselect6_time64", R.INT, _a("nfds", K.INT), _a("readfds", K.FD_SET, length=0),
         _a("writefds", K.FD_SET, length=0), _a("exceptfds", K.FD_SET, length=0),
         _a("timeout", K.TIMESPEC64_IN), _a("sigmask", K.SIGSET_ARGPACK_IN)),
    _sig("utimensat_time64", R.INT, _DIRFD, _AT_PATHNAME, _a("times", K.TIMESPEC64_PAIR_IN),
         _a("flags", K.AT_FLAGS)),
    _sig("recvmmsg_time64", R.INT, _SOCKFD, _a("msgvec", K.MMSGHDR_OUT, length=2),
         _a("vlen", K.UINT), _a("flags", K.MSG_FLAGS), _a("timeout", K.TIMESPEC64_IN)),
    _sig("rt_sigtimedwait_time64", R.SIGNAL, _a("set", K.SIGSET), _a("info", K.SIGINFO_OUT),
         _a("timeout", K.TIMESPEC64_IN), _a("sigsetsize", K.SIZE)),
]

# --------------------------------------------------------------------------- the rest
# Every other syscall of the x86_64 and i386 tables, with strace's argument
# counts (its linux/*/syscallent.h) and the kernel's argument types; kinds
# without a decoder print as strace prints an undecoded value (numbers in
# decimal, pointers and flag words in hex).

_P = K.PTR
_H = K.HEX
_I = K.INT
_U = K.UINT


def _plain(name: str, ret: RetKind, *kinds: tuple[str, ArgKind]) -> Signature:
    return _sig(name, ret, *(_a(arg, kind) for arg, kind in kinds))


_XATTR_NAME = _a("name", K.STRING)

_MORE_COMMON: list[Signature] = [
    # files and descriptors
    *_same_args(("fsync", "fdatasync", "syncfs"), R.INT, _FD),
    _sig("sync", R.INT),
    _sig("flock", R.INT, _FD, _a("operation", K.FLOCK_OP)),
    _sig("acct", R.INT, _a("filename", K.PATH)),
    *_same_args(("swapoff",), R.INT, _a("path", K.PATH)),
    _sig("swapon", R.INT, _a("path", K.PATH), _a("swapflags", K.HEX)),
    _sig("pivot_root", R.INT, _a("new_root", K.PATH), _a("put_old", K.PATH)),
    _sig("uselib", R.INT, _a("library", K.PATH)),
    _sig("utime", R.INT, _PATHNAME, _a("times", K.PTR)),
    _sig("utimes", R.INT, _PATHNAME, _a("times", K.PTR)),
    _sig("futimesat", R.INT, _DIRFD, _AT_PATHNAME, _a("times", K.PTR)),
    _sig("ustat", R.INT, _a("dev", K.DEV), _a("ubuf", K.PTR)),
    _sig("name_to_handle_at", R.INT, _DIRFD, _AT_PATHNAME, _a("handle", K.PTR),
         _a("mount_id", K.PTR), _a("flags", K.AT_FLAGS)),
    _sig("open_by_handle_at", R.FD, _a("mount_fd", K.FD), _a("handle", K.PTR),
         _a("flags", K.OPEN_FLAGS)),
    _sig("open_tree", R.FD, _DIRFD, _AT_PATHNAME, _a("flags", K.HEX)),
    _sig("open_tree_attr", R.FD, _DIRFD, _AT_PATHNAME, _a("flags", K.HEX),
         _a("attr", K.PTR), _a("size", K.SIZE)),
    _sig("move_mount", R.INT, _a("from_dirfd", K.DIRFD), _a("from_path", K.PATH, dirfd=0),
         _a("to_dirfd", K.DIRFD), _a("to_path", K.PATH, dirfd=2), _a("flags", K.HEX)),
    _sig("mount_setattr", R.INT, _DIRFD, _AT_PATHNAME, _a("flags", K.AT_FLAGS),
         _a("attr", K.PTR), _a("size", K.SIZE)),
    _sig("fsopen", R.FD, _a("fsname", K.STRING), _a("flags", K.HEX)),
    _sig("fsconfig", R.INT, _FD, _a("cmd", K.UINT), _a("key", K.PTR), _a("value", K.PTR),
         _a("aux", K.INT)),
    _sig("fsmount", R.FD, _FD, _a("flags", K.HEX), _a("attr_flags", K.HEX)),
    _sig("fspick", R.FD, _DIRFD, _AT_PATHNAME, _a("flags", K.HEX)),
    _sig("file_getattr", R.INT, _DIRFD, _AT_PATHNAME, _a("attr", K.PTR), _a("size", K.SIZE),
         _a("flags", K.AT_FLAGS)),
    _sig("file_setattr", R.INT, _DIRFD, _AT_PATHNAME, _a("attr", K.PTR), _a("size", K.SIZE),
         _a("flags", K.AT_FLAGS)),
    _sig("quotactl", R.INT, _a("cmd", K.HEX), _a("special", K.PATH), _a("id", K.INT),
         _a("addr", K.PTR)),
    _sig("quotactl_fd", R.INT, _FD, _a("cmd", K.HEX), _a("id", K.INT), _a("addr", K.PTR)),
    _sig("tee", R.SIZE, _a("fd_in", K.FD), _a("fd_out", K.FD), _a("len", K.SIZE),
         _a("flags", K.SPLICE_FLAGS)),
    _sig("vmsplice", R.SIZE, _FD, _a("iov", K.PTR), _a("nr_segs", K.UINT),
         _a("flags", K.SPLICE_FLAGS)),
    _sig("cachestat", R.INT, _FD, _a("cstat_range", K.PTR), _a("cstat", K.PTR),
         _a("flags", K.HEX)),
    # extended attributes
    *_same_args(("setxattr", "lsetxattr"), R.INT, _PATHNAME, _XATTR_NAME,
                _a("value", K.DATA_IN, length=3), _a("size", K.SIZE),
                _a("flags", K.XATTR_FLAGS)),
    _sig("fsetxattr", R.INT, _FD, _XATTR_NAME, _a("value", K.DATA_IN, length=3),
         _a("size", K.SIZE), _a("flags", K.XATTR_FLAGS)),
    *_same_args(("getxattr", "lgetxattr"), R.SIZE, _PATHNAME, _XATTR_NAME,
                _a("value", K.DATA_OUT, length=3), _a("size", K.SIZE)),
    _sig("fgetxattr", R.SIZE, _FD, _XATTR_NAME, _a("value", K.DATA_OUT, length=3),
         _a("size", K.SIZE)),
    *_same_args(("listxattr", "llistxattr"), R.SIZE, _PATHNAME,
                _a("list", K.DATA_OUT, length=2), _a("size", K.SIZE)),
    _sig("flistxattr", R.SIZE, _FD, _a("list", K.DATA_OUT, length=2), _a("size", K.SIZE)),
    *_same_args(("removexattr", "lremovexattr"), R.INT, _PATHNAME, _XATTR_NAME),
    _sig("fremovexattr", R.INT, _FD, _XATTR_NAME),
    _sig("setxattrat", R.INT, _DIRFD, _AT_PATHNAME, _a("at_flags", K.AT_FLAGS), _XATTR_NAME,
         _a("uargs", K.PTR), _a("usize", K.SIZE)),
    _sig("getxattrat", R.SIZE, _DIRFD, _AT_PATHNAME, _a("at_flags", K.AT_FLAGS), _XATTR_NAME,
         _a("uargs", K.PTR), _a("usize", K.SIZE)),
    _sig("listxattrat", R.SIZE, _DIRFD, _AT_PATHNAME, _a("at_flags", K.AT_FLAGS),
         _a("list", K.DATA_OUT, length=4), _a("size", K.SIZE)),
    _sig("removexattrat", R.INT, _DIRFD, _AT_PATHNAME, _a("at_flags", K.AT_FLAGS),
         _XATTR_NAME),
    # memory
    *_same_args(("mlock", "munlock"), R.INT, _a("addr", K.PTR), _a("len", K.SIZE)),
    _sig("mlock2", R.INT, _a("addr", K.PTR), _a("len", K.SIZE), _a("flags", K.MLOCK_FLAGS)),
    _sig("mlockall", R.INT, _a("flags", K.MLOCKALL_FLAGS)),
    _sig("munlockall", R.INT),
    _sig("msync", R.INT, _a("addr", K.PTR), _a("length", K.SIZE),
         _a("flags", K.MSYNC_FLAGS)),
    _sig("mincore", R.INT, _a("addr", K.PTR), _a("length", K.SIZE),
         _a("vec", K.MINCORE_VEC_OUT, length=1)),
    _sig("mseal", R.INT, _a("addr", K.PTR), _a("len", K.SIZE), _a("flags", K.HEX)),
    _sig("remap_file_pages", R.INT, _a("addr", K.PTR), _a("size", K.SIZE),
         _a("prot", K.MMAP_PROT), _a("pgoff", K.UINT), _a("flags", K.MMAP_FLAGS)),
    _sig("pkey_mprotect", R.INT, _a("addr", K.PTR), _a("len", K.SIZE),
         _a("prot", K.MMAP_PROT), _a("pkey", K.INT)),
    _sig("pkey_alloc", R.INT, _a("flags", K.HEX), _a("access_rights", K.HEX)),
    _sig("pkey_free", R.INT, _a("pkey", K.INT)),
    _sig("mbind", R.INT, _a("addr", K.PTR), _a("len", K.SIZE), _a("mode", K.MPOL_MODE),
         _a("nodemask", K.NODEMASK_IN, length=4), _a("maxnode", K.UINT),
         _a("flags", K.MBIND_FLAGS)),
    _sig("get_mempolicy", R.INT, _a("mode", K.MPOL_MODE_OUT),
         _a("nodemask", K.NODEMASK_OUT, length=2), _a("maxnode", K.UINT), _a("addr", K.PTR),
         _a("flags", K.GET_MEMPOLICY_FLAGS)),
    _sig("set_mempolicy", R.INT, _a("mode", K.MPOL_MODE),
         _a("nodemask", K.NODEMASK_IN, length=2), _a("maxnode", K.UINT)),
    _sig("set_mempolicy_home_node", R.INT, _a("start", K.PTR), _a("len", K.SIZE),
         _a("home_node", K.UINT), _a("flags", K.HEX)),
    _sig("migrate_pages", R.INT, _a("pid", K.PID), _a("maxnode", K.UINT),
         _a("old_nodes", K.NODEMASK_IN, length=1), _a("new_nodes", K.NODEMASK_IN, length=1)),
    _sig("move_pages", R.INT, _a("pid", K.PID), _a("count", K.UINT), _a("pages", K.PTR),
         _a("nodes", K.PTR), _a("status", K.PTR), _a("flags", K.HEX)),
    _sig("memfd_secret", R.FD, _a("flags", K.HEX)),
    _sig("map_shadow_stack", R.PTR, _a("addr", K.PTR), _a("size", K.SIZE),
         _a("flags", K.HEX)),
    _sig("process_madvise", R.SIZE, _a("pidfd", K.FD), _a("iovec", K.PTR),
         _a("vlen", K.SIZE), _a("advice", K.MADVISE_ADVICE), _a("flags", K.HEX)),
    _sig("process_mrelease", R.INT, _a("pidfd", K.FD), _a("flags", K.HEX)),
    # The local vectors' data is the caller's memory, moved through no descriptor
    # (GIO fd -1); the remote vectors are addresses in the other process.
    _sig("process_vm_readv", R.SIZE, _a("pid", K.PID), _a("local_iov", K.IOVEC_OUT, length=2),
         _a("liovcnt", K.UINT), _a("remote_iov", K.REMOTE_IOVEC, length=4),
         _a("riovcnt", K.UINT), _a("flags", K.UINT)),
    _sig("process_vm_writev", R.SIZE, _a("pid", K.PID), _a("local_iov", K.IOVEC_IN, length=2),
         _a("liovcnt", K.UINT), _a("remote_iov", K.REMOTE_IOVEC, length=4),
         _a("riovcnt", K.UINT), _a("flags", K.UINT)),
    # processes, ids, scheduling
    _sig("pause", R.INT),
    _sig("alarm", R.INT, _a("seconds", K.UINT)),
    _sig("personality", R.HEX, _a("persona", K.PERSONALITY)),
    _sig("unshare", R.INT, _a("flags", K.CLONE_FLAGS)),
    _sig("setns", R.INT, _FD, _a("nstype", K.CLONE_FLAGS)),
    _sig("times", R.INT, _a("buf", K.TMS_OUT)),
    _sig("getrusage", R.INT, _a("who", K.RUSAGE_WHO), _a("usage", K.RUSAGE_OUT)),
    _sig("getpriority", R.INT, _a("which", K.PRIO_WHICH), _a("who", K.INT)),
    _sig("setpriority", R.INT, _a("which", K.PRIO_WHICH), _a("who", K.INT),
         _a("prio", K.INT)),
    _sig("getgroups", R.INT, _a("size", K.INT), _a("list", K.GIDS_OUT)),
    _sig("setgroups", R.INT, _a("size", K.INT), _a("list", K.GIDS_IN, length=0)),
    *_same_args(("setreuid",), R.INT, _a("ruid", K.UID), _a("euid", K.UID)),
    *_same_args(("setregid",), R.INT, _a("rgid", K.GID), _a("egid", K.GID)),
    _sig("setresuid", R.INT, _a("ruid", K.UID), _a("euid", K.UID), _a("suid", K.UID)),
    _sig("setresgid", R.INT, _a("rgid", K.GID), _a("egid", K.GID), _a("sgid", K.GID)),
    _sig("setfsuid", R.INT, _a("fsuid", K.UID)),
    _sig("setfsgid", R.INT, _a("fsgid", K.GID)),
    _sig("capget", R.INT, _a("hdrp", K.CAP_HEADER_IN),
         _a("datap", K.CAP_DATA_OUT, length=0)),
    _sig("capset", R.INT, _a("hdrp", K.CAP_HEADER_IN),
         _a("datap", K.CAP_DATA_IN, length=0)),
    _sig("sched_yield", R.INT),
    *_same_args(("sched_get_priority_max", "sched_get_priority_min"), R.INT,
                _a("policy", K.SCHED_POLICY)),
    _sig("sched_getscheduler", R.INT, _a("pid", K.PID)),
    # struct sched_param is one int, the priority (strace: "[0]")
    _sig("sched_setscheduler", R.INT, _a("pid", K.PID), _a("policy", K.SCHED_POLICY),
         _a("param", K.INT_IN)),
    _sig("sched_getparam", R.INT, _a("pid", K.PID), _a("param", K.INT_OUT)),
    _sig("sched_setparam", R.INT, _a("pid", K.PID), _a("param", K.INT_IN)),
    _sig("sched_getaffinity", R.INT, _a("pid", K.PID), _a("cpusetsize", K.SIZE),
         _a("mask", K.CPUSET_OUT, length=1)),
    _sig("sched_setaffinity", R.INT, _a("pid", K.PID), _a("cpusetsize", K.SIZE),
         _a("mask", K.CPUSET_IN, length=1)),
    _sig("sched_getattr", R.INT, _a("pid", K.PID), _a("attr", K.SCHED_ATTR_OUT, length=2),
         _a("size", K.UINT), _a("flags", K.HEX)),
    _sig("sched_setattr", R.INT, _a("pid", K.PID), _a("attr", K.SCHED_ATTR_IN),
         _a("flags", K.HEX)),
    _sig("sched_rr_get_interval", R.INT, _a("pid", K.PID), _a("tp", K.TIMESPEC_OUT)),
    _sig("getcpu", R.INT, _a("cpu", K.PTR), _a("node", K.PTR), _a("tcache", K.PTR)),
    _sig("ioprio_get", R.INT, _a("which", K.IOPRIO_WHICH), _a("who", K.INT)),
    _sig("ioprio_set", R.INT, _a("which", K.IOPRIO_WHICH), _a("who", K.INT),
         _a("ioprio", K.IOPRIO)),
    _sig("ptrace", R.INT, _a("request", K.PTRACE_REQUEST), _a("pid", K.PID), _a("addr", K.PTR),
         _a("data", K.PTR)),
    _sig("kcmp", R.INT, _a("pid1", K.PID), _a("pid2", K.PID), _a("type", K.KCMP_TYPE),
         _a("idx1", K.HEX), _a("idx2", K.HEX)),
    _sig("seccomp", R.INT, _a("operation", K.SECCOMP_OP), _a("flags", K.SECCOMP_FLAGS),
         _a("args", K.PTR)),
    _sig("membarrier", R.INT, _a("cmd", K.MEMBARRIER_CMD), _a("flags", K.MEMBARRIER_FLAGS),
         _a("cpu_id", K.INT)),
    _sig("restart_syscall", R.INT),
    _sig("vhangup", R.INT),
    _sig("pidfd_open", R.FD, _a("pid", K.PID), _a("flags", K.HEX)),
    _sig("pidfd_getfd", R.FD, _a("pidfd", K.FD), _a("targetfd", K.INT), _a("flags", K.HEX)),
    _sig("pidfd_send_signal", R.INT, _a("pidfd", K.FD), _a("sig", K.SIGNAL),
         _a("info", K.SIGINFO_IN), _a("flags", K.HEX)),
    _sig("rt_tgsigqueueinfo", R.INT, _a("tgid", K.PID), _a("tid", K.PID),
         _a("sig", K.SIGNAL), _a("info", K.SIGINFO_IN)),
    _sig("signalfd", R.FD, _FD, _a("mask", K.SIGSET), _a("sizemask", K.SIZE)),
    _sig("signalfd4", R.FD, _FD, _a("mask", K.SIGSET), _a("sizemask", K.SIZE),
         _a("flags", K.SIGNALFD_FLAGS)),
    # time
    _sig("time", R.INT, _a("tloc", K.PTR)),
    _sig("gettimeofday", R.INT, _a("tv", K.TIMEVAL_OUT), _a("tz", K.PTR)),
    _sig("settimeofday", R.INT, _a("tv", K.TIMEVAL_IN), _a("tz", K.PTR)),
    _sig("adjtimex", R.INT, _a("buf", K.TIMEX_INOUT)),
    _sig("clock_adjtime", R.INT, _a("clk_id", K.CLOCK_ID), _a("buf", K.TIMEX_INOUT)),
    _sig("getitimer", R.INT, _a("which", K.ITIMER_WHICH), _a("curr_value", K.ITIMERVAL_OUT)),
    _sig("setitimer", R.INT, _a("which", K.ITIMER_WHICH), _a("new_value", K.ITIMERVAL_IN),
         _a("old_value", K.ITIMERVAL_OUT)),
    _sig("timer_create", R.INT, _a("clockid", K.CLOCK_ID), _a("sevp", K.SIGEVENT_IN),
         _a("timerid", K.INT_OUT)),
    _sig("timer_delete", R.INT, _a("timerid", K.INT)),
    _sig("timer_getoverrun", R.INT, _a("timerid", K.INT)),
    _sig("timer_gettime", R.INT, _a("timerid", K.INT), _a("curr_value", K.ITIMERSPEC_OUT)),
    _sig("timer_settime", R.INT, _a("timerid", K.INT), _a("flags", K.TIMER_FLAGS),
         _a("new_value", K.ITIMERSPEC_IN), _a("old_value", K.ITIMERSPEC_OUT)),
    _sig("timerfd_create", R.FD, _a("clockid", K.CLOCK_ID), _a("flags", K.TIMERFD_FLAGS)),
    _sig("timerfd_gettime", R.INT, _FD, _a("curr_value", K.ITIMERSPEC_OUT)),
    _sig("timerfd_settime", R.INT, _FD, _a("flags", K.TIMERFD_FLAGS),
         _a("new_value", K.ITIMERSPEC_IN),
         _a("old_value", K.ITIMERSPEC_OUT)),
    # futexes
    _sig("futex_waitv", R.INT, _a("waiters", K.PTR), _a("nr_futexes", K.UINT),
         _a("flags", K.HEX), _a("timeout", K.PTR), _a("clockid", K.CLOCK_ID)),
    _sig("futex_wake", R.INT, _a("uaddr", K.PTR), _a("mask", K.HEX), _a("nr", K.INT),
         _a("flags", K.HEX)),
    _sig("futex_wait", R.INT, _a("uaddr", K.PTR), _a("val", K.HEX), _a("mask", K.HEX),
         _a("flags", K.HEX), _a("timeout", K.PTR), _a("clockid", K.CLOCK_ID)),
    _sig("futex_requeue", R.INT, _a("waiters", K.PTR), _a("flags", K.HEX),
         _a("nr_wake", K.INT), _a("nr_requeue", K.INT)),
    # System V IPC and message queues
    _sig("msgget", R.INT, _a("key", K.IPC_KEY), _a("msgflg", K.IPC_FLAGS)),
    _sig("msgsnd", R.INT, _a("msqid", K.INT), _a("msgp", K.MSGBUF_IN, length=2),
         _a("msgsz", K.SIZE), _a("msgflg", K.MSGFLG)),
    _sig("msgrcv", R.SIZE, _a("msqid", K.INT), _a("msgp", K.MSGBUF_OUT, length=2),
         _a("msgsz", K.SIZE), _a("msgtyp", K.INT), _a("msgflg", K.MSGFLG)),
    _sig("msgctl", R.INT, _a("msqid", K.INT), _a("cmd", K.IPC_CMD), _a("buf", K.PTR)),
    _sig("semget", R.INT, _a("key", K.IPC_KEY), _a("nsems", K.INT),
         _a("semflg", K.IPC_FLAGS)),
    _sig("semctl", R.INT, _a("semid", K.INT), _a("semnum", K.INT), _a("cmd", K.IPC_CMD),
         _a("arg", K.PTR)),
    _sig("shmget", R.INT, _a("key", K.IPC_KEY), _a("size", K.SIZE),
         _a("shmflg", K.IPC_FLAGS)),
    _sig("shmat", R.PTR, _a("shmid", K.INT), _a("shmaddr", K.PTR),
         _a("shmflg", K.SHMAT_FLAGS)),
    _sig("shmdt", R.INT, _a("shmaddr", K.PTR)),
    _sig("shmctl", R.INT, _a("shmid", K.INT), _a("cmd", K.IPC_CMD), _a("buf", K.PTR)),
    _sig("mq_open", R.FD, _a("name", K.PATH_STRING), _a("oflag", K.OPEN_FLAGS), _MODE,
         _a("attr", K.MQ_ATTR_IN)),
    _sig("mq_unlink", R.INT, _a("name", K.PATH_STRING)),
    _sig("mq_timedsend", R.INT, _a("mqdes", K.FD), _a("msg_ptr", K.PTR),
         _a("msg_len", K.SIZE), _a("msg_prio", K.UINT), _a("abs_timeout", K.TIMESPEC_IN)),
    _sig("mq_timedreceive", R.SIZE, _a("mqdes", K.FD), _a("msg_ptr", K.PTR),
         _a("msg_len", K.SIZE), _a("msg_prio", K.PTR), _a("abs_timeout", K.TIMESPEC_IN)),
    _sig("mq_notify", R.INT, _a("mqdes", K.FD), _a("sevp", K.PTR)),
    _sig("mq_getsetattr", R.INT, _a("mqdes", K.FD), _a("newattr", K.PTR),
         _a("oldattr", K.PTR)),
    # asynchronous I/O
    _sig("io_setup", R.INT, _a("nr_events", K.UINT), _a("ctx_idp", K.PTR)),
    _sig("io_destroy", R.INT, _a("ctx_id", K.HEX)),
    _sig("io_submit", R.INT, _a("ctx_id", K.HEX), _a("nr", K.INT), _a("iocbpp", K.PTR)),
    _sig("io_cancel", R.INT, _a("ctx_id", K.HEX), _a("iocb", K.PTR), _a("result", K.PTR)),
    _sig("io_getevents", R.INT, _a("ctx_id", K.HEX), _a("min_nr", K.INT), _a("nr", K.INT),
         _a("events", K.PTR), _a("timeout", K.TIMESPEC_IN)),
    _sig("io_pgetevents", R.INT, _a("ctx_id", K.HEX), _a("min_nr", K.INT), _a("nr", K.INT),
         _a("events", K.PTR), _a("timeout", K.TIMESPEC_IN), _a("usig", K.PTR)),
    _sig("io_uring_setup", R.FD, _a("entries", K.UINT), _a("p", K.IO_URING_PARAMS_INOUT)),
    _sig("io_uring_enter", R.INT, _FD, _a("to_submit", K.UINT), _a("min_complete", K.UINT),
         _a("flags", K.HEX), _a("sig", K.PTR), _a("sz", K.SIZE)),
    _sig("io_uring_register", R.INT, _FD, _a("opcode", K.UINT), _a("arg", K.PTR),
         _a("nr_args", K.UINT)),
    # notification, security, kernel
    _sig("fanotify_init", R.FD, _a("flags", K.FANOTIFY_INIT_FLAGS),
         _a("event_f_flags", K.OPEN_FLAGS)),
    _sig("userfaultfd", R.FD, _a("flags", K.HEX)),
    _sig("perf_event_open", R.FD, _a("attr", K.PTR), _a("pid", K.PID), _a("cpu", K.INT),
         _a("group_fd", K.FD), _a("flags", K.HEX)),
    _sig("bpf", R.INT, _a("cmd", K.BPF_CMD), _a("attr", K.PTR), _a("size", K.UINT)),
    _sig("landlock_create_ruleset", R.FD, _a("attr", K.PTR), _a("size", K.SIZE),
         _a("flags", K.LANDLOCK_RULESET_FLAGS)),
    _sig("landlock_add_rule", R.INT, _a("ruleset_fd", K.FD), _a("rule_type", K.INT),
         _a("rule_attr", K.PTR), _a("flags", K.HEX)),
    _sig("landlock_restrict_self", R.INT, _a("ruleset_fd", K.FD), _a("flags", K.HEX)),
    _sig("lsm_get_self_attr", R.INT, _a("attr", K.UINT), _a("ctx", K.PTR),
         _a("size", K.PTR), _a("flags", K.HEX)),
    _sig("lsm_set_self_attr", R.INT, _a("attr", K.UINT), _a("ctx", K.PTR),
         _a("size", K.UINT), _a("flags", K.HEX)),
    _sig("lsm_list_modules", R.INT, _a("ids", K.PTR), _a("size", K.PTR), _a("flags", K.HEX)),
    _sig("statmount", R.INT, _a("req", K.PTR), _a("buf", K.PTR), _a("bufsize", K.SIZE),
         _a("flags", K.HEX)),
    _sig("listmount", R.INT, _a("req", K.PTR), _a("mnt_ids", K.PTR), _a("nr_mnt_ids", K.SIZE),
         _a("flags", K.HEX)),
    _sig("add_key", R.INT, _a("type", K.STRING), _a("description", K.STRING),
         _a("payload", K.DATA_IN, length=3), _a("plen", K.SIZE), _a("keyring", K.KEY_SERIAL)),
    _sig("request_key", R.INT, _a("type", K.STRING), _a("description", K.STRING),
         _a("callout_info", K.STRING), _a("dest_keyring", K.KEY_SERIAL)),
    # keyctl's arguments depend on its command (ktr._builder captures the
    # strings and data some commands pass; ktrdump decodes them by command)
    _sig("keyctl", R.INT, _a("operation", K.KEYCTL_CMD), _a("arg2", K.HEX), _a("arg3", K.HEX),
         _a("arg4", K.HEX), _a("arg5", K.HEX)),
    _sig("init_module", R.INT, _a("module_image", K.PTR), _a("len", K.SIZE),
         _a("param_values", K.STRING)),
    _sig("finit_module", R.INT, _FD, _a("param_values", K.STRING), _a("flags", K.HEX)),
    _sig("delete_module", R.INT, _a("name", K.STRING), _a("flags", K.DELETE_MODULE_FLAGS)),
    _sig("create_module", R.PTR, _a("name", K.STRING), _a("size", K.SIZE)),
    _sig("query_module", R.INT, _a("name", K.STRING), _a("which", K.INT), _a("buf", K.PTR),
         _a("bufsize", K.SIZE), _a("ret", K.PTR)),
    _sig("get_kernel_syms", R.INT, _a("table", K.PTR)),
    _sig("kexec_load", R.INT, _a("entry", K.HEX), _a("nr_segments", K.UINT),
         _a("segments", K.PTR), _a("flags", K.HEX)),
    _sig("reboot", R.INT, _a("magic", K.HEX), _a("magic2", K.HEX), _a("cmd", K.HEX),
         _a("arg", K.PTR)),
    _sig("sethostname", R.INT, _a("name", K.DATA_IN, length=1), _a("len", K.SIZE)),
    _sig("setdomainname", R.INT, _a("name", K.DATA_IN, length=1), _a("len", K.SIZE)),
    _sig("syslog", R.INT, _a("type", K.INT), _a("bufp", K.PTR), _a("len", K.INT)),
    _sig("sysfs", R.INT, _a("option", K.INT), _a("arg1", K.HEX), _a("arg2", K.HEX)),
    _sig("_sysctl", R.INT, _a("args", K.PTR)),
    _sig("nfsservctl", R.INT, _a("cmd", K.INT), _a("argp", K.PTR), _a("resp", K.PTR)),
    _sig("ioperm", R.INT, _a("from", K.HEX), _a("num", K.HEX), _a("turn_on", K.INT)),
    _sig("iopl", R.INT, _a("level", K.INT)),
    _sig("modify_ldt", R.INT, _a("func", K.INT), _a("ptr", K.PTR), _a("bytecount", K.SIZE)),
    _sig("getpmsg", R.INT, _FD, _a("ctlptr", K.PTR), _a("dataptr", K.PTR),
         _a("bandp", K.PTR), _a("flagsp", K.PTR)),
    _sig("putpmsg", R.INT, _FD, _a("ctlptr", K.PTR), _a("dataptr", K.PTR),
         _a("band", K.INT), _a("flags", K.HEX)),
    _sig("afs_syscall", R.INT, _a("arg1", K.HEX), _a("arg2", K.HEX), _a("arg3", K.HEX),
         _a("arg4", K.HEX), _a("arg5", K.HEX)),
    _sig("vserver", R.INT, _a("arg1", K.HEX), _a("arg2", K.HEX), _a("arg3", K.HEX),
         _a("arg4", K.HEX), _a("arg5", K.HEX)),
    _sig("get_thread_area", R.INT, _a("u_info", K.PTR)),
    _sig("set_thread_area", R.INT, _a("u_info", K.USER_DESC_IN)),
]

_MORE_X86_64: list[Signature] = [
    _sig("getresuid", R.INT, _a("ruid", K.ID_OUT), _a("euid", K.ID_OUT),
         _a("suid", K.ID_OUT)),
    _sig("getresgid", R.INT, _a("rgid", K.ID_OUT), _a("egid", K.ID_OUT),
         _a("sgid", K.ID_OUT)),
    _sig("fadvise64", R.INT, _FD, _a("offset", K.OFFSET), _a("len", K.SIZE),
         _a("advice", K.FADVISE_ADVICE)),
    _sig("fallocate", R.INT, _FD, _a("mode", K.HEX), _a("offset", K.OFFSET),
         _a("len", K.OFFSET)),
    _sig("readahead", R.INT, _FD, _a("offset", K.OFFSET), _a("count", K.SIZE)),
    _sig("sync_file_range", R.INT, _FD, _a("offset", K.OFFSET), _a("nbytes", K.OFFSET),
         _a("flags", K.HEX)),
    _sig("lookup_dcookie", R.INT, _a("cookie", K.UINT), _a("buffer", K.PTR),
         _a("len", K.SIZE)),
    _sig("fanotify_mark", R.INT, _a("fanotify_fd", K.FD), _a("flags", K.FANOTIFY_MARK_FLAGS),
         _a("mask", K.FANOTIFY_MASK), _DIRFD, _a("pathname", K.PATH, dirfd=3)),
    # the command line is as long as cmdline_len says (its NUL included)
    _sig("kexec_file_load", R.INT, _a("kernel_fd", K.FD), _a("initrd_fd", K.FD),
         _a("cmdline_len", K.SIZE), _a("cmdline", K.DATA_IN, length=2),
         _a("flags", K.KEXEC_FILE_FLAGS)),
    _sig("semop", R.INT, _a("semid", K.INT), _a("sops", K.SEMBUF_IN, length=2),
         _a("nsops", K.SIZE)),
    _sig("semtimedop", R.INT, _a("semid", K.INT), _a("sops", K.SEMBUF_IN, length=2),
         _a("nsops", K.SIZE), _a("timeout", K.TIMESPEC_IN)),
    *_same_args(("security", "tuxcall"), R.INT,
                _a("arg1", K.HEX), _a("arg2", K.HEX), _a("arg3", K.HEX)),
    *_same_args(("epoll_ctl_old", "epoll_wait_old"), R.INT, _a("arg1", K.HEX),
                _a("arg2", K.HEX), _a("arg3", K.HEX), _a("arg4", K.HEX)),
    _sig("uretprobe", R.INT),
    _sig("uprobe", R.INT),
]

_OFF_LOW = _a("offset_low", K.OFFSET_LOW)
_OFF_HIGH = _a("offset_high", K.OFFSET_HIGH)
_LEN_LOW = _a("len_low", K.OFFSET_LOW)
_LEN_HIGH = _a("len_high", K.OFFSET_HIGH)

_MORE_I386: list[Signature] = [
    # 64-bit values split over two registers (low word first on i386).
    _sig("fadvise64", R.INT, _FD, _OFF_LOW, _OFF_HIGH, _a("len", K.SIZE),
         _a("advice", K.FADVISE_ADVICE)),
    _sig("fadvise64_64", R.INT, _FD, _OFF_LOW, _OFF_HIGH, _LEN_LOW, _LEN_HIGH,
         _a("advice", K.FADVISE_ADVICE)),
    _sig("fallocate", R.INT, _FD, _a("mode", K.HEX), _OFF_LOW, _OFF_HIGH, _LEN_LOW,
         _LEN_HIGH),
    _sig("readahead", R.INT, _FD, _OFF_LOW, _OFF_HIGH, _a("count", K.SIZE)),
    _sig("sync_file_range", R.INT, _FD, _OFF_LOW, _OFF_HIGH, _LEN_LOW, _LEN_HIGH,
         _a("flags", K.HEX)),
    _sig("lookup_dcookie", R.INT, _a("cookie_low", K.OFFSET_LOW),
         _a("cookie_high", K.OFFSET_HIGH), _a("buffer", K.PTR), _a("len", K.SIZE)),
    _sig("fanotify_mark", R.INT, _a("fanotify_fd", K.FD), _a("flags", K.FANOTIFY_MARK_FLAGS),
         _a("mask_low", K.OFFSET_LOW), _a("mask_high", K.OFFSET_HIGH), _DIRFD,
         _a("pathname", K.PATH, dirfd=4)),
    # i386's getgroups/setgroups take 16-bit ids (old_gid_t): not decoded
    _sig("getgroups", R.INT, _a("size", K.INT), _a("list", K.PTR)),
    _sig("setgroups", R.INT, _a("size", K.INT), _a("list", K.PTR)),
    # the 32-bit-id variants and old calls of i386
    _sig("getgroups32", R.INT, _a("size", K.INT), _a("list", K.GIDS_OUT)),
    _sig("setgroups32", R.INT, _a("size", K.INT), _a("list", K.GIDS_IN, length=0)),
    _sig("setreuid32", R.INT, _a("ruid", K.UID), _a("euid", K.UID)),
    _sig("setregid32", R.INT, _a("rgid", K.GID), _a("egid", K.GID)),
    _sig("setresuid32", R.INT, _a("ruid", K.UID), _a("euid", K.UID), _a("suid", K.UID)),
    _sig("setresgid32", R.INT, _a("rgid", K.GID), _a("egid", K.GID), _a("sgid", K.GID)),
    _sig("getresuid", R.INT, _a("ruid", K.OLD_ID_OUT), _a("euid", K.OLD_ID_OUT),
         _a("suid", K.OLD_ID_OUT)),
    _sig("getresgid", R.INT, _a("rgid", K.OLD_ID_OUT), _a("egid", K.OLD_ID_OUT),
         _a("sgid", K.OLD_ID_OUT)),
    _sig("getresuid32", R.INT, _a("ruid", K.ID_OUT), _a("euid", K.ID_OUT),
         _a("suid", K.ID_OUT)),
    _sig("getresgid32", R.INT, _a("rgid", K.ID_OUT), _a("egid", K.ID_OUT),
         _a("sgid", K.ID_OUT)),
    _sig("setfsuid32", R.INT, _a("fsuid", K.UID)),
    _sig("setfsgid32", R.INT, _a("fsgid", K.GID)),
    _sig("nice", R.INT, _a("inc", K.INT)),
    _sig("stime", R.INT, _a("t", K.PTR)),
    _sig("ulimit", R.INT, _a("cmd", K.INT), _a("newlimit", K.INT)),
    _sig("sgetmask", R.HEX),
    _sig("ssetmask", R.HEX, _a("newmask", K.HEX)),
    _sig("sigpending", R.INT, _a("set", K.OLD_SIGSET_OUT)),
    # i386 sigsuspend takes (history0, history1, mask): the mask is the third.
    _sig("sigsuspend", R.INT, _a("unused1", K.IGNORED), _a("unused2", K.IGNORED),
         _a("mask", K.HEX)),
    _sig("readdir", R.INT, _FD, _a("dirp", K.PTR), _a("count", K.UINT)),
    _sig("bdflush", R.INT, _a("func", K.INT), _a("data", K.HEX)),
    _sig("ipc", R.INT, _a("call", K.UINT), _a("first", K.INT), _a("second", K.INT),
         _a("third", K.INT), _a("ptr", K.PTR), _a("fifth", K.HEX)),
    _sig("vm86", R.INT, _a("fn", K.HEX), _a("v86", K.PTR), _a("arg3", K.HEX),
         _a("arg4", K.HEX), _a("arg5", K.HEX)),
    _sig("vm86old", R.INT, _a("info", K.PTR)),
    *_same_args(("break", "ftime", "idle", "lock", "mpx", "prof"), R.INT),
    *_same_args(("gtty", "stty"), R.INT, _a("arg1", K.HEX), _a("arg2", K.HEX)),
    _sig("profil", R.INT, _a("buf", K.PTR), _a("bufsiz", K.SIZE), _a("offset", K.HEX),
         _a("scale", K.UINT)),
    _sig("clock_adjtime64", R.INT, _a("clk_id", K.CLOCK_ID), _a("buf", K.TIMEX64_INOUT)),
    _sig("sched_rr_get_interval_time64", R.INT, _a("pid", K.PID),
         _a("tp", K.TIMESPEC64_OUT)),
    _sig("timer_gettime64", R.INT, _a("timerid", K.INT), _a("curr_value", K.PTR)),
    _sig("timer_settime64", R.INT, _a("timerid", K.INT), _a("flags", K.TIMER_FLAGS),
         _a("new_value", K.PTR), _a("old_value", K.PTR)),
    _sig("timerfd_gettime64", R.INT, _FD, _a("curr_value", K.PTR)),
    _sig("timerfd_settime64", R.INT, _FD, _a("flags", K.HEX), _a("new_value", K.PTR),
         _a("old_value", K.PTR)),
    _sig("io_pgetevents_time64", R.INT, _a("ctx_id", K.HEX), _a("min_nr", K.INT),
         _a("nr", K.INT), _a("events", K.PTR), _a("timeout", K.TIMESPEC64_IN),
         _a("usig", K.PTR)),
    _sig("mq_timedsend_time64", R.INT, _a("mqdes", K.FD), _a("msg_ptr", K.PTR),
         _a("msg_len", K.SIZE), _a("msg_prio", K.UINT), _a("abs_timeout", K.TIMESPEC64_IN)),
    _sig("mq_timedreceive_time64", R.SIZE, _a("mqdes", K.FD), _a("msg_ptr", K.PTR),
         _a("msg_len", K.SIZE), _a("msg_prio", K.PTR), _a("abs_timeout", K.TIMESPEC64_IN)),
    _sig("semtimedop_time64", R.INT, _a("semid", K.INT), _a("sops", K.SEMBUF_IN, length=2),
         _a("nsops", K.SIZE), _a("timeout", K.TIMESPEC64_IN)),
]


# --------------------------------------------------------------------------- x32

# x32's own entries (512..547) for these take the offset in one 64-bit register.
_X32_OVERRIDES: list[Signature] = [
    _sig("preadv", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET)),
    _sig("pwritev", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET)),
    _sig("preadv2", R.SIZE, _FD, _a("iov", K.IOVEC_OUT, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("flags", K.HEX)),
    _sig("pwritev2", R.SIZE, _FD, _a("iov", K.IOVEC_IN, length=2), _a("iovcnt", K.INT),
         _a("offset", K.OFFSET), _a("flags", K.HEX)),
]

# --------------------------------------------------------------------------- socketcall

#: i386 socketcall's first argument (include/uapi/linux/net.h SYS_*) -> the call it makes.
SOCKETCALLS: Mapping[int, str] = MappingProxyType({
    1: "socket", 2: "bind", 3: "connect", 4: "listen", 5: "accept", 6: "getsockname",
    7: "getpeername", 8: "socketpair", 9: "send", 10: "recv", 11: "sendto", 12: "recvfrom",
    13: "shutdown", 14: "setsockopt", 15: "getsockopt", 16: "sendmsg", 17: "recvmsg",
    18: "accept4", 19: "recvmmsg", 20: "sendmmsg",
})

# send and recv exist only as socketcall subcalls, not as syscalls of any x86 ABI.
_SOCKETCALL_ONLY: list[Signature] = [
    _sig("send", R.SIZE, _SOCKFD, _a("buf", K.BUF_IN, length=2), _a("len", K.SIZE),
         _a("flags", K.MSG_FLAGS)),
    _sig("recv", R.SIZE, _SOCKFD, _a("buf", K.BUF_OUT, length=2), _a("len", K.SIZE),
         _a("flags", K.MSG_FLAGS)),
]


def _index(*groups: Iterable[Signature]) -> dict[str, Signature]:
    """Name -> signature; a later group overrides an earlier one, a repeat within one fails."""
    table: dict[str, Signature] = {}
    for group in groups:
        names_in_group: set[str] = set()
        for signature in group:
            if signature.name in names_in_group:
                raise ValueError(f"signature {signature.name!r} written twice")
            names_in_group.add(signature.name)
            table[signature.name] = signature
    return table


def _in_table(signatures: Iterable[Signature], names: Iterable[str]) -> list[Signature]:
    known = set(names)
    return [signature for signature in signatures if signature.name in known]


_X86_64_MORE = _in_table(_MORE_COMMON, _syscalls_x86_64.NAMES.values())
_I386_MORE = _in_table(_MORE_COMMON, _syscalls_i386.NAMES.values())
X86_64_SIGNATURES: Mapping[str, Signature] = MappingProxyType(
    _index(_COMMON, _X86_64_ONLY, _X86_64_MORE, _MORE_X86_64))
I386_SIGNATURES: Mapping[str, Signature] = MappingProxyType(
    _index(_COMMON, _I386_ONLY, _I386_MORE, _MORE_I386))
#: x32 = the x86_64 signatures with the x32 overrides; filtered to x32's table by the caller.
X32_SIGNATURES_UNFILTERED: Mapping[str, Signature] = MappingProxyType(
    _index(_COMMON, _X86_64_ONLY, _X86_64_MORE, _MORE_X86_64, _X32_OVERRIDES)
)
_SOCKETCALL_TARGETS = _index(_COMMON, _X86_64_ONLY, _SOCKETCALL_ONLY)
#: Signature of each socketcall subcall, by SOCKETCALLS number (words read from ``args``).
SOCKETCALL_SIGNATURES: Mapping[int, Signature] = MappingProxyType(
    {call: _SOCKETCALL_TARGETS[name] for call, name in SOCKETCALLS.items()}
)
