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

Where a moment can be exact it is: a trace function in the child sends SIGINT at
each line of the entry module (before and after its handler is in) and of
``record``'s first lines (before set-up's handlers: nothing made yet, which its one
line says).

The last moment of ``ktr``'s start-up is the open of a FIFO output that no
reader has open yet: SIGINT, SIGTERM and SIGHUP, sent once while it waits
(the kernel's ``wait_for_partner`` in /proc/PID/wchan says so), end it at
once with one line and 128+N, the command never run, attached targets let
go; a reader that comes instead gets the whole trace.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
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
#: where the children (run outside this checkout) load the commands' modules from: this
#: checkout when installed editable, the venv's site-packages when installed as the
#: README installs them (``python -m pytest`` itself imports this checkout's)
INSTALLED = Path(subprocess.run(
    [sys.executable, "-c", "import ktr; print(ktr.__file__)"], cwd="/", check=True,
    capture_output=True, text=True).stdout.strip()).resolve().parent.parent

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
    # (a late one: ktr's start-up done, its output waiting for a reader)
    waited = [f"ktr: interrupted by {signo.name} while waiting for a reader on {fifo}; "
              "nothing recorded"]
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
        assert text.splitlines() in (expected, waited), where
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


# -- The last moment of start-up: ``-o FIFO`` waiting for a first reader ------------------

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
#: A signal sent while ktr waits for a reader must end it well within this.
PROMPT_S = 2.0


def _start_ktr(arguments: list[str], stderr: int = subprocess.PIPE,
               env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``ktr record ARGUMENTS`` with SIGINT at its default (as from a terminal: a test
    run in the background would hand on SIGINT ignored)."""
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen([*KTR, "record", *arguments], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=stderr, env=env)
    finally:
        signal.signal(signal.SIGINT, saved)


def _await_reader_wait(recorder: subprocess.Popen[bytes]) -> None:
    """Until ``recorder`` blocks in the open of a FIFO no one reads (the kernel's
    ``wait_for_partner``, in /proc/PID/wchan), or has exited (the caller's asserts
    then say how)."""
    def waiting() -> bool:
        try:
            return Path(f"/proc/{recorder.pid}/wchan").read_text() == "wait_for_partner"
        except OSError:
            return False

    deadline = time.monotonic() + 20
    pause = 0.001
    while not waiting() and recorder.poll() is None:
        assert time.monotonic() < deadline, "ktr never waited for the FIFO's reader"
        time.sleep(pause)  # (polling a state, not a synchronisation by time)
        pause = min(pause * 2, 0.02)
    assert recorder.poll() is None, recorder.communicate()[1].decode(errors="replace")


def _ended(recorder: subprocess.Popen[bytes], signo: signal.Signals) -> list[str]:
    """Send ``signo`` once; the recorder must end at once, status 128+N, without a
    traceback. Returns its stderr's lines (none when it is not a pipe)."""
    sent = time.monotonic()
    recorder.send_signal(signo)
    try:
        _, stderr = recorder.communicate(timeout=PROMPT_S + 10)
    finally:
        recorder.kill()
        recorder.wait()
    took = time.monotonic() - sent
    text = (stderr or b"").decode(errors="replace")
    assert "Traceback" not in text, text
    assert recorder.returncode == 128 + signo, f"{recorder.returncode}: {text}"
    assert took < PROMPT_S, f"{took:.2f} s"
    return text.splitlines()


def _tracer_and_state(pid: int) -> tuple[int, str]:
    fields = dict(line.split(":", 1) for line in
                  Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["TracerPid"]), fields["State"].split()[0]


SIGNALS = pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                                  ids=["SIGINT", "SIGTERM", "SIGHUP"])


@SIGNALS
@pytest.mark.parametrize("attach", [False, True], ids=["command", "attach"])
def test_a_signal_while_waiting_for_a_fifos_reader_ends_the_wait_the_first_time(
        tmp_path: Path, signo: signal.Signals, attach: bool) -> None:
    """``ktr record -o FIFO`` with no reader yet waits in open(2); SIGINT, SIGTERM or
    SIGHUP, sent once, ends it (they were swallowed: the handler kept the signal for
    later and the open was retried, PEP 475): one line, 128+N, the command never run
    (held before its exec, killed), an attached target let go, running."""
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    marker = tmp_path / "ran"
    target = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    try:
        how = (["-p", str(target.pid)] if attach else ["--", "touch", str(marker)])
        recorder = _start_ktr(["-o", str(fifo), *how])
        _await_reader_wait(recorder)
        if attach:
            assert _tracer_and_state(target.pid)[0] == recorder.pid  # held while it waits
        lines = _ended(recorder, signo)
        assert lines == [f"ktr: interrupted by {signo.name} while waiting for a reader "
                         f"on {fifo}; nothing recorded"]
        assert not marker.exists()
        tracer, state = _tracer_and_state(target.pid)
        assert tracer == 0 and state not in ("t", "T")  # let go, not stopped
        assert target.stdin is not None
        target.stdin.close()
        assert target.wait(10) == 0
    finally:
        target.kill()
        target.wait()


@pytest.mark.skipif(os.geteuid() != 0, reason="uprobes and perf events need root")
@pytest.mark.parametrize(("signo", "what"), [(signal.SIGTERM, ["-P", "libc:free:return",
                                                                "-t", "f"]),
                                              (signal.SIGINT, ["-t", "w"]),
                                              (signal.SIGHUP, ["-t", "w"])],
                         ids=["probes-SIGTERM", "switches-SIGINT", "switches-SIGHUP"])
def test_the_wait_ends_as_well_with_probes_placed_or_without_ptrace(
        tmp_path: Path, signo: signal.Signals, what: list[str]) -> None:
    """Probes placed before the wait leave no tracefs group behind; a recording of
    context switches alone (no ptrace: the recording's own handlers are in while the
    output opens) ends its wait the same way."""
    from probe_support import groups_of

    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    marker = tmp_path / "ran"
    recorder = _start_ktr(["-o", str(fifo), *what, "--", "touch", str(marker)])
    _await_reader_wait(recorder)
    assert _ended(recorder, signo) == [
        f"ktr: interrupted by {signo.name} while waiting for a reader on {fifo}; "
        "nothing recorded"]
    assert not marker.exists()
    assert groups_of(recorder.pid) == []


def test_a_signal_kept_from_earlier_in_set_up_does_not_let_the_open_wait(
        tmp_path: Path) -> None:
    """SIGTERM once the command is spawned is kept until the recording's handlers are
    in; the open that comes first must not wait for a reader that never comes (it
    did, and with the signal taken, only a second one ended it)."""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    marker = tmp_path / "ran"
    recorder = _start_ktr(["-o", str(fifo), "--", "touch", str(marker)],
                          env={**os.environ, SETUP_HOLD_TEST_ENV: f"targets={hold}"})
    try:
        # opening returns once ktr opened it too: it waits there, the command spawned
        with open(hold, "wb"):
            recorder.send_signal(signal.SIGTERM)
        _, stderr = recorder.communicate(timeout=PROMPT_S + 10)
    finally:
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == 128 + signal.SIGTERM, stderr
    assert stderr.decode().splitlines() == [
        f"ktr: interrupted by SIGTERM while waiting for a reader on {fifo}; nothing recorded"]
    assert not marker.exists()


def test_a_signal_during_set_up_writes_no_end_into_a_fifo_no_one_reads(
        tmp_path: Path) -> None:
    """A signal while the side sources are prepared ends set-up with a BEGIN and an
    END in the output: a FIFO no one reads is not waited for to say so (ktr blocked
    there, and a second SIGTERM killed it with no word)."""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    recorder = _start_ktr(["-o", str(fifo), "--", "true"],
                          env={**os.environ, SETUP_HOLD_TEST_ENV: f"prepared={hold}"})
    try:
        with open(hold, "wb"):
            recorder.send_signal(signal.SIGHUP)
        _, stderr = recorder.communicate(timeout=PROMPT_S + 10)
    finally:
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == 128 + signal.SIGHUP, stderr
    assert stderr.decode().splitlines() == [
        f"ktr: interrupted by SIGHUP before recording began; nothing recorded "
        f"(no reader on {fifo})"]


def test_a_reader_that_comes_during_the_wait_gets_the_whole_trace(tmp_path: Path) -> None:
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    recorder = _start_ktr(["-q", "-o", str(fifo), "--", "sh", "-c", "exit 3"])
    try:
        _await_reader_wait(recorder)
        dumped = subprocess.run([*KTRDUMP, "--json", str(fifo)], capture_output=True,
                                text=True, timeout=30, check=True)
        _, stderr = recorder.communicate(timeout=30)
    finally:
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == 3, stderr
    assert stderr == b""
    records = [json.loads(line) for line in dumped.stdout.splitlines()]
    assert records[0]["type"] == "BEGIN"
    assert [r["pid"] for r in records if r["type"] == "CALL" and r["syscall"] == "exit_group"
            ] == [next(r["pid"] for r in records if r["type"] == "PROC")]
    assert records[-1]["type"] == "END" and records[-1]["status"] == 3


@pytest.mark.parametrize("quiet", [False, True], ids=["terminal", "quiet"])
def test_the_wait_is_said_on_a_terminal(tmp_path: Path, quiet: bool) -> None:
    """On a terminal (not under -q) one line says what ktr waits for; piped, the other
    tests show, it says nothing."""
    fifo = tmp_path / "live.fifo"
    os.mkfifo(fifo, 0o600)
    controller, terminal = pty.openpty()
    try:
        recorder = _start_ktr([*(["-q"] if quiet else []), "-o", str(fifo), "--", "true"],
                              stderr=terminal)
        os.close(terminal)
        _await_reader_wait(recorder)
        _ended(recorder, signal.SIGINT)
        said = b""
        with contextlib.suppress(OSError):  # (EIO: no writer left on the terminal)
            while chunk := os.read(controller, 4096):
                said += chunk
    finally:
        os.close(controller)
    expected = ([] if quiet else [f"ktr: waiting for a reader on {fifo}\u2026"])
    expected.append(f"ktr: interrupted by SIGINT while waiting for a reader on {fifo}; "
                    "nothing recorded")
    assert said.decode().splitlines() == expected


# -- Ctrl-C at each line of the entry module, before and after its handler is in ---------

# The child: a trace function that sends signal ``signo`` (SIGINT) to the process itself
# when the code ``name`` of file ``path`` (``<module>`` of ``ktr/__main__.py``, say) reaches
# line ``line`` (0: none; every line it runs is written on fd ``lines`` instead), then the
# console script.
_AT_LINE = """\
import os, signal, sys
def _local(frame, event, arg):
    if event != "line":
        return _local
    if {line} == 0:
        os.write({lines}, b"%d\\n" % frame.f_lineno)
    elif frame.f_lineno == {line}:
        sys.settrace(None)
        frame.f_trace = None
        os.kill(os.getpid(), {signo})
    return _local
def _global(frame, event, arg):
    if frame.f_code.co_filename == {path!r} and frame.f_code.co_name == {name!r}:
        return _local
    return None
sys.settrace(_global)
"""


def _run_to_line(command: str, line: int, arguments: list[str], cwd: Path,
                 where: tuple[str, str] | None = None,
                 signo: signal.Signals = signal.SIGINT) -> tuple[int, str, list[int]]:
    """The console script of ``command`` run with ``signo`` sent at ``line`` of ``where``
    (a file under the project's root and a code's name; by default the entry module);
    returns its status, its stderr, and (``line`` 0) the lines that code ran."""
    module, function = SCRIPTS[command].split(":")
    file, name = where or (f"{command}/__main__.py", "<module>")
    read_end, write_end = os.pipe()
    program = (_AT_LINE.format(line=line, lines=write_end, path=str(INSTALLED / file), name=name,
                               signo=int(signo))
               + _CONSOLE_SCRIPT.format(module=module, function=function))
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        child = subprocess.Popen(
            [sys.executable, "-c", program, *arguments], stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, pass_fds=(write_end,),
            cwd=cwd)
    finally:
        signal.signal(signal.SIGINT, saved)
        os.close(write_end)
    try:
        _, stderr = child.communicate(timeout=30)
    finally:
        child.kill()
        child.wait()
    with os.fdopen(read_end, "rb") as lines:
        ran = [int(number) for number in lines.read().split()]
    return child.returncode, stderr.decode(errors="replace"), ran


@pytest.mark.parametrize("command", ["ktr", "ktrdump"])
def test_ctrl_c_at_every_line_of_the_entry_module_is_one_line_and_130(
        tmp_path: Path, cache_dir: Path, command: str) -> None:
    """A SIGINT sent while each line of the entry module runs, from the first in its
    ``try`` on (before it, only the docstring's assignment and the ``try``'s own no-op,
    where the interpreter checks for no signal), ends the command with its one line
    and status 130: before the handler is installed through the KeyboardInterrupt of
    Python's default handler, after it through the handler (a Ctrl-C while the
    module's first lines ran printed a traceback, ``class _InterruptedWhileStarting``
    in it). The moment is exact: the module's own trace function sends it."""
    status, _, ran = _run_to_line(command, 0, ["--version"], cache_dir)
    assert status == 0
    source = (INSTALLED / command / "__main__.py").read_text().splitlines()
    # (the docstring's line is the first the module runs)
    lines = [number for number in list(dict.fromkeys(ran))[1:] if source[number - 1] != "try:"]
    install = next(number for number, text in enumerate(source, 1)
                   if "_signal.signal(_signal.SIGINT" in text)
    assert install in lines
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    # (blocking once started, were the signal lost: as in the test above)
    arguments = (["record", "-q", "-o", str(fifo), "--", "true"] if command == "ktr"
                 else ["-"])
    expected = (["ktr: interrupted by SIGINT before recording began; nothing recorded"]
                if command == "ktr" else [])
    for line in lines:
        status, stderr, _ = _run_to_line(command, line, arguments, cache_dir)
        where = f"SIGINT at {command}/__main__.py:{line} ({source[line - 1].strip()})"
        assert "Traceback" not in stderr, f"{where}:\n{stderr}"
        assert (status, stderr.splitlines()) == (130, expected), f"{where}: {status}\n{stderr}"


def _lines_between(file: str, function: str, first: str, last: str) -> range:
    """The lines of ``function`` in ``file`` after its first line ``first`` (stripped)
    and before the first ``last`` after it."""
    source = (INSTALLED / file).read_text().splitlines()
    start = next(number for number, text in enumerate(source, 1)
                 if text.startswith(f"def {function}("))
    begin = next(number for number, text in enumerate(source[start:], start + 1)
                 if text.strip() == first)
    end = next(number for number, text in enumerate(source[begin:], begin + 1)
               if text.strip() == last)
    return range(begin + 1, end)


@pytest.mark.parametrize(("function", "first", "what"), [
    ("record", "try:", []),
    pytest.param("_record_without_ptrace",
                 "try:  # (a Ctrl-C before the recording's handlers: nothing made but what "
                 "is closed)", ["-t", "w"],
                 marks=pytest.mark.skipif(os.geteuid() != 0, reason="perf events need root"))],
    ids=["ptrace", "switches"])
def test_ctrl_c_before_the_recorders_set_up_says_nothing_was_recorded(
        tmp_path: Path, cache_dir: Path, function: str, first: str, what: list[str]) -> None:
    """A Ctrl-C while ``record`` starts, before any target is touched or the output
    opened (each line of it up to its set-up's handlers, with ptrace or without),
    says nothing was recorded, status 130, no file; it said ``ktr: interrupted``
    alone, which said neither."""
    where = ("ktr/_recorder.py", function)
    output = tmp_path / "out.ktr"
    arguments = ["record", "-o", str(output), *what, "--", "true"]
    status, stderr, ran = _run_to_line("ktr", 0, arguments, cache_dir, where)
    assert status == 0, stderr
    output.unlink()
    lines = [number for number in dict.fromkeys(ran)
             if number in _lines_between(*where, first, "except KeyboardInterrupt:")]
    assert len(lines) > 3, ran
    for line in lines:
        status, stderr, _ = _run_to_line("ktr", line, arguments, cache_dir, where)
        at = f"SIGINT at {where[0]}:{line}"
        assert (status, stderr.splitlines()) == (
            130, ["ktr: interrupted by SIGINT before recording began; nothing recorded"]
        ), f"{at}: {status}\n{stderr}"
        assert not output.exists(), at


@pytest.mark.parametrize("signo", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
@pytest.mark.parametrize(("where", "first", "last", "what"), [
    (("ktr/cli.py", "_run_command"), "_load_recorder()",
     "for line in summary_lines(options, report):", []),
    (("ktr/_recorder.py", "record"), "try:", "with _SetupSignals() as setup:", []),
    pytest.param(("ktr/_recorder.py", "_record_without_ptrace"),
                 "try:  # (a Ctrl-C before the recording's handlers: nothing made but what "
                 "is closed)", "except KeyboardInterrupt:", ["-t", "w"],
                 marks=pytest.mark.skipif(os.geteuid() != 0, reason="perf events need root"))],
    ids=["cli", "ptrace", "switches"])
def test_sigterm_and_sighup_before_the_recorders_handlers_are_one_line_and_128_n(
        tmp_path: Path, cache_dir: Path, where: tuple[str, str], first: str, last: str,
        what: list[str], signo: signal.Signals) -> None:
    """SIGTERM or SIGHUP at each line from the recorder's load to ``record``'s set-up
    handlers (with ptrace: its first lines; without: its sources' preparation and the
    command's start too) ends ``ktr`` as Ctrl-C does there: one line saying nothing was
    recorded, status 143 or 129 (as after start-up, README), no file, no traceback. Its
    default action killed ``ktr`` there with no word (``ktr.cli`` put it back just before
    ``record``, whose first lines ran under it). The moment is exact: a trace function in
    the child sends the signal."""
    output = tmp_path / "out.ktr"
    arguments = ["record", "-o", str(output), *what, "--", "true"]
    status, stderr, ran = _run_to_line("ktr", 0, arguments, cache_dir, where)
    assert status == 0, stderr
    output.unlink()
    lines = [number for number in dict.fromkeys(ran)
             if number in _lines_between(*where, first, last)]
    assert len(lines) > 2, ran
    for line in lines:
        status, stderr, _ = _run_to_line("ktr", line, arguments, cache_dir, where, signo)
        at = f"{signo.name} at {where[0]}:{line}"
        assert (status, stderr.splitlines()) == (
            128 + signo, [f"ktr: interrupted by {signo.name} before recording began; "
                          "nothing recorded"]), f"{at}: {status}\n{stderr}"
        assert not output.exists(), at
