"""A command that cannot be executed: the shell's exit status, and a trace of the attempt.

Shells exit 127 when the command is not found and 126 when it is found but
cannot be executed (no permission, not a format the kernel runs). ``ktr``
gave 127 to all three, and left a trace only for ENOEXEC (the other two were
refused before forking). Now each is tried in the traced child: the file holds
BEGIN, the failed execve with its errno (as strace shows it) and END with the
status; the one-line message says why. Oracle: ``sh -c CMD``'s status.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


@pytest.mark.parametrize(("name", "errno_name", "message"), [
    ("missing", "ENOENT", "ktr: ./missing: no such file or directory"),
    ("not-executable", "EACCES", "ktr: ./not-executable: permission denied"),
    ("not-a-program", "ENOEXEC", "ktr: cannot execute ./not-a-program: Exec format error"),
])
def test_a_command_that_cannot_run(tmp_path: Path, name: str, errno_name: str,
                                   message: str) -> None:
    if name == "not-executable":
        (tmp_path / name).write_text("echo hi\n")
        (tmp_path / name).chmod(0o644)
    elif name == "not-a-program":
        (tmp_path / name).write_bytes(b"\x7fELF not really")
        (tmp_path / name).chmod(0o755)
    shell = subprocess.run(["sh", "-c", f"./{name}"], cwd=tmp_path, capture_output=True,
                           timeout=30)
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", f"./{name}"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == shell.returncode
    assert done.returncode == (127 if errno_name == "ENOENT" else 126)
    assert done.stderr == message + "\n"
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                            text=True, timeout=30)
    assert dumped.returncode == 0, dumped.stderr  # BEGIN ... END: a complete recording
    (execve,) = [line for line in dumped.stdout.splitlines() if "execve(" in line]
    assert f'execve("./{name}", ["./{name}"]' in execve
    assert f"= -1 {errno_name} " in execve
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          timeout=30).stdout
    assert f"command exit status {done.returncode}" in text.splitlines()[-1]


def test_a_directory_is_named_as_bash_names_it(tmp_path: Path) -> None:
    """execve fails with EACCES on a directory; bash says "Is a directory" (126)."""
    (tmp_path / "somedir").mkdir()
    bash = subprocess.run(["bash", "-c", "./somedir"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=30)
    assert (bash.returncode, bash.stderr) == (126, "bash: line 1: ./somedir: Is a directory\n")
    done = subprocess.run([KTR, "record", "-q", "-o", str(tmp_path / "t.ktr"), "--",
                           "./somedir"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == bash.returncode
    assert done.stderr == bash.stderr.replace("bash: line 1:", "ktr:").replace("Is a", "is a")


def _as_ktr_says(bash_stderr: str) -> str:
    """bash's line in ktr's words: ``ktr:`` for ``bash: line 1:``, lower-case errors."""
    line = re.sub(r"^(/bin/)?bash: (line 1: )?", "ktr: ", bash_stderr)
    name, _, reason = line.rpartition(": ")
    return f"{name}: {reason[0].lower()}{reason[1:]}"


@pytest.mark.parametrize("child_kind", ["helper", "python"])
@pytest.mark.parametrize(("argv", "path"), [
    (["somedir"], "bin"),  # a directory on PATH: bash skips it, "command not found"
    (["somedir"], "bin:nowhere:bin2"),  # ... and the entries after it are still tried
    (["run-me"], "bin:bin2"),  # a directory first, the command in a later entry
    (["./file/"], "bin"),  # a file named as a directory: found, not runnable (126)
    (["./file/x"], "bin"),
])
def test_lookup_statuses_and_words_are_bash_s(tmp_path: Path, child_kind: str,
                                              argv: list[str], path: str) -> None:
    """Oracle: bash run here on the same name, PATH and files: its status and its
    words (ktr had "permission denied", 126, for the directory on PATH, and "no such
    file or directory", 127, for ./file/)."""
    (tmp_path / "bin" / "somedir").mkdir(parents=True)
    (tmp_path / "bin" / "run-me").mkdir()
    (tmp_path / "bin2").mkdir()
    (tmp_path / "bin2" / "run-me").write_text("#!/bin/sh\nexit 3\n")
    (tmp_path / "bin2" / "run-me").chmod(0o755)
    (tmp_path / "file").write_text("")
    environment = {"PATH": ":".join(f"{tmp_path}/{entry}" for entry in path.split(":"))}
    bash = subprocess.run(["/bin/bash", "-c", " ".join(argv)], cwd=tmp_path, env=environment,
                          capture_output=True, text=True, timeout=30)
    code = "import sys, ktr.cli\nsys.argv = ['ktr', *sys.argv[1:]]\nktr.cli.run()\n"
    if child_kind == "python":
        code = "from ktr import _trampoline\n_trampoline._exec_helper = lambda *a: None\n" + code
    trace = tmp_path / "t.ktr"
    done = subprocess.run([sys.executable, "-c", code, "record", "-q", "-o", str(trace), "--",
                           *argv], cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == bash.returncode
    assert done.stderr == (_as_ktr_says(bash.stderr) if bash.stderr else "")
    text = subprocess.run([KTRDUMP, str(trace)], capture_output=True, text=True,
                          timeout=30).stdout
    assert f"command exit status {bash.returncode}" in text.splitlines()[-1]


def test_a_command_not_found_records_the_path_search(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", "ktr-nowhere"],
                          capture_output=True, text=True, timeout=60,
                          env={"PATH": f"{tmp_path}/a:{tmp_path}/b"})
    assert (done.returncode, done.stderr) == (127, "ktr: ktr-nowhere: command not found\n")
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                            text=True, timeout=30).stdout
    assert [line.split("(", 1)[1].split(",")[0] for line in dumped.splitlines()
            if "execve(" in line] == [f'"{tmp_path}/a/ktr-nowhere"',
                                      f'"{tmp_path}/b/ktr-nowhere"']


def _calls_and_ends(strace_text: str) -> list[str]:
    """Each line's call name, or its ``+++ ... +++`` end, without pid and time."""
    shown = []
    for line in strace_text.splitlines():
        rest = re.sub(r"^\d+ +(\d+\.\d+ )?", "", line)
        if rest.startswith("+++"):
            shown.append(rest)
        elif "(" in rest:
            shown.append(rest.split("(", 1)[0].lstrip("<. "))
    return shown


@pytest.mark.parametrize("child_kind", ["helper", "python"])
@pytest.mark.parametrize(("argv", "status"), [
    (["./not-executable"], 126),
    (["./missing"], 127),
    (["ktr-nowhere"], 127),  # the PATH search: an execve for each entry
])
def test_only_the_failed_execves_are_recorded(tmp_path: Path, child_kind: str,
                                              argv: list[str], status: int) -> None:
    """The exec helper's report of the errno to ktr and its exit are ktr's, never the
    command's calls (they were recorded: ``write(6, "\\r\\0\\0\\0", 4)``, ``exit_group``).
    Oracle: strace -f, which shows the failed execve and the exit, nothing between.
    ``python``: the Python child (no exec helper), which makes other calls there."""
    (tmp_path / "not-executable").write_text("echo hi\n")
    (tmp_path / "not-executable").chmod(0o644)
    environment = {"PATH": f"{tmp_path}/a:{tmp_path}/b"}
    code = "import sys, ktr.cli\nsys.argv = ['ktr', *sys.argv[1:]]\nktr.cli.run()\n"
    if child_kind == "python":
        code = "from ktr import _trampoline\n_trampoline._exec_helper = lambda *a: None\n" + code
    trace = tmp_path / "t.ktr"
    done = subprocess.run([sys.executable, "-c", code, "record", "-q", "-o", str(trace), "--",
                           *argv], cwd=tmp_path, env=environment, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == status, done.stderr
    dumped = subprocess.run([KTRDUMP, "--format", "strace", str(trace)], capture_output=True,
                            text=True, timeout=30)
    assert dumped.returncode == 0, dumped.stderr
    execves = 2 if argv == ["ktr-nowhere"] else 1
    assert _calls_and_ends(dumped.stdout) == ["execve"] * execves + [
        f"+++ exited with {status} +++"]
    summary = subprocess.run([KTRDUMP, "-c", str(trace)], capture_output=True, text=True,
                             timeout=30).stdout
    assert [line.split()[-1] for line in summary.splitlines()[2:-2]] == ["execve"]
    if argv == ["./not-executable"]:
        oracle = tmp_path / "strace.out"
        strace = shutil.which("strace")
        assert strace is not None
        subprocess.run([strace, "-f", "-o", str(oracle), *argv], cwd=tmp_path,
                       env=environment, capture_output=True, timeout=60)
        assert _calls_and_ends(oracle.read_text()) == ["execve", "+++ exited with 1 +++"]
