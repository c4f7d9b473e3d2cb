"""``ktr record -t w`` and ``-C``: the perf source on real processes.

Oracles: each thread's own ``getrusage(RUSAGE_THREAD)`` (voluntary and
involuntary switches, CPU time), printed by a C program compiled here; the
ptrace adapter's own calls (no syscall stops when no syscall facility is
asked for).
"""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from control_support import become_nobody, tracer_of

import formats
import ktr
import ktrdump
from formats import CntFlag, CswFlag, RecordKind
from ktr.errors import KtrError

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void work(const char *who) {
    struct timespec pause = {0, 200000};
    for (int i = 0; i < ROUNDS; i++) {
        nanosleep(&pause, 0);
        volatile long x = 0;
        for (long j = 0; j < 100000; j++) x += j;
        getppid();
    }
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    printf("%s %ld %ld %ld %ld\n", who, (long)syscall(SYS_gettid), ru.ru_nvcsw, ru.ru_nivcsw,
           ru.ru_utime.tv_sec * 1000000L + ru.ru_utime.tv_usec
           + ru.ru_stime.tv_sec * 1000000L + ru.ru_stime.tv_usec);
    fflush(stdout);
}

static void *thread_main(void *arg) { (void)arg; work("thread"); return 0; }

int main(void) {
    struct timespec late = {0, 30000000};
    nanosleep(&late, 0);  /* the thread is created late, after a counter reading */
    pthread_t thread;
    pthread_create(&thread, 0, thread_main, 0);
    work("main");
    pthread_join(thread, 0);
    pid_t child = fork();
    if (child == 0) { work("child"); _exit(0); }
    waitpid(child, 0, 0);
    return 0;
}
"""


def build(tmp_path: Path, rounds: int = 150) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    source = tmp_path / "switcher.c"
    source.write_text(PROGRAM)
    binary = tmp_path / "switcher"
    subprocess.run([compiler, "-O1", f"-DROUNDS={rounds}", "-pthread", "-o", str(binary),
                    str(source)], check=True, capture_output=True)
    return binary


def records_of(path: Path) -> list[formats.Record]:
    with ktrdump.open(str(path)) as reader:
        records = list(reader)
        assert reader.skipped_batches == 0
    return records


def rusage_lines(stdout: bytes) -> dict[str, tuple[int, int, int, int]]:
    """who -> (tid, voluntary, involuntary, cpu µs), from the program's output."""
    found = {}
    for line in stdout.decode().splitlines():
        who, tid, voluntary, involuntary, cpu = line.split()
        found[who] = (int(tid), int(voluntary), int(involuntary), int(cpu))
    return found


def _steal_us() -> int:
    """The machine's steal time so far (every CPU, /proc/stat), in microseconds."""
    with open("/proc/stat") as stat:
        fields = stat.readline().split()
    return int(fields[8]) * 1_000_000 // os.sysconf("SC_CLK_TCK")


def test_switches_and_counters_match_each_threads_getrusage(tmp_path: Path) -> None:
    program = build(tmp_path)
    trace = tmp_path / "perf.ktr"
    stolen_before = _steal_us()
    result = subprocess.run(
        [KTR, "record", "-q", "-i", "-t", "wp", "-C", "task-clock,context-switches",
         "--interval", "10", "-o", str(trace), "--", str(program)],
        capture_output=True, timeout=60)
    stolen = _steal_us() - stolen_before
    assert result.returncode == 0, result.stderr
    assert b"Traceback" not in result.stderr
    oracle = rusage_lines(result.stdout)
    assert set(oracle) == {"main", "thread", "child"}
    records = records_of(trace)
    outs: Counter[int] = Counter()
    preempted: Counter[int] = Counter()
    ins: Counter[int] = Counter()
    readings: dict[int, list[formats.Cnt]] = {}
    pids: dict[int, int] = {}
    for record in records:
        payload = record.payload
        if isinstance(payload, formats.Csw):
            pids[record.tid] = record.pid
            if payload.out:
                outs[record.tid] += 1
                preempted[record.tid] += bool(payload.flags & CswFlag.PREEMPTED)
            else:
                ins[record.tid] += 1
            assert payload.cpu in os.sched_getaffinity(0) or payload.cpu >= 0
        elif isinstance(payload, formats.Cnt):
            readings.setdefault(record.tid, []).append(payload)
    for who, (tid, voluntary, involuntary, cpu_us) in oracle.items():
        # perf starts at the thread's creation stop and ends at its exit; the
        # thread measured itself a little earlier: a few ptrace stops apart.
        assert abs(outs[tid] - (voluntary + involuntary)) <= 12, (who, outs[tid], voluntary,
                                                                  involuntary)
        # The kernel's two notions of "preempted" differ when a wakeup races the
        # switch (getrusage counts it involuntary, perf's flag may not): more
        # often the busier the machine, so the slack grows with the count.
        assert abs(preempted[tid] - involuntary) <= 6 + involuntary // 3, (
            who, preempted[tid], involuntary)
        assert abs(outs[tid] - ins[tid]) <= 1
        # Nearly every round slept: a round whose 200 us timer expired before the
        # thread got off the CPU (a vCPU held up by the host) does not switch.
        assert voluntary >= 135
        mine = readings[tid]
        assert mine[-1].flags & CntFlag.FINAL
        assert sum(1 for r in mine if r.flags & CntFlag.FINAL) == 1
        assert mine[-1].counter_names() == [b"task-clock", b"context-switches"]
        values = [r.values for r in mine]
        assert values == sorted(values)  # cumulative
        task_clock_us = mine[-1].values[0] // 1000
        # task-clock counts the time the thread was on a CPU, including what the host
        # stole from that vCPU; getrusage's CPU time leaves steal out (the scheduler's
        # task clock): on a busy host task-clock is ahead by up to the steal.
        assert -5000 - cpu_us // 10 <= task_clock_us - cpu_us <= 5000 + cpu_us // 10 + stolen, (
            who, task_clock_us, cpu_us, stolen)
        # context-switches counted in the kernel: the same switches the records show
        assert abs(mine[-1].values[1] - outs[tid]) <= 3
    # the late thread and the forked child (-i) were read periodically too
    for who in ("thread", "child"):
        tid = oracle[who][0]
        assert any(not r.flags & CntFlag.FINAL for r in readings[tid]), who
    assert pids[oracle["child"][0]] == oracle["child"][0]
    assert pids[oracle["thread"][0]] == oracle["main"][0]
    # perf timestamps are on the trace's clock: the thread's switches fall
    # between its CLONE record and its exit stop (plus the last switches of
    # its death after that stop, before the process is reaped)
    thread, main = oracle["thread"][0], oracle["main"][0]
    proc = [(r.timestamp_ns, r.tid, r.payload) for r in records
            if isinstance(r.payload, formats.Proc)]
    born = next(ts for ts, _, p in proc if p.child == thread)
    exit_stop = next(ts for ts, tid, p in proc if tid == thread
                     and p.event == formats.ProcEvent.EXIT)
    reaped = next(ts for ts, tid, p in proc if tid == main and p.event == formats.ProcEvent.EXIT
                  and not p.flags & formats.ProcFlag.THREAD)
    stamps = [r.timestamp_ns for r in records if r.tid == thread and r.kind == RecordKind.CSW]
    assert born <= min(stamps)
    assert sum(1 for ts in stamps if ts > exit_stop) <= 4
    assert max(stamps) <= reaped


class _Calls:
    def __init__(self) -> None:
        self.syscall_info = 0
        self.step = 0


@pytest.mark.parametrize("arguments", [["-t", "w"], ["-C", "task-clock"], ["-t", "pw"]])
def test_without_a_syscall_facility_the_tracee_gets_no_syscall_stops(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, arguments: list[str]) -> None:
    """Event stops only (clone, fork, exec, exit), resumed with PTRACE_CONT."""
    from ktr import _ptrace as pt

    program = build(tmp_path, rounds=40)
    calls = _Calls()
    real_info, real_resume = pt.syscall_stop_info, pt.resume
    real_unchecked = pt.resume_unchecked
    real_info_unchecked = pt.syscall_info_unchecked

    def counting_info(pid: int) -> tuple[int, ...]:
        calls.syscall_info += 1
        return real_info(pid)

    def counting_resume(how: int, pid: int, signo: int = 0) -> None:
        if how == pt.PTRACE_SYSCALL:
            calls.step += 1
        real_resume(how, pid, signo)

    def counting_unchecked(how: int, pid: int, address: int, signo: int) -> int:
        if how == pt.PTRACE_SYSCALL:
            calls.step += 1
        result: int = real_unchecked(how, pid, address, signo)
        return result

    monkeypatch.setattr(pt, "syscall_stop_info", counting_info)
    monkeypatch.setattr(pt, "resume", counting_resume)
    def counting_info_unchecked(request: int, pid: int, size: int, into: object) -> int:
        if request == pt.PTRACE_GET_SYSCALL_INFO:
            calls.syscall_info += 1
        result: int = real_info_unchecked(request, pid, size, into)
        return result

    monkeypatch.setattr(pt, "resume_unchecked", counting_unchecked)
    monkeypatch.setattr(pt, "syscall_info_unchecked", counting_info_unchecked)
    trace = tmp_path / "nostops.ktr"
    options = ktr.parse_record_arguments(
        ["-q", "-i", *arguments, "-o", str(trace), "--", str(program)])
    saved = os.dup(1)
    try:
        with open(tmp_path / "stdout", "wb") as out:
            os.dup2(out.fileno(), 1)
        report = ktr.record(options)
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    assert report.exit_status == 0
    assert calls.syscall_info == 0
    assert calls.step == 0
    kinds = Counter(record.kind for record in records_of(trace))
    assert kinds[RecordKind.SYSCALL] == 0
    wanted = RecordKind.CNT if "-C" in arguments else RecordKind.CSW
    assert kinds[wanted] > 0
    assert report.result.threads == 3  # main, the thread, the forked child


NAMER = r"""
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    struct timespec pause = {0, 1000000};
    for (int i = 0; i < 3; i++) {
        pid_t child = fork();
        if (child == 0) { nanosleep(&pause, 0); _exit(0); }
        waitpid(child, 0, 0);
    }
    execl("/bin/true", "true", (char *)0);
    return 127;
}
"""


def test_switches_of_short_lived_children_carry_their_name(tmp_path: Path) -> None:
    """The children are gone before the reader takes their switches from the ring;
    they still carry the name they had (their parent's), and the exec its new one."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    (tmp_path / "namer.c").write_text(NAMER)
    binary = tmp_path / "namer"
    subprocess.run([compiler, "-O1", "-o", str(binary), str(tmp_path / "namer.c")],
                   check=True, capture_output=True)
    trace = tmp_path / "names.ktr"
    subprocess.run([KTR, "record", "-q", "-i", "-t", "wp", "-o", str(trace), "--", str(binary)],
                   check=True, timeout=60)
    records = records_of(trace)
    # the forking process (the file's order of perf records says nothing: each is stamped)
    main = next(r.pid for r in records if r.kind == RecordKind.PROC
                and r.payload.child)  # type: ignore[union-attr]
    children = {r.payload.child for r in records
                if r.kind == RecordKind.PROC and r.pid == main and r.payload.child}
    assert len(children) == 3
    names: dict[int, set[bytes]] = {}
    for r in records:
        if r.kind == RecordKind.CSW:
            names.setdefault(r.pid, set()).add(r.comm)
    assert {child: names[child] for child in children} == {child: {b"namer"}
                                                           for child in children}
    # The command itself: as it switched during its exec, before the kernel renamed it,
    # it was still the recorder's child ("ktr", as kdump shows "ktrace" there).
    assert {b"namer", b"true"} <= names[main] <= {b"ktr", b"namer", b"true"}
    assert set(names) == {main, *children}


HOPPER = r"""
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

/* Moves the calling thread to the other CPU: out on one ring, back in on the other. */
static void hop(int i) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(i % 2, &set);
    sched_setaffinity(0, sizeof set, &set);
}

static void *worker(void *arg) {
    (void)arg;
    for (int i = 0; i < 6; i++) hop(i);
    prctl(PR_SET_NAME, "wrenamed");
    for (int i = 0; i < 6; i++) hop(i);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {  /* after the exec, as "afterexec" */
        for (int i = 0; i < 6; i++) hop(i);
        return 0;
    }
    hop(1);  /* a switch under the name the exec gave, wherever it started */
    hop(0);
    char name[16];
    for (int k = 0; k < RENAMES; k++) {  /* each rename on the other CPU than the last */
        hop(k);
        snprintf(name, sizeof name, "r%03d", k);
        prctl(PR_SET_NAME, name);
        hop(k + 1);
    }
    pthread_t thread;  /* created with its creator's name, "r%03d" % (RENAMES - 1) */
    pthread_create(&thread, 0, worker, 0);
    pthread_join(thread, 0);
    hop(0);
    execl(argv[1], "afterexec", (char *)0);
    return 1;
}
"""
HOPPER_RENAMES = 30


def _build_hopper(tmp_path: Path) -> tuple[Path, Path]:
    if not {0, 1} <= os.sched_getaffinity(0):
        pytest.skip("needs CPUs 0 and 1")
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    (tmp_path / "hopper.c").write_text(HOPPER)
    binary = tmp_path / "hopper"
    subprocess.run([compiler, "-O1", f"-DRENAMES={HOPPER_RENAMES}", "-pthread", "-o",
                    str(binary), str(tmp_path / "hopper.c")], check=True, capture_output=True)
    after = tmp_path / "afterexec"  # the same program: its exec renames it "afterexec"
    os.link(binary, after)
    return binary, after


def _hopper_names(main: bool) -> list[bytes]:
    """The names a thread of the hopper has, in the order it has them (the
    command is the recorder's child until its exec; it switches every name
    after that at least once: a hop follows each rename)."""
    renamed = [b"r%03d" % k for k in range(HOPPER_RENAMES)]
    return [b"ktr", b"hopper", *renamed, b"afterexec"] if main else [renamed[-1], b"wrenamed"]


def test_switches_carry_the_name_at_their_time_across_cpu_rings(tmp_path: Path) -> None:
    """Each rename (prctl, exec) is a COMM record in one CPU's ring and the
    thread's switches are in both rings: every switch carries the name the
    thread had when it switched. Oracle: the syscall stops around each rename
    (a switch before the prctl/execve entry stop has the former name, one after
    its exit stop — the exec stop for execve — the new one)."""
    binary, after = _build_hopper(tmp_path)
    trace = tmp_path / "hops.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "+w", "-o", str(trace), "--", str(binary),
                    str(after)], check=True, timeout=60)
    records = records_of(trace)
    main = next(r.pid for r in records if r.kind == RecordKind.CSW)
    entries: dict[int, list[int]] = {}  # tid -> entry stop times of its renames
    settled: dict[int, list[int]] = {}  # tid -> times each rename is known done
    for r in records:
        if r.kind == RecordKind.SYSCALL and r.payload.nr in (157, 59):  # type: ignore[union-attr]
            entries.setdefault(r.tid, []).append(r.timestamp_ns)  # prctl, execve
        elif ((r.kind == RecordKind.SYSRET and r.payload.nr == 157)  # type: ignore[union-attr]
              or (r.kind == RecordKind.PROC
                  and r.payload.event == formats.ProcEvent.EXEC)):  # type: ignore[union-attr]
            settled.setdefault(r.tid, []).append(r.timestamp_ns)
    switches = sorted((r.timestamp_ns, r.tid, r.comm, r.payload.cpu)  # type: ignore[union-attr]
                      for r in records if r.kind == RecordKind.CSW)
    tids = {tid for _, tid, _, _ in switches}
    assert len(tids) == 2 and main in tids
    assert {cpu for *_, cpu in switches} == {0, 1}
    for tid in tids:
        names = _hopper_names(tid == main)
        starts = entries[tid]
        assert len(starts) == len(settled[tid]) == len(names) - 1
        wrong = []
        for when, _, comm, cpu in (s for s in switches if s[1] == tid):
            done = sum(1 for t in settled[tid] if t < when)
            maybe = sum(1 for t in starts if t < when)
            if comm not in names[done:maybe + 1]:
                wrong.append((when, comm, cpu, names[done:maybe + 1]))
        assert not wrong, f"{len(wrong)} switches of {tid} misnamed, first: {wrong[:3]}"
        assert {comm for _, t, comm, _ in switches if t == tid} >= set(names) - {b"ktr"}


def test_switches_carry_renames_the_control_loop_never_saw(tmp_path: Path) -> None:
    """-t w: no syscall stops, so the recorder sees neither rename by prctl
    nor which name a new thread inherits: the kernel's COMM and FORK records
    say it. Oracle: the program's own order of names, and its thread's first
    name being its creator's last."""
    binary, after = _build_hopper(tmp_path)
    trace = tmp_path / "hops.ktr"
    subprocess.run([KTR, "record", "-q", "-t", "w", "-o", str(trace), "--", str(binary),
                    str(after)], check=True, timeout=60)
    records = records_of(trace)
    main = next(r.pid for r in records if r.kind == RecordKind.CSW)
    by_tid: dict[int, list[bytes]] = {}
    for r in sorted((r for r in records if r.kind == RecordKind.CSW),
                    key=lambda r: r.timestamp_ns):
        by_tid.setdefault(r.tid, []).append(r.comm)
    assert len(by_tid) == 2
    for tid, comms in by_tid.items():
        names = _hopper_names(tid == main)
        order = [names.index(comm) for comm in comms]
        assert order == sorted(order), f"{tid}: names out of order: {comms}"
        assert set(comms) >= set(names) - {b"ktr"}, set(names) - set(comms)
        if tid != main:
            assert comms[0] == names[0]


RENAMER = r"""
#include <pthread.h>
#include <sys/prctl.h>

static void *worker(void *arg) {
    (void)arg;
    prctl(PR_SET_NAME, "wk0");
    volatile long x = 0;
    for (long i = 0; i < 1000000; i++) x += i;
    return 0;
}

int main(void) {
    pthread_t thread;
    pthread_create(&thread, 0, worker, 0);
    pthread_join(thread, 0);
    prctl(PR_SET_NAME, "mainren");
    return 0;
}
"""


def test_exit_records_carry_the_name_a_thread_ends_with(tmp_path: Path) -> None:
    """-C alone makes no syscall stops, so renames are not seen as they happen; the final
    counter readings and the exits still name each thread as it was when it ended."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    (tmp_path / "renamer.c").write_text(RENAMER)
    binary = tmp_path / "renamer"
    subprocess.run([compiler, "-O1", "-pthread", "-o", str(binary), str(tmp_path / "renamer.c")],
                   check=True, capture_output=True)
    trace = tmp_path / "renamed.ktr"
    subprocess.run([KTR, "record", "-q", "-C", "task-clock", "-o", str(trace), "--", str(binary)],
                   check=True, timeout=60)
    records = records_of(trace)
    assert records[0].kind == RecordKind.BEGIN
    main = records[1].pid
    final = {(r.tid == main, r.comm) for r in records if r.kind == RecordKind.CNT
             and r.payload.flags & CntFlag.FINAL}  # type: ignore[union-attr]
    exits = {(r.tid == main, r.comm) for r in records if r.kind == RecordKind.PROC
             and r.payload.event == formats.ProcEvent.EXIT}  # type: ignore[union-attr]
    assert final == exits == {(True, b"mainren"), (False, b"wk0")}


def test_counter_readings_follow_a_rename_seen_at_its_syscall_stop(tmp_path: Path) -> None:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    source = tmp_path / "late.c"
    source.write_text('#include <sys/prctl.h>\n#include <time.h>\nint main(void) {\n'
                      '  prctl(PR_SET_NAME, "renamed");\n  struct timespec t0, t;\n'
                      '  clock_gettime(CLOCK_MONOTONIC, &t0);\n'
                      '  do clock_gettime(CLOCK_MONOTONIC, &t);\n'
                      '  while ((t.tv_sec - t0.tv_sec) * 1000000000L + t.tv_nsec - t0.tv_nsec'
                      ' < 300000000L);\n  return 0;\n}\n')
    binary = tmp_path / "late"
    subprocess.run([compiler, "-O1", "-o", str(binary), str(source)], check=True,
                   capture_output=True)
    trace = tmp_path / "late.ktr"
    subprocess.run([KTR, "record", "-q", "-C", "task-clock", "--interval", "20", "-t", "c",
                    "-o", str(trace), "--", str(binary)], check=True, timeout=60)
    records = records_of(trace)
    renamed_at = next(r.timestamp_ns for r in records if r.kind == RecordKind.SYSRET
                      and r.payload.nr == 157)  # type: ignore[union-attr]  # prctl
    later = [r.comm for r in records if r.kind == RecordKind.CNT and r.timestamp_ns > renamed_at]
    assert len(later) >= 3 and set(later) == {b"renamed"}


def test_attached_process_switches_are_recorded_until_detach(tmp_path: Path) -> None:
    target = subprocess.Popen([sys.executable, "-c", (
        "import threading, time\n"
        "def spin():\n"
        "    while True: time.sleep(0.001)\n"
        "threading.Thread(target=spin, daemon=True).start()\n"
        "spin()\n")])
    try:
        recorder = subprocess.Popen([KTR, "record", "-q", "-t", "wp", "-C", "page-faults",
                                     "-p", str(target.pid), "-o", "-"],
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert recorder.stdout is not None and recorder.stderr is not None
        records: list[formats.Record] = []
        tids: set[int] = set()
        interrupted = False
        with ktrdump.open(recorder.stdout) as reader:
            for record in reader:
                records.append(record)
                if record.kind == RecordKind.CSW:
                    tids.add(record.tid)
                    if len(tids) == 2 and not interrupted:
                        recorder.send_signal(signal.SIGINT)
                        interrupted = True
        stderr = recorder.stderr.read()
        assert recorder.wait(timeout=10) == 0, stderr
        assert b"Traceback" not in stderr
        assert target.poll() is None and tracer_of(target.pid) == 0
        assert len(tids) == 2
        finals = {r.tid for r in records if isinstance(r.payload, formats.Cnt)
                  and r.payload.flags & CntFlag.FINAL}
        assert finals == tids  # a last reading for each thread let go
    finally:
        target.kill()
        target.wait()


def test_missing_hardware_counter_is_one_line_listing_what_exists(tmp_path: Path) -> None:
    listed = subprocess.run([KTR, "record", "--list-counters"], capture_output=True, timeout=20)
    assert listed.returncode == 0
    names = listed.stdout.decode().split()
    assert "task-clock" in names and "context-switches" in names
    if "cycles" in names:
        pytest.skip("this machine has a hardware PMU")
    # with no counter left (a countable one beside it is recorded without it:
    # test_counters_not_supported)
    result = subprocess.run([KTR, "record", "-C", "cycles", "-o",
                             str(tmp_path / "x.ktr"), "--", "true"],
                            capture_output=True, timeout=20)
    assert result.returncode == 1
    lines = result.stderr.decode().splitlines()
    assert len(lines) == 1, lines
    assert "cycles" in lines[0] and "ENOENT" in lines[0] and "task-clock" in lines[0]
    assert not (tmp_path / "x.ktr").exists()  # nothing started half-configured
    unknown = subprocess.run([KTR, "record", "-C", "task-clok", "--", "true"],
                             capture_output=True, timeout=20)
    assert unknown.returncode == 2
    assert unknown.stderr.count(b"\n") == 1 and b"task-clok" in unknown.stderr


#: Runs argv[1:] with perf_event_open refused (EACCES) by a seccomp filter: a real
#: refusal by the kernel, as a container runtime or a hardened profile gives one.
REFUSING_LAUNCHER = r"""
import ctypes, os, struct, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl.argtypes = (ctypes.c_int,) + (ctypes.c_ulong,) * 4
LD_ABS, JEQ, RET = 0x20, 0x15, 0x06
program = [(LD_ABS, 0, 0, 4), (JEQ, 1, 0, 0xC000003E),            # not x86_64: allow
           (RET, 0, 0, 0x7FFF0000),
           (LD_ABS, 0, 0, 0), (JEQ, 0, 1, 298),                     # perf_event_open
           (RET, 0, 0, 0x00050000 | 13), (RET, 0, 0, 0x7FFF0000)]   # EACCES / allow
code = ctypes.create_string_buffer(b"".join(struct.pack("HBBI", *i) for i in program))
fprog = ctypes.create_string_buffer(struct.pack("HxxxxxxQ", len(program),
                                                ctypes.addressof(code)))
if libc.prctl(38, 1, 0, 0, 0) or libc.prctl(22, 2, ctypes.addressof(fprog), 0, 0):
    sys.exit(f"seccomp: {os.strerror(ctypes.get_errno())}")
os.execv(sys.argv[1], sys.argv[1:])
"""


@pytest.mark.parametrize("options, event", [
    (("-t", "w"), "context-switch records"),
    (("-C", "task-clock"), "task-clock"),
    (("-F", "99"), "stack samples"),
])
def test_refused_perf_event_is_one_line_and_nothing_runs(
        tmp_path: Path, options: tuple[str, ...], event: str) -> None:
    trace, marker = tmp_path / "x.ktr", tmp_path / "ran"
    result = subprocess.run([sys.executable, "-c", REFUSING_LAUNCHER, KTR, "record", *options,
                             "-o", str(trace), "--", "touch", str(marker)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert f"perf event {event}: perf_event_open failed: EACCES" in lines[0], lines[0]
    if os.geteuid() == 0:  # root: the sysctl is not what refused it, and the hint says so
        assert "security policy" in lines[0] and "paranoid" not in lines[0], lines[0]
    assert not trace.exists() and not marker.exists()  # refused before anything started


def test_counter_letter_selects_counter_readings_in_both_commands(tmp_path: Path) -> None:
    alone = subprocess.run([KTR, "record", "-t", "C", "--", "true"], capture_output=True,
                           timeout=20)
    assert alone.returncode == 2
    assert alone.stderr.count(b"\n") == 1 and b"-C" in alone.stderr
    trace = tmp_path / "c.ktr"
    recorded = subprocess.run([KTR, "record", "-q", "-t", "pC", "-C", "task-clock", "-o",
                               str(trace), "--", "true"], capture_output=True, timeout=20)
    assert recorded.returncode == 0, recorded.stderr
    counters = subprocess.run([KTRDUMP, "-t", "C", str(trace)], capture_output=True,
                              timeout=20, check=True).stdout.decode().splitlines()
    assert counters and all(" CNT " in line for line in counters), counters
    lifecycle = subprocess.run([KTRDUMP, "-t", "p", str(trace)], capture_output=True,
                               timeout=20, check=True).stdout.decode()
    assert " CNT " not in lifecycle and " PROC " in lifecycle

def test_unprivileged_user_counts_in_user_mode_and_records_switches(
        request: pytest.FixtureRequest) -> None:
    """paranoid 2, own process: switch records and user-mode counting, with one notice."""
    # What the recording imports lazily, imported while still root: the child
    # cannot read an interpreter installed under /root (pyenv) once it is nobody.
    importlib.import_module("ktr._perfsource")
    shared = Path(tempfile.mkdtemp(prefix="ktr-perf-"))  # pytest's own is root-only
    request.addfinalizer(lambda: shutil.rmtree(shared, ignore_errors=True))
    shared.chmod(0o777)
    program = build(shared, rounds=30)
    trace = shared / "user.ktr"
    errors = shared / "stderr"
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 99
        try:
            os.close(read_end)
            become_nobody()
            with open(errors, "w") as stream, open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                try:
                    options = ktr.parse_record_arguments(
                        ["-q", "-t", "w", "-C", "task-clock,context-switches", "-o",
                         str(trace), "--", str(program)])
                    code = ktr.record(options, stderr=stream).exit_status
                except KtrError as error:
                    stream.write(f"{error}\n")
                    code = error.exit_status
        finally:
            os.write(write_end, bytes([code & 0xFF]))
            os._exit(0)
    os.close(write_end)
    code = os.read(read_end, 1)
    os.close(read_end)
    os.waitpid(pid, 0)
    stderr = errors.read_text()
    assert code == b"\0", stderr
    assert "Traceback" not in stderr
    if os.geteuid() == 0 and Path("/proc/sys/kernel/perf_event_paranoid").read_text().strip() \
            in ("-1", "0", "1"):
        return  # kernel counting allowed for everyone here: nothing to fall back from
    assert "user mode only" in stderr and "perf_event_paranoid" in stderr
    assert stderr.count("\n") == 1
    records = records_of(trace)
    assert any(r.kind == RecordKind.CSW for r in records)
    readings = [r.payload for r in records if isinstance(r.payload, formats.Cnt)]
    assert readings and all(r.flags & CntFlag.USER_ONLY for r in readings)
    assert max(r.values[0] for r in readings) > 0  # task-clock counts in user mode


@pytest.mark.parametrize("out, user, flags, cpu, comm", [
    (1, 1, int(CswFlag.PREEMPTED), 1, b"python3"),
    (0, 0, 0, -1, b""),
    (1, 0, 0, 0, b"sixteen-chars-xx"),
])
def test_fast_csw_record_is_byte_equal_to_the_schema(out: int, user: int, flags: int, cpu: int,
                                                      comm: bytes) -> None:
    from ktr._perfsource import csw_record_struct

    fast = csw_record_struct()
    codec = formats.codec("little")
    expected = codec.encode_record(RecordKind.CSW, 42, 43, 1_796_000_000_123_456_789, comm,
                                   formats.Csw(out, user, flags, cpu))
    assert fast.pack(fast.size - 40, int(RecordKind.CSW), formats.RECORD_VERSION, 42, 43,
                     1_796_000_000_123_456_789, comm, out, user, flags, cpu) == expected


def test_ktrdump_puts_perf_records_in_time_order_among_ptrace_records(tmp_path: Path) -> None:
    """The perf source writes its records a drain interval late; reading
    the file gives one time-ordered stream anyway."""
    import json

    program = build(tmp_path, rounds=30)
    trace = tmp_path / "mixed.ktr"
    result = subprocess.run([KTR, "record", "-q", "-t", "cpw", "-o", str(trace), "--",
                             str(program)], capture_output=True, timeout=60)
    assert result.returncode == 0, result.stderr
    written = [r.timestamp_ns for r in records_of(trace)]
    assert written != sorted(written)  # as written: perf records come late
    dumped = subprocess.run([str(BIN / "ktrdump"), "--json", str(trace)], capture_output=True,
                            timeout=60)
    assert dumped.returncode == 0, dumped.stderr
    lines = [json.loads(line) for line in dumped.stdout.splitlines()]
    stamps = [line["ts"] for line in lines]
    assert stamps == sorted(stamps)
    assert {line["type"] for line in lines} >= {"CALL", "RET", "CSW", "PROC"}


def test_ring_records_become_csw_records_and_losses_drop_counts() -> None:
    """The reader's translation, on ring bytes made by hand: SWITCH → CSW
    (clock converted, preemption kept), LOST → ENOBUFS; names by time across
    the rings: a COMM and a FORK read after (another CPU's ring) still name
    the switches after their time, and only those; a switch stamped after the
    horizon waits for the next drain."""
    import struct
    import time

    from ktr import _perf as perf
    from ktr._perfsource import PerfOptions, PerfSource
    from ktr._sources import SourceOutput

    def switch(misc: int, tid: int, stamp: int, cpu: int) -> bytes:
        return struct.pack("<IHHiiQII", perf.PERF_RECORD_SWITCH, misc, 32, 7, tid, stamp, cpu, 0)

    def trailer(tid: int, stamp: int) -> bytes:  # sample_id: pid, tid, time, cpu, res
        return struct.pack("<iiQII", 7, tid, stamp, 1, 0)

    comm_body = struct.pack("<II", 7, 8) + b"renamed\0" + trailer(8, 1_500)
    fork_body = struct.pack("<iiiiQ", 7, 7, 9, 8, 2_500) + trailer(8, 2_500)
    later = time.monotonic_ns() + 60 * 10**9  # after any horizon of the first drain
    cpu0 = b"".join([
        switch(perf.PERF_RECORD_MISC_SWITCH_OUT | perf.PERF_RECORD_MISC_SWITCH_OUT_PREEMPT,
               8, 1_000, 0),
        switch(0, 8, 2_000, 0),
        switch(perf.PERF_RECORD_MISC_SWITCH_OUT, 9, 3_000, 0),
        switch(perf.PERF_RECORD_MISC_SWITCH_OUT, 8, later, 0),
    ])
    cpu1 = b"".join([
        struct.pack("<IHH", perf.PERF_RECORD_COMM, 0, 8 + len(comm_body)) + comm_body,
        struct.pack("<IHH", perf.PERF_RECORD_FORK, 0, 8 + len(fork_body)) + fork_body,
        # with its sample_id trailer: the loss's time, where its DROP is to stand
        struct.pack("<IHHQQ", perf.PERF_RECORD_LOST, 0, 48, 99, 17) + trailer(8, 2_200),
    ])

    class Rings:
        def __init__(self) -> None:
            self.chunks = [perf.RecordChunk(cpu0, 0), perf.RecordChunk(cpu1, 1)]

        def drain(self) -> list[perf.RecordChunk]:
            chunks, self.chunks = self.chunks, []
            return chunks

    records: list[bytes] = []
    lost: list[tuple[formats.DropError, int, int | None, int | None]] = []
    source = PerfSource(PerfOptions(switches=True))
    source._rings = Rings()  # type: ignore[assignment]
    source._output = SourceOutput(records.append,
                                  lambda e, n, at=None, cpu=None: lost.append((e, n, at, cpu)),
                                  print)
    source._thread_names.start(8, b"before")
    source._thread_names.start(9, b"stale")  # the control loop's guess; the FORK says better
    source._drain()
    decoded = list(formats.codec().iter_records(b"".join(records)))
    assert [(r.pid, r.tid, r.comm) for r in decoded] == [
        (7, 8, b"before"), (7, 8, b"renamed"), (7, 9, b"renamed")]
    offset = source._clock.offset_ns
    assert [r.timestamp_ns for r in decoded] == [1_000 + offset, 2_000 + offset, 3_000 + offset]
    assert decoded[0].payload == formats.Csw(1, 1, int(CswFlag.PREEMPTED), 0)
    assert decoded[1].payload == formats.Csw(0, 1, 0, 0)
    # (no switch of CPU 1's ring before it: where the gap began is not known, its end is)
    assert lost == [(formats.DropError.ENOBUFS, 17, 2_200 + offset, 1)]
    records.clear()
    source._drain(final=True)  # the last drain takes what waited
    decoded = list(formats.codec().iter_records(b"".join(records)))
    assert [(r.tid, r.comm, r.timestamp_ns) for r in decoded] == [(8, b"renamed", later + offset)]
    assert lost == [(formats.DropError.ENOBUFS, 17, 2_200 + offset, 1)]


def test_the_trial_opening_records_none_of_the_recorders_own_switches(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """prepare opens the switch events once on the recorder's own thread to check
    they can be opened: they must not record it (its switches, nameless, would be
    in the trace as a thread nobody traced)."""
    import time

    from ktr import _perf as perf
    from ktr._perfsource import PerfOptions, PerfSource

    forget = perf.RingSet.forget

    def forget_after_switching(self: perf.RingSet, events: list[perf.Event]) -> None:
        time.sleep(0.002)  # switches out while the trial events are open
        forget(self, events)

    monkeypatch.setattr(perf.RingSet, "forget", forget_after_switching)
    source = PerfSource(PerfOptions(switches=True))
    source.prepare()
    try:
        assert source._rings is not None
        kinds = [kind for chunk in source._rings.drain() for kind, _, _ in chunk.records()]
        assert perf.PERF_RECORD_SWITCH not in kinds
    finally:
        source.close()


def test_a_fork_read_before_its_creators_earlier_rename_names_the_thread_after_it() -> None:
    """Ring 0: the fork (time 2000) and the new thread's switch; ring 1, read
    after: the creator's rename at 1000. The new thread is named after the rename."""
    import struct

    from ktr import _perf as perf
    from ktr._perfsource import PerfOptions, PerfSource
    from ktr._sources import SourceOutput

    def trailer(tid: int, stamp: int) -> bytes:
        return struct.pack("<iiQII", 7, tid, stamp, 0, 0)

    fork_body = struct.pack("<iiiiQ", 7, 7, 9, 8, 2_000) + trailer(8, 2_000)
    comm_body = struct.pack("<II", 7, 8) + b"renamed\0" + trailer(8, 1_000)
    cpu0 = (struct.pack("<IHH", perf.PERF_RECORD_FORK, 0, 8 + len(fork_body)) + fork_body
            + struct.pack("<IHHiiQII", perf.PERF_RECORD_SWITCH, 0, 32, 7, 9, 3_000, 0, 0))
    cpu1 = struct.pack("<IHH", perf.PERF_RECORD_COMM, 0, 8 + len(comm_body)) + comm_body

    class Rings:
        def drain(self) -> list[perf.RecordChunk]:
            return [perf.RecordChunk(cpu0, 0), perf.RecordChunk(cpu1, 1)]

    records: list[bytes] = []
    source = PerfSource(PerfOptions(switches=True))
    source._rings = Rings()  # type: ignore[assignment]
    source._output = SourceOutput(records.append, lambda e, n, at=None, cpu=None: None, print)
    source._thread_names.start(8, b"before")
    source._thread_names.start(9, b"before")
    source._drain()
    decoded = list(formats.codec().iter_records(b"".join(records)))
    assert [(r.tid, r.comm) for r in decoded] == [(9, b"renamed")]
