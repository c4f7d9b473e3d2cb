"""The process that becomes ``ktr record``'s command: small when it execs, told late what to run.

The kernel tears the old address space down inside execve, and that execve is
the first call of every trace: a child forked from the recorder (tens of
megabytes of modules) spent 1.1-2.8 ms in it where strace's child spends
0.15-0.4 ms. So the child, as soon as it is forked, execs the exec helper
(``_exec_helper``: a static program of under 2 KB, run from a memfd, untraced)
and waits as that; the command's execve then leaves a few pages behind, and
takes what strace's does or less. ``ktr record`` (``ktr.cli.run``) forks the
child early (``start_early``), while the interpreter is small and in parallel
with the recorder's imports; a caller of the Python API gets one forked when it
spawns (``start``). Where the helper cannot run (no memfd, exec of one refused
by policy, no /proc), the forked Python child itself waits and execs, as
before: the same protocol, only a slower first execve.

The protocol (``tools/exec_helper.c`` implements it too): the child writes
``R`` on the error pipe when it waits (``wait_ready``: the helper's own exec is
over, so it is never traced), then reads its instructions from a
close-on-exec pipe (``send``: paths to try, argv, environment, the seccomp
filter, fd 1 from fd 2) — all of them before the recorder seizes it, because
a traced child stopped in its read could not drain a full pipe while the
recorder is blocked writing it. ``release`` then writes one byte, after which
the child does only: reset SIGPIPE/SIGXFSZ to their defaults (Python ignores
them at start-up; the command must not inherit that), optionally dup fd 2 onto
fd 1, install the seccomp filter, and execve each path in turn (execvp's
search: on past ENOENT/ENOTDIR, and past anything for a PATH search that found
no file). If every execve fails it writes the errno (4 bytes) to the error pipe
and exits as bash does: 127 (ENOENT, or a PATH search that found no file) or
126 (any other failure: ``./file/``'s ENOTDIR too).
Only the execves are the command's: the control loop reports none of the
child's other calls, before them or after the last one fails.
End of file before the release (the recorder went away) exits 127.

Guarantees: this module imports nothing heavier than ``os``, ``signal`` and
``contextlib`` (``ctypes`` only in a Python child, only for a seccomp filter),
so the early child is the bare interpreter; the child never returns into the
caller's code. The command gets what the recorder had when the child was
forked: pid and parent, comm (the helper takes the child's), cwd, environment
(the helper passes the child's on), ignored signals, signal mask, rlimits,
process group and every fd not close-on-exec (ktr's own are). An early child
has them as ``ktr record`` was started: the soft RLIMIT_NOFILE that probes
raise in the recorder is no longer the command's.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Sequence
from typing import Any

NOT_FOUND_STATUS = 127  # as shells: not found
NOT_EXECUTABLE_STATUS = 126  # found, but execve failed otherwise (EACCES, ENOEXEC)
_ENOENT = 2
_ENOTDIR = 20
_EIO = 5

# flags (the message's first item)
_STDOUT_FROM_STDERR = 1
_NO_NEW_PRIVS = 2
_ENVIRONMENT = 4
_NOT_FOUND = 8  # the paths are a PATH search's that found no file

# linux/prctl.h, linux/seccomp.h
_PR_SET_SECCOMP = 22
_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_MODE_FILTER = 2
_SOCK_FILTER_SIZE = 8
_MFD_EXEC = 0x10  # linux/memfd.h (6.3): executable even under vm.memfd_noexec = 1


class Trampoline:
    """A forked child waiting for its instructions (``send``) and its release."""

    __slots__ = ("error_fd", "instructions_fd", "pid")

    def __init__(self, pid: int, instructions_fd: int, error_fd: int) -> None:
        self.pid = pid
        self.instructions_fd = instructions_fd  # the instructions, then the release byte
        self.error_fd = error_fd  # the exec errno arrives here (EOF if exec succeeded)

    def wait_ready(self) -> bool:
        """Wait until the child waits for its instructions (it has become the exec
        helper, or decided to stay as it is): False if it is gone."""
        while True:
            try:
                return os.read(self.error_fd, 1) == b"R"
            except InterruptedError:
                continue

    def send(self, paths: Sequence[bytes], argv: Sequence[bytes],
             environment: Sequence[bytes] | None, seccomp_program: bytes,
             no_new_privs: bool, stdout_from_stderr: bool, not_found: bool) -> None:
        """Tell the child what to run (OSError if it is gone). ``environment``:
        ``KEY=VALUE`` items, or None for the one it inherited; ``not_found``:
        the paths are a PATH search's that found no file (each is tried, 127)."""
        flags = ((_STDOUT_FROM_STDERR if stdout_from_stderr else 0)
                 | (_NO_NEW_PRIVS if no_new_privs else 0)
                 | (_ENVIRONMENT if environment is not None else 0)
                 | (_NOT_FOUND if not_found else 0))
        items = [bytes([flags]), seccomp_program, b"%d" % len(paths), *paths,
                 b"%d" % len(argv), *argv, *(environment or ())]
        body = b"".join(len(item).to_bytes(4, "little") + item + b"\0" for item in items)
        view = memoryview(len(body).to_bytes(8, "little") + body)
        while view:
            view = view[os.write(self.instructions_fd, view):]

    def close(self) -> None:
        for fd in (self.instructions_fd, self.error_fd):
            if fd >= 0:
                os.close(fd)
        self.instructions_fd = self.error_fd = -1

    def dispose(self) -> None:
        """Close the pipes, kill the child and reap it (an unused child)."""
        self.close()
        with contextlib.suppress(OSError):
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0x40000000)  # __WALL


_early: Trampoline | None = None


def start() -> Trampoline:
    """Fork a child that waits for ``send`` and the release (the caller has one thread)."""
    instructions_read, instructions_write = os.pipe()  # (both close-on-exec)
    try:
        error_read, error_write = os.pipe2(os.O_CLOEXEC)
    except OSError:
        os.close(instructions_read)
        os.close(instructions_write)
        raise
    try:
        pid = os.fork()
    except OSError:
        for fd in (instructions_read, instructions_write, error_read, error_write):
            os.close(fd)
        raise
    if pid == 0:  # pragma: no cover - the child; it never returns
        try:
            os.close(instructions_write)
            os.close(error_read)
            _child(instructions_read, error_write)
        finally:
            os._exit(NOT_FOUND_STATUS)
    os.close(instructions_read)
    os.close(error_write)
    return Trampoline(pid, instructions_write, error_read)


def start_early() -> None:
    """Fork the child now, while the interpreter is small, for ``take_early``."""
    global _early
    if _early is None:
        _early = start()


def take_early() -> Trampoline | None:
    """The child ``start_early`` forked, if it is still waiting (once)."""
    global _early
    trampoline, _early = _early, None
    if trampoline is None:
        return None
    try:
        gone = os.waitpid(trampoline.pid, os.WNOHANG)[0] != 0
    except ChildProcessError:
        gone = True
    if gone:  # (killed while the recorder was getting ready)
        trampoline.close()
        return None
    return trampoline


def dispose_early() -> None:
    """Kill and reap the early child if nothing took it (no command to start)."""
    global _early
    trampoline, _early = _early, None
    if trampoline is not None:
        trampoline.dispose()


def _ignore(signo: int, frame: Any) -> None:  # pragma: no cover - in the child
    pass


def _read(fd: int, size: int) -> bytes | None:  # pragma: no cover - in the child
    data = b""
    while len(data) < size:
        try:
            chunk = os.read(fd, size - len(data))
        except InterruptedError:
            continue
        if not chunk:
            return None
        data += chunk
    return data


def _child(instructions: int, error_write: int) -> None:  # pragma: no cover - in the child
    _exec_helper(instructions, error_write)  # returns only if it cannot
    os.write(error_write, b"R")
    # ^C while waiting is the recorder's to handle: a Python handler, reset by
    # the exec as Python's own would be (an ignored SIGINT stays ignored). The
    # start-up handler of ``ktr.__main__`` (an early child) is the recorder's
    # message: the child takes SIGTERM and SIGHUP by their default action.
    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler or getattr(handler, "ktr_start_up", False):
        signal.signal(signal.SIGINT, _ignore)
    for signo in (signal.SIGTERM, signal.SIGHUP):
        if getattr(signal.getsignal(signo), "ktr_start_up", False):
            signal.signal(signo, signal.SIG_DFL)
    header = _read(instructions, 8)
    body = _read(instructions, int.from_bytes(header, "little")) if header else None
    if body is None:
        return
    items: list[bytes] = []
    offset = 0
    while offset < len(body):
        size = int.from_bytes(body[offset:offset + 4], "little")
        items.append(body[offset + 4:offset + 4 + size])
        offset += 5 + size  # (and the NUL the exec helper needs)
    flags = items[0][0]
    paths_end = 3 + int(items[2])
    paths = items[3:paths_end]
    argv = items[paths_end + 1:paths_end + 1 + int(items[paths_end])]
    environment = None
    if flags & _ENVIRONMENT:
        environment = dict(item.split(b"=", 1) for item in items[paths_end + 1 + len(argv):])
    install = _prepare_filter(items[1], bool(flags & _NO_NEW_PRIVS)) if items[1] else None
    if not _read(instructions, 1):  # the recorder went away before taking control
        return
    os.close(instructions)
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
    if flags & _STDOUT_FROM_STDERR:
        os.dup2(2, 1)  # (the trace owns standard output: -o -)
    if install is not None:
        install()
    number = _ENOENT
    for path in paths:  # (execvp's search: on past what is not there)
        try:
            if environment is None:
                os.execv(path, argv)
            else:
                os.execve(path, argv, environment)
        except OSError as error:
            number = error.errno or _EIO
            if number not in (_ENOENT, _ENOTDIR) and not flags & _NOT_FOUND:
                break
    with contextlib.suppress(OSError):
        os.write(error_write, number.to_bytes(4, "little"))
    # (bash: 127 for ENOENT or a search that found no file; ./file/'s ENOTDIR is 126)
    not_found = number == _ENOENT or bool(flags & _NOT_FOUND)
    os._exit(NOT_FOUND_STATUS if not_found else NOT_EXECUTABLE_STATUS)


def _exec_helper(instructions: int, error_write: int) -> None:  # pragma: no cover - child
    """Become the exec helper (``_exec_helper``), keeping pid, comm, environment and
    fds; returns if it cannot (no memfd, an exec of one refused, no /proc)."""
    memfd = -1
    try:
        from ._exec_helper import IMAGE

        try:
            memfd = os.memfd_create("ktr", os.MFD_CLOEXEC | _MFD_EXEC)
        except OSError:  # (before Linux 6.3: no MFD_EXEC, and none needed)
            memfd = os.memfd_create("ktr", os.MFD_CLOEXEC)
        view = memoryview(IMAGE)
        while view:
            view = view[os.write(memfd, view):]
        with open("/proc/self/comm", "rb") as file:
            comm = file.read().rstrip(b"\n") or b"ktr"
        os.set_inheritable(instructions, True)
        os.set_inheritable(error_write, True)
        os.execv(f"/proc/self/fd/{memfd}", [comm, b"%d" % instructions, b"%d" % error_write])
    except (OSError, ImportError, ValueError):
        pass
    with contextlib.suppress(OSError):
        os.set_inheritable(instructions, False)
        os.set_inheritable(error_write, False)
        if memfd >= 0:
            os.close(memfd)


def _prepare_filter(program: bytes, no_new_privs: bool) -> Any:  # pragma: no cover - child
    """A function installing ``program`` (struct sock_filter[]): everything allocated
    and loaded before the release, only prctl calls after it."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True)["prctl"]
    prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                      ctypes.c_ulong)
    prctl.restype = ctypes.c_int
    instructions = ctypes.create_string_buffer(program, len(program))
    # struct sock_fprog: unsigned short len, 6 bytes of padding, the pointer
    fprog = ctypes.create_string_buffer(
        (len(program) // _SOCK_FILTER_SIZE).to_bytes(2, "little") + bytes(6)
        + ctypes.addressof(instructions).to_bytes(8, "little"), 16)

    def install(_buffers: tuple[Any, ...] = (instructions, fprog)) -> None:
        if no_new_privs and prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS)")
        if prctl(_PR_SET_SECCOMP, _SECCOMP_MODE_FILTER, ctypes.addressof(fprog), 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP)")

    return install
