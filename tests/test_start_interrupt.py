"""Ctrl-C at any moment of either command's start-up: status 130, one line at most, no traceback.

``ktr``'s line says nothing was recorded, and SIGTERM and SIGHUP are the same
(status 143, 129: no file, where their default action left no word at all).

Most of a start-up is importing the recorder or the reader, where no code of
ours can wait for a test: the interrupt is sent at a spread of delays instead,
from the moment the commands' own modules start loading (an audit hook in the
child sees the import of ``ktr.cli`` / ``ktrdump.cli`` begin, and says so on a
pipe) to past the end of a whole start-up (measured first). What runs before
(the interpreter's start-up and ``site``, which print Python's own
traceback when interrupted) is no code of ours. Each command then blocks on
an input or output that never comes (a FIFO with no reader, a pipe with no
writer), so a late interrupt is still one at start-up. The console scripts
are run as pip writes them, from the entry points in pyproject.toml; ``python
-m`` as runpy does it. Compiled modules are cached (in the test's directory,
whatever PYTHONDONTWRITEBYTECODE says), as an installed package's are: the
first start-up compiles, the others take a fifth of the time.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())[
    "project"]["scripts"]

# The child: an audit hook that writes one byte on fd MARK when the command's
# modules start loading, then the console script pip generates (or runpy's -m).
_HOOK = """\
import os, sys
def _hook(event, args, _sent=[]):
    if event == "import" and args[0] in ("ktr.cli", "ktrdump.cli") and not _sent:
        _sent.append(1)
        os.write({mark}, b"x")
        os.close({mark})
sys.addaudithook(_hook)
"""
_CONSOLE_SCRIPT = """\
import re
import sys
from {module} import {function}
sys.argv[0] = re.sub(r'(-script\\.pyw|\\.exe)?$', '', sys.argv[0])
sys.exit({function}())
"""
_DASH_M = """\
import runpy
runpy.run_module({package!r}, run_name="__main__", alter_sys=True)
"""


def _program(command: str, how: str, mark: int) -> str:
    if how == "script":
        module, function = SCRIPTS[command].split(":")
        glue = _CONSOLE_SCRIPT.format(module=module, function=function)
    else:
        glue = _DASH_M.format(package=command)
    return _HOOK.format(mark=mark) + glue


def _start(command: str, how: str, arguments: list[str],
           cwd: Path) -> tuple[subprocess.Popen[bytes], int]:
    """The command started; returns it and the read end of its marker pipe."""
    read_end, write_end = os.pipe()
    environment = {name: value for name, value in os.environ.items()
                   if name != "PYTHONDONTWRITEBYTECODE"}
    environment["PYTHONPYCACHEPREFIX"] = str(cwd / "pycache")
    child = subprocess.Popen(
        [sys.executable, "-c", _program(command, how, write_end), *arguments],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        pass_fds=(write_end,), cwd=cwd, env=environment)
    os.close(write_end)
    return child, read_end


def _await_mark(read_end: int) -> None:
    try:
        assert os.read(read_end, 1) == b"x", "the command's modules never started loading"
    finally:
        os.close(read_end)


def _start_up_seconds(command: str, cwd: Path) -> float:
    """From the mark to the exit of ``--version``: all of a start-up's imports (the
    first run compiles them)."""
    times = []
    for _ in range(2):
        child, read_end = _start(command, "script", ["--version"], cwd)
        _await_mark(read_end)
        began = time.monotonic()
        child.communicate(timeout=30)
        times.append(time.monotonic() - began)
        assert child.returncode == 0
    return times[1]


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for both commands' compiled modules (formats is common)."""
    return tmp_path_factory.mktemp("start")


@pytest.mark.parametrize(("command", "signo"), [
    ("ktr", signal.SIGINT), ("ktr", signal.SIGTERM), ("ktr", signal.SIGHUP),
    ("ktrdump", signal.SIGINT)])
def test_ctrl_c_during_start_up_is_status_130_without_a_traceback(
    tmp_path: Path, cache_dir: Path, command: str, signo: signal.Signals,
) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # Each blocks once started: ktr opening a FIFO nobody reads, ktrdump reading
    # a stdin nobody writes.
    arguments = (["record", "-q", "-o", str(fifo), "--", "true"] if command == "ktr"
                 else ["-"])
    expected = ([f"ktr: interrupted by {signo.name} before recording began; nothing recorded"]
                if command == "ktr" else [])
    longest = _start_up_seconds(command, cache_dir) * 1.2
    runs = [("script", longest * step / 4) for step in range(5)]
    runs += [("-m", longest * step) for step in (0.3, 0.8)]
    for how, delay in runs:
        child, read_end = _start(command, how, arguments, cache_dir)
        _await_mark(read_end)
        time.sleep(delay)  # (not a synchronisation: the delay is what is tested)
        child.send_signal(signo)
        try:
            _, stderr = child.communicate(timeout=30)
        finally:
            child.kill()
        text = stderr.decode(errors="replace")
        where = f"{how}, {signo.name} {delay * 1000:.0f} ms after the imports began"
        assert "Traceback" not in text, f"{where}:\n{text}"
        assert text.splitlines() == expected, where
        assert child.returncode == 128 + signo, f"{where}: {child.returncode}\n{text}"


def test_a_command_started_with_sigint_ignored_keeps_ignoring_it(tmp_path: Path) -> None:
    """The start-up handler replaces only Python's default one (a shell's background
    job runs with SIGINT ignored, and must not be ended by it)."""
    program = ("import signal, sys\n"
               "import ktr.__main__\n"
               "assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN\n"
               "sys.argv = ['ktr', '--version']\n"
               "ktr.__main__.run()\n")
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=30, check=False,
                          preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert done.returncode == 0, done.stderr
