"""Where build-id caches live and how a file is named in them (ktr's and perf's).

A build-id cache keeps copies of the ELF files a recording mapped, named by
build id, so a trace can be symbolized after the files are deleted or
replaced. Two layouts are known:

- ktr's (``ktr record`` fills it): ``DIR/build-id/xx/rest/elf``, where
  ``xxrest`` is the build id in lower-case hex and ``DIR`` is the directory
  ktrdump keeps its symbol cache in (``$KTR_CACHE_DIR``, else
  ``$XDG_CACHE_HOME/ktr``, else ``~/.cache/ktr``);
- perf's (``perf record`` / ``perf buildid-cache`` fill it):
  ``~/.debug/.build-id/xx/rest`` — a directory (usually a symlink into
  ``~/.debug/PATH/BUILDID/``) holding ``elf`` and maybe ``debug``; old perf
  versions made ``rest`` the file itself.

A directory named by the environment that belongs to another user (root
running with a user's ``$HOME``, as ``sudo -E`` leaves it) is not root's: the
effective user's home from the password database is used instead, for
reading and writing alike, so root never writes into a user's home.

Guarantees: pure path arithmetic plus ``stat`` calls; a build id that is not
hex gives no path. Does not: create, read or verify files (the writer is
``ktr``'s, the reader checks the build id of what it finds).
"""

from __future__ import annotations

import os
import pwd
import re

_HEX = re.compile(r"[0-9a-f]{4,128}")


def _owner_of_nearest(path: str) -> int | None:
    """The owner of ``path`` or of its nearest existing ancestor (None: none found)."""
    current = os.path.abspath(path)
    while True:
        try:
            return os.stat(current).st_uid
        except OSError:
            parent = os.path.dirname(current)
            if parent == current:
                return None
            current = parent


def _belongs_to_us(path: str) -> bool:
    """Whether the effective user may take ``path`` as its own: it (or the nearest
    existing ancestor) is the effective user's or root's (``/tmp``, ``/var/cache``)."""
    owner = _owner_of_nearest(path)
    if owner is None:
        return True
    return owner == 0 if os.geteuid() == 0 else owner in (os.geteuid(), 0)


def own_home() -> str:
    """The effective user's home directory: ``$HOME`` when it is theirs, else the
    password database's entry (root under ``sudo -E`` keeps the user's ``$HOME``)."""
    home = os.environ.get("HOME") or ""
    if home and _belongs_to_us(home):
        return home
    try:
        return pwd.getpwuid(os.geteuid()).pw_dir
    except KeyError:
        return home or "/"


def ktr_cache_dir() -> str:
    """ktr's cache directory (ktrdump's default ``--symbol-cache``), taken from the
    environment unless that names a directory of another user."""
    explicit = os.environ.get("KTR_CACHE_DIR")
    if explicit:
        if _belongs_to_us(explicit):
            return explicit
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(
            os.environ.get("HOME") or own_home(), ".cache")
        wanted = os.path.join(base, "ktr")
        if _belongs_to_us(wanted):
            return wanted
    return os.path.join(own_home(), ".cache", "ktr")


def split_build_id(build_id: str) -> tuple[str, str] | None:
    """(first two hex digits, the rest) of a build id, None if it is not hex."""
    if not _HEX.fullmatch(build_id):
        return None
    return build_id[:2], build_id[2:]


def ktr_entry(cache_dir: str, build_id: str) -> str | None:
    """The path of a build id's copy in ktr's cache at ``cache_dir``."""
    parts = split_build_id(build_id)
    if parts is None:
        return None
    return os.path.join(cache_dir, "build-id", parts[0], parts[1], "elf")


def perf_entries(build_id: str, home: str | None = None) -> list[str]:
    """Where perf's cache under ``home`` (default: the effective user's, and
    ``$HOME`` too when that differs) may keep a build id's file or debug file."""
    parts = split_build_id(build_id)
    if parts is None:
        return []
    homes = [home] if home is not None else list(dict.fromkeys(
        h for h in (os.environ.get("HOME"), own_home()) if h))
    out: list[str] = []
    for directory in homes:
        rest = os.path.join(directory, ".debug", ".build-id", parts[0], parts[1])
        out += [os.path.join(rest, "elf"), os.path.join(rest, "debug"), rest]
    return out


def search_paths(build_id: str, cache_dirs: list[str]) -> list[str]:
    """Every place a file of ``build_id`` may be kept: ktr's caches under
    ``cache_dirs`` (and the default one), then perf's; duplicates removed."""
    found: list[str] = []
    for directory in [*cache_dirs, ktr_cache_dir()]:
        entry = ktr_entry(directory, build_id)
        if entry is not None:
            found.append(entry)
    found += perf_entries(build_id)
    return list(dict.fromkeys(found))


__all__ = ["ktr_cache_dir", "ktr_entry", "own_home", "perf_entries", "search_paths",
           "split_build_id"]
