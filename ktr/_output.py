"""The trace output: opening it safely and writing whole buffers to it.

Guarantees, FreeBSD ktrace's rules for where a trace may go (trace files hold
secrets; root records into /tmp): a symbolic link in the last component is
never followed; a new file is created with O_EXCL, mode 0600; an existing path
is accepted only as a regular file owned by the recording user (euid) with one
link, or -- when the path was named explicitly -- a FIFO or character device
owned by that user or root (``/dev/null``, a pipe the user made). The checks
are made with fstat on a descriptor of the path itself (O_PATH|O_NOFOLLOW),
and the same inode is then opened for writing, so nothing can be swapped in
between; no FIFO or device is opened before it is accepted. An accepted
regular file is made private (0600) before it is emptied or appended to;
appending onto a non-empty file is allowed only when that file starts with a
ktr header of the same major version and byte order, and then no second
header is written. A regular file is written under an exclusive flock held
while the recording writes it: a second recorder (``-a`` or not) is refused
before it changes a byte. Every failure is a ``ktr.errors.OutputError`` (refusals:
``UnsafeOutput``; -a onto the wrong file: ``IncompatibleOutput``) whose
message is one line naming the path and the reason. Standard output (``-``)
is whatever the caller's shell opened: it is written as it is, unless it is a
terminal (binary records there are lost on the screen). A recording that
cannot start (its header cannot be written: a full disk) leaves no part of a
header behind: a file it created is removed, one it emptied is empty again.
A FIFO nobody reads yet is waited for: open(2) blocks until a reader opens
it, and a signal handler that only notes its signal cannot end that wait
(PEP 475 retries the open). ``open_fd``'s ``wait_for_reader`` (the
recorder's signals) can: its ``unblock`` opens the FIFO's read end itself,
which ends the wait at once, and the open is then undone (see
``ReaderWait``). A FIFO a reader already has open is opened without a wait.
``write_all`` writes every byte or raises ``OSError``: short writes,
EINTR and EAGAIN (a non-blocking descriptor) are retried; a reader that went
away shows up as ``BrokenPipeError`` even if SIGPIPE's disposition is the
default, because SIGPIPE is blocked in the writing thread while it writes.

Does not: decide whether two opens share one descriptor (``_descriptor``
does that, with ``Output.identity``), buffer, or retry after a real error.
"""

# (No `from __future__ import annotations`: typing.NamedTuple turns every string
# annotation into a ForwardRef, compiling it at each start; evaluated ones cost nothing.)

import contextlib
import errno
import fcntl
import os
import pwd
import select
import signal
import stat
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import NamedTuple

import formats

from .errors import IncompatibleOutput, OutputError, UnsafeOutput, errno_text

STDOUT_PATH = "-"
_PRIVATE_MODE = 0o600
#: Tries when the path is removed between the O_EXCL create and the open of what exists.
_OPEN_ATTEMPTS = 5


#: How the open of a FIFO that no reader has open yet waits for one: called with the
#: path and ``unblock``, it returns the context the blocking open runs in. ``unblock``
#: ends the wait (it opens the FIFO's read end, closed again when the open is over); it
#: may be called from a signal handler, before or during the open, any number of times.
#: The context raises on its way out to abandon the open (the descriptor is closed then):
#: a signal ended the wait, or came before it.
ReaderWait = Callable[[str, Callable[[], None]], AbstractContextManager[None]]


class Output(NamedTuple):
    """An opened trace output, its header already dealt with."""

    fd: int
    path: str
    identity: tuple[int, int]  # (st_dev, st_ino): the same file, FIFO, pipe or terminal
    interactive: bool  # a pipe, FIFO, socket or terminal: someone may be reading live
    owns_fd: bool  # False for stdout, which is flushed but never closed
    notice: str | None = None  # one line the user should see (-a made the file private)
    # A regular file this recording opened (not stdout): a batch torn by a failed
    # write may be cut off again (``ftruncate``), leaving only whole batches.
    own_regular_file: bool = False


def describe_path(path: str) -> str:
    return "standard output" if path == STDOUT_PATH else path


def output_error(path: str, error: OSError, doing: str = "write trace to") -> OutputError:
    """``cannot write trace to PATH: EACCES (Permission denied)``."""
    number = error.errno if error.errno is not None else 0
    return OutputError(f"cannot {doing} {describe_path(path)}: {errno_text(number)}",
                       path, number)


class Opened(NamedTuple):
    """What ``open_fd`` opened."""

    fd: int
    status: os.stat_result
    created: bool  # this call created the file (O_EXCL): a failed start removes it


def open_fd(path: str, append: bool, named: bool = True,
            wait_for_reader: ReaderWait | None = None) -> Opened:
    """Open the output for writing, safely, without truncating it (see the module docstring).

    A missing file is created (O_EXCL, 0600). An existing path is first
    opened with O_PATH|O_NOFOLLOW, which neither follows a symlink nor opens
    a FIFO or device; only once ``_check_existing`` accepts what that
    descriptor shows is the same inode opened for writing, through
    /proc/self/fd. Truncation waits until the caller knows no other recording
    writes there. ``named``: False for the default output name, which must be
    a regular file. ``wait_for_reader``: how a FIFO no one reads yet is waited
    for (``ReaderWait``; None: the open just blocks until a reader comes).
    """
    if path == STDOUT_PATH:
        try:
            status = os.fstat(1)
        except OSError as error:
            if error.errno == errno.EBADF:
                raise OutputError("cannot write trace to standard output: it is closed",
                                  path, error.errno) from None
            raise output_error(path, error) from None
        if os.isatty(1):
            # Binary records on a terminal: garbage on the screen, nothing kept (as
            # gzip and zstd refuse). A terminal named with -o /dev/tty is still written.
            raise UnsafeOutput("refusing to write a binary trace to the terminal (-o -): "
                               "pipe it (ktr record -o - ... | ktrdump -) or give -o FILE",
                               path)
        return Opened(1, status, False)
    flags = os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY | (os.O_APPEND if append else 0)
    for _ in range(_OPEN_ATTEMPTS):
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, _PRIVATE_MODE)
        except FileExistsError:
            pass
        except OSError as error:
            raise output_error(path, error) from None
        else:
            return Opened(fd, _fstat(fd, path), True)
        try:
            pinned = os.open(path, os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            continue  # removed since O_EXCL saw it: try creating it again
        except OSError as error:
            raise output_error(path, error) from None
        try:
            try:
                found = os.fstat(pinned)
            except OSError as error:
                raise output_error(path, error) from None
            _check_existing(path, found, append, named)
            if stat.S_ISFIFO(found.st_mode) and wait_for_reader is not None:
                fd = _open_fifo(path, f"/proc/self/fd/{pinned}", flags, wait_for_reader)
            else:
                try:
                    fd = os.open(f"/proc/self/fd/{pinned}", flags)
                except OSError as error:
                    raise output_error(path, error) from None
        finally:
            os.close(pinned)
        return Opened(fd, _fstat(fd, path), False)
    raise UnsafeOutput(f"refusing to write trace to {path}: it keeps appearing and "
                       "disappearing while being opened", path)


def _open_fifo(path: str, target: str, flags: int, wait_for_reader: ReaderWait) -> int:
    """Open the accepted FIFO ``target`` (its /proc/self/fd path) for writing.

    At once when a reader has it open (O_NONBLOCK succeeds, and is cleared
    again: the writer waits for a slow reader as for a full disk); otherwise
    the blocking open waits for a reader within ``wait_for_reader``'s context.
    """
    try:
        fd = os.open(target, flags | os.O_NONBLOCK)
    except OSError as error:
        if error.errno != errno.ENXIO:  # (ENXIO: no reader yet)
            raise output_error(path, error) from None
    else:
        try:
            os.set_blocking(fd, True)
        except OSError as error:
            os.close(fd)
            raise output_error(path, error) from None
        return fd
    read_ends: list[int] = []

    def unblock() -> None:
        # A read end of our own completes the open. (A FIFO its owner may not
        # read, mode 0200, cannot be opened so: the wait then goes on.)
        with contextlib.suppress(OSError):
            read_ends.append(os.open(target, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC))

    fd = -1
    try:
        with wait_for_reader(path, unblock):
            try:
                fd = os.open(target, flags)
            except OSError as error:
                raise output_error(path, error) from None
    except BaseException:
        if fd >= 0:
            os.close(fd)
        raise
    finally:
        # (the context is over: ``unblock`` is no longer called)
        for read_end in read_ends:
            os.close(read_end)
    return fd


def _fstat(fd: int, path: str) -> os.stat_result:
    try:
        return os.fstat(fd)
    except OSError as error:
        os.close(fd)
        raise output_error(path, error) from None


def _owner(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _check_existing(path: str, status: os.stat_result, append: bool, named: bool) -> None:
    """FreeBSD ktrace's rules for an existing output; raises ``UnsafeOutput``."""
    mode = status.st_mode
    me = os.geteuid()

    def refuse(reason: str) -> UnsafeOutput:
        doing = "append to" if append and stat.S_ISREG(mode) else "write trace to"
        return UnsafeOutput(f"refusing to {doing} {path}: {reason}", path)

    if stat.S_ISLNK(mode):
        raise refuse("it is a symbolic link (ktr never writes through one)")
    if stat.S_ISDIR(mode):
        raise output_error(path, OSError(errno.EISDIR, os.strerror(errno.EISDIR)))
    if stat.S_ISREG(mode):
        if status.st_uid != me:
            raise refuse(f"it is owned by {_owner(status.st_uid)}, not by you")
        if status.st_nlink > 1:
            raise refuse(f"it has {status.st_nlink} hard links (ktr writes only into a file "
                         "with one)")
        return
    kind = ("a FIFO" if stat.S_ISFIFO(mode) else "a character device" if stat.S_ISCHR(mode)
            else "a block device" if stat.S_ISBLK(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "not a regular file")
    if not (stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)):
        raise refuse(f"it is {kind}")
    if not named:
        raise refuse(f"it is {kind} (name it with -o to write a trace into one)")
    if status.st_uid not in (me, 0):
        raise refuse(f"it is {kind} owned by {_owner(status.st_uid)}, neither you nor root")


def prepare(fd: int, status: os.stat_result, path: str, append: bool,
            header: formats.FileHeader, *, created: bool = False) -> Output:
    """Empty or check the file, write its header: what ``ktrace`` does before SET.

    Called only for an output no open descriptor uses. Closes ``fd`` (unless it
    is stdout) when it raises, and leaves no part of a header behind: a file
    ``created`` by ``open_fd`` is removed (if its path still names it), a
    regular file it was writing the header into is emptied again.
    """
    owns_fd = path != STDOUT_PATH
    notice = None
    header_started = False
    try:
        regular = stat.S_ISREG(status.st_mode)
        if regular and owns_fd:
            _lock_for_recording(fd, path)
        write_header = True
        if regular and status.st_size > 0 and append:
            check_appendable(fd, path, header)
            write_header = False
        if regular and owns_fd:
            # Private before a byte of this trace lands in it.
            widened = make_private(fd, status, path)
            if widened is not None and append:
                notice = (f"{path} was mode {widened:04o}, readable by others: "
                          f"made it {_PRIVATE_MODE:04o} before appending")
            if status.st_size > 0 and not append:
                try:
                    os.ftruncate(fd, 0)
                except OSError as error:
                    raise output_error(path, error, "truncate") from None
        if write_header:
            if not owns_fd:
                # Text someone printed before must not land inside our header.
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stdout.flush()
            header_bytes = formats.encode_file_header(header)
            try:
                header_started = True
                with sigpipe_blocked():
                    write_all(fd, header_bytes)
            except OSError as error:
                raise output_error(path, error) from None
        interactive = (stat.S_ISFIFO(status.st_mode) or stat.S_ISSOCK(status.st_mode)
                       or os.isatty(fd))
    except BaseException:
        if owns_fd:
            if created:
                discard_created(fd, status, path)
            elif header_started and stat.S_ISREG(status.st_mode):
                # A file that was empty (or emptied) before: empty again, not half a header.
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
            os.close(fd)
        raise
    return Output(fd, path, (status.st_dev, status.st_ino), interactive, owns_fd, notice,
                  stat.S_ISREG(status.st_mode) and owns_fd)


def discard_created(fd: int, status: os.stat_result, path: str) -> None:
    """Remove the file ``open_fd`` created for a recording that could not start.

    Only while ``path`` still names that file (never whatever took its place);
    emptied first, so a path that cannot be unlinked holds no half header.
    """
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    try:
        now = os.stat(path, follow_symlinks=False)
    except OSError:
        return
    if (now.st_dev, now.st_ino) == (status.st_dev, status.st_ino):
        with contextlib.suppress(OSError):
            os.unlink(path)


def _lock_for_recording(fd: int, path: str) -> None:
    """Hold the file's exclusive flock as long as ``fd`` is open, or refuse it.

    Two recorders writing one file (a ``-a`` append, or a replacement, while
    another recording still writes it) would each write at their own offset,
    over the other's batches. The lock goes with the descriptor: closing it
    (or the recorder dying) releases it.
    """
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise OutputError(f"refusing to write trace to {describe_path(path)}: another "
                          "ktr record is writing it", path, errno.EWOULDBLOCK) from None
    except OSError as error:
        if error.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
            raise output_error(path, error, "lock") from None
        # A file system without flock (some network ones): recorded unguarded.


def make_private(fd: int, status: os.stat_result, path: str) -> int | None:
    """Mode 0600 if group or others had any permission; returns the old mode then."""
    old_mode = stat.S_IMODE(status.st_mode)
    if not old_mode & 0o077:
        return None
    try:
        os.fchmod(fd, _PRIVATE_MODE)
    except OSError as error:
        number = error.errno if error.errno is not None else 0
        raise OutputError(f"cannot make {describe_path(path)} private (mode 0600) "
                          f"before writing a trace to it: {errno_text(number)}",
                          path, number) from None
    return old_mode


def check_appendable(fd: int, path: str, header: formats.FileHeader) -> None:
    """Refuse to append onto anything but a ktr trace we can extend."""
    # The output is open write-only; read its start through a second open of
    # the same inode (never the path again: it may point elsewhere by now).
    where = describe_path(path)
    try:
        reader = os.open(f"/proc/self/fd/{fd}", os.O_RDONLY | os.O_CLOEXEC)
    except OSError as error:
        raise output_error(path, error, "read the header of") from None
    try:
        prefix_bytes = os.pread(reader, formats.HEADER_PREFIX_SIZE, 0)
        prefix = formats.parse_header_prefix(prefix_bytes)
        body = os.pread(reader, prefix.body_length, formats.HEADER_PREFIX_SIZE)
        existing = formats.parse_header_body(prefix, body)
    except formats.FormatError as error:
        raise IncompatibleOutput(f"cannot append to {where}: {error}", path) from None
    except OSError as error:
        raise output_error(path, error, "read the header of") from None
    finally:
        os.close(reader)
    if existing.byte_order != header.byte_order or existing.major != header.major:
        raise IncompatibleOutput(
            f"cannot append to {where}: it holds a {existing.byte_order}-endian "
            f"format {existing.major}.x trace, this recording writes "
            f"{header.byte_order}-endian format {header.major}.x", path)


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data``; raises ``OSError`` on a real error."""
    remaining: bytes | memoryview = data
    while True:
        try:
            written = os.write(fd, remaining)
        except InterruptedError:
            continue
        except BlockingIOError:
            # A non-blocking descriptor (someone else's stdout): wait until it drains.
            _wait_writable(fd)
            continue
        if written == len(remaining):
            return
        if written == 0:
            raise OSError(errno.EIO, os.strerror(errno.EIO))  # the device takes nothing
        remaining = memoryview(remaining)[written:]


def _wait_writable(fd: int) -> None:
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    poller.poll()


@contextlib.contextmanager
def sigpipe_blocked() -> Iterator[None]:
    """Make a write to a vanished reader fail with EPIPE in this thread.

    Python ignores SIGPIPE, but an embedding program may have restored the
    default (fatal) action; blocking it in this thread covers that case without
    changing the process-wide disposition. A SIGPIPE left pending by our own
    write is consumed before the mask is restored.
    """
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})
    try:
        yield
    finally:
        if signal.SIGPIPE not in previous:
            if signal.SIGPIPE in signal.sigpending():
                signal.sigtimedwait({signal.SIGPIPE}, 0)
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def block_sigpipe_in_this_thread() -> None:
    """For the writer thread: SIGPIPE stays blocked for the thread's life.

    A SIGPIPE raised by its writes stays pending on the thread and vanishes
    with it.
    """
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGPIPE})
