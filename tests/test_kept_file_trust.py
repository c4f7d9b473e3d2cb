"""ktrdump names frames from a kept copy of a file only where no other user could have put it.

When the file a trace's samples fall in is gone, ktrdump looks for a copy by build id
in the build-id cache beside the symbol cache (``--symbol-cache DIR``: DIR/build-id/..).
A build id is only a note a file carries: a directory another user controls can hold a
file with the recorded build id and symbols of that user's choosing, and those named
the frames -- though the symbol cache in that same directory was refused. A program is
recorded with stack samples and deleted; its own copy (the oracle: the very bytes, so
any refusal is the directory's, not the file's) is put in a cache directory of root's,
where it names ``busy``, and in one another user owns, where it must not: the frames
are then offsets, and one line says why.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from c_support import build_program

import formats
import ktrdump
from formats import RecordKind
from formats.elf import read_build_id

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")
NOBODY = 65534

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


def _plant(cache: Path, program: Path, build_id: str) -> None:
    entry = cache / "build-id" / build_id[:2] / build_id[2:]
    entry.mkdir(parents=True)
    shutil.copyfile(program, entry / "elf")


def _dump(trace: Path, cache: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([KTRDUMP, "--symbol-cache", str(cache), "--format", "folded",
                           str(trace)], capture_output=True, text=True, timeout=60, env=env)


def test_a_copy_another_user_could_have_put_there_names_nothing(tmp_path: Path) -> None:
    program = build_program(tmp_path, "busy", BUSY_C)
    build_id = read_build_id(str(program))
    assert build_id
    trace = tmp_path / "busy.ktr"
    env = {**os.environ, "KTR_CACHE_DIR": str(tmp_path / "default-cache"),
           "HOME": str(tmp_path / "home")}
    subprocess.run([KTR, "record", "--no-build-id-cache", "-t", "S", "-F", "999", "-o",
                    str(trace), "--", str(program)],
                   check=True, capture_output=True, timeout=60, env=env)
    kept = tmp_path / "kept"
    shutil.copyfile(program, kept)
    program.unlink()

    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    _plant(ours, kept, build_id)
    done = _dump(trace, ours, env)
    assert done.returncode == 0, done.stderr
    assert ";main;busy" in done.stdout  # named from the copy: the oracle holds

    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    _plant(theirs, kept, build_id)
    for directory, _dirs, files in os.walk(theirs):
        os.chown(directory, NOBODY, NOBODY)
        for name in files:
            os.chown(os.path.join(directory, name), NOBODY, NOBODY)
    done = _dump(trace, theirs, env)
    assert done.returncode == 0, done.stderr
    assert ";main" not in done.stdout and ";busy+0x" in done.stdout, done.stdout
    said = [line for line in done.stderr.splitlines() if "build-id" in line]
    assert len(said) == 1 and "belongs to another user (uid 65534)" in said[0], done.stderr


def test_symbols_of_a_file_another_user_controls_are_not_cached(tmp_path: Path) -> None:
    # An entry of the symbol cache serves every later trace of its build id whose file
    # is not at hand: one made from another user's file (which may carry libc's build
    # id) would name libc's frames in them. Such a file still names its own frames.
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    program = build_program(theirs, "busy", BUSY_C)
    for path in (theirs, program):
        os.chown(path, NOBODY, NOBODY)
    trace = tmp_path / "busy.ktr"
    env = {**os.environ, "KTR_CACHE_DIR": str(tmp_path / "default-cache"),
           "HOME": str(tmp_path / "home")}
    subprocess.run([KTR, "record", "--no-build-id-cache", "-t", "S", "-F", "999", "-o",
                    str(trace), "--", str(program)],
                   check=True, capture_output=True, timeout=60, env=env)
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    done = _dump(trace, cache, env)
    assert done.returncode == 0, done.stderr
    assert ";main;busy" in done.stdout  # read, and used for this trace
    entries = {path.name for path in (cache / "symbols").glob("*.json")}
    assert f"{read_build_id(str(program))}.json" not in entries
    # the oracle: the same file in a directory of root's is cached
    ours = tmp_path / "ours"
    ours.mkdir(mode=0o700)
    mine = ours / "busy"
    shutil.copyfile(program, mine)
    mine.chmod(0o755)
    subprocess.run([KTR, "record", "--no-build-id-cache", "-t", "S", "-F", "999", "-o",
                    str(trace), "--", str(mine)],
                   check=True, capture_output=True, timeout=60, env=env)
    done = _dump(trace, cache, env)
    assert done.returncode == 0, done.stderr
    entries = {path.name for path in (cache / "symbols").glob("*.json")}
    assert f"{read_build_id(str(mine))}.json" in entries


def test_an_image_the_trace_holds_is_never_cached(tmp_path: Path) -> None:
    # A MMAP record may carry its file's image (the vDSO's): that is the trace's word
    # alone. A crafted trace whose image carries another file's build id (here the
    # program's own bytes, its build id) still names its frames, but leaves no entry.
    program = build_program(tmp_path, "busy", BUSY_C)
    build_id = read_build_id(str(program))
    assert build_id
    recorded = tmp_path / "busy.ktr"
    env = {**os.environ, "KTR_CACHE_DIR": str(tmp_path / "default-cache"),
           "HOME": str(tmp_path / "home")}
    subprocess.run([KTR, "record", "--no-build-id-cache", "-t", "S", "-F", "999", "-o",
                    str(recorded), "--", str(program)],
                   check=True, capture_output=True, timeout=60, env=env)
    data = recorded.read_bytes()
    _header, size = formats.parse_file_header(data)
    codec = formats.codec("little")
    records = []
    with ktrdump.open(str(recorded)) as trace:
        for record in trace:
            payload = record.payload
            if isinstance(payload, formats.Mmap) and payload.build_id.hex() == build_id:
                payload = payload._replace(image=program.read_bytes())
            records.append(codec.encode_record(RecordKind(record.kind), record.pid,
                                               record.tid, record.timestamp_ns,
                                               record.comm, payload))
    crafted = tmp_path / "crafted.ktr"
    crafted.write_bytes(data[:size] + formats.batch_framing("little").encode(records))
    program.unlink()  # only the image can name the frames now
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    done = _dump(crafted, cache, env)
    assert done.returncode == 0, done.stderr
    assert ";main;busy" in done.stdout  # the image was read
    assert not (cache / "symbols" / f"{build_id}.json").exists()
