"""File descriptor tables rebuilt from the trace itself (what ``-y`` shows).

One table per live process (threads share their process's table, as
``CLONE_THREAD`` implies ``CLONE_FILES``); each maps an fd to a description
and its close-on-exec flag. ``_calls`` applies each call's effect when its
RET arrives and each PROC record's effect when it arrives.

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


class FdTables:
    """Every live process's table (see the module docstring)."""

    def __init__(self) -> None:
        self._tables: dict[int, FdTable] = {}
        self._cwds: dict[int, str] = {}  # pid -> its working directory, when the trace says
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
            return
        self._tables.clear()
        self._cwds.clear()
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
        if description is None or (description.isprintable()
                                   and not any(c in description for c in self._special)):
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

    def closed_range(self, pid: int, first: int, last: int, *, cloexec_only: bool,
                     unshare: bool) -> None:
        """close_range: close (or mark close-on-exec) every fd in [first, last]."""
        if unshare:
            self.unshare(pid)
        table = self._tables.get(pid)
        if table is None:
            return
        for fd in [fd for fd in table.fds if first <= fd <= last]:
            if cloexec_only:
                table.fds[fd] = (table.fds[fd][0], True)
            else:
                del table.fds[fd]

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
