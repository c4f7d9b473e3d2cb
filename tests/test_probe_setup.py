"""Probe set-up as a user meets it: how long placing takes is not a window where Ctrl-C
loses the file; modules named wrongly or never mapped are said; addresses in stripped files.

Real processes (gcc-built in the test), real tracefs and uprobes; perf probe as the oracle
where it has an opinion.
"""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from control_support import wait_until
from probe_support import build_program, groups_of, release_and_finish

from ktr._probe_source import PREPARE_WAIT_TEST_ENV

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uprobes need root")


def records_of(trace: Path) -> list[dict[str, object]]:
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True).stdout
    return [json.loads(line) for line in text.splitlines()]


def tracer_of(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line for line in status.splitlines()
                    if line.startswith("TracerPid:")).split()[1])


@pytest.mark.parametrize("signo", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP],
                         ids=["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("attach", [True, False], ids=["attach", "command"])
def test_a_signal_during_probe_setup_leaves_a_file_saying_so(tmp_path: Path, attach: bool,
                                                             signo: signal.Signals) -> None:
    """Ctrl-C, SIGTERM (kill) and SIGHUP (a closed terminal) while probes are set up:
    a trace with BEGIN and an END saying so, the shell's status for the signal (128+N),
    no target touched, no tracefs group left (SIGTERM and SIGHUP killed ktr there, with
    no file and its group left for the next recording to remove)."""
    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "early.ktr"
    target = subprocess.Popen([str(prog), "wait"], stdin=subprocess.PIPE)
    how = ["-p", str(target.pid)] if attach else ["--", str(prog), "basic"]
    # as from a terminal: SIGINT not ignored in the recorder
    saved = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        recorder = subprocess.Popen(
            [*KTR, "record", "-q", "-o", str(out), "-P", "libc:free:return", "-t", "f", *how],
            stderr=subprocess.PIPE, text=True,
            env={**os.environ, PREPARE_WAIT_TEST_ENV: str(hold)})
    finally:
        signal.signal(signal.SIGINT, saved)
    try:
        # opening returns once the recorder opened it too: its set-up is under way
        with open(hold, "wb"):
            recorder.send_signal(signo)
            _, stderr = recorder.communicate(timeout=20)
        assert recorder.returncode == 128 + signo, stderr
        assert stderr.count("\n") == 1 and "before recording began" in stderr, stderr
        assert tracer_of(target.pid) == 0  # never touched
    finally:
        target.kill()
        target.wait()
        recorder.kill()
        recorder.wait()
    kinds = [r["type"] for r in records_of(out)]
    assert kinds == ["BEGIN", "END"]
    end = records_of(out)[-1]
    assert end["reason"] == f"interrupted by {signo.name} before recording began"
    assert end["stopped_early"] is True and end["processes"] == 0
    assert groups_of(recorder.pid) == []


def test_a_glob_past_the_cap_is_refused_before_any_probe_is_worked_out(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ktr._probes import ProbeError, Resolver, parse_spec

    worked: list[str] = []
    original = Resolver._probe_at

    def counting(self: Resolver, *args: object, **kwargs: object) -> object:
        worked.append("x")
        return original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Resolver, "_probe_at", counting)
    exe = "/bin/true"
    with pytest.raises(ProbeError, match=r"more than 1000 probes \('libc:\*' matches \d+ "):
        Resolver((parse_spec("libc:*"),), max_probes=1000).resolve(exe, (), strict=True)
    assert worked == []
    # the early count never refuses what the full one accepts: a glob with IFUNCs
    # (each one probe per implementation) at exactly its own count, and one less
    spec = parse_spec("libc:str*")
    placed = len(Resolver((spec,), max_probes=100000).resolve(exe, (), strict=True))
    assert placed > 10
    assert len(Resolver((spec,), max_probes=placed).resolve(exe, (), strict=True)) == placed
    with pytest.raises(ProbeError, match="more than"):
        Resolver((spec,), max_probes=placed - 1).resolve(exe, (), strict=True)


def test_attach_with_a_probe_on_a_file_the_process_does_not_map(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    other = tmp_path / "prog_other"
    other.write_bytes(prog.read_bytes())
    other.chmod(0o755)
    for runs, expect_warning in ((other, True), (prog, False)):
        target = subprocess.Popen([str(runs), "wait"], stdin=subprocess.PIPE)
        out = tmp_path / "wrong.ktr"
        try:
            recorder = subprocess.Popen(
                [*KTR, "record", "-q", "-o", str(out), "-p", str(target.pid), "-t", "f",
                 "-P", f"{prog}:add3(i64)"], stderr=subprocess.PIPE, text=True)
            # the probe is defined and opened while the attached target is stopped
            deadline = time.monotonic() + 20
            while not groups_of(recorder.pid) and recorder.poll() is None:
                assert time.monotonic() < deadline, "the recorder placed nothing"
                time.sleep(0.02)
            stderr = release_and_finish(target, recorder)
        finally:
            target.kill()
            target.wait()
        records = records_of(out)
        end = records[-1]
        fired = [r for r in records if r["type"] == "PROBE"]
        if expect_warning:
            assert stderr == (f"ktr: probe '{prog}:add3(i64)': no traced process maps {prog} "
                              f"(pid {target.pid}); it fires only if one loads that file "
                              "later\n")
            assert fired == []
            assert end["unplaced"] == 1 and end["unplaced_probes"] == [f"{prog}:add3(i64)"]
        else:
            assert "maps" not in stderr and len(fired) == 8
            assert end["unplaced"] == 0
        assert groups_of(recorder.pid) == []


def test_a_started_command_that_never_maps_the_probed_library(tmp_path: Path) -> None:
    """A library may be dlopen'ed later, so naming it is no error; if no traced process
    ever mapped it, the end says so and counts it; one that was loaded is not."""
    from probe_support import build_plugin

    prog = build_program(tmp_path)
    plugin = build_plugin(tmp_path / "plug")
    out = tmp_path / "never.ktr"
    spec = f"{plugin}:plug_twice"
    proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), "-P", spec, "--",
                           str(prog), "basic"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == (f"ktr: probe {spec!r}: {plugin} was never mapped by a traced "
                           "process; nothing was probed\n")
    end = records_of(out)[-1]
    assert end["unplaced"] == 1 and end["unplaced_probes"] == [spec]
    proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), "-P", spec, "--",
                           str(prog), "dlopen", str(plugin)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    records = records_of(out)
    assert records[-1]["unplaced"] == 0
    assert len([r for r in records if r["type"] == "PROBE"]) == 4


@pytest.mark.parametrize("spec", ["libc:malloc:exit", "{prog}:add3:bogus", "prog:add3:retrun"])
def test_a_mistyped_point_is_said_as_such(tmp_path: Path, spec: str) -> None:
    """``libc:malloc:exit`` is a mistyped POINT, not a module named ``libc:malloc``: one
    line says so, no trace is left running, no tracefs group is left; a module that exists
    nowhere (with or without the last part) is still said as before."""
    prog = build_program(tmp_path)
    spec = spec.format(prog=prog)
    out = tmp_path / "typo.ktr"
    recorder = subprocess.Popen([*KTR, "record", "-q", "-o", str(out), "-P", spec, "--",
                                 str(prog), "basic"], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    _, stderr = recorder.communicate(timeout=60)
    point = spec.rpartition(":")[2]
    assert recorder.returncode == 1
    assert stderr == (f"ktr: probe {spec!r}: unknown point {point!r} (entry, return or "
                      "+OFFSET: MODULE:FUNCTION[:POINT])\n")
    assert groups_of(recorder.pid) == []
    proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), "-P", "nosuchlibx:f:exit",
                           "--", str(prog), "basic"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.startswith("ktr: probe 'nosuchlibx:f:exit': no file 'nosuchlibx:f' "
                                  "anywhere") and proc.stderr.count("\n") == 1


def _nm_address(path: Path, name: str) -> int:
    listing = subprocess.run(["nm", str(path)], capture_output=True, text=True,
                             check=True).stdout
    return next(int(line.split()[0], 16) for line in listing.splitlines()
                if line.split()[-1] == name)


def _perf_probe_offset(path: Path, address: int) -> int | None:
    """The file offset perf probe puts in its uprobe for ``-x PATH ADDRESS`` (its event
    removed at once), or None without perf."""
    import shutil

    perf = shutil.which("perf")
    if perf is None:
        return None
    event = f"ktrtest{os.getpid()}"
    added = subprocess.run([perf, "probe", "-q", "-x", str(path), "-a",
                            f"{event}={address:#x}"], capture_output=True, text=True)
    if added.returncode != 0:
        return None
    try:
        lines = Path("/sys/kernel/tracing/uprobe_events").read_text().splitlines()
        line = next(line for line in lines if f"/{event} " in line)
        return int(line.split()[1].rsplit(":", 1)[1], 16)
    finally:
        subprocess.run([perf, "probe", "-q", "-d", f"*:{event}"], capture_output=True)


@pytest.mark.parametrize("build", ["pie", "nopie"])
def test_an_address_probe_on_a_stripped_program(tmp_path: Path, build: str) -> None:
    """``MODULE:0xADDR`` is the link-time address nm shows in the unstripped build; the
    stripped copy's hits are those of the function there (exact arguments)."""
    prog = build_program(tmp_path, build)
    stripped = tmp_path / "prog_s"
    stripped.write_bytes(prog.read_bytes())
    stripped.chmod(0o755)
    subprocess.run(["strip", str(stripped)], check=True)
    address = _nm_address(prog, "add3")
    out = tmp_path / "addr.ktr"
    for spec in (f"{stripped}:{address:#x}(i64,i32,i64)", f"{stripped}:add3"):
        proc = subprocess.run([*KTR, "record", "-q", "-o", str(out), "-t", "f", "-P", spec,
                               "--", str(stripped), "basic"], capture_output=True, text=True,
                              timeout=60)
        if spec.endswith("add3"):  # by name: refused, pointing at the address form
            assert proc.returncode == 1 and "MODULE:0xADDRESS" in proc.stderr
            continue
        assert proc.returncode == 0, proc.stderr
    records = records_of(out)
    (definition,) = [r for r in records if r["type"] == "PDEF"]
    assert definition["function"] == f"{address:#x}"
    fired = [r["args"] for r in records if r["type"] == "PROBE"]
    assert fired == [[i, -1, 100] for i in range(5)] + [[i, 2, 3] for i in range(3)]
    if build == "pie":
        # perf probe takes a PIE's address as its file offset: the same uprobe
        oracle = _perf_probe_offset(stripped, address)
        if oracle is not None:
            assert definition["file_offset"] == oracle
    else:
        assert definition["file_offset"] == address - 0x400000  # the file offset, not vaddr


def test_address_probes_outside_code_or_inside_an_instruction_are_refused(
        tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    add3 = _nm_address(prog, "add3")
    for spec, message in (
            (f"{prog}:0x10", "0x10 is not in an executable segment"),
            (f"{prog}:{add3 + 1:#x}", f"{add3 + 1:#x} (add3+0x1) is inside an instruction"),
            (f"{prog}:+{add3:#x}", "+OFFSET is an offset into a function"),
            (f"{prog}:{add3:#x}:+0x4", "an address takes no +OFFSET")):
        proc = subprocess.run([*KTR, "record", "-q", "-o", str(tmp_path / "x.ktr"), "-P", spec,
                               "--", str(prog)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 1 and message in proc.stderr, (spec, proc.stderr)
        assert proc.stderr.count("\n") == 1


STRIPPED_WORK = r"""
#include <stdio.h>
#include <stdlib.h>
__attribute__((noinline)) long work(long x) { return x * 1000003 + (x >> 3); }
int main(int argc, char **argv) {
    long total = 0;
    for (long i = 0; i < 5; i++) total += work(i + (argc > 1 ? atol(argv[1]) : 0));
    printf("%ld\n", total);
    return 0;
}
"""


def _instructions(prog: Path, function: str) -> list[int]:
    """The addresses objdump decodes in ``function`` of the unstripped ``prog``."""
    import shutil

    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump (binutils) is not installed")
    listing = subprocess.run([objdump, "-d", "--no-show-raw-insn", str(prog)],
                             capture_output=True, text=True, check=True).stdout
    body = listing.split(f"<{function}>:")[1].split("\n\n")[0]
    return [int(m, 16) for m in re.findall(r"^\s+([0-9a-f]+):", body, re.M)]


@pytest.mark.parametrize("unwind", [True, False], ids=["eh_frame", "no_unwind_tables"])
def test_an_address_probe_inside_an_instruction_of_a_stripped_program(
        tmp_path: Path, unwind: bool) -> None:
    """No symbol in a stripped file, but its FDE gives the function start, from which the
    address is decoded: inside an instruction is refused (a uprobe there corrupts the
    program), a boundary is probed. Without an FDE either: taken as given, said once."""
    from c_support import build_program as build_c

    flags = ["-O1"] + ([] if unwind else ["-fno-asynchronous-unwind-tables",
                                          "-fno-unwind-tables"])
    prog = build_c(tmp_path, "work", STRIPPED_WORK, *flags)
    expected = subprocess.run([str(prog)], capture_output=True, text=True,
                              check=True).stdout
    stripped = tmp_path / "work_s"
    subprocess.run(["strip", "-o", str(stripped), str(prog)], check=True)
    addresses = _instructions(prog, "work")
    out = tmp_path / "x.ktr"

    def run(address: int) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), "-P",
                               f"{stripped}:{address:#x}", "--", str(stripped)],
                              capture_output=True, text=True, timeout=60)

    inside = next(addresses[0] + o for o in range(1, 16) if addresses[0] + o not in addresses)
    second = addresses[1]
    if unwind:
        proc = run(inside)
        assert proc.returncode == 1, (proc.stdout, proc.stderr)
        assert proc.stdout == "" and proc.stderr.count("\n") == 1
        assert (f"{inside:#x} (the function whose unwind entry starts at {addresses[0]:#x}, "
                f"+{inside - addresses[0]:#x}) is inside an instruction") in proc.stderr
        assert not out.exists() or not [r for r in records_of(out) if r["type"] == "PROBE"]
    proc = run(second)
    assert proc.returncode == 0 and proc.stdout == expected, (proc.stdout, proc.stderr)
    if unwind:
        assert proc.stderr == ""
    else:
        assert proc.stderr.count("\n") == 1 and (
            f"covers {second:#x}; taken as given, not checked to start an instruction"
            in proc.stderr), proc.stderr
    assert len([r for r in records_of(out) if r["type"] == "PROBE"]) == 5


NARROW_TYPES = r"""
#include <stdbool.h>
#include <stdio.h>
__attribute__((noinline)) unsigned char inc8(unsigned x) { return x + 1; }
__attribute__((noinline)) short neg16(int x) { return -x; }
__attribute__((noinline)) unsigned short ret16(unsigned x) { return x * 2; }
__attribute__((noinline)) bool odd(long x) { return x & 1; }
__attribute__((noinline)) int take(signed char c, unsigned short s, short t) {
    printf("take %d %u %d\n", c, s, t);
    return c + s + t;
}
__attribute__((noinline)) int many(int a, int b, int c, int d, int e, int f, int g, int h) {
    return a * 1000000000 + b + c + d + e + f + g + h;
}
int main(void) {
    volatile unsigned v = 0x1ff;
    volatile int w = 70000, x = 40000;
    printf("inc8 %u\n", inc8(v));
    printf("neg16 %d\n", neg16(w));
    printf("ret16 %u\n", ret16(x));
    printf("odd %d\n", odd(v));
    /* called as if it took ints: the registers' bits above each type's width are set,
       as the ABI allows; the callee sees only its types' bits (printed above) */
    int (*as_ints)(int, int, int) = (int (*)(int, int, int))take;
    as_ints(0x1ff, 0x12345, 0x18765);
    printf("many %d\n", many(3, 1, 2, 3, 4, 5, 6, 7));
    return 0;
}
"""


def _record_rc(tmp_path: Path, *specs: str
               ) -> tuple[dict[str, list[int]], dict[str, object], dict[str, object]]:
    """Run NARROW_TYPES under the probes: (its printout by line label, each probe's last
    value or arguments, each probe's PDEF types)."""
    from c_support import build_program as build_c

    prog = build_c(tmp_path, "rc", NARROW_TYPES, "-O1", "-g")
    out = tmp_path / "rc.ktr"
    probes = [word for spec in specs for word in ("-P", spec)]
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), *probes, "--",
                           str(prog)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = {line.split()[0]: [int(v) for v in line.split()[1:]]
               for line in proc.stdout.splitlines()}
    records = records_of(out)
    fired = {str(r["probe"]): r["retval"] if r["point"] == "return" else r["args"]
             for r in records if r["type"] == "PROBE"}
    types = {str(r["probe"]): r["types"] for r in records if r["type"] == "PDEF"}
    return printed, fired, types


def test_dwarf_types_narrower_than_32_bits_keep_their_width(tmp_path: Path) -> None:
    """char/short/bool parameters and returns show the values the program sees (its own
    printout), not the register's bits above the type, which the ABI leaves undefined."""
    printed, fired, types = _record_rc(tmp_path, "rc:inc8:return", "rc:neg16:return",
                                       "rc:ret16:return", "rc:odd:return", "rc:take")
    assert printed["inc8"] == [0] and fired["rc:inc8:return"] == 0
    assert printed["neg16"] == [-4464] and fired["rc:neg16:return"] == -4464
    assert printed["ret16"] == [14464] and fired["rc:ret16:return"] == 14464
    assert printed["odd"] == [1] and fired["rc:odd:return"] == 1
    assert fired["rc:take:entry"] == printed["take"] == [-1, 0x2345, -30875]
    assert (types["rc:inc8:return"], types["rc:neg16:return"], types["rc:ret16:return"],
            types["rc:odd:return"], types["rc:take:entry"]) == (
        ["u8"], ["i16"], ["u16"], ["u8"], ["i8", "u16", "i16"])


def test_more_than_six_parameters_keep_the_dwarf_return_type(tmp_path: Path) -> None:
    """The return value is in rax whatever the parameters: an 8-parameter function's
    return probe is typed from DWARF; its entry keeps six raw registers, as before."""
    printed, fired, types = _record_rc(tmp_path, "rc:many", "rc:many:return")
    assert printed["many"] == [-1294967268] and fired["rc:many:return"] == -1294967268
    assert types["rc:many:return"] == ["i32"]
    assert fired["rc:many:entry"] == [3, 1, 2, 3, 4, 5]
    assert types["rc:many:entry"] == ["u64"] * 6


def test_untyped_probes_take_their_types_from_dwarf(tmp_path: Path) -> None:
    """As perf probe and uftrace: a -g program's parameter count and basic types (char *
    as a string) and return type; without DWARF, six raw registers as before."""
    from probe_support import PROGRAM, gcc

    source = tmp_path / "prog.c"
    source.write_text(PROGRAM)
    for debug in (True, False):
        prog = tmp_path / ("prog" if debug else "prog_nodebug")
        subprocess.run([gcc(), "-O1", *(["-g"] if debug else []), "-o", str(prog),
                        str(source), "-ldl", "-pthread"], check=True)
        out = tmp_path / "dwarf.ktr"
        name = prog.name
        proc = subprocess.run(
            [*KTR, "record", "-q", "-o", str(out), "-t", "f", "-P", f"{name}:add3",
             "-P", f"{name}:pair", "-P", f"{name}:slen:return", "-P", f"{name}:name_of:return",
             "-P", f"{name}:tag(x32)", "--", str(prog), "basic"],
            capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        fired: dict[str, list[object]] = {}
        for r in records_of(out):
            if r["type"] == "PROBE":
                point = f"{r['probe']}"
                fired.setdefault(point, []).append(
                    r["retval"] if r["point"] == "return" else r["args"])
        if debug:
            assert fired[f"{name}:add3:entry"] == (
                [[i, -1, 100] for i in range(5)] + [[i, 2, 3] for i in range(3)])
            assert fired[f"{name}:pair:entry"] == [["pq", -7, "xyz"]]
            assert fired[f"{name}:slen:return"] == [5, 11]
            assert fired[f"{name}:name_of:return"] == ["zero", "one"]
        else:
            assert all(len(args) == 6 for args in fired[f"{name}:add3:entry"])  # type: ignore[arg-type]
            assert fired[f"{name}:slen:return"] == [5, 11]  # u64 default
            assert all(isinstance(v, int) for v in fired[f"{name}:name_of:return"])
        assert fired[f"{name}:tag:entry"] == [[1]]  # types given win over DWARF


@pytest.mark.parametrize("point", ["prepared", "targets", "output"])
@pytest.mark.parametrize("attach", [True, False], ids=["attach", "command"])
def test_sigterm_at_each_later_point_of_setup_ends_it_cleanly(tmp_path: Path, attach: bool,
                                                              point: str) -> None:
    """SIGTERM after the probes are prepared, after the targets are spawned or attached,
    after the output opened, until the recording's own handlers are in: BEGIN and an
    END saying so, 128+15 with one line, the targets let go (a started command, held
    before its exec, killed), no tracefs group left. (Between the set-up's handlers and
    the recording's, SIGTERM killed ktr the default way, its group left behind.)"""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "late.ktr"
    target = subprocess.Popen([str(prog), "wait"], stdin=subprocess.PIPE)
    how = ["-p", str(target.pid)] if attach else ["--", str(prog), "basic"]
    recorder = subprocess.Popen(
        [*KTR, "record", "-q", "-o", str(out), "-P", f"{prog}:add3", "-t", "f", *how],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"{point}={hold}"})
    try:
        # opening returns once the recorder opened it too: it waits at that point
        with open(hold, "wb"):
            if attach and point != "prepared":
                assert tracer_of(target.pid) == recorder.pid  # attached, held
            recorder.send_signal(signal.SIGTERM)
        _, stderr = recorder.communicate(timeout=20)
        assert recorder.returncode == 128 + signal.SIGTERM, stderr
        assert stderr.count("\n") == 1 and "before recording began" in stderr, stderr
        assert tracer_of(target.pid) == 0  # let go (or never touched)
        assert target.stdin is not None
        target.stdin.write(b"x")  # and it goes on as if nothing happened
        target.stdin.close()
        assert target.wait(20) == 0
    finally:
        target.kill()
        target.wait()
        recorder.kill()
        recorder.wait()
    records = records_of(out)
    assert [r["type"] for r in records] == ["BEGIN", "END"]
    assert records[-1]["reason"] == "interrupted by SIGTERM before recording began"
    assert records[-1]["stopped_early"] is True
    assert groups_of(recorder.pid) == []


def test_sigterm_while_the_recording_closes_kills_only_after_the_group_is_removed(
        tmp_path: Path) -> None:
    """The recording is over and its handlers gone, its probes still in tracefs: SIGTERM
    then kills ktr as it would have, but only once the file is complete (its END) and the
    group removed (it killed ktr at once, the group left for the next recording)."""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "closing.ktr"
    target = subprocess.Popen([str(prog), "wait"], stdin=subprocess.PIPE)
    recorder = subprocess.Popen(
        [*KTR, "record", "-q", "-o", str(out), "-P", f"{prog}:add3", "-t", "f",
         "-p", str(target.pid)], stderr=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"closing={hold}"})
    try:
        wait_until(lambda: bool(groups_of(recorder.pid)), "the probes placed")
        assert target.stdin is not None
        target.stdin.write(b"x")
        target.stdin.close()
        assert target.wait(20) == 0
        with open(hold, "wb"):  # the recording is over; ktr waits before closing it
            assert groups_of(recorder.pid) != []
            recorder.send_signal(signal.SIGTERM)
        _, stderr = recorder.communicate(timeout=20)
        assert recorder.returncode == -signal.SIGTERM, stderr
        assert stderr == ""
    finally:
        target.kill()
        target.wait()
        recorder.kill()
        recorder.wait()
    assert groups_of(recorder.pid) == []
    records = records_of(out)
    assert records[-1]["type"] == "END" and records[-1]["stopped_early"] is False
    assert len([r for r in records if r["type"] == "PROBE"]) == 8


FLOATS = r"""
#include <stdio.h>
struct pair { long a, b; };
struct big { long a[4]; };
__attribute__((noipa)) int f(double a, int b, float c, long d) {
    printf("f %d %ld\n", b, d);
    return (int)(a + c) + b + (int)d;
}
__attribute__((noipa)) long g(const char *s, double x, long y, float z, int w) {
    printf("g %ld %d\n", y, w);
    return s[0] + (long)x + y + (long)z + w;
}
__attribute__((noipa)) int ld(long double x, int b, double y, unsigned short c) {
    printf("ld %d %u\n", b, c);
    return (int)(x + y) + b + c;
}
__attribute__((noipa)) double half(double x) { return x / 2; }
__attribute__((noipa)) long byval(struct pair p, int k) { return p.a + p.b + k; }
__attribute__((noipa)) struct big make(int k) { struct big r = {{k, k, k, k}}; return r; }
int main(void) {
    volatile double one = 1.5;
    printf("fr %d\n", f(one, 7, 2.5f, -9));
    g("hi", one, 11, 3.0f, -12);
    ld(2.25L, -3, one, 65535);
    printf("half %d\n", (int)half(one * 4));
    struct pair p = {1, 2};
    byval(p, 5);
    printf("make %ld\n", make(4).a[3]);
    return 0;
}
"""


def test_floating_point_parameters_take_no_integer_register(tmp_path: Path) -> None:
    """x86-64 System V passes float, double (xmm) and long double (the stack) outside the
    integer registers: ``f(double a, int b, float c, long d)`` has b in %di, d in %si.
    The integer parameters show what the program printed it got; the floating ones, which
    a uprobe cannot read, show as not fetched (``?``, JSON null), said once at set-up, and
    so does a double return value (xmm0, not rax). A 16-byte struct of two longs takes
    %di and %si; a struct returned in memory (its address in %di) keeps the raw
    registers, said in one line. Types given as ``float`` skip a register too."""
    from c_support import build_program as build_c

    prog = build_c(tmp_path, "fp", FLOATS, "-O1", "-g")
    out = tmp_path / "fp.ktr"
    specs = ["fp:f", "fp:f:return", "fp:g", "fp:ld", "fp:half", "fp:half:return",
             "fp:byval", "fp:make", "fp:f(float,i32)"]
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out),
                           *[word for spec in specs for word in ("-P", spec)], "--",
                           str(prog)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = {line.split()[0]: [int(v) for v in line.split()[1:]]
               for line in proc.stdout.splitlines()}
    assert printed == {"f": [7, -9], "fr": [2], "g": [11, -12], "ld": [-3, 65535],
                       "half": [3], "make": [4]}
    fired: dict[tuple[object, object], object] = {}
    types: dict[tuple[object, object], object] = {}
    for r in records_of(out):
        if r["type"] == "PROBE":
            fired[r["probe_id"], r["probe"]] = (r["retval"] if r["point"] == "return"
                                                else r["args"])
        elif r["type"] == "PDEF":
            types[r["probe_id"], r["probe"]] = r["types"]
    by_name = {name: value for (_, name), value in fired.items()}
    # two probes on f's entry: DWARF's types, and the types given
    assert sorted((value for (_, name), value in fired.items() if name == "fp:f:entry"),
                  key=len) == [[None, 7], [None, 7, None, -9]]
    assert by_name["fp:f:return"] == printed["fr"][0]
    assert by_name["fp:g:entry"] == ["hi", None, 11, None, -12]
    assert by_name["fp:ld:entry"] == [None, -3, None, 65535]
    assert by_name["fp:half:entry"] == [None] and by_name["fp:half:return"] is None
    assert by_name["fp:byval:entry"] == [1, 2, 5]  # struct pair {long a, b} in %di, %si
    assert sorted(map(str, types.values())) == sorted(map(str, [
        ["float", "i32", "float", "i64"], ["i32"], ["str", "float", "i64", "float", "i32"],
        ["float", "i32", "float", "u16"], ["float"], ["float"], ["x64", "x64", "i32"],
        ["u64"] * 6,
        ["float", "i32"]]))
    # the floating-point values not fetched: one line for all five probes (their count
    # and the first four), after the lines said as each probe was resolved
    assert proc.stderr.splitlines() == [
        "ktr: probe 'fp:make': make's DWARF types are not used (it returns a struct or union "
        "in memory (its address takes %di)): six raw registers, not all of them its "
        "arguments",
        "ktr: 5 probes' floating-point parameters or return values are not fetched (passed "
        "in xmm registers or on the stack, which uprobes do not read): shown as ?: f(a, c), "
        "g(x, z), ld(x, y), half(x) and 1 more (the trace's PDEF types mark each: float)"]
    # one probe's: its own line, with its parameters' names; said once per function
    from ktr._probes import Resolver, parse_spec

    said: list[str] = []
    for specs, expected in (
            (["fp:half"], ["probe 'fp:half': half's floating-point parameter x is not "
                           "fetched (passed in xmm registers or on the stack, which uprobes "
                           "do not read): shown as ?"]),
            (["fp:half:return"], ["probe 'fp:half:return': half's floating-point return "
                                  "value is not fetched (returned in xmm0 or st0, which "
                                  "uprobes cannot read): shown as ?"]),
            (["fp:f", "fp:f(float,i32)", "fp:ld"], [
                "2 probes' floating-point parameters or return values are not fetched "
                "(passed in xmm registers or on the stack, which uprobes do not read): shown "
                "as ?: f(a, c), ld(x, y) (the trace's PDEF types mark each: float)"])):
        said.clear()
        resolver = Resolver(tuple(parse_spec(spec) for spec in specs), warn=said.append)
        resolver.resolve(str(prog), (), strict=True)
        assert said == expected
        said.clear()
        resolver.resolve(str(prog), (), strict=False)  # after an exec of the same program
        assert said == []
    text = subprocess.run([*KTRDUMP, "-t", "f", str(out)], capture_output=True, text=True,
                          check=True).stdout
    assert "fp:f:entry(?, 7, ?, -9)" in text and "fp:half:return = ?" in text


STRUCTS = r"""
#include <stdio.h>
struct ii { int a; int b; };
struct ll { long a; long b; };
struct big { long a[3]; };
struct dl { double d; long l; };
struct ld { long l; double d; };
struct dd { double x, y; };
struct ci { char c; short s; int i; long l; };
struct __attribute__((packed)) pk { char c; int i; };
union u { long l; double d; };
struct bf { unsigned a : 3; unsigned b : 20; int c; };
struct sm { char c; short s; };
struct li { long l; int i; };
__attribute__((noipa)) long s1(struct ii s, int c) {
  printf("s1 %d %d %d\n", s.a, s.b, c); return c;
}
__attribute__((noipa)) long s2(struct ll s, long c) {
  printf("s2 %ld %ld %ld\n", s.a, s.b, c); return c;
}
__attribute__((noipa)) long s3(struct big s, int c, long d) {
  printf("s3 %ld %d %ld\n", s.a[0], c, d); return c;
}
__attribute__((noipa)) long s4(struct dl s, int c) { printf("s4 %ld %d\n", s.l, c); return c; }
__attribute__((noipa)) long s5(int a, struct ld s, int c) {
  printf("s5 %d %ld %d\n", a, s.l, c); return c;
}
__attribute__((noipa)) long s6(struct dd s, int c) { printf("s6 %d\n", c); return c; }
__attribute__((noipa)) long s7(long a, long b, long c, long d, long e, struct ll s, long f) {
  printf("s7 %ld %ld\n", e, f); return f;
}
__attribute__((noipa)) long s8(struct ci s, int c) { printf("s8 %ld %d\n", s.l, c); return c; }
__attribute__((noipa)) long s9(struct pk s, int c) { printf("s9 %d\n", c); return c; }
__attribute__((noipa)) long s10(union u s, int c) { printf("s10 %ld %d\n", s.l, c); return c; }
__attribute__((noipa)) long s11(struct bf s, int c) {
  printf("s11 %u %u %d %d\n", s.a, s.b, s.c, c); return c;
}
__attribute__((noipa)) long s12(struct sm s, struct li t, int c) {
  printf("s12 %d %d %ld %d %d\n", s.c, s.s, t.l, t.i, c); return c;
}
__attribute__((noipa)) struct ll r1(int k) { struct ll r = {k, k + 1}; return r; }
__attribute__((noipa)) struct big r2(int k) { struct big r = {{k, k, k}}; return r; }
int main(void) {
  struct ii a = {3, -4}; s1(a, 5);
  struct ll b = {0x1111222233334444L, -6}; s2(b, 7);
  struct big c = {{8, 9, 10}}; s3(c, 11, 12);
  struct dl d = {1.5, 13}; s4(d, 14);
  struct ld e = {15, 2.5}; s5(16, e, 17);
  struct dd f = {1, 2}; s6(f, 18);
  s7(1, 2, 3, 4, 19, b, 20);
  struct ci g = {'x', 21, 22, 23}; s8(g, 24);
  struct pk h = {'y', 25}; s9(h, 26);
  union u i = {.l = 27}; s10(i, 28);
  struct bf j = {5, 1000, 29}; s11(j, 30);
  struct sm k = {'z', -33}; struct li l = {-34, -35}; s12(k, l, 36);
  printf("r1 %ld\n", r1(31).b);
  printf("r2 %ld\n", r2(32).a[2]);
  return 0;
}
"""


def _bits(value: int, width: int = 64) -> int:
    return value & ((1 << width) - 1)


def test_structs_by_value_take_the_registers_the_abi_gives_them(tmp_path: Path) -> None:
    """System V x86-64 passes a struct or union of at most 16 bytes by its eightbytes'
    classes: INTEGER ones in the next integer registers (fetched, ``x64``: the fields'
    bytes as the register holds them), SSE ones in xmm registers (not fetched, ``?``);
    one larger, packed (a field off its alignment) or whose eightbytes do not all fit in
    the registers left goes on the stack and takes none. The parameters after it are
    fetched from the registers the program got them in (what it printed); ltrace (no
    prototypes: the raw integer registers) shows the same registers."""
    import shutil

    from c_support import build_program as build_c

    prog = build_c(tmp_path, "st", STRUCTS, "-O1", "-g")
    out = tmp_path / "st.ktr"
    functions = [f"s{n}" for n in range(1, 13)] + ["r1", "r1:return", "r2"]
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out),
                           *[word for name in functions for word in ("-P", f"st:{name}")],
                           "--", str(prog)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = {line.split()[0]: [int(v) for v in line.split()[1:]]
               for line in proc.stdout.splitlines()}
    args = {str(r["probe"]).split(":")[1] + ("" if r["point"] == "entry" else ":return"):
            r["args"] if r["point"] == "entry" else r["retval"]
            for r in records_of(out) if r["type"] == "PROBE"}
    p = printed
    assert args == {
        # struct {int a, b} in %di (b in the high half), c in %si
        "s1": [_bits(p["s1"][1], 32) << 32 | p["s1"][0], p["s1"][2]],
        "s2": [p["s2"][0], _bits(p["s2"][1]), p["s2"][2]],  # {long a, b}: %di, %si
        "s3": [None, p["s3"][1], p["s3"][2]],  # 24 bytes: on the stack
        "s4": [None, p["s4"][0], p["s4"][1]],  # {double; long}: xmm0, %di
        "s5": [p["s5"][0], p["s5"][1], None, p["s5"][2]],  # {long; double}: %si, xmm0
        "s6": [None, None, p["s6"][0]],  # {double x, y}: xmm0, xmm1
        # five registers used: {long, long} does not fit in the one left: the stack
        "s7": [1, 2, 3, 4, p["s7"][0], None, p["s7"][1]],
        # {char 'x'; short 21; int 22} packed in %di, long in %si
        "s8": [22 << 32 | 21 << 16 | ord("x"), p["s8"][0], p["s8"][1]],
        "s9": [None, p["s9"][0]],  # packed {char; int}: a field off its alignment
        "s10": [p["s10"][0], p["s10"][1]],  # union {long; double}: INTEGER
        # bit-fields a:3, b:20, then int c: all in %di
        "s11": [p["s11"][2] << 32 | p["s11"][1] << 3 | p["s11"][0], p["s11"][3]],
        # 4 bytes: x32 (the register's upper bits undefined); {long; int}: x64, x32
        "s12": [_bits(p["s12"][1], 16) << 16 | p["s12"][0], _bits(p["s12"][2]),
                _bits(p["s12"][3], 32), p["s12"][4]],
        "r1": [31], "r1:return": 31,  # {long, long} returned in rax:rdx: k in %di
        # returned in memory: its address in %di, k in %si (raw registers)
        "r2": args["r2"]}
    r2 = args["r2"]
    assert isinstance(r2, list) and len(r2) == 6 and r2[1] == p["r2"][0]
    assert proc.stderr.splitlines() == [
        "ktr: probe 'st:r2': r2's DWARF types are not used (it returns a struct or union "
        "in memory (its address takes %di)): six raw registers, not all of them its "
        "arguments",
        "ktr: 6 probes' floating-point or struct parameters or return values are not "
        "fetched (passed in xmm registers or on the stack, which uprobes do not read): "
        "shown as ?: s3(s (struct)), s4(s (struct)), s5(s (struct)), s6(s (struct)) and 2 "
        "more (the trace's PDEF types mark each: float)"]

    ltrace = shutil.which("ltrace")
    if ltrace is None:
        return
    shown = subprocess.run([ltrace, "-x", "s1+s2+s4+s8+s10+s11", "-e", "", str(prog)],
                           capture_output=True, text=True, timeout=60).stderr
    for name in ("s1", "s2", "s4", "s8", "s10", "s11"):
        match = re.search(rf"^{name}\(([^)]*)\)", shown, re.MULTILINE)
        assert match is not None, shown
        registers = [word.strip() for word in match.group(1).split(",")]
        fetched = [value for value in args[name] if value is not None]  # type: ignore[union-attr]
        for theirs, ours in zip(registers, fetched, strict=False):
            # ltrace shows an int (the low 32 bits) unless it chose hex (all 64)
            width = 64 if theirs.startswith("0x") else 32
            assert _bits(int(theirs, 0), width) == _bits(int(ours), width), (name, shown)


CPLUSPLUS_STRUCTS = r"""
#include <cstdio>
struct pod { int a; int b; };
struct big { long a[3]; };
struct meth { long a; long get() const { return a; } };
struct copy { long a; copy(long x) : a(x) {} copy(const copy &o) : a(o.a) {} };
struct dtor { long a; ~dtor() { std::printf("~\n"); } };
struct virt { long a; virtual long f() { return a; } };
struct holds { copy c; };
__attribute__((noipa)) long p1(pod s, int c) {
  std::printf("p1 %d %d %d\n", s.a, s.b, c); return c;
}
__attribute__((noipa)) long p2(big s, int c) {
  std::printf("p2 %ld %d\n", s.a[0], c); return c;
}
__attribute__((noipa)) long p3(meth s, int c) { std::printf("p3 %ld %d\n", s.a, c); return c; }
__attribute__((noipa)) long p4(copy s, int c) { std::printf("p4 %ld %d\n", s.a, c); return c; }
__attribute__((noipa)) long p5(dtor s, int c) { std::printf("p5 %ld %d\n", s.a, c); return c; }
__attribute__((noipa)) long p6(virt s, int c) { std::printf("p6 %ld %d\n", s.a, c); return c; }
__attribute__((noipa)) long p7(holds s, int c) {
  std::printf("p7 %ld %d\n", s.c.a, c); return c;
}
int main() {
  p1(pod{3, -4}, 5); p2(big{{6, 7, 8}}, 9); p3(meth{10}, 11); p4(copy(12), 13);
  { dtor d{14}; p5(d, 15); }
  virt v; v.a = 16; p6(v, 17); holds h{copy(18)}; p7(h, 19);
  return 0;
}
"""


def test_cplusplus_structs_by_value_only_when_trivially_copied(tmp_path: Path) -> None:
    """C++ passes a class with a copy constructor, a destructor or virtual functions (or
    a member of such a class) by reference, its address in an integer register (the
    ABI's "non-trivial for the purposes of calls"), whatever its size: GCC's DWARF does
    not say so (no DW_AT_calling_convention), so those keep six raw registers, said in
    one line; a plain struct (methods allowed) is placed as C's."""
    import shutil

    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no g++")
    source = tmp_path / "cc.cc"
    source.write_text(CPLUSPLUS_STRUCTS)
    prog = tmp_path / "cc"
    subprocess.run([compiler, "-g", "-O1", "-o", str(prog), str(source)], check=True)
    out = tmp_path / "cc.ktr"
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), "-P",
                           "cc:_Z2p*", "--", str(prog)], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    printed = {line.split()[0]: [int(v) for v in line.split()[1:]]
               for line in proc.stdout.splitlines() if line != "~"}
    # the probe's function as ktrdump shows it, demangled: ``p1(A)``
    args = {str(r["probe"]).split(":", 1)[1][:2]: r["args"]
            for r in records_of(out) if r["type"] == "PROBE"}
    assert {name: value for name, value in args.items() if name in ("p1", "p2", "p3")} == {
        "p1": [_bits(printed["p1"][1], 32) << 32 | printed["p1"][0], printed["p1"][2]],
        "p2": [None, printed["p2"][1]], "p3": printed["p3"]}
    for name in ("p4", "p5", "p6", "p7"):  # by reference: c in %si, raw
        value = args[name]
        assert isinstance(value, list) and len(value) == 6 and value[1] == printed[name][1]
    said = [line for line in proc.stderr.splitlines() if "DWARF types are not used" in line]
    assert len(said) == 4 and all("which may be passed by reference" in line
                                  for line in said), proc.stderr


def test_cplusplus_references_are_pointers(tmp_path: Path) -> None:
    """A C++ reference parameter is passed as its address, in an integer register: typed
    ``ptr`` (the addresses the program prints), after a double that takes none."""
    import shutil

    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no g++")
    source = tmp_path / "ref.cc"
    source.write_text(r"""
#include <cstdio>
__attribute__((noipa)) int r(double a, int &b, const long &c, int d) {
    return (int)a + b + (int)c + d;
}
int main() {
    int b = 5; long c = 6;
    std::printf("%lu %lu\n", (unsigned long)&b, (unsigned long)&c);
    return r(1.0, b, c, 7) == 19 ? 0 : 1;
}
""")
    prog = tmp_path / "ref"
    subprocess.run([compiler, "-g", "-O1", "-o", str(prog), str(source)], check=True)
    out = tmp_path / "ref.ktr"
    proc = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), "-P",
                           "ref:_Z1rdRiRKli", "--", str(prog)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    addresses = [int(word) for word in proc.stdout.split()]
    records = records_of(out)
    assert [r["types"] for r in records if r["type"] == "PDEF"] == [
        ["float", "ptr", "ptr", "i32"]]
    assert [r["args"] for r in records if r["type"] == "PROBE"] == [
        [None, *addresses, 7]]


def test_ctrl_c_before_the_probes_are_looked_up_says_nothing_was_recorded(
        tmp_path: Path) -> None:
    """Ctrl-C before set-up's handlers are in, while the side sources are made (a probe's
    symbols are read then, which takes a while): one line saying nothing was recorded,
    130, no file. (The KeyboardInterrupt left the recorder and cli said only "ktr:
    interrupted", its word for a recording already closed.)"""
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "early.ktr"
    recorder = subprocess.Popen(
        [*KTR, "record", "-o", str(out), "-P", f"{prog}:add3", "--", str(prog), "basic"],
        stderr=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"sources={hold}"})
    held: list[int] = []

    def waiting() -> bool:  # the FIFO opens once the recorder waits there (or it ended)
        if recorder.poll() is not None:
            return True
        try:
            held.append(os.open(hold, os.O_WRONLY | os.O_NONBLOCK))
        except OSError as error:
            if error.errno == errno.ENXIO:  # no reader yet
                return False
            raise
        return True

    try:
        wait_until(waiting, "the recorder at its hold")
        if held:
            recorder.send_signal(signal.SIGINT)
        _, stderr = recorder.communicate(timeout=20)
    finally:
        for fd in held:
            os.close(fd)
        recorder.kill()
        recorder.wait()
    assert held and recorder.returncode == 130, stderr
    assert stderr.splitlines() == [
        "ktr: interrupted by SIGINT before recording began; nothing recorded"], stderr
    assert not out.exists()
    assert groups_of(recorder.pid) == []
