"""C++ (Itanium ABI) symbol names demangled by the system's ``c++filt``.

``Demangler.demangle(name)`` returns the name ``c++filt`` prints for ``name``
(``_ZN2ns1WIlE2goEi`` -> ``ns::W<long>::go(int)``); a name not starting with
``_Z`` is returned as it is without asking anything, so traces of C programs
pay one ``startswith`` per distinct name. Names go, one a line, to ONE
long-lived ``c++filt`` process (started at the first ``_Z`` name; c++filt
flushes each line it answers), and each distinct name is asked once (a
bounded cache).

Guarantees: never raises. If ``c++filt`` is missing, cannot start, dies or
answers nothing, every name from then on is returned unchanged (said
nowhere: raw names are still right names). A name holding a newline, NUL or
carriage return is never sent (it would break the line protocol) and is
returned unchanged. ``enabled = False`` (``--no-demangle``) returns every name
unchanged. ``close()`` ends the process; a new one starts at the next ``_Z``
name. ``demangle_all`` does a list of names through one run of ``c++filt``,
with the same guarantees.

There is no demangler of the process: each user makes its own and passes its
bound ``demangle`` (a ``Callable[[str], str]``) to what builds names
(``ktrdump.cli.run`` makes one per run, ``enabled`` from ``--no-demangle``, and
closes it when the run ends), so one run's setting never reaches another's
names. ``raw_name`` is the identity: the default of views built directly.
``without_parameters`` cuts a demangled function name's parameter list
(``ns::f(int) const`` -> ``ns::f``), where a call's own arguments take its
place (as uftrace's simple demangling shows calls) or a name is matched
without it (``-P ns::f``).

Does not: import ktr or ktrdump (both use it: ``ktrdump`` at display time,
``ktr record --list-probes``), or demangle other languages' schemes (Rust
v0, D): c++filt's default (``auto``) style decides what it knows.
"""

from __future__ import annotations

import os
import re
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    import subprocess

#: distinct names kept; past this the cache is emptied (names are re-asked, never wrong)
_CACHE_LIMIT = 1 << 16
_UNSAFE = ("\n", "\r", "\0")


class Demangler:
    """One ``c++filt`` process and the names it has already answered."""

    def __init__(self, enabled: bool = True, program: str = "c++filt") -> None:
        self.enabled = enabled
        self.program = program
        self._cache: dict[str, str] = {}
        self._process: subprocess.Popen[str] | None = None
        self._failed = False  # c++filt missing or broken: names stay raw

    def demangle(self, name: str) -> str:
        if not self.enabled or not name.startswith("_Z"):
            return name
        found = self._cache.get(name)
        if found is None:
            found = self._ask(name)
            if len(self._cache) >= _CACHE_LIMIT:
                self._cache.clear()
            self._cache[name] = found
        return found

    def _ask(self, name: str) -> str:
        if self._failed or any(c in name for c in _UNSAFE):
            return name
        process = self._process if self._process is not None else self._start()
        if process is None:
            return name
        stdin: IO[str] | None = process.stdin
        stdout: IO[str] | None = process.stdout
        try:
            assert stdin is not None and stdout is not None
            stdin.write(name + "\n")
            stdin.flush()
            line = stdout.readline()
        except (OSError, ValueError, UnicodeError):
            line = ""
        if not line.endswith("\n"):
            self._give_up()
            return name
        return line[:-1] or name

    def _start(self) -> subprocess.Popen[str] | None:
        # imported here, at the first C++ name: ktrdump's start-up (most traces have
        # no C++ names) does not pay the ~6 ms of shutil and subprocess
        import shutil
        import subprocess

        path = shutil.which(self.program)
        if path is None:
            self._failed = True
            return None
        try:
            # errors="surrogateescape": a symbol's undecodable bytes go and come back as
            # they were; LC_ALL=C: c++filt's answers do not depend on the user's locale
            self._process = subprocess.Popen(
                [path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL, text=True, encoding="utf-8",
                errors="surrogateescape", bufsize=1,
                env={**os.environ, "LC_ALL": "C"}, close_fds=True)
        except (OSError, ValueError, subprocess.SubprocessError):
            self._failed = True
            return None
        return self._process

    def _give_up(self) -> None:
        self._failed = True
        self.close()

    def close(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        import subprocess
        for stream in (process.stdin, process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def demangle_all(names: list[str], program: str = "c++filt") -> list[str]:
    """Every name of ``names`` as ``c++filt`` prints it, in order, through one run of it
    (a symbol table's worth at once: ``ktr record -P`` matching demangled names). As
    ``Demangler.demangle``: a name not starting with ``_Z``, or holding a newline, NUL or
    carriage return, is returned unchanged, and so is every name when ``c++filt`` is
    missing or fails (or answers another number of lines). Never raises."""
    asked = [name for name in names
             if name.startswith("_Z") and not any(c in name for c in _UNSAFE)]
    if not asked:
        return list(names)
    import shutil
    import subprocess

    path = shutil.which(program)
    if path is None:
        return list(names)
    try:
        done = subprocess.run([path], input="\n".join(asked) + "\n", capture_output=True,
                              text=True, encoding="utf-8", errors="surrogateescape",
                              env={**os.environ, "LC_ALL": "C"}, timeout=60, check=False)
    except (OSError, ValueError, subprocess.SubprocessError):
        return list(names)
    answers = done.stdout.split("\n")
    if done.returncode != 0 or answers[-1] != "" or len(answers) != len(asked) + 1:
        return list(names)
    shown = dict(zip(asked, answers, strict=False))
    return [shown.get(name) or name for name in names]


def raw_name(name: str) -> str:
    """``name`` as it is: what a view built without a demangler shows (its default)."""
    return name


#: What may follow a C++ function's parameter list in its demangled name (``f() const``)
_QUALIFIERS = re.compile(r"(?:\s*(?:const|volatile|&&|&|noexcept))+$")


def last_group(body: str) -> int | None:
    """Where the parenthesised group that ends ``body`` opens (None: it ends otherwise)."""
    if not body.endswith(")"):
        return None
    depth = 0
    for index in range(len(body) - 1, -1, -1):
        if body[index] == ")":
            depth += 1
        elif body[index] == "(":
            depth -= 1
            if depth == 0:
                return index
    return None


def without_parameters(name: str) -> str:
    """A demangled C++ function name without its parameter list and what follows it
    (``ns::f(int) const`` -> ``ns::f``); ``name`` itself when it has none (C names,
    names as the binary spells them)."""
    body = _QUALIFIERS.sub("", name)
    open_at = last_group(body)
    return body[:open_at] if open_at else name
