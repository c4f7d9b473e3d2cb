"""File descriptor tables rebuilt from the trace itself (what ``-y`` shows).

One table per live process (threads share their process's table, as
``CLONE_THREAD`` implies ``CLONE_FILES``); each maps an fd to a description
and its close-on-exec flag. ``_calls`` applies each call's effect when its
RET arrives, except close's, applied at its CALL (below), and each PROC
record's effect when it arrives.

Descriptions (documented in the CLI help):

- a file: the path the kernel gave the fd the call returned, as strace -y
  shows it (symlinks, ``..`` and the working directory resolved: the
  recorder's STRUCT ``fd_path``); in recordings without it, the path as the
  call gave it (NAMI), joined to the directory fd's description when the path
  is relative to a known directory fd (openat), else left relative (its bytes
  decoded with ``surrogateescape``: ``exact`` gives that, ``describe`` the text
  views' ``display_text`` form);
- a socket, a pipe, an anonymous file: what the kernel names it
  (``socket:[123456]``, ``pipe:[123457]``, ``anon_inode:[eventfd]``,
  ``/memfd:x (deleted)``: the recorder's ``fd_path``, or for pipe and
  socketpair its ``fd_paths``); in recordings without them, ``socket:[AF_INET]``
  (a socket and its domain; accepted sockets take the listening socket's
  description), ``pipe:[N]`` (both ends of the N-th pipe of the trace: N numbers
  pipes in trace order, it is not an inode) and ``anon_inode:[eventfd]`` and
  the like by the call. A netlink socket's description is a
  ``SocketDescription`` that also holds its protocol (what the strace view
  decodes its messages by).

Fds that existed before the recording (0, 1, 2, inherited) are named as the
recorder listed them at the recording's first execve (STRUCT ``open_fds``),
and an attached process's as it listed them at the attach (``open_fds`` of no
call, after its PROC ATTACH); in recordings without that, an attached
process's are unknown until the trace shows where they come from: they have
no description and are shown plainly.

Each process's working directory (``AT_FDCWD</dir>``), from the recorder's
STRUCT ``cwd`` at the exit of execve, chdir and fchdir, and at the attach of
an attached process; a child starts with its parent's. Unknown before the
first of these (a recording without them).

Guarantees: a process's table is copied to a child at fork/vfork/clone
(shared when ``CLONE_FILES`` was asked for), loses its close-on-exec fds at
exec, and is dropped when the process exits, is detached or is lost; memory
is the fds of live processes, with bounds on the number of tables and of fd
entries kept (the oldest tables are dropped past them, for traces whose exits
were not recorded, or crafted ones).

Does not: resolve paths itself (symlinks, ``..``, the working directory:
only the recorder's ``fd_path`` has them resolved), or know fds from
pidfd_getfd or io_uring (fds recvmsg and recvmmsg received in SCM_RIGHTS are
known from the recorder's ``fd_paths``).

Threads and the order of records. Threads share one table, and the kernel
changes it when a call runs, while the trace says when the call began (CALL)
and ended (RET); between the two, other threads' records come. Applied as
the kernel does:

- close frees the fd number at its entry, before it flushes and releases
  the file (which can block: a TCP socket with ``SO_LINGER`` lingers until
  its data is sent). Another thread's open can get that number before the
  close returns, so close is applied at its CALL, never at its RET (which
  would drop the other thread's new fd). What ``-y`` and ``-P`` say of the
  close itself, and of any call's first fd argument, is the call's
  ``fd_path``: that fd's description at the call's entry.
- close_range is applied at its RET, to the fds of its range whose entry is
  still the one its CALL saw (``range_entered``): an fd another thread
  opened, or got from dup2, meanwhile is kept.
- fds a call makes (open, socket, accept, pipe, dup, dup2, dup3, F_DUPFD)
  are added at its RET: the number is the call's result, and the call owns
  it from then on.

Races that remain (the record order cannot tell; not fixed):

- an fd a call makes is added at the call's RET, but the kernel made it
  earlier, in the call: a close of that number by another thread whose CALL
  comes in between (dup2/dup3 onto an fd another thread is closing, or a
  close of an fd the trace has not shown yet: another thread's open not
  returned yet) closes nothing here, and the RET then adds an fd the kernel
  has already closed.
- a close whose CALL was not recorded (lost with dropped records): its RET
  alone closes nothing, so the fd keeps its old description until the number
  is reused.
- a fork, vfork or clone while another thread is in close: the child's
  table is a copy taken at the PROC record, so it holds the fd or not by
  the order of that record and the close's CALL, not by when the kernel
  copied the table.
- only a call's first fd argument is named as it was at the call's entry;
  any other (``sendfile``'s or ``splice``'s second, dup2's new fd) and a GIO
  record's fd are named as the table is when the view reads them (the text
  view prints a call at its CALL, the strace view at its RET): a read that
  blocks while another thread closes its fd and opens another file on that
  number has its GIO named by the new file.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

from ._text import display_text, strace_fd_text, text_bytes

#: Tables kept at most; past it the oldest are dropped (their fds become unknown).
MAX_TABLES = 1 << 16
#: Fd entries kept at most, over all tables. Forks copy tables, so a crafted
#: trace could otherwise make (fds x forks) entries; past this bound the oldest
#: tables are dropped until half of it is left.
MAX_ENTRIES = 1 << 20


class SocketDescription(str):
    """A socket's description (``socket:[AF_NETLINK]``) with the protocol it was opened with."""

    protocol: int

    def __new__(cls, text: str, protocol: int) -> SocketDescription:
        description = super().__new__(cls, text)
        description.protocol = protocol
        return description


class FdTable:
    """One process's fds: fd -> (description, close-on-exec)."""

    __slots__ = ("fds",)

    def __init__(self, fds: dict[int, tuple[str, bool]] | None = None) -> None:
        self.fds: dict[int, tuple[str, bool]] = {} if fds is None else fds

    def copy(self) -> FdTable:
        return FdTable(dict(self.fds))


#: A close_range's view of its range at entry: fd -> the entry it saw.
RangeSnapshot = dict[int, tuple[str, bool]]


class FdTables:
    """Every live process's table (see the module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[int, FdTable] = {}
        self._cwds: dict[int, str] = {}  # pid -> its working directory, when the trace says
        # close_range calls between CALL and RET: call key -> (pid, what its range held)
        self._ranges: dict[int, tuple[int, RangeSnapshot]] = {}
        self._pipes = 0
        self._charged = 0  # entries added since the last count (an upper bound)
        # How ``describe`` writes what an fd is (``strace_style``: as strace -y does)
        self._escape: Callable[[bytes], str] = display_text
        self._special = "\\"

    def strace_style(self, hex_strings: int = 0) -> None:
        """``describe`` escapes as strace -y does (octal, and ``"<>`` too), not as kdump;
        ``hex_strings``: strace's -x (1) / -xx (2), as its paths follow them too."""
        self._escape = (strace_fd_text if not hex_strings
                        else lambda data: strace_fd_text(data, hex_strings))
        self._special = '\\"<>'

    def _charge(self, entries: int) -> None:
        self._charged += entries
        if self._charged > MAX_ENTRIES:
            self._shrink()

    def _shrink(self) -> None:
        """Count the entries really held; drop the oldest tables down to half the bound."""
        counted: set[int] = set()
        total = 0
        for table in self._tables.values():
            if id(table) not in counted:
                counted.add(id(table))
                total += len(table.fds)
        tables = self._tables
        while total > MAX_ENTRIES // 2 and tables:
            total -= len(tables.pop(next(iter(tables))).fds)
        self._charged = max(total, 0)
        if len(self._cwds) > MAX_TABLES:
            self._cwds.clear()

    def __len__(self) -> int:
        return len(self._tables)

    def forget(self, pids: Collection[int] | None = None) -> None:
        """Nothing known of any process's fds (a new recording begins), or of ``pids``'."""
        if pids is not None:
            for pid in pids:
                self._tables.pop(pid, None)
                self._cwds.pop(pid, None)
            pids = set(pids)
            for key in [key for key, (pid, _) in self._ranges.items() if pid in pids]:
                del self._ranges[key]
            return
        self._tables.clear()
        self._cwds.clear()
        self._ranges.clear()
        self._charged = 0

    def table(self, pid: int) -> FdTable:
        table = self._tables.get(pid)
        if table is None:
            if len(self._tables) >= MAX_TABLES:
                del self._tables[next(iter(self._tables))]
            table = self._tables[pid] = FdTable()
        return table

    def describe(self, pid: int, fd: int) -> str | None:
        """What ``fd`` of ``pid`` is, as the text views show it (``display_text``: bytes
        that are not UTF-8 and control characters escaped, so a line stays one), or
        None when the trace has not shown it."""
        description = self.exact(pid, fd)
        return None if description is None else self.shown(description)

    def shown(self, description: str) -> str:
        """An ``exact`` description (a call's ``fd_path``) as ``describe`` gives it."""
        if description.isprintable() and not any(c in description for c in self._special):
            return description  # a SocketDescription stays one
        return self._escape(text_bytes(description))

    def exact(self, pid: int, fd: int) -> str | None:
        """What ``fd`` of ``pid`` is, exactly: a path's bytes decoded with
        ``surrogateescape`` (``_text.text_bytes`` gives the bytes back); None as
        ``describe``."""
        table = self._tables.get(pid)
        if table is None:
            return None
        entry = table.fds.get(fd)
        return None if entry is None else entry[0]

    def cwd(self, pid: int) -> str | None:
        """``pid``'s working directory, or None when the trace has not shown it."""
        return self._cwds.get(pid)

    # -- effects of calls ----------------------------------------------------

    def changed_directory(self, pid: int, directory: str) -> None:
        """``pid``'s working directory is now ``directory`` (chdir, fchdir, or seen at exec)."""
        cwds = self._cwds
        if pid not in cwds and len(cwds) >= MAX_TABLES:
            del cwds[next(iter(cwds))]
        cwds[pid] = directory

    def netlink_protocol(self, pid: int, fd: int) -> int | None:
        """The protocol of ``fd`` when the trace showed it open a netlink socket, else None."""
        description = self.describe(pid, fd)
        return description.protocol if isinstance(description, SocketDescription) else None

    def opened(self, pid: int, fd: int, description: str | None, cloexec: bool = False) -> None:
        """``fd`` now refers to ``description`` (None: to something unknown)."""
        fds = self.table(pid).fds
        if description is None:
            fds.pop(fd, None)
        else:
            fds[fd] = (description, cloexec)
            self._charge(1)

    def closed(self, pid: int, fd: int) -> None:
        table = self._tables.get(pid)
        if table is not None:
            table.fds.pop(fd, None)

    def duplicated(self, pid: int, old: int, new: int, cloexec: bool = False) -> None:
        """``new`` is a copy of ``old`` (dup, dup2, dup3, F_DUPFD)."""
        if old == new:
            return
        fds = self.table(pid).fds
        entry = fds.get(old)
        if entry is None:
            fds.pop(new, None)
        else:
            fds[new] = (entry[0], cloexec)
            self._charge(1)

    def set_cloexec(self, pid: int, fd: int, cloexec: bool) -> None:
        table = self._tables.get(pid)
        if table is not None and fd in table.fds:
            table.fds[fd] = (table.fds[fd][0], cloexec)

    def range_entered(self, key: int, pid: int, first: int, last: int) -> None:
        """close_range's CALL (``key``: the call's id): what its range holds now, for
        its RET (``range_returned``)."""
        table = self._tables.get(pid)
        held: RangeSnapshot = {} if table is None else {
            fd: entry for fd, entry in table.fds.items() if first <= fd <= last}
        ranges = self._ranges
        ranges.pop(key, None)
        if len(ranges) >= MAX_TABLES:  # calls that never returned: the oldest go
            del ranges[next(iter(ranges))]
        ranges[key] = (pid, held)

    def range_returned(self, key: int) -> RangeSnapshot | None:
        """What close_range ``key``'s range held at its CALL (None: no CALL seen, or
        forgotten since)."""
        found = self._ranges.pop(key, None)
        return None if found is None else found[1]

    def closed_range(self, pid: int, first: int, last: int, *, cloexec_only: bool,
                     unshare: bool, entered: RangeSnapshot | None = None) -> None:
        """close_range: close (or mark close-on-exec) every fd in [first, last];
        ``entered`` (``range_returned``'s): only those whose entry is still the one
        the call's CALL saw (an fd another thread opened meanwhile is kept)."""
        if unshare:
            self.unshare(pid)  # a copy holds the same entries: ``entered`` still matches
        table = self._tables.get(pid)
        if table is None:
            return
        fds = table.fds
        if entered is None:
            chosen = [fd for fd in fds if first <= fd <= last]
        else:
            chosen = [fd for fd, entry in entered.items()
                      if fds.get(fd) is entry and first <= fd <= last]
        for fd in chosen:
            if cloexec_only:
                fds[fd] = (fds[fd][0], True)
            else:
                del fds[fd]

    def new_pipe(self) -> str:
        """The description of a new pipe's two ends."""
        self._pipes += 1
        return f"pipe:[{self._pipes}]"

    # -- effects of lifecycle events -----------------------------------------

    def forked(self, parent: int, child: int, *, share: bool) -> None:
        """``child`` starts with a copy of ``parent``'s table (the same table if ``share``).

        Fds the child already showed (its records can come before the
        parent's fork record) win over the parent's.
        """
        directory = self._cwds.get(parent)
        if directory is not None and child not in self._cwds:
            self.changed_directory(child, directory)
        source = self._tables.get(parent)
        if source is None:
            return
        if share:
            self._tables[child] = source
            return
        copy = source.copy()
        existing = self._tables.get(child)
        if existing is not None:
            copy.fds.update(existing.fds)
        self._tables[child] = copy
        self._charge(len(copy.fds))

    def unshare(self, pid: int) -> None:
        table = self._tables.get(pid)
        if table is not None:
            self._tables[pid] = table.copy()
            self._charge(len(table.fds))

    def executed(self, pid: int) -> None:
        """exec: close-on-exec fds are closed, and a table shared with another process is not."""
        table = self._tables.get(pid)
        if table is None:
            return
        kept = self._tables[pid] = FdTable(
            {fd: entry for fd, entry in table.fds.items() if not entry[1]})
        self._charge(len(kept.fds))

    def exited(self, pid: int) -> None:
        self._tables.pop(pid, None)
        self._cwds.pop(pid, None)
