"""The build-id cache's writer never writes through a symlink or into a directory that is
not the user's own and private, bounds what it copies and says what it did not keep;
the cache's location is never another user's home.

Files come from ``/bin/true`` (an ELF file with a build id)
and a file without one; the locations are checked with directories chowned to another uid.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import pytest

from formats import buildid_cache
from formats.elf import read_build_id
from ktr._buildid_cache import BinaryKeeper

ELF = shutil.which("true") or "/bin/true"


def _keep(keeper: BinaryKeeper, path: str) -> None:
    keeper.keep(os.open(path, os.O_RDONLY))


def test_a_copy_is_private_complete_and_made_once(tmp_path: Path) -> None:
    build_id = read_build_id(ELF)
    assert build_id
    keeper = BinaryKeeper(str(tmp_path / "c"))
    _keep(keeper, ELF)
    _keep(keeper, ELF)  # the same file again: taken once
    keeper.close()
    entry = tmp_path / "c" / "build-id" / build_id[:2] / build_id[2:] / "elf"
    assert entry.read_bytes() == Path(ELF).read_bytes()
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert keeper.counts.kept == 1 and keeper.counts.present == 0
    assert os.listdir(entry.parent) == ["elf"]  # no temporary left
    again = BinaryKeeper(str(tmp_path / "c"))
    _keep(again, ELF)
    again.close()
    assert again.counts.present == 1 and again.counts.kept == 0 and again.summary() is None


def test_a_symlink_in_the_cache_is_never_followed(tmp_path: Path) -> None:
    build_id = read_build_id(ELF)
    assert build_id
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "build-id").symlink_to(elsewhere)
    keeper = BinaryKeeper(str(cache))
    _keep(keeper, ELF)
    keeper.close()
    assert os.listdir(elsewhere) == []
    assert keeper.counts.failed == 1 and keeper.counts.kept == 0
    assert "1 could not be kept" in (keeper.summary() or "")
    # An entry that is a symlink is taken as present, never written through.
    os.unlink(cache / "build-id")
    victim = tmp_path / "victim"
    victim.write_bytes(b"keep me")
    entry = cache / "build-id" / build_id[:2] / build_id[2:]
    entry.mkdir(parents=True, mode=0o700)
    for directory in (cache / "build-id", cache / "build-id" / build_id[:2]):
        directory.chmod(0o700)
    (entry / "elf").symlink_to(victim)
    keeper = BinaryKeeper(str(cache))
    _keep(keeper, ELF)
    keeper.close()
    assert victim.read_bytes() == b"keep me"
    assert keeper.counts.present == 1


def test_a_directory_others_may_write_is_refused(tmp_path: Path) -> None:
    cache = tmp_path / "c"
    cache.mkdir()
    (cache / "build-id").mkdir()
    (cache / "build-id").chmod(0o777)
    keeper = BinaryKeeper(str(cache))
    _keep(keeper, ELF)
    keeper.close()
    assert keeper.counts.failed == 1
    assert not any((cache / "build-id").iterdir())


def test_large_files_and_files_without_build_id_are_counted(tmp_path: Path) -> None:
    keeper = BinaryKeeper(str(tmp_path / "c"), max_bytes=100)
    _keep(keeper, ELF)
    plain = tmp_path / "plain"
    plain.write_bytes(b"\x7fELF not really")
    _keep(keeper, str(plain))
    keeper.close()
    assert (keeper.counts.too_large, keeper.counts.no_build_id) == (1, 1)
    said = keeper.summary() or ""
    assert "1 larger than 0 MiB not kept" in said and "1 without build id" in said
    assert not (tmp_path / "c" / "build-id").exists()


def test_another_users_home_is_never_taken(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (chown)")
    foreign = tmp_path / "alice"
    foreign.mkdir()
    os.chown(foreign, 4321, 4321)
    monkeypatch.delenv("KTR_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(foreign))
    import pwd

    own = pwd.getpwuid(0).pw_dir
    assert buildid_cache.own_home() == own
    assert buildid_cache.ktr_cache_dir() == os.path.join(own, ".cache", "ktr")
    monkeypatch.setenv("KTR_CACHE_DIR", str(foreign / "cache"))
    assert buildid_cache.ktr_cache_dir() == os.path.join(own, ".cache", "ktr")
    # perf's cache is read in both homes (reading is harmless; the copy is checked).
    assert {p.split("/.debug/")[0] for p in buildid_cache.perf_entries("ab" * 20)} == {
        str(foreign), own}
    mine = tmp_path / "mine"
    monkeypatch.setenv("HOME", str(mine))
    monkeypatch.delenv("KTR_CACHE_DIR")
    assert buildid_cache.ktr_cache_dir() == str(mine / ".cache" / "ktr")
    assert buildid_cache.ktr_entry("/c", "not hex") is None
