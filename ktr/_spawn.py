"""Starting the command of ``ktr record -- CMD`` so that it is traced from its first instruction.

The command is resolved against ``PATH`` in the recorder. One that cannot be
executed (missing, not executable, not a format the kernel runs) is still
forked and tried, so the trace holds BEGIN, the failed execve(s) and END, as
for any recording; ``exec_error`` is then the one line to print.
The child (``_trampoline``: forked early by ``ktr record``, while the
interpreter is small, so that its execve does not tear down the recorder's
address space) blocks reading a pipe; the control loop seizes it, sets it up
to stop at its syscalls, and only then releases it, so its execve and
everything after are seen. What the child does between the release and exec,
and its exit statuses (127 when nothing was found, 126 when execve failed
otherwise), are ``_trampoline``'s.

Guarantees: ``fork_command`` refuses to fork while the recorder has more than
one thread (fork in a threaded process may deadlock the child); the child
never returns into the caller's code.

Does not: use ptrace itself (the control loop seizes the child) or touch the
child's signal mask, environment or file descriptors (Python's descriptors
are close-on-exec; the child inherits the rest, as it would without ktr).
"""

from __future__ import annotations

import errno as errno_module
import os
import threading
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from . import _trampoline
from ._seccomp import PreparedFilter
from .errors import TargetError, errno_text

COMMAND_NOT_FOUND_STATUS = _trampoline.NOT_FOUND_STATUS
COMMAND_NOT_EXECUTABLE_STATUS = _trampoline.NOT_EXECUTABLE_STATUS


def _command_error(message: str, error_number: int) -> TargetError:
    error = TargetError(message, 0, error_number)
    error.exit_status = COMMAND_NOT_FOUND_STATUS
    return error


def resolve_command(
    argv: Sequence[str | bytes], environment: Mapping[str, str] | None = None
) -> Command:
    """What execve will run for ``argv[0]`` (``execvp``'s rules), or the paths to try.

    Found (an executable file): that path alone. Otherwise the child still tries,
    so that the trace records the failed execve as strace shows it: a name with a
    ``/`` as it is, a file found without execute permission (EACCES), or every
    ``PATH`` entry in turn as execvp does (ENOENT each, EACCES for a directory
    of that name: bash's "command not found" all the same, 127: a shell looks
    for a file). Only an empty argument list or name is refused here
    (TargetError, 127).
    """
    if not argv:
        raise _command_error("ktr: no command given", errno_module.EINVAL)
    name = os.fsencode(argv[0])
    shown = os.fsdecode(name)
    if not name:
        raise _command_error("ktr: empty command name", errno_module.ENOENT)
    if b"/" in name:
        return Command((name,), shown, not_found=False)
    env = os.environ if environment is None else environment
    search = os.fsencode(env.get("PATH", os.defpath))
    candidates = [os.path.join(directory or b".", name) for directory in search.split(b":")]
    denied = None
    for candidate in candidates:
        if os.path.isdir(candidate):
            continue  # (bash skips it: not even "permission denied")
        if os.path.exists(candidate):
            if os.access(candidate, os.X_OK):
                return Command((candidate,), shown, not_found=False)
            denied = denied or candidate
    if denied is not None:
        return Command((denied,), shown, not_found=False)
    return Command(tuple(candidates), shown, not_found=True)


class Command(NamedTuple):
    """The paths the child execs in turn (the first that does not fail with
    ENOENT runs), and how to name the command in a message."""

    paths: tuple[bytes, ...]
    shown: str  # argv[0] as given
    # A PATH search that found no file: every entry is tried, and whatever they
    # fail with, it is "command not found" (127), as bash says.
    not_found: bool


def exec_failure(command: Command, number: int) -> str:
    """The line saying why ``command`` could not be executed (errno ``number``),
    as a shell says it."""
    if command.not_found:
        return f"{command.shown}: command not found"
    if number == errno_module.ENOENT:
        return f"{command.shown}: no such file or directory"
    if number == errno_module.ENOTDIR:  # ./file/: found, and not runnable (126, as bash)
        return f"{command.shown}: not a directory"
    if number == errno_module.EACCES:
        if os.path.isdir(command.paths[0]):
            # execve says EACCES for a directory; bash names the cause (126 either way).
            return f"{command.shown}: is a directory"
        return f"{command.shown}: permission denied"
    return f"cannot execute {os.fsdecode(command.paths[0])}: {os.strerror(number)}"


class SpawnedChild:
    """A forked child waiting on ``release_fd`` before it execs."""

    # A plain class, not a dataclass: generating a dataclass's methods costs
    # about a millisecond of every start-up.
    __slots__ = ("command", "error_fd", "path", "pid", "release_fd")

    def __init__(self, pid: int, command: Command, release_fd: int, error_fd: int) -> None:
        self.pid = pid
        self.command = command
        self.path = command.paths[0]
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
        return exec_failure(self.command, int.from_bytes(data[:4], "little"))

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
    command: Command,
    argv: Sequence[str | bytes],
    environment: Mapping[str, str] | None,
    seccomp: PreparedFilter | None,
    *,
    stdout_from_stderr: bool = False,
) -> SpawnedChild:
    """The child that execs ``command``'s paths in turn once ``release()``d: the
    one ``ktr record`` forked early (``_trampoline``), else one forked now.

    ``stdout_from_stderr``: the command's fd 1 is a copy of its fd 2 (``-o -``:
    the trace owns standard output)."""
    arguments = [os.fsencode(argument) for argument in argv]
    env = None if environment is None else [
        os.fsencode(key) + b"=" + os.fsencode(value) for key, value in environment.items()
    ]
    if any(b"\0" in item for item in (*arguments, *(env or ()), *command.paths)):
        # (execve's strings end at a NUL: the child would run something else)
        raise _command_error("ktr: an argument or environment variable holds a NUL byte",
                             errno_module.EINVAL)
    program, no_new_privs = (b"", False) if seccomp is None else (
        seccomp.encoded, seccomp.no_new_privs)
    trampoline = _trampoline.take_early()
    while True:
        if trampoline is None:
            if _thread_count() > 1:
                raise RuntimeError(
                    "ktr: spawn() must run before the recorder starts other threads "
                    "(forking a threaded process is unsafe)"
                )
            try:
                trampoline = _trampoline.start()
            except OSError as failure:  # (EMFILE under ulimit -n, EAGAIN under ulimit -u)
                raise TargetError("ktr: cannot start the command: cannot create its "
                                  f"process: {errno_text(failure.errno or 0)}", 0,
                                  failure.errno) from None
            fresh = True
        else:
            fresh = False
        try:
            # (ready: an exec helper's exec is over before the child is seized)
            if trampoline.wait_ready():
                trampoline.send(command.paths, arguments, env, program, no_new_privs,
                                stdout_from_stderr, command.not_found)
                break
            error: OSError = ChildProcessError(errno_module.ESRCH, "the child is gone")
        except OSError as failure:
            error = failure
        trampoline.dispose()
        if fresh:
            raise TargetError(f"ktr: the command died before it could run ({error})",
                              trampoline.pid)
        trampoline = None  # the early child is gone (a signal): fork one now
    return SpawnedChild(trampoline.pid, command, trampoline.instructions_fd,
                        trampoline.error_fd)
