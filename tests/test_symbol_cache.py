"""ktrdump's symbol cache (``--symbol-cache DIR``: ``DIR/symbols/<build-id>.json``).

An entry is keyed by the build id and the fingerprint of the file it was read
from: a file of other content under the same build id (two programs linked here
with one forced ``--build-id``, whose one function has another name at the same
address) never gets the other's symbols; stale, older and mismatched entries are
rewritten. The cache is private (0700 directory, 0600 entries) and never used
through a symlink or in a directory others write to. Through the ``ktrdump``
command, on crafted traces (an MMAP record of the program's code and a SAMPLE in
its function) of real programs compiled here.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from ktrdump_support import build_trace

import formats
import ktrdump
from formats.elf import ElfImage

KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
BUILD_ID = "0123456789abcdef0123456789abcdef01234567"

SOURCE = r"""
volatile unsigned long sink;
__attribute__((noinline)) void NAME(long n) { for (long i = 0; i < n; i++) sink += i; }
int main(int argc, char **argv) { NAME(argc); return 0; }
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two programs of one build id: ``alpha_fn`` and ``beta_fn`` at one address."""
    directory = tmp_path_factory.mktemp("programs")
    built = {name: build_program(directory, name, SOURCE.replace("NAME", name), "-O1",
                                 "-no-pie", f"-Wl,--build-id=0x{BUILD_ID}")
             for name in ("alpha_fn", "beta_fn")}
    images = {name: ElfImage(str(path)) for name, path in built.items()}
    assert {image.build_id for image in images.values()} == {BUILD_ID}
    assert images["alpha_fn"].lookup("alpha_fn")[0].vaddr == (
        images["beta_fn"].lookup("beta_fn")[0].vaddr)
    assert built["alpha_fn"].read_bytes() != built["beta_fn"].read_bytes()
    return built


def _trace(tmp_path: Path, program: Path, function: str) -> Path:
    """A sample in ``function`` of ``program``, mapped at its link-time address."""
    image = ElfImage(str(program))
    code = next(segment for segment in image.segments if segment.executable)
    mapping = formats.Mmap(code.vaddr, code.vaddr + code.memsz, code.offset, 5, 0x2, 1,
                           bytes.fromhex(BUILD_ID), str(program).encode(), b"")
    pc = image.lookup(function)[0].vaddr + 1
    sample = formats.Sample(pc, 1_000_000, 0, int(formats.Abi.X86_64), 0, 0, 0, (), (), b"")
    data, _ = build_trace([[(formats.RecordKind.MMAP, 7, 7, b"prog", mapping),
                            (formats.RecordKind.SAMPLE, 7, 7, b"prog", sample)]])
    trace = tmp_path / f"{function}.ktr"
    trace.write_bytes(data)
    return trace


def _folded(trace: Path, cache: Path) -> tuple[str, str]:
    # No other build-id cache (perf's ~/.debug, ktr's default) may hold the program.
    env = {**os.environ, "HOME": str(cache.parent), "KTR_CACHE_DIR": str(cache)}
    env.pop("XDG_CACHE_HOME", None)
    done = subprocess.run([KTRDUMP, "--format", "folded", "--symbol-cache", str(cache),
                           str(trace)], capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def _entry(cache: Path) -> Path:
    return cache / "symbols" / f"{BUILD_ID}.json"


def test_another_file_of_the_same_build_id_gets_its_own_symbols(
        tmp_path: Path, programs: dict[str, Path]) -> None:
    cache = tmp_path / "cache"
    program = tmp_path / "prog"
    shutil.copy(programs["alpha_fn"], program)
    out, err = _folded(_trace(tmp_path, program, "alpha_fn"), cache)
    assert "alpha_fn" in out and err == ""
    first = json.loads(_entry(cache).read_text())
    assert first["build_id"] == BUILD_ID
    assert any(row[0] == "alpha_fn" for row in first["facts"]["functions"])
    # Other content, same build id, same path: the entry made from the first is stale.
    shutil.copy(programs["beta_fn"], program)
    out, err = _folded(_trace(tmp_path, program, "beta_fn"), cache)
    assert "beta_fn" in out and "alpha_fn" not in out and err == ""
    second = json.loads(_entry(cache).read_text())  # rewritten from the file at hand
    assert second["source"] != first["source"]
    assert any(row[0] == "beta_fn" for row in second["facts"]["functions"])
    # Used again while it matches; and, the file gone, the entry is all there is.
    assert "beta_fn" in _folded(_trace(tmp_path, program, "beta_fn"), cache)[0]
    trace = _trace(tmp_path, program, "beta_fn")
    program.unlink()
    assert "beta_fn" in _folded(trace, cache)[0]


def test_the_cache_is_private_and_its_entries_are_used(tmp_path: Path,
                                                      programs: dict[str, Path]) -> None:
    cache = tmp_path / "cache"
    trace = _trace(tmp_path, programs["alpha_fn"], "alpha_fn")
    _folded(trace, cache)
    assert stat.S_IMODE((cache / "symbols").stat().st_mode) == 0o700
    assert stat.S_IMODE(_entry(cache).stat().st_mode) == 0o600
    # An entry that matches is used: its (edited) names are what the sample gets.
    entry = json.loads(_entry(cache).read_text())
    entry["facts"]["functions"] = [[("from_cache" if row[0] == "alpha_fn" else row[0]),
                                    *row[1:]] for row in entry["facts"]["functions"]]
    _entry(cache).write_text(json.dumps(entry))
    assert "from_cache" in _folded(trace, cache)[0]


def test_an_older_entry_keyed_by_build_id_alone_is_rewritten(
        tmp_path: Path, programs: dict[str, Path]) -> None:
    cache = tmp_path / "cache"
    (cache / "symbols").mkdir(parents=True, mode=0o700)
    poisoned = ElfImage(str(programs["beta_fn"])).facts()  # what a copy would have left
    poisoned["functions"] = [[("poison" if row[0] == "beta_fn" else row[0]), *row[1:]]
                             for row in poisoned["functions"]]
    _entry(cache).write_text(json.dumps(poisoned))
    out, _ = _folded(_trace(tmp_path, programs["alpha_fn"], "alpha_fn"), cache)
    assert "alpha_fn" in out and "poison" not in out
    assert json.loads(_entry(cache).read_text())["version"] == 2


def test_a_symlinked_entry_is_neither_read_nor_written_through(
        tmp_path: Path, programs: dict[str, Path]) -> None:
    cache = tmp_path / "cache"
    trace = _trace(tmp_path, programs["alpha_fn"], "alpha_fn")
    _folded(trace, cache)
    planted = tmp_path / "planted.json"
    entry = json.loads(_entry(cache).read_text())
    entry["facts"]["functions"] = [["planted", *row[1:]] for row in entry["facts"]["functions"]]
    planted.write_text(json.dumps(entry))
    before = planted.read_bytes()
    _entry(cache).unlink()
    _entry(cache).symlink_to(planted)
    out, _ = _folded(trace, cache)
    assert "alpha_fn" in out and "planted" not in out
    assert planted.read_bytes() == before
    assert not _entry(cache).is_symlink()  # replaced by a regular entry of its own


@pytest.mark.parametrize("unsafe", ["symlinked directory", "group-writable directory"])
def test_a_cache_directory_not_private_is_not_used(tmp_path: Path, programs: dict[str, Path],
                                                   unsafe: str) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache = tmp_path / "cache"
    if unsafe == "symlinked directory":
        cache.symlink_to(elsewhere)
    else:
        cache.mkdir()
        cache.chmod(0o777)
    out, err = _folded(_trace(tmp_path, programs["alpha_fn"], "alpha_fn"), cache)
    assert "alpha_fn" in out  # read from the file itself
    assert err.count("\n") == 1 and f"symbol cache {cache} " in err and "not used" in err
    assert not (elsewhere / "symbols").exists() and not (cache / "symbols").exists()


@pytest.mark.parametrize("cached", [False, True], ids=["no cache", "cache"])
def test_two_files_of_one_build_id_in_one_trace_each_name_their_samples(
        tmp_path: Path, programs: dict[str, Path], cached: bool) -> None:
    """Two processes run the two programs (one build id, other contents): each sample
    is named from its own process's file, whichever module was read first."""
    traces = [_trace(tmp_path, programs[name], name) for name in ("alpha_fn", "beta_fn")]
    with ktrdump.open(traces[0]) as first, ktrdump.open(traces[1]) as second:
        records = [*(r for r in first), *(r._replace(pid=8, tid=8) for r in second)]
    trace = tmp_path / "both.ktr"
    data, _ = build_trace([[(r.kind, r.pid, r.tid, r.comm, r.payload) for r in records]])
    trace.write_bytes(data)
    env = {**os.environ, "HOME": str(tmp_path), "KTR_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("XDG_CACHE_HOME", None)
    cache = ["--symbol-cache", str(tmp_path / "cache")] if cached else ["--no-symbol-cache"]
    for _ in range(2 if cached else 1):  # with a cache: written, then read
        done = subprocess.run([KTRDUMP, "--format", "json", *cache, str(trace)],
                              capture_output=True, text=True, timeout=60, env=env, check=True)
        samples = [json.loads(line) for line in done.stdout.splitlines()
                   if '"type":"SAMPLE"' in line]
        assert [(s["pid"], s["frames"][0]["function"]) for s in samples] == [
            (7, "alpha_fn"), (8, "beta_fn")]


def test_the_fingerprint_follows_the_symbols_not_the_path(
        tmp_path: Path, programs: dict[str, Path]) -> None:
    from formats.elf import symbols_fingerprint

    alpha = symbols_fingerprint(str(programs["alpha_fn"]))
    beta = symbols_fingerprint(str(programs["beta_fn"]))
    copy = tmp_path / "copy"
    shutil.copy(programs["alpha_fn"], copy)
    again = symbols_fingerprint(str(copy))
    assert alpha is not None and beta is not None and again is not None
    assert again.digest == alpha.digest and again.identity != alpha.identity
    assert alpha.digest != beta.digest
    assert alpha.digest.startswith(f"{programs['alpha_fn'].stat().st_size}:")
    (tmp_path / "text").write_text("not an ELF file")
    assert symbols_fingerprint(str(tmp_path / "text")) is None
    assert symbols_fingerprint(str(tmp_path / "missing")) is None


def test_a_cache_directory_that_cannot_be_created_is_said(tmp_path: Path,
                                                          programs: dict[str, Path]) -> None:
    """A DIR whose parent cannot hold it (procfs refuses mkdir with ENOENT) was silently
    not used, where a DIR that is a file (ENOTDIR) was said: one line for both."""
    cache = Path("/proc/ktr-no-such-cache-dir")
    out, err = _folded(_trace(tmp_path, programs["alpha_fn"], "alpha_fn"), cache)
    assert "alpha_fn" in out  # read from the file itself
    assert err.count("\n") == 1, err
    assert f"symbol cache {cache} cannot be created" in err and "not used" in err
