"""Keep the mapped files a recording needs once their paths no longer name them.

perf's build-id cache, for ktr: when a traced process maps a file that was
deleted or replaced at its path (or is so when the process exits), the file
the process really maps is copied into ``DIR/build-id/xx/rest/elf``
(``formats.buildid_cache``), where ktrdump finds it by the build id of the
trace's MMAP records and names the frames.

``BinaryKeeper.keep(fd)`` takes a descriptor the caller opened on
``/proc/PID/map_files/RANGE`` (the kernel's link to the mapped inode itself,
never a path a user controls) while the process still lived; the copy is
made on the keeper's own thread, so neither the control loop nor the sample
reader waits for it. Each file is read once per recording (by identity) and
stored once per build id.

Guarantees: directories below ``DIR`` are created 0700 and must be the
effective user's and private, opened without following symlinks; a copy is
written 0600 to a fresh name (``O_CREAT | O_EXCL | O_NOFOLLOW``) and renamed
into place, so it never writes through a symlink or into another file; files
larger than ``max_bytes``, files without a build id and failures are counted
(``summary()``), never silent; ``close()`` finishes the queued copies. One
recording copies at most ``max_total`` bytes in all (the files a traced program
maps are its choice: without a bound, a program mapping thousands of deleted
sparse files of distinct build ids made the recorder fill its disk); a file past
that budget is counted too.
Does not: keep files that were unchanged (their path still serves), the vDSO
(the trace holds its image), or a file replaced while its process was gone
before the recorder looked.
"""

from __future__ import annotations

import contextlib
import os
import queue
import stat
import threading
from dataclasses import dataclass

from formats.buildid_cache import ktr_entry
from formats.elf import build_id_of_file

#: Larger files are not copied (counted): a cache must not fill a disk silently.
DEFAULT_MAX_BYTES = 512 << 20
#: What one recording copies in all, at most (counted past it, never silent).
DEFAULT_MAX_TOTAL = 2 << 30
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_STOP = -1


@dataclass
class KeepCounts:
    kept: int = 0  # copied this recording
    present: int = 0  # already in the cache
    too_large: int = 0
    over_budget: int = 0  # not copied: the recording's ``max_total`` was used up
    no_build_id: int = 0
    failed: int = 0
    first_error: str = ""


class BinaryKeeper:
    """Copies files given as descriptors into the build-id cache at ``cache_dir``."""

    def __init__(self, cache_dir: str, max_bytes: int = DEFAULT_MAX_BYTES,
                 max_total: int = DEFAULT_MAX_TOTAL) -> None:
        self.cache_dir = cache_dir
        self.max_bytes = max_bytes
        self.max_total = max_total
        self._copied_bytes = 0  # copied this recording (the keeper's thread alone)
        self.counts = KeepCounts()
        self._queue: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._seen: set[tuple[int, int]] = set()  # (st_dev, st_ino) taken this recording
        self._stored: set[str] = set()  # build ids stored or found this recording
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def keep(self, fd: int) -> None:
        """Copy the file open as ``fd`` (this call takes the descriptor) later, unless this
        recording already took it."""
        try:
            status = os.fstat(fd)
        except OSError:
            os.close(fd)
            return
        identity = (status.st_dev, status.st_ino)
        with self._lock:
            if identity in self._seen or not stat.S_ISREG(status.st_mode):
                os.close(fd)
                return
            self._seen.add(identity)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ktr-buildid-cache",
                                                daemon=True)
                self._thread.start()
        self._queue.put(fd)

    def seen(self, device: int, inode: int) -> bool:
        """Whether the file (by identity) was already taken this recording."""
        with self._lock:
            return (device, inode) in self._seen

    def close(self) -> None:
        """Finish every queued copy."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(_STOP)
            thread.join()

    def summary(self) -> str | None:
        """One line saying what was kept and what was not, or None when nothing was asked."""
        c = self.counts
        if not (c.kept or c.too_large or c.over_budget or c.no_build_id or c.failed):
            return None
        where = os.path.join(self.cache_dir, "build-id")
        parts = [f"kept {c.kept} mapped file{'s' if c.kept != 1 else ''} that "
                 f"{'were' if c.kept != 1 else 'was'} deleted or replaced in {where}"]
        if c.too_large:
            parts.append(f"{c.too_large} larger than {self.max_bytes >> 20} MiB not kept")
        if c.over_budget:
            parts.append(f"{c.over_budget} not kept: this recording's "
                         f"{self.max_total >> 20} MiB for copies was used up")
        if c.no_build_id:
            parts.append(f"{c.no_build_id} without build id not kept")
        if c.failed:
            parts.append(f"{c.failed} could not be kept ({c.first_error})")
        return "; ".join(parts)

    # -- the keeper's thread --------------------------------------------------

    def _run(self) -> None:
        while True:
            fd = self._queue.get()
            if fd == _STOP:
                return
            try:
                self._copy(fd)
            except OSError as error:
                self._failed(f"{error.strerror or error}")
            finally:
                os.close(fd)

    def _failed(self, why: str) -> None:
        self.counts.failed += 1
        if not self.counts.first_error:
            self.counts.first_error = why

    def _copy(self, fd: int) -> None:
        size = os.fstat(fd).st_size
        if size > self.max_bytes:
            self.counts.too_large += 1
            return
        with os.fdopen(os.dup(fd), "rb") as handle:
            build_id = build_id_of_file(handle)
        entry = ktr_entry(self.cache_dir, build_id) if build_id else None
        if build_id is None or entry is None:
            self.counts.no_build_id += 1
            return
        if build_id in self._stored:
            self.counts.present += 1
            return
        relative = os.path.relpath(os.path.dirname(entry), self.cache_dir).split(os.sep)
        directory = self._private_directory(relative)
        try:
            try:
                os.stat("elf", dir_fd=directory, follow_symlinks=False)
                self._stored.add(build_id)
                self.counts.present += 1
                return
            except FileNotFoundError:
                pass
            if self._copied_bytes + size > self.max_total:
                self.counts.over_budget += 1
                return
            temporary = f".elf.{os.getpid()}.{threading.get_ident()}.tmp"
            out = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
                          | os.O_CLOEXEC, 0o600, dir_fd=directory)
            try:
                try:
                    copied = 0
                    while copied < size:
                        sent = os.sendfile(out, fd, copied, size - copied)
                        if sent == 0:
                            break
                        copied += sent
                finally:
                    os.close(out)
                if copied != size:
                    raise OSError(0, f"the file shrank while copied ({copied} of {size} bytes)")
                os.rename(temporary, "elf", src_dir_fd=directory, dst_dir_fd=directory)
            except BaseException:
                os.unlink(temporary, dir_fd=directory)
                raise
        finally:
            os.close(directory)
        self._stored.add(build_id)
        self._copied_bytes += size
        self.counts.kept += 1

    def _private_directory(self, parts: list[str]) -> int:
        """A descriptor of ``cache_dir/parts...``, each below ``cache_dir`` created 0700
        and checked to be ours and private, none reached through a symlink."""
        os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
        current = os.open(self.cache_dir, _DIR_FLAGS)
        try:
            status = os.fstat(current)
            if status.st_uid != os.geteuid() or status.st_mode & 0o022:
                raise OSError(0, f"{self.cache_dir} is not a directory only its owner "
                                 "writes to")
            for part in parts:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, 0o700, dir_fd=current)
                below = os.open(part, _DIR_FLAGS, dir_fd=current)
                os.close(current)
                current = below
                status = os.fstat(current)
                if status.st_uid != os.geteuid() or status.st_mode & 0o077:
                    raise OSError(0, f"{part} in {self.cache_dir} is not a private "
                                     "directory of yours")
        except BaseException:
            os.close(current)
            raise
        return current


__all__ = ["DEFAULT_MAX_BYTES", "DEFAULT_MAX_TOTAL", "BinaryKeeper", "KeepCounts"]
