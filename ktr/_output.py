"""The trace output: opening it safely and writing whole buffers to it.

Guarantees: a file ktr creates or truncates is private (mode 0600; an existing
file with group or other permission bits is chmod'ed 0600 before it is
emptied); appending onto a non-empty file is allowed only when that file starts
with a ktr header of the same major version and byte order, and then no second
header is written; every failure is a ``ktr.errors.OutputError`` (or its
``IncompatibleOutput``) whose message is one line naming the path and the
errno. ``write_all`` writes every byte or raises ``OSError``: short writes,
EINTR and EAGAIN (a non-blocking descriptor) are retried; a reader that went
away shows up as ``BrokenPipeError`` even if SIGPIPE's disposition is the
default, because SIGPIPE is blocked in the writing thread while it writes.

Does not: decide whether two opens share one descriptor (``_descriptor``
does that, with ``Output.identity``), buffer, or retry after a real error.
"""

from __future__ import annotations

import contextlib
import errno
import os
import select
import signal
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import formats

from .errors import IncompatibleOutput, OutputError, errno_text

STDOUT_PATH = "-"
_PRIVATE_MODE = 0o600


@dataclass(frozen=True)
class Output:
    """An opened trace output, its header already dealt with."""

    fd: int
    path: str
    identity: tuple[int, int]  # (st_dev, st_ino): the same file, FIFO, pipe or terminal
    interactive: bool  # a pipe, FIFO, socket or terminal: someone may be reading live
    owns_fd: bool  # False for stdout, which is flushed but never closed


def describe_path(path: str) -> str:
    return "standard output" if path == STDOUT_PATH else path


def output_error(path: str, error: OSError, doing: str = "write trace to") -> OutputError:
    """``cannot write trace to PATH: EACCES (Permission denied)``."""
    number = error.errno if error.errno is not None else 0
    return OutputError(f"cannot {doing} {describe_path(path)}: {errno_text(number)}",
                       path, number)


def open_fd(path: str, append: bool) -> tuple[int, os.stat_result]:
    """Open (creating it 0600) without truncating, so a shared file is left intact.

    Truncation waits until the caller knows no other recording writes there.
    """
    if path == STDOUT_PATH:
        try:
            return 1, os.fstat(1)
        except OSError as error:
            raise output_error(path, error) from None
    flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | os.O_NOCTTY
    if append:
        flags |= os.O_APPEND
    try:
        fd = os.open(path, flags, _PRIVATE_MODE)
    except OSError as error:
        raise output_error(path, error) from None
    try:
        return fd, os.fstat(fd)
    except OSError as error:
        os.close(fd)
        raise output_error(path, error) from None


def prepare(fd: int, status: os.stat_result, path: str, append: bool,
            header: formats.FileHeader) -> Output:
    """Empty or check the file, write its header: what ``ktrace`` does before SET.

    Called only for an output no open descriptor uses. Closes ``fd`` (unless it
    is stdout) when it raises.
    """
    owns_fd = path != STDOUT_PATH
    try:
        regular = stat.S_ISREG(status.st_mode)
        write_header = True
        if regular and status.st_size > 0:
            if append:
                check_appendable(fd, path, header)
                write_header = False
            elif owns_fd:
                make_private(fd, status, path)
                try:
                    os.ftruncate(fd, 0)
                except OSError as error:
                    raise output_error(path, error, "truncate") from None
        elif regular and owns_fd:
            make_private(fd, status, path)
        if write_header:
            if not owns_fd:
                # Text someone printed before must not land inside our header.
                with contextlib.suppress(OSError, ValueError, AttributeError):
                    sys.stdout.flush()
            try:
                with sigpipe_blocked():
                    write_all(fd, formats.encode_file_header(header))
            except OSError as error:
                raise output_error(path, error) from None
        interactive = (stat.S_ISFIFO(status.st_mode) or stat.S_ISSOCK(status.st_mode)
                       or os.isatty(fd))
    except BaseException:
        if owns_fd:
            os.close(fd)
        raise
    return Output(fd, path, (status.st_dev, status.st_ino), interactive, owns_fd)


def make_private(fd: int, status: os.stat_result, path: str) -> None:
    if stat.S_IMODE(status.st_mode) & 0o077:
        try:
            os.fchmod(fd, _PRIVATE_MODE)
        except OSError as error:
            number = error.errno if error.errno is not None else 0
            raise OutputError(f"cannot make {describe_path(path)} private (mode 0600) "
                              f"before writing a trace to it: {errno_text(number)}",
                              path, number) from None


def check_appendable(fd: int, path: str, header: formats.FileHeader) -> None:
    """Refuse to append onto anything but a ktr trace we can extend."""
    # The output is open write-only; read its start through a second open.
    source = f"/proc/self/fd/{fd}" if path == STDOUT_PATH else path
    where = describe_path(path)
    try:
        reader = os.open(source, os.O_RDONLY | os.O_CLOEXEC)
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
