"""Function probes end to end: gcc-built programs, real uprobes, exact counts and values."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from probe_support import build_plugin, build_program, gcc, groups_of, release_and_finish

from ktr._probes import ProbeError, Resolver, parse_spec

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uprobes need root")


def record(tmp_path: Path, *args: str, env: dict[str, str] | None = None,
           cwd: Path | None = None) -> tuple[subprocess.CompletedProcess[str], Path]:
    out = tmp_path / "trace.ktr"
    proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), *args], capture_output=True,
                          text=True, timeout=60, env=env, cwd=cwd)
    return proc, out


def probes(trace: Path) -> list[dict[str, object]]:
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True).stdout
    return [r for r in map(json.loads, text.splitlines()) if r["type"] == "PROBE"]


def assert_no_uretprobe_syscall(trace: Path) -> None:
    """The kernel's return-probe trampoline syscall (x86_64 335) is never recorded."""
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True).stdout
    calls = [r for r in map(json.loads, text.splitlines()) if r["type"] in ("CALL", "RET")]
    assert calls and not [r for r in calls if r.get("nr") == 335 or r.get("syscall") in (
        "uretprobe", "syscall_335")]


def hits(records: list[dict[str, object]], probe: str) -> list[object]:
    return [r["retval"] if r["point"] == "return" else r["args"]
            for r in records if r["probe"] == probe]


@pytest.mark.parametrize("build", ["pie", "nopie", "fp", "cet"])
def test_entry_return_arguments_and_strings(tmp_path: Path, build: str) -> None:
    prog = build_program(tmp_path, build)
    proc, trace = record(
        tmp_path, "-P", "prog:add3(i64,i32,i64)", "-P", "prog:add3:return(i64)",
        "-P", f"{prog}:slen(str)", "-P", "prog:slen:return(i32)", "-P", "prog:tag(x32)",
        "-P", "prog:tag:return(x32)", "-P", "prog:name_of:return(str)", "-P", "prog:outer(i32)",
        "-P", "prog:pair(str,i32,str)", "--", str(prog), "basic")
    assert proc.returncode == 0, proc.stderr
    records = probes(trace)
    expected_add3 = [[i, -1, 100] for i in range(5)] + [[i, 2, 3] for i in range(3)]
    assert hits(records, "prog:add3:entry") == expected_add3
    assert hits(records, "prog:add3:return") == [i + 99 for i in range(5)] + [5, 6, 7]
    assert hits(records, "prog:slen:entry") == [["hello"], ["probe world"]]
    assert hits(records, "prog:slen:return") == [5, 11]
    assert hits(records, "prog:tag:entry") == [[1]]
    assert hits(records, "prog:tag:return") == [1 ^ 0xDEADBEEF]
    assert hits(records, "prog:name_of:return") == ["zero", "one"]
    assert hits(records, "prog:outer:entry") == [[3]]
    assert hits(records, "prog:pair:entry") == [["pq", -7, "xyz"]]


def test_string_cap_and_untyped_defaults(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-s", "3", "-P", "prog:slen(str)", "-P", "prog:tag",
                         "-P", "prog:tag:return", "--", str(prog), "basic")
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run([*KTRDUMP, str(trace)], capture_output=True, text=True).stdout
    assert 'prog:slen:entry("hel"...)' in text and 'prog:slen:entry("pro"...)' in text
    records = probes(trace)
    (tag_entry,) = hits(records, "prog:tag:entry")
    assert isinstance(tag_entry, list) and len(tag_entry) == 6 and tag_entry[0] == 1
    assert hits(records, "prog:tag:return") == [1 ^ 0xDEADBEEF]


def test_glob_ifunc_and_library(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-P", "prog:add*:return(i64)", "-P", "libc:strlen(str)",
                         "--", str(prog), "basic")
    assert proc.returncode == 0, proc.stderr
    records = probes(trace)
    assert hits(records, "prog:add3:return") == [i + 99 for i in range(5)] + [5, 6, 7]
    strings = [r["args"] for r in records if str(r["probe"]).startswith("libc.so.6:__strlen")]
    assert ["hello"] in strings and ["probe world"] in strings


def test_offset_probe_on_an_instruction_boundary(tmp_path: Path) -> None:
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    prog = build_program(tmp_path, "nopie")
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(prog)],
                             capture_output=True, text=True, check=True).stdout
    body = listing.split("<add3>:")[1].split("\n\n")[0]
    addresses = [int(m, 16) for m in re.findall(r"^\s+([0-9a-f]+):", body, re.M)]
    second = addresses[1] - addresses[0]
    proc, trace = record(tmp_path, "-P", f"prog:add3:+{second:#x}(i64,i32)", "--", str(prog))
    assert proc.returncode == 0, proc.stderr
    records = [r for r in probes(trace) if r["point"] == "offset"]
    assert [r["args"] for r in records] == [[i, -1] for i in range(5)] + [[i, 2] for i in range(3)]
    assert all(r["probe"] == f"prog:add3:+{second:#x}" for r in records)
    inside = next(o for o in range(1, 16) if addresses[0] + o not in addresses)
    proc, _ = record(tmp_path, "-P", f"prog:add3:+{inside}", "--", str(prog))
    assert proc.returncode == 1
    assert "inside an instruction" in proc.stderr and proc.stderr.count("\n") == 1


def _pids(records: list[dict[str, object]], probe: str) -> dict[object, list[object]]:
    out: dict[object, list[object]] = {}
    for r in records:
        if r["probe"] == probe:
            out.setdefault(r["pid"], []).append(r["args"])
    return out


def test_forked_child_followed_with_i(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-i", "-P", "prog:add3(i64)", "--", str(prog), "fork")
    assert proc.returncode == 0, proc.stderr
    by_pid = _pids(probes(trace), "prog:add3:entry")
    assert sorted(by_pid.values()) == [[[1], [4]], [[2], [3]]]


def test_threads_created_after_the_start(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-P", "prog:add3(i64,i32)", "--", str(prog), "threads")
    assert proc.returncode == 0, proc.stderr
    by_tid: dict[object, list[object]] = {}
    for r in probes(trace):
        by_tid.setdefault(r["tid"], []).append(r["args"])
    assert sorted(by_tid.values()) == [
        [[100, 0], [100, 1], [100, 2]], [[200, 0], [200, 1], [200, 2]], [[300, 0]]]
    assert len({r["pid"] for r in probes(trace)}) == 1


def test_child_not_followed_fires_nothing_into_the_trace(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-P", "prog:add3(i64)", "--", str(prog), "fork")
    assert proc.returncode == 0, proc.stderr
    by_pid = _pids(probes(trace), "prog:add3:entry")
    assert list(by_pid.values()) == [[[1], [4]]]
    assert "2 probe hits in processes not followed" in proc.stderr


def test_exec_re_resolves_the_new_executable(tmp_path: Path) -> None:
    first = build_program(tmp_path, "pie", "first")
    second = build_program(tmp_path, "nopie", "second")
    proc, trace = record(tmp_path, "-P", "add3(i64,i32)", "--", str(first), "exec", str(second))
    assert proc.returncode == 0, proc.stderr
    records = probes(trace)
    assert hits(records, "first:add3:entry") == [[7, 7]]
    assert hits(records, "second:add3:entry") == (
        [[i, -1] for i in range(5)] + [[i, 2] for i in range(3)])


@pytest.mark.parametrize("facilities", [[], ["-t", "f"]])
def test_hits_carry_the_name_the_thread_had_when_it_made_them(
        tmp_path: Path, facilities: list[str]) -> None:
    """-t f alone makes no syscall stops: the hits are read late, after the exec and
    after the exit, and still carry the name of the program that made them."""
    first = build_program(tmp_path, "pie", "first")
    second = build_program(tmp_path, "nopie", "second")
    proc, trace = record(tmp_path, *facilities, "-i", "-P", "add3(i64)", "--",
                         str(first), "exec", str(second))
    assert proc.returncode == 0, proc.stderr
    records = probes(trace)
    assert {(r["probe"], r["comm"]) for r in records} == {
        ("first:add3:entry", "first"), ("second:add3:entry", "second")}
    proc, trace = record(tmp_path, *facilities, "-i", "-P", "prog:add3(i64)", "--",
                         str(build_program(tmp_path)), "fork")
    assert proc.returncode == 0, proc.stderr
    assert sorted((r["args"], r["comm"]) for r in probes(trace)) == [
        ([i], "prog") for i in range(1, 5)]


def test_a_rename_seen_at_its_syscall_stop_names_the_later_hits(tmp_path: Path) -> None:
    proc, trace = record(tmp_path, "-P", "prog:add3(i64)", "--",
                         str(build_program(tmp_path)), "rename")
    assert proc.returncode == 0, proc.stderr
    assert [(r["args"], r["comm"]) for r in probes(trace)] == [([1], "prog"), ([2], "renamed")]


@pytest.mark.parametrize("facilities", [["-t", "f"], ["-t", "w"]])
def test_a_rename_without_syscall_stops_names_the_later_hits(
        tmp_path: Path, facilities: list[str]) -> None:
    """No syscall stops: the kernel's COMM records (prctl, a write to /proc/self/comm) and
    FORK records name each hit by its time."""
    proc, trace = record(tmp_path, *facilities, "-P", "prog:add3(i64)", "--",
                         str(build_program(tmp_path)), "renames")
    assert proc.returncode == 0, proc.stderr
    assert sorted((r["args"], r["comm"]) for r in probes(trace)) == sorted(
        [([10 + i], "prog") for i in range(3)] + [([20 + i], "renamed") for i in range(2)]
        + [([100], "renamed")] * 3 + [([30], "again")])


def test_null_and_unreadable_strings_show_their_pointer(tmp_path: Path) -> None:
    """strace's way: a string argument that cannot be read is its pointer, NULL for 0."""
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-P", "prog:slen(str)", "-P", "prog:add3(str)",
                         "--", str(prog), "basic")
    assert proc.returncode == 0, proc.stderr
    text = subprocess.run([*KTRDUMP, str(trace)], capture_output=True, text=True,
                          check=True).stdout
    shown = re.findall(r"prog:(\w+):entry\((.*?)\) pc", text)
    assert shown[:5] == [("add3", "NULL"), ("add3", "0x1"), ("add3", "0x2"), ("add3", "0x3"),
                         ("add3", "0x4")]
    assert ("slen", '"hello"') in shown
    assert [r["args"] for r in probes(trace) if r["probe"] == "prog:add3:entry"][:2] == [
        [None], [None]]


def test_library_loaded_with_dlopen_after_the_start(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    # the file found at start (library path) is not the one the program maps later: its
    # probes are placed at the mmap that maps it
    found = build_plugin(tmp_path / "found", bias=1000)
    loaded = build_plugin(tmp_path / "loaded", bias=0)
    env = dict(os.environ, LD_LIBRARY_PATH=str(found.parent))
    proc, trace = record(tmp_path, "-P", "libplug:plug_twice(i64)",
                         "-P", "libplug:plug_twice:return(i64)", "--", str(prog), "dlopen",
                         str(loaded), env=env)
    assert proc.returncode == 0, proc.stderr
    records = probes(trace)
    assert hits(records, "libplug.so:plug_twice:entry") == [[i] for i in range(4)]
    assert hits(records, "libplug.so:plug_twice:return") == [2 * i for i in range(4)]


def _fd_targets(pid: int) -> list[str]:
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except FileNotFoundError:
            continue  # closed between the listing and the readlink
    return targets


def _placed_fds(probe_count: int) -> int:
    """The perf events a recorder holds once it placed its probes on one thread: per CPU,
    the hit ring's and the name ring's owners, the thread's names event and its probes."""
    return (3 + probe_count) * len(os.sched_getaffinity(0))


def _wait_placed(recorder: subprocess.Popen[str], probe_count: int) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        fds = _fd_targets(recorder.pid)
        if len(groups_of(recorder.pid)) == probe_count and sum(
                "perf_event" in fd for fd in fds) >= _placed_fds(probe_count):
            return
        time.sleep(0.02)
    pytest.fail("the recorder did not place its probes")


def _end_recorder(recorder: subprocess.Popen[str]) -> None:
    """A recorder still running after a failure ends as on SIGTERM: its tracefs group
    removed (SIGKILL would leave it to the next recorder's clean-up)."""
    if recorder.poll() is None:
        recorder.terminate()
        try:
            recorder.wait(20)
        except subprocess.TimeoutExpired:
            recorder.kill()
            recorder.wait()


def test_attach_to_a_running_process(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    target = subprocess.Popen([str(prog), "wait"], stdin=subprocess.PIPE)
    out = tmp_path / "attach.ktr"
    recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(out), "-P", "prog:add3(i64)",
                                 "-P", "prog:slen:return", "-p", str(target.pid)],
                                stderr=subprocess.PIPE, text=True)
    try:
        _wait_placed(recorder, 2)
        assert target.stdin is not None
        target.stdin.write(b"x")
        target.stdin.close()
        assert target.wait(20) == 0
        assert recorder.wait(20) == 0
    finally:
        target.kill()
        recorder.kill()
    records = probes(out)
    assert hits(records, "prog:add3:entry") == [[i] for i in range(5)] + [[i] for i in range(3)]
    assert hits(records, "prog:slen:return") == [5, 11]
    assert groups_of(recorder.pid) == []
    assert_no_uretprobe_syscall(out)  # attached: no seccomp filter, the stops are filtered


def test_an_attached_thread_renamed_without_syscall_stops(tmp_path: Path) -> None:
    """-t f on an attached process: its name at the attach, then the kernel's COMM."""
    prog = build_program(tmp_path)
    target = subprocess.Popen([str(prog), "wait_rename"], stdin=subprocess.PIPE)
    out = tmp_path / "attach.ktr"
    recorder = subprocess.Popen([*KTR, "record", "-q", "-t", "f", "-o", str(out),
                                 "-P", "prog:add3(i64)", "-p", str(target.pid)],
                                stderr=subprocess.PIPE, text=True)
    try:
        _wait_placed(recorder, 1)
        assert target.stdin is not None
        target.stdin.write(b"x")
        target.stdin.close()
        assert target.wait(20) == 0
        assert recorder.wait(20) == 0
    finally:
        target.kill()
        _end_recorder(recorder)
    assert [(r["args"], r["comm"]) for r in probes(out)] == [([1], "prog"), ([2], "renamed")]


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP])
def test_interrupted_recording_leaves_nothing(tmp_path: Path, signo: int) -> None:
    prog = build_program(tmp_path)
    out = tmp_path / "int.ktr"
    # As from a terminal: SIGINT not ignored. A shell's background job (a test run
    # started with &) ignores it, and the program would inherit that through ktr, as
    # it would without ktr; a Python handler here becomes the default at the exec.
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(out), "-P", "prog:tag",
                                     "--", str(prog), "spin", "100000000000"],
                                    stderr=subprocess.PIPE, text=True, start_new_session=True,
                                    env={**os.environ, "PYTHONFAULTHANDLER": "1"})
    finally:
        signal.signal(signal.SIGINT, saved)
    try:
        deadline = time.monotonic() + 20
        while not groups_of(recorder.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert groups_of(recorder.pid)
        if signo == signal.SIGINT:
            os.killpg(recorder.pid, signo)  # a terminal's ^C reaches the whole group
        else:
            recorder.send_signal(signo)
        try:
            recorder.wait(20)
        except subprocess.TimeoutExpired:
            # Say where everything was stuck: the processes' states, then the
            # recorder's Python stacks (faulthandler, on SIGABRT).
            states = subprocess.run(["ps", "-o", "pid,stat,wchan:32,args", "-g",
                                     str(recorder.pid)], capture_output=True, text=True).stdout
            for line in states.splitlines()[1:]:
                with contextlib.suppress(OSError):
                    status = Path(f"/proc/{line.split()[0]}/status").read_text()
                    states += "".join(f"  {field}" for field in status.splitlines(True)
                                      if field.startswith(("Sig", "ShdPnd", "TracerPid")))
            recorder.send_signal(signal.SIGABRT)
            _, stacks = recorder.communicate(timeout=10)
            raise AssertionError(f"the recorder outlived {signo!r}:\n{states}\n{stacks}") from None
    finally:
        recorder.kill()
        recorder.wait()
    assert groups_of(recorder.pid) == []


def test_sigkilled_recorder_groups_are_cleaned_by_the_next_run(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(tmp_path / "k.ktr"),
                                 "-P", "prog:tag", "--", str(prog), "spin", "100000000000"],
                                stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 20
    while not groups_of(recorder.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert groups_of(recorder.pid)
    os.killpg(recorder.pid, signal.SIGKILL)
    recorder.wait()
    assert groups_of(recorder.pid)  # left behind: SIGKILL cannot be caught
    proc, _ = record(tmp_path, "-P", "prog:tag", "--", str(prog), "basic")
    assert proc.returncode == 0
    assert "removed probes left in tracefs by a dead recorder" in proc.stderr
    assert groups_of(recorder.pid) == []


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("prog:nosuchfn", "no function named 'nosuchfn'"),
        ("prog:zz*", "no function matches 'zz*'"),
        ("prog:add3(i65)", "unknown type 'i65'"),
        ("prog:add3(" + "float," * 9 + "i32)", "at most 6 integer or pointer and 8 float"),
        ("stripped:add3", "stripped?"),
        ("prog:add3:+0x100000", "past the end of add3"),
        ("nosuchlib:foo", "no file 'nosuchlib' anywhere"),
    ],
)
def test_bad_probe_is_one_line_exit_1_and_nothing_in_tracefs(
        tmp_path: Path, spec: str, message: str) -> None:
    prog = build_program(tmp_path)
    stripped = tmp_path / "stripped"
    shutil.copy(prog, stripped)
    subprocess.run(["strip", str(stripped)], check=True)
    command = [str(stripped)] if spec.startswith("stripped") else [str(prog)]
    trace = tmp_path / "trace.ktr"
    recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(trace), "-P", spec, "--",
                                 *command], cwd=tmp_path, stderr=subprocess.PIPE, text=True)
    _, stderr = recorder.communicate(timeout=60)
    assert recorder.returncode == 1
    assert message in stderr and stderr.count("\n") == 1, stderr
    assert "Traceback" not in stderr
    assert not trace.exists()
    # other recorders (other test runs) may be at work on this machine: look at ours
    assert groups_of(recorder.pid) == []


def test_max_probes(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, _ = record(tmp_path, "--max-probes", "3", "-P", "libc:str*", "--", str(prog))
    assert proc.returncode == 1 and "more than 3 probes" in proc.stderr
    assert proc.stderr.count("\n") == 1


def test_no_root_is_one_line(tmp_path: Path) -> None:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv is not installed")
    prog = build_program(tmp_path)
    os.chmod(tmp_path, 0o755)
    proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                           *KTR, "record", "-o", "/dev/null", "-P", "prog:add3", "--",
                           str(prog)], capture_output=True, text=True, timeout=60,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
    if "Permission denied" in proc.stderr and "ktr" not in proc.stderr.split(":")[0]:
        pytest.skip(f"the venv is not readable by nobody: {proc.stderr.strip()[:100]}")
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.startswith("ktr: ") and proc.stderr.count("\n") == 1, proc.stderr


def test_list_probes(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc = subprocess.run([*KTR, "record", "--list-probes", str(prog), "add*"],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("prog:add3\t")
    proc = subprocess.run([*KTR, "record", "--list-probes", "libc", "mallo?"],
                          capture_output=True, text=True, check=True)
    assert [line.split("\t")[0] for line in proc.stdout.splitlines()] == ["libc.so.6:malloc"]


def test_spec_parsing() -> None:
    spec = parse_spec("libc:open(str,x32)")
    assert (spec.module, spec.function, spec.site, len(spec.arg_types)) == ("libc", "open", 0, 2)
    spec = parse_spec("libc:malloc:return(ptr)")
    assert (spec.module, spec.function, int(spec.site)) == ("libc", "malloc", 1)
    spec = parse_spec("./prog:loop:+0x1c")
    assert (spec.module, spec.function, int(spec.site), spec.offset) == ("./prog", "loop", 2, 28)
    spec = parse_spec("parse*")
    assert spec.module is None and spec.is_glob and len(spec.arg_types) == 6
    for bad in ("libc:malloc:return(ptr,ptr)", "f(a", "f(u64,u64,u64,u64,u64,u64,u64)",
                "libc:f:+zz", ":f"):
        with pytest.raises(ProbeError):
            parse_spec(bad)
    spec = parse_spec("./prog_s:0x1149(i64)")
    assert (spec.module, spec.address, spec.site, spec.is_glob) == ("./prog_s", 0x1149, 0, False)
    assert parse_spec("4425:return").address == 4425  # the main executable's address
    # a module no file is named for: refused at the start, waited for later (an exec)
    with pytest.raises(ProbeError, match="no file 'x' anywhere"):
        Resolver([parse_spec("x:y")]).resolve("/bin/true", [], strict=True)
    resolver = Resolver([parse_spec("x:y")])
    assert resolver.resolve("/bin/true", [], strict=False) == []  # waits for a module 'x'
    assert list(resolver.pending) == ["x:y"]


def test_views_calls_summary_and_chrome_nesting(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    proc, trace = record(tmp_path, "-P", "prog:outer(i32)", "-P", "prog:outer:return(i32)",
                         "-P", "prog:add3(i64,i32,i64)", "-P", "prog:add3:return(i64)",
                         "-P", "libc:write(i32,ptr,u64)", "-P", "libc:write:return(i64)",
                         "--", str(prog), "spin", "2")
    assert proc.returncode == 0, proc.stderr
    calls = subprocess.run([*KTRDUMP, "--format", "calls", str(trace)], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    body = [line.split("| ", 1)[1] for line in calls[1:]]
    assert body[:2] == ["prog:add3(0, 1, 0) = 1;", "prog:add3(1, 1, 0) = 2;"]
    assert any(re.fullmatch(r"libc\.so\.6:write\(1, 0x[0-9a-f]+, \d+\) = \d+;", b) for b in body)
    assert all(re.match(r"\s*\d+\.\d{3} (us|ms|  s) \[", line) for line in calls[1:])
    summary = subprocess.run([*KTRDUMP, "--summary", str(trace)], capture_output=True,
                             text=True, check=True).stdout
    rows = {line.split()[-1]: line.split() for line in summary.splitlines()
            if line.strip().endswith(("prog:add3", "libc.so.6:write"))}
    assert rows["prog:add3"][-2] == "2" and rows["libc.so.6:write"][-2] == "1"
    assert_no_uretprobe_syscall(trace)
    document = json.loads(subprocess.run([*KTRDUMP, "--format", "chrome", str(trace)],
                                         capture_output=True, text=True, check=True).stdout)
    chrome = document["traceEvents"] if isinstance(document, dict) else document
    begin = next(e for e in chrome if e.get("ph") == "B" and e["name"] == "libc.so.6:write")
    end = next(e for e in chrome[chrome.index(begin):] if e.get("ph") == "E")
    syscall = next(e for e in chrome if e.get("ph") == "X" and e["name"] == "write")
    assert float(begin["ts"]) <= float(syscall["ts"])
    assert float(syscall["ts"]) + float(syscall["dur"]) <= float(end["ts"])


def test_calls_view_keeps_only_the_chosen_processes() -> None:
    vector = str(Path(__file__).resolve().parent / "vectors" / "probes.ktr")
    every = subprocess.run([*KTRDUMP, "--format", "calls", vector], capture_output=True,
                           text=True, check=True).stdout.splitlines()
    pid = int(every[1].split("[")[1].split("]")[0])  # the vector's one probed thread
    assert len(every) > 5
    assert subprocess.run([*KTRDUMP, "--format", "calls", "-p", str(pid), vector],
                          capture_output=True, text=True, check=True).stdout.splitlines() == every
    assert subprocess.run([*KTRDUMP, "--format", "calls", "-p", "999999", vector],
                          capture_output=True, text=True, check=True).stdout.splitlines() == [
        every[0]]  # the header alone


LONG_STRINGS = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
__attribute__((noipa)) long takes(const char *s, long n) { return (long)s + n; }
__attribute__((noipa)) long two(const char *a, const char *b) { return (long)a ^ (long)b; }
static char *text(long n) { char *s = malloc(n + 1); memset(s, 'a', n); s[n] = 0; return s; }
int main(void) {
  long lengths[] = {100, 4095, 4096, 5000};
  for (int i = 0; i < 4; i++) {
    char *s = text(lengths[i]);
    printf("%ld\n", (long)s);
    takes(s, lengths[i]);
  }
  takes(NULL, 0);
  takes((const char *)16, 16);
  two(text(4050), "xyz");
  return 0;
}
"""


def test_long_null_and_unreadable_strings_keep_their_head_address_and_cut(
        tmp_path: Path) -> None:
    """The kernel's ustring fetch gives nothing from 4096 bytes on: the string's first bytes
    stand in, marked truncated (text ``...``, JSON ``args_truncated``); NULL and unreadable
    pointers keep their address in JSON."""
    source = tmp_path / "long.c"
    source.write_text(LONG_STRINGS)
    prog = tmp_path / "long"
    subprocess.run(["gcc", "-O1", "-o", str(prog), str(source)], check=True)
    out = tmp_path / "trace.ktr"
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out),
                           "-P", "long:takes(str,i64)", "-P", "long:two(str,str)", "--",
                           str(prog)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    pointers = [int(line) for line in proc.stdout.split()]
    records = probes(out)
    takes = [r for r in records if r["probe"] == "long:takes:entry"]
    assert [r["args"][1] for r in takes] == [100, 4095, 4096, 5000, 0, 16]
    assert [r["args_address"] for r in takes] == [[p, None] for p in pointers] + [
        [0, None], [16, None]]
    shown = [r["args"][0] for r in takes]
    assert shown[0] == "a" * 100 and shown[4:] == [None, None]
    for text in shown[1:4]:  # cut, never lost: at least the 64-byte head
        assert isinstance(text, str) and 64 <= len(text) < 4095 and set(text) == {"a"}
    assert [r["args_truncated"] for r in takes] == [[False, False]] + [[True, False]] * 3 + [
        [False, False]] * 2
    (two,) = [r for r in records if r["probe"] == "long:two:entry"]
    first, second = two["args"]  # the first took the event's room; the second is still there
    assert isinstance(first, str) and set(first) == {"a"} and second == "xyz"
    assert two["args_truncated"] == [True, False]
    text = subprocess.run([*KTRDUMP, str(out)], capture_output=True, text=True,
                          check=True).stdout
    entries = re.findall(r"long:takes:entry\((.*?), (\d+)\) pc", text)
    assert [shown for shown, _ in entries[4:]] == ["NULL", "0x10"]
    assert all(re.fullmatch(r'"a+"\.\.\.', shown) for shown, _ in entries[1:4])
    assert entries[0][0] == '"' + "a" * 100 + '"'
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-s", "10", "-o", str(out),
                           "-P", "long:takes(str,i64)", "--", str(prog)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert [r["args"][0] for r in probes(out)][:4] == ["a" * 10] * 4


OPEN_LOOP = r"""
#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>
static void *loop(void *arg) {
  (void)arg;
  for (;;) { int fd = open("/dev/null", O_RDONLY); if (fd >= 0) close(fd); }
  return 0;
}
int main(void) { pthread_t t; pthread_create(&t, 0, loop, 0); loop(0); return 0; }
"""


def test_probe_window_ends_at_the_detach(tmp_path: Path) -> None:
    """Attached, then interrupted: no probe hit of a thread after its detach. Per thread,
    libc open() entries match openat syscalls (one call may straddle each end), and no
    return comes without its entry except a call the attach cut."""
    source = tmp_path / "openloop.c"
    source.write_text(OPEN_LOOP)
    prog = tmp_path / "openloop"
    subprocess.run(["gcc", "-O1", "-pthread", "-o", str(prog), str(source)], check=True)
    target = subprocess.Popen([str(prog)])
    out = tmp_path / "detach.ktr"
    recorder = subprocess.Popen([*KTR, "record", "-q", "-t", "cf", "-o", str(out),
                                 "-P", "libc:open(str)", "-P", "libc:open:return(i32)",
                                 "-p", str(target.pid)], stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 20
        # recording: probes placed and records written (the file grows past its batches)
        while time.monotonic() < deadline:
            if len(groups_of(recorder.pid)) == 2 and out.exists() and (
                    out.stat().st_size > 256 * 1024):
                break
            time.sleep(0.02)
        else:
            pytest.fail("the recorder did not record")
        recorder.send_signal(signal.SIGINT)
        assert recorder.wait(20) == 0, recorder.stderr.read() if recorder.stderr else ""
    finally:
        recorder.kill()
        target.kill()
        target.wait()
    assert groups_of(recorder.pid) == []
    text = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True, text=True,
                          check=True).stdout
    entries: dict[int, int] = {}
    calls: dict[int, int] = {}
    open_calls: dict[int, int] = {}
    orphans: list[tuple[int, int]] = []
    seen: dict[int, int] = {}
    for record in map(json.loads, text.splitlines()):
        tid = record["tid"]
        if record["type"] == "CALL" and record["syscall"] == "openat":
            calls[tid] = calls.get(tid, 0) + 1
        elif record["type"] == "PROBE":
            seen[tid] = seen.get(tid, 0) + 1
            if record["point"] == "entry":
                entries[tid] = entries.get(tid, 0) + 1
                open_calls[tid] = open_calls.get(tid, 0) + 1
            elif open_calls.get(tid):
                open_calls[tid] -= 1
            else:
                orphans.append((tid, seen[tid]))
    assert len(calls) == 2 and min(calls.values()) > 10
    assert set(entries) == set(calls)
    for tid, count in calls.items():
        assert abs(entries[tid] - count) <= 1, (tid, entries[tid], count)
    # a return without its entry: only the call in progress at the attach
    assert all(position == 1 for _, position in orphans), orphans


RUNPATH_LIBRARY = r"""
__attribute__((noipa)) int lib_add(int a, int b) { return a + b; }
"""
RUNPATH_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int lib_add(int, int);
__attribute__((noipa)) int parse_item(int i) { return lib_add(i, 100); }
int main(int argc, char **argv) {
  if (argc > 1 && argv[1][0] == 'w') {  /* wait: read a byte first (for attaching) */
    char c;
    if (read(0, &c, 1) != 1) return 3;
  }
  int n = atoi(argv[argc - 1]), s = 0;
  for (int i = 0; i < n; i++) s += parse_item(i);
  printf("%d\n", s);
  return 0;
}
"""


def _runpath_program(directory: Path) -> Path:
    """``pr``, linked to ``libpl.so`` in its own directory through RUNPATH ``$ORIGIN``."""
    (directory / "pl.c").write_text(RUNPATH_LIBRARY)
    (directory / "pr.c").write_text(RUNPATH_PROGRAM)
    subprocess.run(["gcc", "-O1", "-shared", "-fPIC", "-o", str(directory / "libpl.so"),
                    str(directory / "pl.c")], check=True)
    subprocess.run(["gcc", "-O1", "-o", str(directory / "pr"), str(directory / "pr.c"),
                    f"-L{directory}", "-lpl", "-Wl,-rpath,$ORIGIN", "-Wl,--enable-new-dtags"],
                   check=True)
    return directory / "pr"


def test_modules_found_as_ld_so_finds_them_or_when_mapped_later(tmp_path: Path) -> None:
    """A library found through the program's RUNPATH ($ORIGIN), by name, from any working
    directory; a module only a later exec maps is placed then; one never mapped is one
    line at the end, not an error."""
    prog = _runpath_program(tmp_path)
    proc, trace = record(tmp_path, "-t", "f", "-P", "libpl:lib_add(i32,i32)", "--",
                         str(prog), "3", cwd=Path("/"))
    assert proc.returncode == 0, proc.stderr
    assert hits(probes(trace), "libpl.so:lib_add:entry") == [[0, 100], [1, 100], [2, 100]]
    proc, trace = record(tmp_path, "-t", "f", "-P", "pr:parse_item(i32)",
                         "-P", "libm:cos", "--", "sh", "-c", f"exec {prog} 2")
    assert proc.returncode == 0, proc.stderr
    assert hits(probes(trace), "pr:parse_item:entry") == [[0], [1]]
    assert proc.stderr.endswith("/libm.so.6 was never mapped by a traced process; nothing "
                                "was probed\n")
    assert proc.stderr.startswith("ktr: probe 'libm:cos': ") and proc.stderr.count("\n") == 1


def test_probes_never_placed_are_counted_in_the_end_record(tmp_path: Path) -> None:
    """Nothing lost silently: the probes that were never placed are in the END record,
    shown by every view of it; a recording whose probes were all placed says 0."""
    prog = build_program(tmp_path)
    # (libraries that exist, which the program never loads)
    proc, trace = record(tmp_path, "-P", "prog:add3(i64)", "-P", "libm:cos",
                         "-P", "libm:sin*", "--", str(prog), "rename")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("was never mapped") == 2
    assert [r["args"] for r in probes(trace)] == [[1], [2]]

    def dump(*args: str) -> str:
        return subprocess.run([*KTRDUMP, *args, str(trace)], capture_output=True, text=True,
                              check=True).stdout

    (end,) = [r for r in map(json.loads, dump("--json").splitlines()) if r["type"] == "END"]
    assert (end["unplaced"], end["unplaced_probes"]) == (2, ["libm:cos", "libm:sin*"])
    assert dump().splitlines()[-1].endswith(
        "1 process, 1 thread, 2 probes never placed (libm:cos, libm:sin*)")
    assert "probes never placed: 2 (libm:cos, libm:sin*)\n" in dump("--summary")
    chrome = json.loads(dump("--format", "chrome"))
    assert chrome["otherData"]["unplaced"] == 2
    assert chrome["otherData"]["unplaced_probes"] == ["libm:cos", "libm:sin*"]
    (instant,) = [e for e in chrome["traceEvents"] if e.get("name") == "recording ended"]
    assert instant["args"]["unplaced"] == 2

    proc, trace = record(tmp_path, "-P", "prog:add3(i64)", "--", str(prog), "rename")
    assert proc.returncode == 0 and proc.stderr == ""
    (end,) = [r for r in map(json.loads, dump("--json").splitlines()) if r["type"] == "END"]
    assert (end["unplaced"], end["unplaced_probes"]) == (0, [])
    assert "never placed" not in dump() + dump("--summary")


def test_script_command_probes_its_interpreter(tmp_path: Path) -> None:
    """A #! script runs its interpreter: main-executable probes are the interpreter's,
    also through env (placed at the exec env makes)."""
    prog = _runpath_program(tmp_path)
    direct = tmp_path / "direct"
    direct.write_text(f"#!{prog}\n")
    through_env = tmp_path / "through-env"
    through_env.write_text(f"#!/usr/bin/env {prog}\n")
    for script in (direct, through_env):
        script.chmod(0o755)
        proc, trace = record(tmp_path, "-t", "f", "-P", "parse_item(i32)", "--",
                             str(script), "2")
        assert proc.returncode == 0, proc.stderr
        assert hits(probes(trace), "pr:parse_item:entry") == [[0], [1]], script


#: What is put at the program's path: ``parse_item`` again, at another file offset (a
#: probe placed through the path would land in this file's code, which nothing runs).
DECOY_PROGRAM = r"""
__attribute__((noipa)) int pad(int x) { __asm__ volatile(".fill 4096,1,0x90"); return x; }
__attribute__((noipa)) int parse_item(int i) { return pad(i) + 7; }
int main(int argc, char **argv) { return parse_item(argc); }
"""


@pytest.mark.parametrize("change", ["delete", "bind"])
def test_attach_to_a_process_whose_executable_was_deleted_or_replaced(
        tmp_path: Path, change: str) -> None:
    """The probes land on the inode the process maps: its executable deleted, or another
    program bind-mounted over its path in the recorder's mount namespace (maps still
    names the path, not "(deleted)"; the path opens the decoy)."""
    prog = _runpath_program(tmp_path)
    target = subprocess.Popen([str(prog), "wait", "2"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE)
    out = tmp_path / f"{change}.ktr"
    command = [*KTR, "record", "-q", "-t", "f", "-o", str(out),
               "-P", "parse_item(i32)", "-P", "pr:parse_item:return(i32)",
               "-p", str(target.pid)]
    if change == "delete":
        prog.unlink()
    else:
        (tmp_path / "decoy.c").write_text(DECOY_PROGRAM)
        decoy = tmp_path / "decoy"
        subprocess.run(["gcc", "-O1", "-o", str(decoy), str(tmp_path / "decoy.c")],
                       check=True)
        # The bind mount exists only in the recorder's own mount namespace.
        command = ["unshare", "-m", "--propagation", "private", "sh", "-c",
                   'mount --bind "$0" "$1" && shift && exec "$@"', str(decoy), str(prog), *command]
    recorder = subprocess.Popen(command, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while len(groups_of(recorder.pid)) < 2 and time.monotonic() < deadline:
            if recorder.poll() is not None:
                break
            time.sleep(0.02)
        assert len(groups_of(recorder.pid)) == 2, recorder.communicate(timeout=20)[1]
        while sum("perf_event" in fd for fd in _fd_targets(recorder.pid)) < _placed_fds(
                2) and time.monotonic() < deadline:
            time.sleep(0.02)
        release_and_finish(target, recorder)
    finally:
        target.kill()
        recorder.kill()
    records = probes(out)
    assert hits(records, "pr:parse_item:entry") == [[0], [1]]
    assert hits(records, "pr:parse_item:return") == [100, 101]
    assert groups_of(recorder.pid) == []


def test_library_dlopened_by_name_not_found_at_start(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    plugin = build_plugin(tmp_path / "plugins")
    # -t f: no syscall is recorded; the mmap stop that places the probe is made anyway
    proc, trace = record(tmp_path, "-t", "f", "-P", "libplug:plug_twice(i64)", "--", str(prog),
                         "dlopen", str(plugin))
    assert proc.returncode == 0, proc.stderr
    assert hits(probes(trace), "libplug.so:plug_twice:entry") == [[i] for i in range(4)]
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True).stdout
    assert not [r for r in map(json.loads, text.splitlines()) if r["type"] in ("CALL", "RET")]


def test_list_probes_escapes_a_symbols_control_characters(tmp_path: Path) -> None:
    # a library names its own symbols: an ESC in one drove the terminal of --list-probes
    source = tmp_path / "esc.c"
    source.write_text('int f(int n) __asm__("\\"f\\033[31mX\\"");\n'
                      "int f(int n) { return n + 1; }\nint main(void) { return f(-1); }\n")
    program = tmp_path / "esc"
    subprocess.run([gcc(), "-O0", "-o", str(program), str(source)], check=True)
    proc = subprocess.run([*KTR, "record", "--list-probes", str(program), "f?*X"],
                          capture_output=True, text=True, check=True)
    assert "\x1b" not in proc.stdout
    assert proc.stdout.startswith("esc:f\\x1b[31mX\t0x")
