"""Typed records: what one trace record means, independent of its bytes.

Guarantees: every payload kind has one NamedTuple here whose fields are the
schema's fields in schema order, minus the length and count fields (those are
implied by the variable parts); ``_codec`` checks this at import time. Values
are raw: numbers stay numbers and byte strings stay bytes.

Does not: name syscalls, errnos or signals, or format anything for people.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

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
    site: int  # a ProbeSite value
    pc: int
    offset: int  # offset probes: bytes into the function
    value: int  # return probes: the return value
    args: tuple[int, ...]  # entry/offset probes: one raw value per typed argument
    name: bytes  # MODULE:FUNCTION (the module's file name)
    strings: bytes = b""  # per ``str`` value, in order: a length word, the bytes (SPEC.md)

    def string_values(self, byteorder: str = "little") -> list[bytes | None]:
        """The captured strings (None for an unreadable one); see ``PROBE_STRING_*``."""
        return split_probe_strings(self.strings, byteorder)


class ProbeDef(NamedTuple):
    """Names one probe of the trace: what PROBE records with this ``probe_id`` fired on."""

    probe_id: int
    site: int  # a ProbeSite value
    flags: int  # ProbeDefFlag bits
    file_offset: int  # where the uprobe sits, as an offset into ``module``
    function_vaddr: int  # link-time address of the function in ``module``
    function_size: int
    point_offset: int  # offset probes: bytes into the function; else 0
    string_cap: int  # longest string kept for a ``str`` argument
    types: bytes  # one ProbeArgType per argument (entry/offset) or for the return value
    module: bytes  # the module's path, as the target mapped it
    build_id: bytes  # hex, as text; empty when the module has none
    function: bytes
    alias: bytes  # the symbol the user named, when ``function`` implements it (IFUNC)


class Sample(NamedTuple):
    """A periodic sample of one thread (perf's PERF_RECORD_SAMPLE, stored raw)."""

    pc: int  # where the thread was (a kernel address when flags has KERNEL)
    period: int  # what the sample stands for: task-clock ns since the previous one
    cpu: int
    abi: int  # layout of ``regs`` (an Abi value; UNKNOWN: no user registers)
    flags: int  # SampleFlag bits
    regs_mask: int  # which perf_event x86 registers ``regs`` holds, lowest bit first
    stack_size: int  # bytes of user stack asked for (``--stack-bytes``)
    regs: tuple[int, ...]  # the user registers at the sample, in ``regs_mask`` order
    callchain: tuple[int, ...]  # the kernel's frame-pointer chain of user pcs, innermost first
    stack: bytes  # the user stack copied from the stack pointer up


class Mmap(NamedTuple):
    """A mapping of a process (perf's MMAP2, or /proc/PID/maps at attach)."""

    start: int
    end: int
    offset: int  # file offset of ``start``
    prot: int  # PROT_* bits
    flags: int  # MAP_* bits
    origin: int  # an MmapOrigin value
    build_id: bytes
    path: bytes  # as the kernel names it: a path, or "[vdso]", "[stack]", ...
    image: bytes  # the mapping's bytes when it has no file (the vDSO), else empty


class Drop(NamedTuple):
    error: int  # a DropError value
    ring: int  # ENOBUFS: the CPU whose perf ring lost them, plus one; 0 unknown
    lost: int  # records lost for that reason since the previous DROP

    @property
    def cpu(self) -> int | None:
        """The CPU whose perf ring lost the records; None if not known."""
        return self.ring - 1 if self.ring else None


class End(NamedTuple):
    """The last record of a recording: how it ended, as ``ktr record``'s summary says."""

    status: int  # the started command's exit status (128+signal if killed); -1: none
    flags: int  # EndFlag bits
    processes: int  # processes traced
    threads: int  # threads traced
    lost: int  # threads whose control was lost (LOST process events)
    detached: int  # processes left running when the recording stopped
    reason: bytes  # why it was stopped early (STOPPED_EARLY), else empty
    # Probes asked for but never placed (their module was never mapped, no function
    # matched): how many, and their specs (NUL-terminated UTF-8 strings). None: an END
    # written before these fields existed (unknown, not zero).
    unplaced: int | None = None
    unplaced_probes: bytes | None = None


class Begin(NamedTuple):
    """The first record of a recording: which recording starts here (an appended file
    holds several, and only one file header)."""

    recorder_pid: int  # the ktr record process that wrote the recording
    flags: int  # reserved (0)
    realtime_ns: int  # CLOCK_REALTIME when the recording started
    monotonic_ns: int  # CLOCK_MONOTONIC at the same moment
    version: bytes  # the recorder's version (UTF-8)
    options: bytes  # a JSON object (UTF-8): the recording's options, as the file header's


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
    | Proc | Probe | Sample | Mmap | Drop | Struct | Cnt | ProbeDef | End | Begin | Unknown
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
    RecordKind.PROBE_DEF: ProbeDef,
    RecordKind.END: End,
    RecordKind.BEGIN: Begin,
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


def split_probe_strings(data: bytes, byteorder: str = "little") -> list[bytes | None]:
    """PROBE.strings' values (None for an unreadable one): ``probe_strings.decode``'s
    entries without their truncated flags, and without the damage it reports (the
    whole entries before it are given)."""
    from ._probe_strings import decode

    return [entry.value for entry in decode(data, "big" if byteorder == "big" else "little")[0]]


def join_probe_strings(
    strings: list[bytes | None], truncated: list[bool] | None = None, byteorder: str = "little"
) -> bytes:
    """The inverse of ``split_probe_strings`` (``probe_strings.encode``)."""
    from ._probe_strings import encode

    flags = truncated if truncated else [False] * len(strings)
    return encode(zip(strings, flags, strict=True), "big" if byteorder == "big" else "little")
