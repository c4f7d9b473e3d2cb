"""Files ktrdump writes (``-o``): private, never through a symlink, never another user's.

What ktrdump writes from a trace holds what the trace holds (arguments, I/O
data, environment), so it gets the trace's care: ``create_private`` makes a
new file with mode 0600, or reuses an existing *regular* file of the same
user with one link (truncated, its mode made 0600); it refuses a symlink
(``O_NOFOLLOW``), a file of another user, a file with more than one hard link
(emptying it would empty it under its other names), a directory, FIFO or
device, each with one line naming the path and the reason (``OutputError``),
before changing a byte. ``open_named_output``, for the one file ``-o`` names,
also takes a FIFO or character device of the user's or root's, as ``ktr record
-o`` does (``/dev/null``, a pipe the user made). It also refuses a file that
is one of the traces being read (``avoid``, by device and inode: the same
file under any name), before truncating anything: ``ktrdump -o t.ktr t.ktr``
must not destroy its input. ``create_private_noting`` also says whether the
file is new, so an output a failed run left incomplete can be removed
(``remove_created``) without ever removing a file the run did not create.
``refuse_unwritable`` checks the ``-ff`` files that exist before any is
written, so one refused later does not leave the earlier ones rewritten.
``reopen_private`` opens again, for appending, a file this run created and
closed (``-ff``'s per-thread files): the same checks, and it must still be
the file created (not one renamed over it since).

Does not: protect against a directory an attacker controls being renamed
under us (the checks are made on the opened descriptor, not the path).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterable, Iterator

from .errors import OutputError

_PRIVATE_MODE = 0o600


#: Files identified as (st_dev, st_ino).
FileIds = frozenset[tuple[int, int]]


def file_ids(fds: Iterable[int]) -> FileIds:
    """The identities of open descriptors (the inputs), for ``create_private``'s ``avoid``."""
    found = set()
    for fd in fds:
        with contextlib.suppress(OSError):
            info = os.fstat(fd)
            found.add((info.st_dev, info.st_ino))
    return frozenset(found)


def create_private(path: str, avoid: FileIds = frozenset()) -> int:
    """A write descriptor on ``path``, empty and private (see the module docstring).

    ``avoid``: files that must not be written (the inputs), whatever their name.
    """
    return create_private_noting(path, avoid)[0]


def create_private_noting(path: str, avoid: FileIds = frozenset()) -> tuple[int, bool]:
    """``create_private``, and whether this call created the file (``remove_created``)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    created = True
    try:
        try:
            fd = os.open(path, flags | os.O_EXCL, _PRIVATE_MODE)
        except FileExistsError:
            created = False
            fd = os.open(path, flags, _PRIVATE_MODE)
    except OSError as error:
        raise _cannot_open(path, error) from None
    with _closed_on_failure(path, fd):
        _check_opened(path, fd, avoid)
        os.ftruncate(fd, 0)
        os.fchmod(fd, _PRIVATE_MODE)
        os.set_blocking(fd, True)
    return fd, created


def open_named_output(path: str, avoid: FileIds = frozenset()) -> int:
    """``create_private``, except that an existing FIFO or character device owned by
    the user or root is written as it is (``ktrdump -o /dev/null``, ``-o`` a pipe the
    user made), as ``ktr record -o`` takes one: for the one output named with ``-o``.

    The path is looked at through an ``O_PATH|O_NOFOLLOW`` descriptor, which neither
    follows a symlink nor opens a FIFO or device; only an accepted one is opened for
    writing, through that descriptor (the same inode: nothing swapped in between).
    Opening a FIFO waits for its reader, as a shell's ``> fifo`` does.
    """
    try:
        pinned = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return create_private(path, avoid)  # absent (created), or its one-line refusal
    try:
        info = os.fstat(pinned)
        if not (stat.S_ISFIFO(info.st_mode) or stat.S_ISCHR(info.st_mode)):
            return create_private(path, avoid)  # a regular file, a symlink, ...: its rules
        kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a character device"
        if (info.st_dev, info.st_ino) in avoid:
            raise OutputError(f"{path}: cannot write: it is a trace being read")
        if info.st_uid not in (os.geteuid(), 0):
            raise OutputError(f"{path}: cannot write: it is {kind} of another user "
                              f"(uid {info.st_uid}), neither you nor root")
        try:
            return os.open(f"/proc/self/fd/{pinned}", os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY)
        except OSError as error:
            raise _cannot_open(path, error) from None
    except OSError as error:
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None
    finally:
        os.close(pinned)


def reopen_private(path: str, identity: tuple[int, int], avoid: FileIds = frozenset()) -> int:
    """An appending descriptor on ``path``, a file this run made with ``create_private``
    and closed since (``identity``: its (st_dev, st_ino) then), checked as
    ``create_private`` checks (no symlink, a regular file of ours with one link, not
    an input) and still that file: one put under the name since (renamed over it) is
    refused, never appended to. Not truncated."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
    try:
        fd = os.open(path, flags)
    except OSError as error:
        raise _cannot_open(path, error) from None
    with _closed_on_failure(path, fd):
        info = _check_opened(path, fd, avoid)
        if (info.st_dev, info.st_ino) != identity:
            raise OutputError(f"{path}: cannot write: it was replaced by another file "
                              "since ktrdump created it")
        os.set_blocking(fd, True)
    return fd


@contextlib.contextmanager
def _closed_on_failure(path: str, fd: int) -> Iterator[None]:
    """Close ``fd`` if the checks in the block fail; an OSError becomes an OutputError."""
    try:
        yield
    except OutputError:
        os.close(fd)
        raise
    except OSError as error:
        os.close(fd)
        raise OutputError(f"{path}: cannot write: {error.strerror or error}") from None


def _cannot_open(path: str, error: OSError) -> OutputError:
    reason = "it is a symlink" if error.errno == errno.ELOOP else error.strerror or str(error)
    return OutputError(f"{path}: cannot write: {reason}", error.errno)


def _check_opened(path: str, fd: int, avoid: FileIds) -> os.stat_result:
    """OutputError unless ``fd`` (opened on ``path``) is a regular file of ours with one
    link that is not an input; its ``fstat``."""
    return _check_info(path, os.fstat(fd), avoid)


def _check_info(path: str, info: os.stat_result, avoid: FileIds) -> os.stat_result:
    """``_check_opened``'s rules on a file's status (``info``, returned)."""
    if not stat.S_ISREG(info.st_mode):
        raise OutputError(f"{path}: cannot write: not a regular file")
    if (info.st_dev, info.st_ino) in avoid:
        raise OutputError(f"{path}: cannot write: it is a trace being read")
    if info.st_uid != os.geteuid():
        raise OutputError(f"{path}: cannot write: it belongs to another user "
                          f"(uid {info.st_uid})")
    if info.st_nlink > 1:
        raise _hard_links(path, info.st_nlink)
    return info


def _hard_links(path: str, links: int) -> OutputError:
    # ktr record's rule: emptying the file would replace what its other names
    # show too, with what the trace holds
    return OutputError(f"{path}: cannot write: it has {links} hard links "
                       "(ktrdump writes only into a file with one)")


def remove_created(path: str, identity: tuple[int, int]) -> None:
    """Remove ``path`` if it still names the file ``identity`` (st_dev, st_ino) that this
    run created: an output a failed run leaves incomplete (never another file put there)."""
    remove_if_same(path, identity)


def remove_if_same(path: str, identity: tuple[int, int]) -> bool:
    """Unlink ``path`` if it still names the file ``identity`` (never what a symlink
    points to); whether it was removed."""
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    if (now.st_dev, now.st_ino) != identity:
        return False
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def output_file_failure(path: str, error: OSError) -> OutputError:
    """The one line for a write to output file ``path`` that failed (a full disk)."""
    number = error.errno if error.errno is not None else errno.EIO
    return OutputError(f"cannot write to {path}: {error.strerror or os.strerror(number)}",
                       number)


def refuse_inputs(paths: Iterable[str], avoid: FileIds) -> None:
    """OutputError for the first of ``paths`` that exists and is one of the inputs, or a
    regular file with more than one hard link.

    For views that write several files: checked before the first is written, so a
    refusal leaves every file as it was (``create_private`` checks each one again).
    """
    for path in paths:
        try:
            info = os.stat(path)
        except OSError:
            continue
        if (info.st_dev, info.st_ino) in avoid:
            raise OutputError(f"{path}: cannot write: it is a trace being read")
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1 and not os.path.islink(path):
            raise _hard_links(path, info.st_nlink)


def refuse_unwritable(paths: Iterable[str], avoid: FileIds) -> None:
    """``refuse_inputs``, and also an OutputError for the first of ``paths`` that exists
    and ``create_private`` would refuse: a symlink, not a regular file, another user's.

    For ``-ff``'s ``PREFIX.TID`` files, which are opened as their threads appear: one
    refused half-way left the files written before it truncated and rewritten. Checked
    on the names before any is written (a file that appears later is still refused when
    it is opened, after the others were written)."""
    refuse_inputs(paths, avoid)
    for path in paths:
        try:
            info = os.lstat(path)
        except OSError:
            continue
        if stat.S_ISLNK(info.st_mode):
            raise OutputError(f"{path}: cannot write: it is a symlink")
        _check_info(path, info, avoid)


def per_thread_paths(prefix: str) -> list[str]:
    """The ``PREFIX.N`` files (``-ff``) that exist already."""
    directory, name = os.path.split(prefix)
    try:
        entries = os.listdir(directory or ".")
    except OSError:
        return []
    return [os.path.join(directory, entry) for entry in entries
            if entry.startswith(name + ".") and entry[len(name) + 1:].isdigit()]


__all__ = ["FileIds", "create_private", "file_ids", "open_named_output", "per_thread_paths",
           "refuse_inputs", "refuse_unwritable", "remove_if_same", "reopen_private"]
