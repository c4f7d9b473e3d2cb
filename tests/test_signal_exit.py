"""``ktr record -- CMD`` dies of the signal that killed CMD, as strace does.

It used to exit 128+N, so the shell printed no "Segmentation fault" or
"Aborted" and a parent's waitpid saw a normal exit. Now, once the trace is
complete, ktr resets the signal's action, makes itself undumpable and kills
itself with it: the parent's waitpid sees WIFSIGNALED with the command's
signal, and no core of ktr's is left (the oracle: the same command run
without ktr, waited for the same way).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import ktrdump
from formats import RecordKind

KTR = Path(sys.executable).parent / "ktr"
KTRDUMP = Path(sys.executable).parent / "ktrdump"


def _wait_status(argv: list[str], cwd: Path) -> int:
    """The raw waitpid status of ``argv`` run by this process."""
    child = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    _, status = os.waitpid(child.pid, 0)
    child.returncode = 0  # reaped here; keep Popen from waiting again
    return status


@pytest.mark.parametrize("options", [(), ("-t", "w")], ids=["ptrace", "without-ptrace"])
@pytest.mark.parametrize("signo", [signal.SIGSEGV, signal.SIGABRT, signal.SIGTERM,
                                   signal.SIGKILL])
def test_ktr_dies_of_the_commands_signal(tmp_path: Path, signo: int,
                                         options: tuple[str, ...]) -> None:
    command = ["sh", "-c", f"kill -{signal.Signals(signo).name[3:]} $$"]
    alone = _wait_status(command, tmp_path)
    assert os.WIFSIGNALED(alone) and os.WTERMSIG(alone) == signo
    trace = tmp_path / "s.ktr"
    traced = _wait_status([str(KTR), "record", "-q", *options, "-o", str(trace), "--",
                           *command], tmp_path)
    assert os.WIFSIGNALED(traced), f"exited {os.WEXITSTATUS(traced)}"
    assert os.WTERMSIG(traced) == os.WTERMSIG(alone)
    assert not os.WCOREDUMP(traced)  # ktr's own core is never dumped
    assert not [path for path in tmp_path.iterdir() if path.name.startswith("core")]
    # The trace was complete before ktr died: END record, exit status recorded.
    dumped = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                            timeout=30)
    assert dumped.returncode == 0, dumped.stderr
    end = json.loads(dumped.stdout.splitlines()[-1])
    assert (end["type"], end["status"]) == ("END", 128 + signo)


def test_a_normal_exit_status_is_passed_on(tmp_path: Path) -> None:
    status = _wait_status([str(KTR), "record", "-q", "-o", str(tmp_path / "e.ktr"), "--",
                           "sh", "-c", "exit 139"], tmp_path)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 139


@pytest.mark.parametrize("quiet", [True, False], ids=["-q", "not-q"])
def test_quiet_says_nothing_of_a_recording_stopped_by_ctrl_c(quiet: bool) -> None:
    """-q is silent about the user's own Ctrl-C, as strace -q about detaching; the END
    still says it, and without -q so does the summary."""
    target = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
    recorder = subprocess.Popen([str(KTR), "record", *(["-q"] if quiet else []), "-p",
                                 str(target.pid), "-o", "-"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert recorder.stdout is not None and recorder.stderr is not None
    assert target.stdin is not None
    try:
        with ktrdump.open(recorder.stdout) as reader:
            stream = iter(reader)
            records = [next(stream)]
            assert records[0].kind == RecordKind.BEGIN
            target.stdin.write(b"line\n")
            target.stdin.flush()
            # A record of cat's: the recording runs (its signal handlers are in place).
            while records[-1].pid != target.pid:
                records.append(next(stream))
            recorder.send_signal(signal.SIGINT)
            records.extend(stream)
        stderr = recorder.stderr.read().decode()
        assert recorder.wait(timeout=10) == 0, stderr
        end = records[-1]
        assert end.kind == RecordKind.END
        assert end.payload.reason == b"interrupted by SIGINT"
        lines = stderr.splitlines()
        if quiet:
            assert lines == []
        else:
            assert lines[0] == "ktr: recording stopped: interrupted by SIGINT"
            assert lines[1].startswith("ktr: ") and "records" in lines[1]
        target.stdin.close()  # detached, cat goes on, and ends at its input's end
        assert target.wait(timeout=10) == 0
    finally:
        for process in (target, recorder):
            if process.poll() is None:
                process.kill()
                process.wait()
