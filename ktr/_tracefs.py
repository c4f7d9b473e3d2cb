"""THE tracefs adapter: find or mount tracefs, define and remove uprobe events, read formats.

tracefs is machine-wide state shared with every other tool (perf, bpftrace, other recorders).
This module is the only one in ktr that touches it, and it keeps to these rules:

- ``uprobe_events`` is only ever opened ``O_WRONLY | O_APPEND`` (a truncating open deletes every
  uprobe on the machine; Python's ``open(..., "a")`` fails with EINVAL there) and read.
- Each recording owns one group named ``ktr_<owner pid>_<pid namespace>_<owner start
  ticks>_<random hex>``; every event it defines lives there, so removing a recording's probes
  never touches anyone else's.
- ``UprobeGroup.remove()`` runs on every exit path: the owner calls it in ``finally``; an
  ``atexit`` hook catches what a crash skips; SIGINT/SIGTERM/SIGHUP end a recording through
  its normal path (the recorder's handlers) and so through ``finally`` too.
- ``clean_stale_groups()`` removes the groups of ktr processes that no longer exist (a
  recorder killed with SIGKILL): each ktr run that uses probes calls it first. It judges
  only groups of its own pid namespace (the group name says which): a recorder in another
  container on the same kernel, with the same host name or not, is never taken as gone; an
  owner pid that a later process reuses (another start time) is taken as gone.

Errors are ``TracefsError`` with the path and errno kept. An event must be closed (no perf
event open on it) before it can be removed (EBUSY otherwise): close consumers first.

Does not: open perf events (``_perf`` does) or decide what to probe (``_probes`` does).
"""

from __future__ import annotations

import atexit
import contextlib
import errno as errno_module
import os
import re
import secrets
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._procfs import pid_namespace, start_ticks
from .errors import KtrError, errno_text

__all__ = [
    "EventField",
    "EventFormat",
    "TracefsError",
    "UprobeDefinition",
    "UprobeGroup",
    "clean_stale_groups",
    "find_tracefs",
    "group_namespace",
    "group_owner",
    "group_owner_start",
    "list_uprobe_events",
]

GROUP_PREFIX = "ktr_"
#: ``ktr_<owner pid>_<pid namespace inode>_<owner start ticks>_<random hex>``;
#: before those were named, ``ktr_<owner pid>_<random hex>`` (not judged).
_GROUP_RE = re.compile(r"^ktr_(\d+)_(?:(\d+)_(\d+)_)?[0-9a-f]+$")
_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


class TracefsError(KtrError):
    """A tracefs operation failed: ``path`` and ``errno`` say where and why."""

    def __init__(self, message: str, path: str, error_number: int | None = None) -> None:
        detail = f": {errno_text(error_number)}" if error_number is not None else ""
        super().__init__(f"tracefs {path}: {message}{detail}")
        self.path = path
        self.errno = error_number


# -- finding tracefs --------------------------------------------------------------------------

_mount_lock = threading.Lock()


def _mounted_tracefs() -> str | None:
    try:
        with open("/proc/self/mounts", encoding="utf-8", errors="surrogateescape") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) >= 3 and fields[2] == "tracefs":
                    return fields[1].replace("\\040", " ")
    except OSError:
        return None
    return None


def find_tracefs(*, mount: bool = True) -> str:
    """The directory where tracefs is mounted; mounts it at /sys/kernel/tracing if needed.

    tracefs is one global instance wherever it is mounted, so any mount point will do.
    Raises ``TracefsError`` (EACCES/EPERM without root, ENODEV without tracefs support).
    """
    with _mount_lock:
        found = _mounted_tracefs()
        if found is not None:
            return found
        if not mount:
            raise TracefsError("tracefs is not mounted", _CANDIDATES[0], errno_module.ENOENT)
        target = _CANDIDATES[0]
        if not os.path.isdir(target):
            raise TracefsError("no mount point for tracefs", target, errno_module.ENOENT)
        _mount("tracefs", target)
        found = _mounted_tracefs()
        if found is None:
            raise TracefsError("mounted but not listed in /proc/self/mounts", target)
        return found


def _mount(fstype: str, target: str) -> None:
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)  # the C library the interpreter links
    result = libc.mount(b"nodev", target.encode(), fstype.encode(), ctypes.c_ulong(0), None)
    if result != 0:
        number = ctypes.get_errno()
        if number == errno_module.EBUSY and _mounted_tracefs() is not None:
            return  # someone else mounted it at the same moment
        raise TracefsError("cannot mount tracefs (are you root?)", target, number)


# -- events -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UprobeDefinition:
    """One uprobe event: ``p:GROUP/NAME PATH:0xOFFSET ARGS`` (``r:`` for a return probe).

    ``fetchargs`` are tracefs fetch-argument strings (``a0=%di:u64``, ``s=+0(%si):ustring``,
    ``ret=$retval:s32``); the first word of each is the field name in the event's format.
    """

    name: str
    path: str
    offset: int
    is_return: bool
    fetchargs: tuple[str, ...] = ()

    def line(self, group: str) -> str:
        kind = "r" if self.is_return else "p"
        args = " ".join(self.fetchargs)
        return f"{kind}:{group}/{self.name} {self.path}:0x{self.offset:x} {args}".rstrip()


@dataclass(frozen=True, slots=True)
class EventField:
    """One field of an event's ``format`` file."""

    name: str
    c_type: str
    offset: int
    size: int
    signed: bool

    @property
    def data_loc(self) -> bool:
        """A ``__data_loc`` field: a u32 holding (length << 16) | offset of the data."""
        return self.c_type.startswith("__data_loc")


@dataclass(frozen=True, slots=True)
class EventFormat:
    """An event's id and fields (the common_* header fields included)."""

    event_id: int
    fields: tuple[EventField, ...]

    def field(self, name: str) -> EventField:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        raise KeyError(name)


_FIELD_RE = re.compile(
    r"field:(?P<decl>[^;]+);\s*offset:(?P<offset>\d+);\s*size:(?P<size>\d+);"
    r"\s*signed:(?P<signed>\d+);"
)


def parse_format(text: str, event_id: int) -> EventFormat:
    """Parse a tracefs ``format`` file's field lines."""
    fields = []
    for match in _FIELD_RE.finditer(text):
        decl = match["decl"].strip()
        name = decl.split()[-1]
        name = name.split("[", 1)[0]
        c_type = decl[: decl.rfind(" ")].strip() if " " in decl else decl
        fields.append(
            EventField(
                name=name,
                c_type=c_type,
                offset=int(match["offset"]),
                size=int(match["size"]),
                signed=match["signed"] == "1",
            )
        )
    return EventFormat(event_id=event_id, fields=tuple(fields))


def _append_line(path: str, line: str) -> None:
    """Append one definition line; never truncates (see the module docstring)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
    except OSError as error:
        raise TracefsError("cannot open for appending", path, error.errno) from None
    try:
        os.write(fd, (line + "\n").encode("utf-8", "surrogateescape"))
    except OSError as error:
        raise TracefsError(f"writing {line!r} failed", path, error.errno) from None
    finally:
        os.close(fd)


def list_uprobe_events(root: str) -> list[str]:
    """The lines of ``uprobe_events`` (every uprobe on the machine)."""
    path = os.path.join(root, "uprobe_events")
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as handle:
            return [line.rstrip("\n") for line in handle if line.strip()]
    except OSError as error:
        raise TracefsError("cannot read", path, error.errno) from None


def _event_of(line: str) -> tuple[str, str] | None:
    """(group, name) of a ``uprobe_events`` line ``p:group/name path:0x…``."""
    head = line.split(None, 1)[0] if line.split() else ""
    if ":" not in head or "/" not in head:
        return None
    group, _, name = head.split(":", 1)[1].partition("/")
    return group, name


def group_owner(group: str) -> int | None:
    """The recorder pid a ``ktr_<pid>_...`` group belongs to, or None for another name."""
    match = _GROUP_RE.match(group)
    return int(match.group(1)) if match else None


def group_namespace(group: str) -> int | None:
    """The pid namespace (inode) in which a group's owner pid is a pid; None if unnamed."""
    match = _GROUP_RE.match(group)
    return int(match.group(2)) if match and match.group(2) else None


def group_owner_start(group: str) -> int | None:
    """When the group's owner started (clock ticks since boot); None if unnamed."""
    match = _GROUP_RE.match(group)
    return (int(match.group(3)) or None) if match and match.group(3) else None  # 0: unknown


def _owner_gone(group: str, owner: int) -> bool:
    """Whether a group of this pid namespace has lost its owner: no such pid, or one
    a later process reuses (its start time is not the owner's)."""
    if not _pid_alive(owner):
        return True
    started = group_owner_start(group)
    now = start_ticks(owner)
    return started is not None and now is not None and now != started



def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale_groups(root: str) -> list[str]:
    """Remove the events of ktr groups whose owner process is gone; return those groups.

    tracefs is one per kernel, seen from every container on it: a pid is only
    judged in the pid namespace it was taken in, so only groups named with
    this process's pid namespace are judged (another container's recorder
    would look gone here, whatever its host name). Groups without a namespace
    (older ktr) cannot be judged and are left. A group whose events are still
    open (EBUSY) is left alone and not returned.
    """
    path = os.path.join(root, "uprobe_events")
    here = pid_namespace()
    stale: dict[str, list[str]] = {}
    for line in list_uprobe_events(root):
        event = _event_of(line)
        if event is None:
            continue
        owner = group_owner(event[0])
        if (owner is not None and here is not None and group_namespace(event[0]) == here
                and owner != os.getpid() and _owner_gone(event[0], owner)):
            names = stale.setdefault(event[0], [])
            if event[1] not in names:  # (a multi-probe event lists a line per probe)
                names.append(event[1])
    cleaned = []
    for group, names in stale.items():
        try:
            for name in names:
                _append_line(path, f"-:{group}/{name}")
        except TracefsError:
            continue
        cleaned.append(group)
    return cleaned


class UprobeGroup:
    """The uprobe events of one recording, in a group named after the owner process.

    Use as a context manager, or call ``remove()`` in ``finally``; an ``atexit`` hook removes
    what is left if the interpreter exits without it. Thread-safe.
    """

    def __init__(self, root: str, *, owner_pid: int | None = None) -> None:
        self.root = root
        pid = os.getpid() if owner_pid is None else owner_pid
        # The namespace says where the owner pid means something (0 when unknown:
        # never judged), the start time tells the owner from a later process that
        # reuses its pid.
        self.name = (f"{GROUP_PREFIX}{pid}_{pid_namespace() or 0}_{start_ticks(pid) or 0}_"
                     f"{secrets.token_hex(4)}")
        self._events_path = os.path.join(root, "uprobe_events")
        self._defined: list[str] = []  # event names, each once
        self._probes: dict[str, int] = {}  # event name -> how many probes it holds
        self._lock = threading.Lock()
        atexit.register(self._remove_at_exit)

    def __enter__(self) -> UprobeGroup:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    @property
    def events(self) -> tuple[str, ...]:
        """The names of the group's events (each once, however many probes it holds)."""
        return tuple(self._defined)

    @property
    def probe_count(self) -> int:
        """How many probes the group's events hold."""
        return sum(self._probes.get(name, 0) for name in self._defined)

    def define(self, definitions: Sequence[UprobeDefinition]) -> None:
        """Define each event; on failure the ones just defined stay listed for ``remove``.

        A definition naming an event defined already adds a probe to it (tracefs's
        multi-probe events: the kernel takes it if its fetchargs have the same names and
        types, and refuses a second probe of one uprobe with EEXIST); ``remove`` of the
        name removes every probe of the event at once."""
        for definition in definitions:
            if not _NAME_RE.match(definition.name):
                raise TracefsError(f"bad event name {definition.name!r}", self._events_path)
            if any(ch.isspace() for ch in definition.path):
                raise TracefsError(
                    f"uprobes cannot name a path with white space: {definition.path!r}",
                    self._events_path,
                )
            with self._lock:
                _append_line(self._events_path, definition.line(self.name))
                if definition.name not in self._probes:
                    self._defined.append(definition.name)
                self._probes[definition.name] = self._probes.get(definition.name, 0) + 1

    def _event_dir(self, name: str) -> str:
        return os.path.join(self.root, "events", self.name, name)

    def event_format(self, name: str) -> EventFormat:
        """The id and fields of one of this group's events."""
        directory = self._event_dir(name)
        try:
            with open(os.path.join(directory, "id"), encoding="ascii") as handle:
                event_id = int(handle.read().strip())
            with open(os.path.join(directory, "format"), encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, ValueError) as error:
            number = error.errno if isinstance(error, OSError) else None
            raise TracefsError("cannot read the event's id/format", directory, number) from None
        return parse_format(text, event_id)

    def remove(self, names: Iterable[str] | None = None) -> list[TracefsError]:
        """Remove ``names`` (default: every event of the group); return the failures.

        Removal goes on past a failure so one busy event does not keep the others.
        """
        failures: list[TracefsError] = []
        with self._lock:
            targets = list(self._defined) if names is None else [
                n for n in names if n in self._defined
            ]
            for name in targets:
                try:
                    _append_line(self._events_path, f"-:{self.name}/{name}")
                except TracefsError as error:
                    if error.errno != errno_module.ENOENT:
                        failures.append(error)
                        continue
                self._defined.remove(name)
                self._probes.pop(name, None)
        return failures

    def _remove_at_exit(self) -> None:
        with contextlib.suppress(Exception):
            self.remove()

    def close(self) -> list[TracefsError]:
        """``remove()`` and forget the atexit hook."""
        failures = self.remove()
        if not failures:
            atexit.unregister(self._remove_at_exit)
        return failures
