"""ktrdump never opens a FIFO or a device that a trace's mapping names: only regular files.

A trace names the files its processes mapped; ktrdump reads them (build id, symbols,
CFI, DWARF) to name stack frames. What is at such a path when the trace is read is
anyone's choice: a FIFO there made every open block until a writer came (ktrdump hung
for ever), and a device would have been opened as it is (as root: a watchdog armed, a
tape rewound). A program is recorded with stack samples, then its path is made a FIFO:
the dump must finish at once, say in one line that the file is not a regular file, and
still show the samples (as offsets). The readers of ``formats`` are checked on a FIFO
directly too, each in a child with a deadline (the old code blocks in open(2)).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

from c_support import build_program

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

#: Burns 0.1 s of its own CPU time, so samples fall in its code.
BUSY_C = r"""
#include <time.h>
static volatile unsigned long sink;
static long cpu_ns(void) {
    struct timespec t; clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
__attribute__((noinline)) void busy(long ns) {
    long t0 = cpu_ns();
    while (cpu_ns() - t0 < ns) for (int k = 0; k < 20000; k++) sink += k;
}
int main(void) { busy(100000000L); return 0; }
"""


def _environment(tmp_path: Path) -> dict[str, str]:
    # A cache of our own: no symbols kept by an earlier run stand in for the file.
    return {**os.environ, "KTR_CACHE_DIR": str(tmp_path / "cache")}


def test_a_fifo_at_a_mapped_path_is_not_opened(tmp_path: Path) -> None:
    program = build_program(tmp_path, "busy", BUSY_C)
    trace = tmp_path / "busy.ktr"
    env = _environment(tmp_path)
    subprocess.run([KTR, "record", "-t", "S", "-F", "999", "-o", str(trace), "--",
                    str(program)], check=True, capture_output=True, timeout=60, env=env)
    program.unlink()
    os.mkfifo(program)  # no writer ever comes: an open for reading would block
    done = subprocess.run([KTRDUMP, "--no-symbol-cache", "--format", "folded", str(trace)],
                          capture_output=True, text=True, timeout=30, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if str(program) in line]
    assert len(said) == 1 and "not a regular file" in said[0], done.stderr
    assert sum(int(line.rsplit(" ", 1)[1]) for line in done.stdout.splitlines()) > 0


def test_the_elf_readers_refuse_a_fifo_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "lib.so"
    os.mkfifo(fifo)
    check = textwrap.dedent(f"""
        from formats import dwarf_args, elf
        path = {str(fifo)!r}
        assert elf.read_build_id(path) is None
        assert elf.symbols_fingerprint(path) is None
        assert dwarf_args.signature(path, "f", 0x1000) is None
        try:
            elf.ElfImage(path)
        except elf.ElfError as error:
            assert "not a regular file" in str(error), error
        else:
            raise AssertionError("a FIFO read as an ELF image")
        try:
            elf.open_regular("/dev/null")
        except OSError as error:
            assert "not a regular file" in str(error), error
        else:
            raise AssertionError("a device opened")
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr


def test_the_recorder_never_opens_a_fifo_or_device_for_a_build_id(tmp_path: Path) -> None:
    # ktr record's sampler reads a mapped file's build id through map_files, or (where
    # that cannot be read) through the path once its stat shows the mapped inode. A
    # tracee can swap a FIFO in after that stat: the state a MapsLine naming the FIFO's
    # own inode reproduces (its range is no mapping, so map_files fails). A device the
    # process mapped is reached through map_files: /dev/zero stands for it.
    fifo = tmp_path / "lib.so"
    os.mkfifo(fifo)
    check = textwrap.dedent(f"""
        import os
        from ktr import _procfs, _sampling
        sampler = _sampling.Sampler(_sampling.SamplingOptions(hz=100))
        status = os.stat({str(fifo)!r})
        line = _procfs.MapsLine(0x1000, 0x2000, 0, 5, 2, status.st_dev, status.st_ino,
                                {str(fifo).encode()!r}, False)
        assert sampler._mapped_build_id(os.getpid(), line) == (b"", False)
        assert sampler._file_build_id("/dev/zero", os.stat("/dev/zero")) is None
        print("ok")
    """)
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
