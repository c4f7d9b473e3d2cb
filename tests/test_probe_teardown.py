"""Removing probes takes grace periods per tracefs event (75-100 ms each, one event after
the other): ktr puts the probes of one file and layout in one event, removes them after the
trace is complete and its summary said, says so when there are many events, and is not
stopped by Ctrl-C or SIGTERM while at it (the group would be left behind)."""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from control_support import wait_until
from probe_support import build_program, groups_of

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
FUNCTIONS = ("add3", "slen", "outer", "tag", "name_of", "pair")
#: layouts none of FUNCTIONS' probes has (untyped, without DWARF: six raw registers at
#: the entry, the raw return value): each an event of its own, so that the teardown
#: takes nine events (about a second), and is said
EXTRA = (*(f"tag({','.join(['u32'] * count)})" for count in range(1, 6)), "slen(str)",
         "name_of:return(str)")


def _many(prog: Path) -> list[str]:
    return [arg for name in FUNCTIONS
            for arg in ("-P", f"{prog}:{name}", "-P", f"{prog}:{name}:return")] + [
        arg for spec in EXTRA for arg in ("-P", f"{prog}:{spec}")]


class _Hold:
    """The writing end of ktr's hold fifo, opened once ktr waits on it (ENXIO before):
    ktr's read then blocks until ``release``."""

    def __init__(self, fifo: Path) -> None:
        self.fifo = fifo
        self.fd: int | None = None

    def opened(self) -> bool:
        try:
            self.fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as error:
            if error.errno == errno.ENXIO:
                return False
            raise
        return True

    def release(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _own(stderr: str) -> list[str]:
    """The lines of stderr but a note on another recorder's leftovers (machine-wide)."""
    return [line for line in stderr.splitlines()
            if not line.startswith("ktr: removed probes left in tracefs by a dead recorder")]


def test_trace_and_summary_complete_before_the_probes_are_removed(tmp_path: Path) -> None:
    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_program(tmp_path)
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "many.ktr"
    probes = _many(prog)
    held = _Hold(hold)
    with open(tmp_path / "stderr", "w+") as stderr:
        recorder = subprocess.Popen(
            [*KTR, "record", "-t", "f", "-o", str(out), *probes, "--", str(prog), "basic"],
            stderr=stderr, stdout=subprocess.DEVNULL,
            env={**os.environ, SETUP_HOLD_TEST_ENV: f"teardown={hold}"})
        try:
            wait_until(held.opened, "ktr at its teardown")
            # the trace is complete and said before any probe goes
            assert groups_of(recorder.pid) != []
            dumped = subprocess.run([*KTRDUMP, "--json", str(out)], capture_output=True,
                                    text=True, timeout=60)
            assert dumped.returncode == 0, dumped.stderr
            records = [json.loads(line) for line in dumped.stdout.splitlines()]
            assert records[-1]["type"] == "END"
            said = _own((tmp_path / "stderr").read_text())
            assert f"to {out}" in said[0], said
            assert said[1] == (
                f"ktr: removing {2 * len(FUNCTIONS) + len(EXTRA)} probes\u2026")
            recorder.send_signal(signal.SIGINT)
            recorder.send_signal(signal.SIGTERM)
            held.release()
            assert recorder.wait(60) == 0
        finally:
            held.release()
            recorder.kill()
            recorder.wait()
        stderr.seek(0)
        lines = _own(stderr.read())
    assert len(lines) == 2, lines  # (no traceback, nothing more)
    assert groups_of(recorder.pid) == []


def test_quiet_teardown_says_nothing(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    out = tmp_path / "quiet.ktr"
    probes = _many(prog)
    done = subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(out), *probes, "--",
                           str(prog), "basic"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and _own(done.stderr) == [], done.stderr


#: functions of one signature, none inlined; main calls each once, in order, and prints
#: what it passed and what it got back (gcc's values: the oracle for every probe's hits)
MANY = 50
MANY_PROGRAM = "\n".join(
    ["#include <stdio.h>"]
    + [f"__attribute__((noipa)) int td{i:02d}(int x) {{ return x * 3 - {i}; }}"
       for i in range(MANY)]
    + ["int main(void) {", "  int x = 1, r;"]
    + [f'  r = td{i:02d}(x); printf("td{i:02d} %d %d\\n", x, r); x = r % 1000;'
       for i in range(MANY)]
    + ["  return 0;", "}", ""])


def _group_events(pid: int) -> list[tuple[str, str]]:
    """(event name, probe line) of each probe of the recorder's group."""
    return [(line.split()[0].split("/", 1)[1], line) for line in groups_of(pid)]


def test_probes_of_one_layout_share_one_event_and_each_hit_names_its_probe(
        tmp_path: Path) -> None:
    """100 probes (50 functions of one file, one signature, at entry and return) are two
    tracefs events, so the teardown waits two events' grace periods, not 100 (75-100 ms
    each here, one after the other): quick, and not said. Each hit still names its own
    probe and carries its own values (the program prints them)."""
    from c_support import build_program as build_c

    from ktr._recorder import SETUP_HOLD_TEST_ENV

    prog = build_c(tmp_path, "many", MANY_PROGRAM, "-O1")
    hold = tmp_path / "hold"
    os.mkfifo(hold)
    out = tmp_path / "many.ktr"
    held = _Hold(hold)
    recorder = subprocess.Popen(
        [*KTR, "record", "-t", "f", "-o", str(out), "-P", f"{prog}:td*",
         "-P", f"{prog}:td*:return", "--", str(prog)],
        stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        env={**os.environ, SETUP_HOLD_TEST_ENV: f"teardown={hold}"})
    try:
        wait_until(held.opened, "ktr at its teardown")
        events = _group_events(recorder.pid)
        assert len(events) == 2 * MANY, events  # every probe defined...
        names = {name for name, _ in events}
        assert len(names) == 2, names  # ...in two events: entry and return
        held.release()
        stdout, stderr = recorder.communicate(timeout=60)
    finally:
        held.release()
        recorder.kill()
        recorder.wait()
    assert recorder.returncode == 0, stderr
    assert groups_of(recorder.pid) == []
    assert not any("removing" in line for line in _own(stderr)), stderr
    expected = [line.split() for line in stdout.splitlines()]
    assert [name for name, _, _ in expected] == [f"td{i:02d}" for i in range(MANY)]
    dumped = subprocess.run([*KTRDUMP, "--json", "-t", "f", str(out)], capture_output=True,
                            text=True, timeout=60)
    assert dumped.returncode == 0, dumped.stderr
    hits = [json.loads(line) for line in dumped.stdout.splitlines()]
    hits = [hit for hit in hits if hit["type"] == "PROBE"]
    seen = [(hit["probe"].split(":")[1], hit["point"],
             ctypes.c_int32(hit["args"][0] if hit["point"] == "entry" else hit["retval"]).value)
            for hit in hits]
    assert seen == [item for name, x, r in expected
                    for item in ((name, "entry", int(x)), (name, "return", int(r)))]


def test_a_dead_recorders_shared_event_is_cleaned_and_said() -> None:
    """A recorder killed with SIGKILL leaves its group; an event of it holding several
    probes (one ``uprobe_events`` line each) goes with one removal, and the next run
    says it cleaned the group."""
    from ktr._tracefs import (
        UprobeDefinition,
        UprobeGroup,
        clean_stale_groups,
        find_tracefs,
        list_uprobe_events,
    )

    root = find_tracefs()
    child = subprocess.Popen(["true"])
    child.wait()  # (its pid: a recorder gone)
    group = UprobeGroup(root, owner_pid=child.pid)
    try:
        group.define([UprobeDefinition("shared", "/bin/true", offset, False, ("a0=%di:u64",))
                      for offset in (0x1000, 0x1004, 0x1008)])
        assert group.events == ("shared",) and group.probe_count == 3
        assert sum(f":{group.name}/" in line for line in list_uprobe_events(root)) == 3
        assert group.name in clean_stale_groups(root)
        assert not any(f":{group.name}/" in line for line in list_uprobe_events(root))
    finally:
        group.close()
