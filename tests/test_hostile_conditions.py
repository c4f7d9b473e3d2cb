"""Hostile conditions around ``ktr record``: one line and a status, never a traceback.

Limits a shell sets (``ulimit -n``), run as a user runs the installed command.
"""

from __future__ import annotations

import errno
import json
import os
import re
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from c_support import build_program
from control_support import wait_until

from ktr._recorder import SETUP_HOLD_TEST_ENV

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")


def _files_limit(count: int) -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (count, count))


def test_too_few_descriptors_to_start_the_command_is_one_line(tmp_path: Path) -> None:
    # ulimit -n 5: the interpreter starts (0-2, and what it opens briefly) but the
    # command's pipes cannot be made: EMFILE, as `strace -o F true` says it
    # ("strace: pipe: Too many open files" style), not a Python traceback.
    done = subprocess.run([KTR, "record", "-o", str(tmp_path / "t.ktr"), "--", "true"],
                          capture_output=True, text=True, timeout=30, check=False,
                          preexec_fn=lambda: _files_limit(5))
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        "ktr: cannot start the command: cannot create its process: "
        "EMFILE (Too many open files)"], done.stderr


THREADS = r"""
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
static void *run(void *unused) {
    (void)unused;
    for (int i = 0; i < 50; i++) {
        int fd = open("/etc/hostname", O_RDONLY);
        char buffer[16];
        (void)!read(fd, buffer, sizeof buffer);
        close(fd);
    }
    return 0;
}
int main(void) {
    pthread_t threads[64];
    for (int i = 0; i < 64; i++) pthread_create(&threads[i], 0, run, 0);
    for (int i = 0; i < 64; i++) pthread_join(threads[i], 0);
    return 0;
}
"""


def test_threads_perf_cannot_watch_are_counted_once_not_a_line_each(tmp_path: Path) -> None:
    # 64 threads under `ulimit -n 40` and -t +w: the first threads get their switch
    # events, then perf_event_open fails with EMFILE. The trace is the oracle: the
    # threads that made calls (ptrace) but have no CSW record are the unwatched ones
    # (every traced call's stop is a voluntary switch, so a watched thread has some).
    # Before: one stderr line per such thread, and no total anywhere.
    program = build_program(tmp_path, "threads", THREADS, "-O2", "-pthread")
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-t", "+w", "-o", str(trace), "--", str(program)],
                          capture_output=True, text=True, timeout=60, check=False,
                          preexec_fn=lambda: _files_limit(40))
    assert done.returncode == 0, done.stderr
    dumped = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    callers: set[int] = set()
    switched: set[int] = set()
    for line in dumped.splitlines():
        record = json.loads(line)
        if record["type"] == "CALL":
            callers.add(record["tid"])
        elif record["type"] == "CSW":
            switched.add(record["tid"])
    unwatched = len(callers - switched)
    assert 1 < unwatched < 65, done.stderr
    lines = done.stderr.splitlines()
    each = [line for line in lines if re.fullmatch(r"ktr: perf: thread \d+ not watched: .*EMFILE.*",
                                                   line)]
    assert len(each) == 1, done.stderr
    assert (f"ktr: perf: {unwatched} threads not watched in all: none of their perf records "
            "are in the trace") in lines, done.stderr


def test_sigterm_while_the_recording_closes_still_says_the_summary(tmp_path: Path) -> None:
    # SIGTERM after the command ended, while the trace is being completed (held at
    # "closing"): kept until the END is written, then ktr dies of it (143), as it did;
    # before, it died without a word, the summary (records, drops) never said.
    # perf record, sent SIGTERM while it writes its data, still prints its
    # "[ perf record: Captured and wrote ... ]" line.
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "late.ktr"
    recorder = subprocess.Popen([KTR, "record", "-o", str(out), "--", "true"],
                                stderr=subprocess.PIPE, text=True,
                                env={**os.environ, SETUP_HOLD_TEST_ENV: f"closing={hold}"})
    held: list[int] = []

    def closing() -> bool:  # the FIFO opens for writing once the recorder reads it
        try:
            held.append(os.open(hold, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno == errno.ENXIO:
                return recorder.poll() is not None
            raise
        return True

    try:
        wait_until(closing, "the recorder closing the recording")
        assert held, recorder.stderr
        recorder.send_signal(signal.SIGTERM)
        os.close(held.pop())
        _, stderr = recorder.communicate(timeout=30)
    finally:
        for fd in held:
            os.close(fd)
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == -signal.SIGTERM, stderr
    lines = stderr.splitlines()
    assert lines[0] == ("ktr: SIGTERM came while the recording closed; the trace was "
                        "completed first"), stderr
    assert lines[1].startswith("ktr: ") and f" to {out}; 0 dropped;" in lines[1], stderr
    assert len(lines) == 2, stderr
    dumped = subprocess.run([KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                            timeout=30, check=True).stdout.splitlines()
    assert json.loads(dumped[-1])["type"] == "END"


CHILDREN = r"""
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void) {
    int gate[2];
    if (pipe(gate)) return 1;
    for (int i = 0; i < 40; i++) {
        if (fork() == 0) {
            close(gate[1]);
            close(open("/etc/hostname", O_RDONLY));
            char byte;
            (void)!read(gate[0], &byte, 1);  /* alive until every child is forked */
            _exit(0);
        }
    }
    close(gate[1]);
    while (wait(0) > 0) {}
    return 0;
}
"""


def test_processes_whose_memory_cannot_be_read_are_said(tmp_path: Path) -> None:
    # 40 live children under `ulimit -n 16`: ktr holds a /proc/PID/mem descriptor per
    # traced process, so the later children's cannot be opened (EMFILE) and their
    # paths were recorded empty (`openat(AT_FDCWD,"",...)`, NAMI "") with "0 dropped"
    # and nothing said. strace under the same limit (process_vm_readv, no
    # descriptor) shows all 40 paths: the oracle for what is missing.
    program = build_program(tmp_path, "children", CHILDREN, "-O2")
    oracle = subprocess.run(["strace", "-f", "-qq", "-e", "trace=openat", "-o",
                             str(tmp_path / "strace.txt"), str(program)],
                            capture_output=True, text=True, timeout=60, check=False,
                            preexec_fn=lambda: _files_limit(16))
    assert oracle.returncode == 0, oracle.stderr
    opened = (tmp_path / "strace.txt").read_text().count('"/etc/hostname"')
    assert opened == 40
    trace = tmp_path / "t.ktr"
    done = subprocess.run([KTR, "record", "-i", "-o", str(trace), "--", str(program)],
                          capture_output=True, text=True, timeout=60, check=False,
                          preexec_fn=lambda: _files_limit(16))
    assert done.returncode == 0, done.stderr
    dumped = subprocess.run([KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                            timeout=60, check=True).stdout
    named = sum(1 for line in dumped.splitlines()
                if json.loads(line)["type"] == "NAMI" and "/etc/hostname" in line)
    assert named < opened  # (the limit bit: some paths are missing)
    said = [line for line in done.stderr.splitlines() if "could not be read" in line]
    assert len(said) == 1, done.stderr
    match = re.fullmatch(r"ktr: the memory of (\d+) process(es)? could not be read \(EMFILE "
                         r"\(Too many open files\)\): the paths, I/O data, arguments and "
                         r"structures of their calls are missing from the trace \(shown empty\)",
                         said[0])
    assert match is not None, said[0]
    assert int(match.group(1)) >= opened - named, done.stderr


def test_ktrdump_ff_under_a_low_descriptor_limit_writes_every_threads_file(
        tmp_path: Path) -> None:
    # 65 threads' files under `ulimit -n 16`: the per-thread files are kept open up
    # to 256 at once, so the 12th failed: "cannot write: Too many open files", rc 1
    # (as `strace -ff -o` under the same limit: "Can't fopen"). Now fewer are kept
    # open and every file is written, byte for byte as without the limit.
    program = build_program(tmp_path, "threads", THREADS, "-O2", "-pthread")
    trace = tmp_path / "t.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", str(program)],
                   capture_output=True, text=True, timeout=60, check=True)
    (tmp_path / "free").mkdir()
    (tmp_path / "low").mkdir()
    subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o", str(tmp_path / "free" / "s"),
                    str(trace)], capture_output=True, text=True, timeout=60, check=True)
    done = subprocess.run([KTRDUMP, "--format", "strace", "-ff", "-o",
                           str(tmp_path / "low" / "s"), str(trace)],
                          capture_output=True, text=True, timeout=60, check=False,
                          preexec_fn=lambda: _files_limit(16))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    free = sorted(path.name for path in (tmp_path / "free").iterdir())
    assert len(free) == 65
    assert sorted(path.name for path in (tmp_path / "low").iterdir()) == free
    for name in free:
        assert ((tmp_path / "low" / name).read_bytes()
                == (tmp_path / "free" / name).read_bytes()), name


@pytest.mark.parametrize("limit", range(12, 22))
def test_attach_short_of_descriptors_is_not_no_such_process(tmp_path: Path,
                                                            limit: int) -> None:
    # `ktr record -t w -p P1,...,P30` under `ulimit -n 12..21` (no ptrace: a pidfd and
    # perf events per process), where the descriptors run out decides what failed:
    # /proc/PID/task could not be listed (EMFILE), read as the process being gone,
    # "ktr: pid N: no such process" for a live process (os.kill(N, 0) is the oracle),
    # or pidfd_open's EMFILE was a traceback. Now the line says what failed.
    sleepers = [subprocess.Popen(["sleep", "60"]) for _ in range(30)]
    try:
        done = subprocess.run([KTR, "record", "-t", "w", "-o", str(tmp_path / "t.ktr"), "-p",
                               ",".join(str(sleeper.pid) for sleeper in sleepers)],
                              capture_output=True, text=True, timeout=30, check=False,
                              preexec_fn=lambda: _files_limit(limit))
        for sleeper in sleepers:
            os.kill(sleeper.pid, 0)  # (all alive: none was "no such process")
    finally:
        for sleeper in sleepers:
            sleeper.kill()
            sleeper.wait()
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "no such process" not in lines[0]
    assert re.fullmatch(r"ktr: pid \d+: .*EMFILE \(Too many open files\)", lines[0]), lines[0]
