"""Typed records: what one trace record means, independent of its bytes.

Guarantees: every payload kind has one NamedTuple here whose fields are the
schema's fields in schema order, minus the length and count fields (those are
implied by the variable parts); ``_codec`` checks this at import time. Values
are raw: numbers stay numbers and byte strings stay bytes.

Does not: name syscalls, errnos or signals, or format anything for people.
"""

from __future__ import annotations

from typing import NamedTuple

from ._kinds import RecordKind


class Syscall(NamedTuple):
    nr: int
    abi: int
    flags: int
    args: tuple[int, ...]


class Sysret(NamedTuple):
    nr: int
    abi: int
    flags: int
    error: int  # errno, 0 on success
    retval: int
    duration_ns: int


class Namei(NamedTuple):
    path: bytes


class Genio(NamedTuple):
    fd: int
    direction: int
    flags: int
    transferred: int  # bytes the call moved; ``data`` may hold fewer
    data: bytes


class Psig(NamedTuple):
    signo: int
    code: int
    action: int  # 0 default, 1 ignore, otherwise the handler's address
    blocked: int  # blocked mask, bit n-1 for signal n
    siginfo: bytes


class Csw(NamedTuple):
    out: int  # 1 switched out, 0 back in
    user: int  # 1 a preemption (taken at a return to user mode), 0 asleep in the kernel
    flags: int  # CswFlag
    cpu: int  # the CPU it left or came back on; -1 unknown


class Cnt(NamedTuple):
    """One reading of a thread's counter group (libpctx's per-lwp sample)."""

    flags: int  # CntFlag
    enabled_ns: int  # time the group was enabled (perf's time_enabled)
    running_ns: int  # time it was counting (less than enabled if multiplexed)
    values: tuple[int, ...]  # cumulative since the thread came under control
    names: bytes  # the counters' names, each NUL-terminated, in ``values`` order

    def counter_names(self) -> list[bytes]:
        return split_nul_strings(self.names)

    def counters(self) -> dict[str, int]:
        """name → value."""
        return {name.decode("utf-8", "replace"): value
                for name, value in zip(self.counter_names(), self.values, strict=False)}


class Emul(NamedTuple):
    name: bytes


class User(NamedTuple):
    label: bytes
    data: bytes


class ExecArg(NamedTuple):
    data: bytes  # NUL-terminated strings, one after another

    def strings(self) -> list[bytes]:
        return split_nul_strings(self.data)


class ExecEnv(NamedTuple):
    data: bytes  # NUL-terminated strings, one after another

    def strings(self) -> list[bytes]:
        return split_nul_strings(self.data)


class Proc(NamedTuple):
    event: int
    flags: int
    child: int
    status: int
    signal: int
    detail: bytes  # exec path, or why control was lost


class Probe(NamedTuple):
    probe_id: int
    site: int
    pc: int
    offset: int
    value: int
    args: tuple[int, ...]
    name: bytes


class Sample(NamedTuple):
    pc: int
    sp: int
    stack: tuple[int, ...]


class Mmap(NamedTuple):
    start: int
    end: int
    offset: int
    prot: int
    flags: int
    build_id: bytes
    path: bytes


class Drop(NamedTuple):
    error: int  # a DropError value
    lost: int  # records lost for that reason since the previous DROP


class Struct(NamedTuple):
    """A structure a syscall argument pointed to, as the kernel's bytes (FreeBSD's KTR_STRUCT)."""

    abi: int  # the layout follows this ABI
    argument: int  # index of the syscall argument it was read from
    name: bytes  # what it is: b"stat", b"sockaddr", b"timespec", b"fds", ...
    data: bytes


class Unknown(NamedTuple):
    """A record of a kind this reader does not know; kept, not interpreted."""

    raw: bytes


Payload = (
    Syscall | Sysret | Namei | Genio | Psig | Csw | Emul | User | ExecArg | ExecEnv
    | Proc | Probe | Sample | Mmap | Drop | Struct | Cnt | Unknown
)

PAYLOAD_TYPES: dict[RecordKind, type[Payload]] = {
    RecordKind.SYSCALL: Syscall,
    RecordKind.SYSRET: Sysret,
    RecordKind.NAMEI: Namei,
    RecordKind.GENIO: Genio,
    RecordKind.PSIG: Psig,
    RecordKind.CSW: Csw,
    RecordKind.EMUL: Emul,
    RecordKind.USER: User,
    RecordKind.EXEC_ARG: ExecArg,
    RecordKind.EXEC_ENV: ExecEnv,
    RecordKind.PROC: Proc,
    RecordKind.PROBE: Probe,
    RecordKind.SAMPLE: Sample,
    RecordKind.MMAP: Mmap,
    RecordKind.DROP: Drop,
    RecordKind.STRUCT: Struct,
    RecordKind.CNT: Cnt,
}


class Record(NamedTuple):
    """One record: the fixed header's fields and the decoded payload."""

    kind: int  # a RecordKind value, or an unknown number
    version: int
    pid: int
    tid: int
    timestamp_ns: int
    comm: bytes  # NUL padding removed
    payload: Payload


def split_nul_strings(data: bytes) -> list[bytes]:
    """Split NUL-terminated strings; a missing final NUL still ends a string."""
    if not data:
        return []
    if data.endswith(b"\0"):
        data = data[:-1]
    return data.split(b"\0")


def join_nul_strings(strings: list[bytes]) -> bytes:
    """The inverse of ``split_nul_strings``: each string NUL-terminated."""
    return b"".join(s + b"\0" for s in strings)
