"""Packaging: man pages, completions, LICENSE, developer scripts left out of the wheel.

The sdist and the wheel are built for real (setuptools' build backend, in a
subprocess, no network: the same hooks ``python -m build`` and ``pip wheel``
call), the wheel from the unpacked sdist as pip builds it; the wheel is
installed under a venv-like prefix, where ``man -w`` must find the pages. The
completion files are checked against each command's ``--help`` and, for zsh,
by completing in a real zsh on a pseudo-terminal.
"""

from __future__ import annotations

import argparse
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from ktr import _options as record_options
from ktrdump import cli as dump_cli

ROOT = Path(__file__).resolve().parent.parent
SHARE = ROOT / "share"

#: What the sdist must hold to build, test and regenerate everything, whether or
#: not this tree is a git checkout (with git: every tracked file, below).
SDIST_REQUIRED = (
    "pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "CHANGELOG.md", "LICENSE",
    "formats/SPEC.md", "formats/linux/generate_tables.py", "docs/json.md",
    "share/man/man1/ktr.1", "share/man/man1/ktrdump.1",
    "share/bash-completion/completions/ktr", "share/bash-completion/completions/ktrdump",
    "share/zsh/site-functions/_ktr", "share/zsh/site-functions/_ktrdump",
    "tools/make_docs.py", "tools/generate_layouts.py", "tools/exec_helper.c",
    "tests/test_packaging.py", "tests/ktrdump_support.py", "tests/vectors/make_vectors.py",
    "fuzz/run.py", "bench/bench_dump.py", ".ci/run",
)


def test_generated_docs_are_up_to_date() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_docs.py"), "--check"],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_the_exec_helper_image_is_its_source_built() -> None:
    """``ktr/_exec_helper.py`` against a rebuild of ``tools/exec_helper.c``: the bytes
    depend on the compiler, so only with the gcc version the module names."""
    compiler = shutil.which("gcc")
    if compiler is None:
        pytest.skip("no gcc")
    version = subprocess.run([compiler, "-dumpfullversion"], capture_output=True, text=True,
                             check=True).stdout.strip()
    if f"Built with gcc {version}." not in (ROOT / "ktr" / "_exec_helper.py").read_text():
        pytest.skip(f"gcc {version} is not the one the image was built with")
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "make_exec_helper.py"),
                           "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_pyproject_installs_every_generated_file_and_the_license() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert project["project"]["license"] == "BSD-2-Clause"
    assert "BSD 2-Clause" in (ROOT / "LICENSE").read_text()
    installed = {item for files in project["tool"]["setuptools"]["data-files"].values()
                 for item in files}
    generated = {str(path.relative_to(ROOT)) for path in SHARE.rglob("*") if path.is_file()}
    assert installed == generated


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
@pytest.mark.parametrize("page", ["ktr.1", "ktrdump.1"])
def test_man_page_renders_without_warnings(page: str) -> None:
    done = subprocess.run(["man", "--warnings", "-l", str(SHARE / "man" / "man1" / page)],
                          capture_output=True, text=True, timeout=60, check=False,
                          env={**os.environ, "MANPAGER": "cat", "MANWIDTH": "80"})
    assert done.returncode == 0
    assert done.stderr == ""
    name = page.removesuffix(".1")
    assert f"{name.upper()}(1)" in done.stdout and "OPTIONS" in done.stdout
    assert "--version" in done.stdout


def _unroff(text: str) -> str:
    return text.replace("\\&", "").replace("\\-", "-").replace("\\e", "\\")


@pytest.mark.parametrize(("page", "section", "parser"), [
    ("ktr.1", "DESCRIPTION", record_options._build_parser()),
    ("ktr.1", "NOTES", record_options._build_parser()),
    ("ktrdump.1", "NOTES", dump_cli._parser()),
])
def test_man_page_prose_and_tables_are_the_help_text_in_its_order(
        page: str, section: str, parser: argparse.ArgumentParser) -> None:
    # The pages moved a block's prose before its table (ktrdump(1)'s "Letters kdump
    # and strace both use" came after the paragraph that follows the table in --help)
    # and stripped every table line (a continuation line left its column).
    text = parser.description if section == "DESCRIPTION" else parser.epilog
    assert text is not None
    source = (SHARE / "man" / "man1" / page).read_text()
    body = source.split(f".SH {section}\n", 1)[1].split("\n.SH ", 1)[0]
    shown = [line for line in body.splitlines() if not line.startswith(".")]
    assert _unroff(" ".join(shown)).split() == text.split()
    helped = set(text.splitlines())
    for table in re.findall(r"^\.nf\n(.*?)\n\.fi$", body, re.M | re.S):
        for line in _unroff(table).splitlines():
            assert "  " + line in helped, line


def _bash_complete(name: str, words: list[str], cwd: Path | None = None) -> list[str]:
    script = (f"source {SHARE / 'bash-completion' / 'completions' / name}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              f"_{name}\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          check=True, cwd=cwd)
    return done.stdout.split()


def test_bash_completion() -> None:
    assert _bash_complete("ktr", ["ktr", "rec"]) == ["record"]
    assert "--queue-max" in _bash_complete("ktr", ["ktr", "record", "--qu"])
    assert _bash_complete("ktrdump", ["ktrdump", "--format", "ch"]) == ["chrome"]
    assert "--durations" in _bash_complete("ktrdump", ["ktrdump", "--dur"])


def test_bash_completes_option_values(monkeypatch: pytest.MonkeyPatch) -> None:
    """-t letters, -e trace= classes (whether bash split the word at '=' or not), -C
    counters as ``ktr record --list-counters`` lists them, --format names."""
    letters = _bash_complete("ktr", ["ktr", "record", "-t", "cni"])
    assert "cnis" in letters and "cnip" in letters and "cnic" not in letters
    assert "cniswC" in _bash_complete("ktrdump", ["ktrdump", "-t", "cnisw"])
    assert _bash_complete("ktr", ["ktr", "record", "-e", "tr"]) == ["trace="]
    assert _bash_complete("ktr", ["ktr", "record", "-e", "trace=%pr"]) == ["trace=%process"]
    assert _bash_complete("ktr", ["ktr", "record", "-e", "trace", "=", "%pr"]) == ["%process"]
    assert _bash_complete("ktr", ["ktr", "record", "-e", "trace=%file,%net"]) == [
        "trace=%file,%network"]
    assert "%file" in _bash_complete("ktr", ["ktr", "record", "-e", "trace", "="])
    assert _bash_complete("ktrdump", ["ktrdump", "-e", "status=fa"]) == ["status=failed"]
    listed = subprocess.run([sys.executable, "-m", "ktr", "record", "--list-counters"],
                            capture_output=True, text=True, timeout=30, check=True).stdout
    assert "task-clock" in listed.split()
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    assert _bash_complete("ktr", ["ktr", "record", "-C", "page-faults,task-c"]) == [
        "page-faults,task-clock"]
    assert _bash_complete("ktrdump", ["ktrdump", "--format", "pa"]) == ["parquet"]


def test_bash_completes_the_traced_commands_arguments_as_files(tmp_path: Path) -> None:
    # Without bash-completion's _command_offset, every word after -- was completed as
    # a command name: `ktr record -- cat notes<TAB>` offered no file.
    (tmp_path / "ktr-notes.txt").write_text("x")
    words = ["ktr", "record", "-o", "t.ktr", "--"]
    assert _bash_complete("ktr", [*words, "cat", "ktr-no"], tmp_path) == ["ktr-notes.txt"]
    assert "true" in _bash_complete("ktr", [*words, "tru"], tmp_path)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
@pytest.mark.parametrize("name", ["_ktr", "_ktrdump"])
def test_zsh_completion_parses(name: str) -> None:
    subprocess.run(["zsh", "-n", str(SHARE / "zsh" / "site-functions" / name)], check=True,
                   timeout=30)


def test_developer_scripts_are_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    setuptools = pytest.importorskip("setuptools")
    monkeypatch.chdir(ROOT)  # setuptools finds the packages from the working directory
    from setuptools.dist import Distribution

    sys.path.insert(0, str(ROOT))
    try:
        import setup as build_hooks  # the repository's setup.py
    finally:
        sys.path.remove(str(ROOT))
    assert setuptools is not None
    build_py = build_hooks.BuildPyWithoutDeveloperScripts
    distribution = Distribution({"packages": ["formats", "formats.linux"],
                                 "cmdclass": {"build_py": build_py}, "script_name": "setup.py"})
    command = distribution.get_command_obj("build_py")
    command.ensure_finalized()
    modules = {(package, module) for package, module, _ in command.find_all_modules()}
    assert ("formats.linux", "_errno") in modules
    assert ("formats.linux", "generate_tables") not in modules


# -- the sdist and the wheel, built ------------------------------------------------


@dataclass(frozen=True)
class Built:
    sdist: Path
    sdist_names: frozenset[str]  # paths inside the sdist, less its top directory
    unpacked: Path
    wheel: Path
    log: str  # what both builds printed


def _backend(hook: str, out: Path, cwd: Path) -> tuple[Path, str]:
    """Run setuptools' PEP 517 ``hook`` in ``cwd``, as a frontend does (no isolation)."""
    code = ("import sys; from setuptools import build_meta; "
            f"print(build_meta.{hook}(sys.argv[1]))")
    # PYTHONDONTWRITEBYTECODE (set where tests run) makes install_lib warn that it
    # skips byte-compiling: a warning of this environment, not of the project's files.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    done = subprocess.run([sys.executable, "-W", "default", "-c", code, str(out)], cwd=cwd,
                          capture_output=True, text=True, timeout=120, check=False, env=env)
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    return out / done.stdout.strip().splitlines()[-1], log


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    pytest.importorskip("setuptools", minversion="77")  # the SPDX license fields
    out = tmp_path_factory.mktemp("dist")
    sdist, sdist_log = _backend("build_sdist", out, ROOT)
    with tarfile.open(sdist) as archive:
        top = sdist.name.removesuffix(".tar.gz")
        names = frozenset(member.name.removeprefix(top + "/") for member in archive.getmembers()
                          if member.isfile())
        archive.extractall(out, filter="data")
    unpacked = out / top
    wheel, wheel_log = _backend("build_wheel", out, unpacked)
    return Built(sdist, names, unpacked, wheel, sdist_log + wheel_log)


def _tracked_files() -> set[str] | None:
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    done = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z"], capture_output=True,
                          timeout=30, check=False)
    if done.returncode != 0:
        return None
    return {name for name in done.stdout.decode().split("\0") if name}


def test_the_sdist_holds_the_whole_source_tree(built: Built) -> None:
    missing = [name for name in SDIST_REQUIRED if name not in built.sdist_names]
    assert missing == []
    assert any(name.startswith("tests/vectors/") and name.endswith(".ktr")
               for name in built.sdist_names)
    tracked = _tracked_files()
    if tracked is not None:
        assert sorted(tracked - built.sdist_names) == []
    assert [name for name in built.sdist_names
            if "__pycache__" in name or name.endswith(".pyc") or name.endswith("ktr.out")] == []


def test_the_unpacked_sdist_regenerates_its_docs_identically(built: Built) -> None:
    done = subprocess.run([sys.executable, "tools/make_docs.py", "--check"], cwd=built.unpacked,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr


def test_builds_warn_of_nothing(built: Built) -> None:
    """No SetuptoolsDeprecationWarning (the license table, classifiers) nor any other."""
    warnings = [line for line in built.log.splitlines()
                if re.search(r"warn|deprecat", line, re.IGNORECASE)]
    assert warnings == []


def test_the_wheel_installs_man_pages_completions_and_the_license(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as wheel:
        names = set(wheel.namelist())
        data = {name.partition(".data/data/")[2]: wheel.read(name) for name in names
                if ".data/data/" in name}
        metadata = next(wheel.read(name).decode() for name in names
                        if name.endswith(".dist-info/METADATA"))
        licenses = [name for name in names if ".dist-info/licenses/" in name]
    shared = {str(path.relative_to(ROOT)): path.read_bytes() for path in SHARE.rglob("*")
              if path.is_file()}
    assert data == shared
    assert "License-Expression: BSD-2-Clause" in metadata.splitlines()
    assert "License-File: LICENSE" in metadata.splitlines()
    assert [name.rpartition("/")[2] for name in licenses] == ["LICENSE"]
    assert not any(line.startswith("Classifier: License ::") for line in metadata.splitlines())
    packages = {name.split("/")[0] for name in names if "/" in name and ".dist-info" not in name
                and ".data" not in name}
    assert packages == {"formats", "ktr", "ktrdump"}
    assert "formats/linux/generate_tables.py" not in names
    assert "formats/SPEC.md" in names


@pytest.mark.skipif(shutil.which("man") is None, reason="man is not installed")
def test_man_finds_the_installed_pages(built: Built, tmp_path: Path) -> None:
    """Installed into a venv: ``man -w`` finds the pages through the venv's ``bin`` on
    PATH (MANPATH unset), and through README's ``MANPATH=VENV/share/man:...``."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=60)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    "--no-cache-dir", "--disable-pip-version-check", "--ignore-installed",
                    "--prefix", str(venv),
                    str(built.wheel)], check=True, timeout=120, capture_output=True)
    assert (venv / "bin" / "ktrdump").exists()
    pages = [str(venv / "share" / "man" / "man1" / f"{name}.1") for name in ("ktr", "ktrdump")]
    base = {key: value for key, value in os.environ.items() if key != "MANPATH"}
    for env in ({**base, "PATH": f"{venv / 'bin'}:/usr/bin:/bin"},
                {**base, "PATH": "/usr/bin:/bin", "MANPATH": f"{venv / 'share' / 'man'}:"}):
        done = subprocess.run(["man", "-w", "ktr", "ktrdump"], capture_output=True, text=True,
                              timeout=30, check=False, env=env)
        assert done.returncode == 0, done.stderr
        assert done.stdout.split() == pages


# -- completions against --help ------------------------------------------------------


def _help_options(argv: list[str], parser: argparse.ArgumentParser) -> set[str]:
    """The option names a command's ``--help`` lists (its option sections alone)."""
    done = subprocess.run([sys.executable, "-m", *argv, "--help"], capture_output=True,
                          text=True, timeout=60, check=True, env={**os.environ, "COLUMNS": "80"})
    sections = done.stdout.split("\noptions:\n", 1)[1]
    if parser.epilog:
        sections = sections.split(parser.epilog.splitlines()[0], 1)[0]
    names: set[str] = set()
    for line in sections.splitlines():
        if line.startswith("  -"):
            invocation = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0]
            names.update(part.split()[0] for part in invocation.split(", "))
    return names


def _parsers() -> dict[str, tuple[list[str], argparse.ArgumentParser]]:
    return {"ktr": (["ktr", "record"], record_options._build_parser()),
            "ktrdump": (["ktrdump"], dump_cli._parser())}


def _hidden(parser: argparse.ArgumentParser) -> set[str]:
    return {name for action in parser._actions if action.help is argparse.SUPPRESS
            for name in action.option_strings}


@pytest.mark.parametrize("name", ["ktr", "ktrdump"])
def test_bash_completion_offers_exactly_the_options_of_help(name: str) -> None:
    argv, parser = _parsers()[name]
    shown = _help_options(argv, parser)
    assert len(shown) > 20
    offered = set(_bash_complete(name, [*argv, "-"]))
    assert offered == shown
    assert not offered & _hidden(parser)


def _zsh_specs(name: str) -> dict[str, str]:
    """option -> description, from the generated ``_arguments`` specs."""
    text = (SHARE / "zsh" / "site-functions" / f"_{name}").read_text()
    specs = re.findall(r"^\s*'\*?(-[^\[']+)\[((?:\\.|[^\]\\])*)\]", text, re.MULTILINE)
    return {option: re.sub(r"\\(.)", r"\1", described.replace("'\\''", "'"))
            for option, described in specs}


@pytest.mark.parametrize("name", ["ktr", "ktrdump"])
def test_zsh_completion_offers_exactly_the_options_of_help(name: str) -> None:
    argv, parser = _parsers()[name]
    text = (SHARE / "zsh" / "site-functions" / f"_{name}").read_text()
    assert "SUPPRESS" not in text
    specs = _zsh_specs(name)
    assert set(specs) == _help_options(argv, parser)
    for option, described in specs.items():
        # The help's first sentence, whole or cut between words: no bracket left open.
        assert described and described.count("(") == described.count(")"), option
        assert described.count("[") == described.count("]"), option
        assert not described.endswith((" ", ",", ";")), option


def _zsh_complete(typed: str, tmp_path: Path) -> str:
    """The command line after typing ``typed`` and TAB in an interactive zsh whose
    fpath has share/zsh/site-functions (a pty: zle runs only on a terminal)."""
    (tmp_path / ".zshrc").write_text(
        f"fpath=({SHARE / 'zsh' / 'site-functions'} $fpath)\n"
        "autoload -Uz compinit && compinit -u -D\n"
        "PS1='READY> '\n"
        "_show_buffer() { zle -I; print -r -- \"@@<$BUFFER>@@\"; BUFFER=; }\n"
        "zle -N _show_buffer\n"
        "bindkey '^X' _show_buffer\n")
    pid, fd = pty.fork()
    if pid == 0:  # the child: only exec (or _exit) here
        try:
            os.environ.update(ZDOTDIR=str(tmp_path), HOME=str(tmp_path), TERM="dumb")
            os.execvp("zsh", ["zsh", "-o", "no_global_rcs", "-i"])
        finally:
            os._exit(127)
    seen = b""
    try:
        def until(pattern: bytes) -> re.Match[bytes]:
            nonlocal seen
            while (match := re.search(pattern, seen)) is None:
                ready, _, _ = select.select([fd], [], [], 20)
                assert ready, f"zsh said, then nothing: {seen!r}"
                seen += os.read(fd, 4096)
            seen = seen[match.end():]
            return match

        until(rb"READY> ")
        os.write(fd, typed.encode() + b"\t\x18")  # TAB, then ^X shows the buffer
        return until(rb"@@<(.*?)>@@").group(1).decode()
    finally:
        os.write(fd, b"exit\n")
        os.waitpid(pid, 0)
        os.close(fd)


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_an_option_and_its_choices(tmp_path: Path) -> None:
    assert _zsh_complete("ktrdump --fo", tmp_path) == "ktrdump --format "
    assert _zsh_complete("ktrdump --format ch", tmp_path) == "ktrdump --format chrome "
    assert _zsh_complete("ktr record --queue-m", tmp_path) == "ktr record --queue-max "


@pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed")
def test_zsh_completes_option_values(tmp_path: Path) -> None:
    assert _zsh_complete("ktr record -e trace=%proc", tmp_path) == "ktr record -e trace=%process"
    assert _zsh_complete("ktrdump -e status=fa", tmp_path) == "ktrdump -e status=failed"
    assert _zsh_complete("ktr record -t cnisuepaCwvfSm", tmp_path) == (
        "ktr record -t cnisuepaCwvfSmt")
