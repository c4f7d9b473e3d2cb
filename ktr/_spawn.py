"""Starting the command of ``ktr record -- CMD`` so that it is traced from its first instruction.

The command is resolved against ``PATH`` in the recorder (a missing command is
a one-line ``TargetError`` with exit status 127, before anything is forked).
The child is forked and blocks reading a pipe; the control loop seizes it,
sets it up to stop at its syscalls, and only then releases it, so its execve
and everything after are seen. Between the release and exec the child does
only: reset SIGPIPE/SIGXFSZ to their default dispositions (Python ignores them
at start-up; the command must not inherit that), optionally install the
seccomp filter, and execve. If execve fails, the child writes the errno to a
close-on-exec pipe and exits with status 127.

Guarantees: ``fork_command`` refuses to fork while the recorder has more than
one thread (fork in a threaded process may deadlock the child); the child
never returns into the caller's code.

Does not: use ptrace itself (the control loop seizes the child) or touch the
child's signal mask, environment or file descriptors (Python's descriptors
are close-on-exec; the child inherits the rest, as it would without ktr).
"""

from __future__ import annotations

import contextlib
import errno as errno_module
import os
import signal
import threading
from collections.abc import Mapping, Sequence

from ._seccomp import PreparedFilter
from .errors import TargetError

COMMAND_NOT_FOUND_STATUS = 127


def _command_error(message: str, error_number: int) -> TargetError:
    error = TargetError(message, 0, error_number)
    error.exit_status = COMMAND_NOT_FOUND_STATUS
    return error


def resolve_command(
    argv: Sequence[str | bytes], environment: Mapping[str, str] | None = None
) -> bytes:
    """The path execve will run for ``argv[0]`` (``execvp`` rules), or TargetError."""
    if not argv:
        raise _command_error("ktr: no command given", errno_module.EINVAL)
    name = os.fsencode(argv[0])
    shown = os.fsdecode(name)
    if not name:
        raise _command_error("ktr: empty command name", errno_module.ENOENT)
    if b"/" in name:
        candidates = [name]
    else:
        env = os.environ if environment is None else environment
        search = os.fsencode(env.get("PATH", os.defpath))
        candidates = [os.path.join(directory or b".", name) for directory in search.split(b":")]
    denied = False
    for candidate in candidates:
        if os.path.isdir(candidate):
            denied = True
            continue
        if os.path.exists(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            denied = True
    if denied:
        raise _command_error(f"ktr: {shown}: permission denied", errno_module.EACCES)
    if b"/" in name:
        raise _command_error(f"ktr: {shown}: no such file or directory", errno_module.ENOENT)
    raise _command_error(f"ktr: {shown}: command not found", errno_module.ENOENT)


class SpawnedChild:
    """A forked child waiting on ``release_fd`` before it execs."""

    # A plain class, not a dataclass: generating a dataclass's methods costs
    # about a millisecond of every start-up.
    __slots__ = ("error_fd", "path", "pid", "release_fd")

    def __init__(self, pid: int, path: bytes, release_fd: int, error_fd: int) -> None:
        self.pid = pid
        self.path = path
        self.release_fd = release_fd  # write one byte to let the child go on to exec
        self.error_fd = error_fd  # the child's exec errno arrives here (EOF if exec succeeded)

    def release(self) -> None:
        fd, self.release_fd = self.release_fd, -1
        if fd >= 0:
            try:
                os.write(fd, b"x")
            finally:
                os.close(fd)

    def exec_error(self) -> str | None:
        """Why exec failed, once the child is gone (None if it exec'd)."""
        fd, self.error_fd = self.error_fd, -1
        if fd < 0:
            return None
        try:
            os.set_blocking(fd, False)
            data = os.read(fd, 16)
        except OSError:
            data = b""
        finally:
            os.close(fd)
        if len(data) < 4:
            return None
        number = int.from_bytes(data[:4], "little")
        return f"cannot execute {os.fsdecode(self.path)}: {os.strerror(number)}"

    def close(self) -> None:
        for fd in (self.release_fd, self.error_fd):
            if fd >= 0:
                os.close(fd)
        self.release_fd = self.error_fd = -1


def _thread_count() -> int:
    # Python threads only: a thread that has just been joined may linger in
    # /proc/self/task for a moment while it unwinds, holding nothing of ours.
    return threading.active_count()


def fork_command(
    path: bytes,
    argv: Sequence[str | bytes],
    environment: Mapping[str, str] | None,
    seccomp: PreparedFilter | None,
) -> SpawnedChild:
    """Fork the child; it waits for ``release()`` and then execs ``path``."""
    if _thread_count() > 1:
        raise RuntimeError(
            "ktr: spawn() must run before the recorder starts other threads "
            "(forking a threaded process is unsafe)"
        )
    arguments = [os.fsencode(argument) for argument in argv]
    env = None if environment is None else {
        os.fsencode(key): os.fsencode(value) for key, value in environment.items()
    }
    release_read, release_write = os.pipe()
    error_read, error_write = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child; it never returns
        _child(release_read, release_write, error_read, error_write,
               path, arguments, env, seccomp)
    os.close(release_read)
    os.close(error_write)
    return SpawnedChild(pid, path, release_write, error_read)


def _child(
    release_read: int,
    release_write: int,
    error_read: int,
    error_write: int,
    path: bytes,
    arguments: list[bytes],
    env: dict[bytes, bytes] | None,
    seccomp: PreparedFilter | None,
) -> None:  # pragma: no cover - runs in the forked child
    status = COMMAND_NOT_FOUND_STATUS
    try:
        os.close(release_write)
        os.close(error_read)
        while True:
            try:
                go = os.read(release_read, 1)
                break
            except InterruptedError:
                continue
        os.close(release_read)
        if not go:  # the recorder went away before taking control
            os._exit(status)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
        if seccomp is not None:
            seccomp.install()
        if env is None:
            os.execv(path, arguments)
        else:
            os.execve(path, arguments, env)
    except OSError as error:
        number = error.errno or errno_module.EIO
        with contextlib.suppress(OSError):
            os.write(error_write, number.to_bytes(4, "little"))
    except BaseException:
        pass
    os._exit(status)
