"""Packaging: man pages, completions, LICENSE, developer scripts left out of the wheel."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARE = ROOT / "share"


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


def _bash_complete(name: str, words: list[str]) -> list[str]:
    script = (f"source {SHARE / 'bash-completion' / 'completions' / name}\n"
              f"COMP_WORDS=({' '.join(repr(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n"
              f"_{name}\n"
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          check=True)
    return done.stdout.split()


def test_bash_completion() -> None:
    assert _bash_complete("ktr", ["ktr", "rec"]) == ["record"]
    assert "--queue-max" in _bash_complete("ktr", ["ktr", "record", "--qu"])
    assert _bash_complete("ktrdump", ["ktrdump", "--format", "ch"]) == ["chrome"]
    assert "--durations" in _bash_complete("ktrdump", ["ktrdump", "--dur"])


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
