"""The seccomp-bpf filter: the program's logic, and a filtered command under control."""

from __future__ import annotations

import signal
from pathlib import Path

from control_support import NR_OPENAT, become_nobody, record
from hypothesis import given, settings
from hypothesis import strategies as st

from formats import Abi
from ktr._control import Control, ControlOptions, Release
from ktr._events import Event, Lifecycle, ProcessEvent, SyscallEntry, SyscallExit
from ktr._ptrace import AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT
from ktr._seccomp import (
    BPF_JMP_JA,
    BPF_RET_K,
    SECCOMP_RET_ALLOW,
    SECCOMP_RET_TRACE,
    build_program,
    encode_program,
    run_program,
)

numbers = st.frozensets(st.integers(0, 600), max_size=80)


@settings(max_examples=60, deadline=None)
@given(numbers, numbers, numbers, st.lists(st.integers(-5, 1100), max_size=40))
def test_the_filter_traces_exactly_the_selection(
    x86_64: frozenset[int], i386: frozenset[int], x32: frozenset[int], probes: list[int]
) -> None:
    selection = {Abi.X86_64: x86_64, Abi.I386: i386, Abi.X32: x32}
    program = build_program(selection)
    # every jump stays inside the program and it always ends in a return
    for index, (code, jt, jf, k) in enumerate(program):
        if code == BPF_JMP_JA:
            assert index + 1 + k < len(program)
        elif code != BPF_RET_K and code & 0x07 == 0x05:
            assert index + 1 + max(jt, jf) < len(program)
    assert program[-1][0] == BPF_RET_K
    assert len(encode_program(program)) == 8 * len(program)
    candidates = set(probes) | x86_64 | i386 | x32
    for nr in candidates:
        def expect(selected: frozenset[int], nr: int = nr) -> int:
            return SECCOMP_RET_TRACE if nr in selected else SECCOMP_RET_ALLOW

        assert run_program(program, AUDIT_ARCH_X86_64, nr) == expect(x86_64)
        assert run_program(program, AUDIT_ARCH_I386, nr) == expect(i386)
        if nr >= 0:
            assert run_program(program, AUDIT_ARCH_X86_64, nr | X32_SYSCALL_BIT) == expect(x32)
        # another architecture is never traced
        assert run_program(program, 0xC00000B7, nr) == SECCOMP_RET_ALLOW


def test_the_filter_allows_out_of_table_numbers() -> None:
    program = build_program({Abi.X86_64: frozenset(range(0, 500)),
                             Abi.X32: frozenset(range(0, 600)),
                             Abi.I386: frozenset(range(0, 500))})
    for arch in (AUDIT_ARCH_X86_64, AUDIT_ARCH_I386):
        for nr in (-1, 0x7FFF_FFFF, 0xFFFF_FFFE, 100000):
            assert run_program(program, arch, nr) == SECCOMP_RET_ALLOW


def _only_openat(follow: bool) -> ControlOptions:
    return ControlOptions(seccomp={Abi.X86_64: frozenset({NR_OPENAT})},
                          follow_children=follow)


def test_only_selected_syscalls_stop_and_behaviour_is_unchanged(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(b"seccomp payload\n")
    out = tmp_path / "out.txt"
    no_new_privs: list[bytes] = []

    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC \
                and event.tracee.pid == recording_pid[0]:
            status = Path(f"/proc/{event.tracee.pid}/status").read_bytes()
            no_new_privs.extend(line.split()[1] for line in status.splitlines()
                                if line.startswith(b"NoNewPrivs:"))

    recording_pid = [0]
    control = Control(_only_openat(True))
    recording_pid[0] = control.spawn(["sh", "-c", f"cat {source} > {out}; exit 5"])
    events: list[Event] = []

    def consumer(event: Event) -> None:
        events.append(event)
        on_event(control, event)

    result = control.run(consumer)
    assert result.exit_status == 5
    assert out.read_bytes() == b"seccomp payload\n"
    entries = [e for e in events if isinstance(e, SyscallEntry)]
    exits = [e for e in events if isinstance(e, SyscallExit)]
    assert entries and {e.nr for e in entries} == {NR_OPENAT}
    assert {e.nr for e in exits} == {NR_OPENAT}
    assert len(entries) == len(exits)
    assert all(x.entry is not None and x.entry.tracee is x.tracee for x in exits)
    pids = {e.tracee.pid for e in entries}
    assert len(pids) == 2  # sh and cat both stopped at their openat calls
    # cat opened the source, sh the output (redirection)
    opened = {x.entry.args[1] for x in exits if x.entry is not None}
    assert len(opened) >= 2
    assert no_new_privs == [b"0"]  # root has CAP_SYS_ADMIN: no_new_privs not needed
    assert len([e for e in events if isinstance(e, ProcessEvent)
                and e.kind is Lifecycle.EXEC]) == 2


def test_unfollowed_children_of_a_filtered_command_run_silently(tmp_path: Path) -> None:
    source = tmp_path / "source.txt"
    source.write_bytes(b"silent child\n")
    out = tmp_path / "out.txt"
    recording = record(["sh", "-c", f"/bin/cat {source} > {out}; exit 6"], _only_openat(False))
    assert recording.result is not None
    assert recording.result.exit_status == 6
    assert out.read_bytes() == b"silent child\n"
    assert {e.tracee.pid for e in recording.events} == {recording.pid}
    assert {e.nr for e in recording.entries()} == {NR_OPENAT}


def test_filtered_commands_are_killed_not_detached_on_stop() -> None:
    def on_event(control: Control, event: Event) -> None:
        if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
            control.request_stop("stop", Release.DETACH)

    recording = record(["sleep", "30"], _only_openat(False), on_event=on_event)
    assert recording.result is not None
    assert recording.result.exit_status == 128 + signal.SIGKILL
    assert recording.result.killed == 1 and recording.result.detached == 0


def test_without_cap_sys_admin_the_filter_needs_no_new_privs() -> None:
    import json
    import os

    if os.geteuid() != 0:
        return  # the test drops root itself; without root it cannot set up
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # a non-root recorder
        code = 1
        try:
            os.close(read_end)
            become_nobody()
            flags: list[str] = []
            control = Control(_only_openat(False))

            def consumer(event: Event) -> None:
                if isinstance(event, ProcessEvent) and event.kind is Lifecycle.EXEC:
                    status = Path(f"/proc/{event.tracee.pid}/status").read_text()
                    flags.extend(line.split()[1] for line in status.splitlines()
                                 if line.startswith("NoNewPrivs:"))
                elif isinstance(event, SyscallEntry):
                    flags.append(str(event.nr))

            devnull = os.open("/dev/null", os.O_WRONLY)
            os.dup2(devnull, 1)
            control.spawn(["cat", "/etc/hostname"])
            result = control.run(consumer)
            os.write(write_end, json.dumps([flags, result.exit_status]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    flags, exit_status = json.loads(data)
    assert exit_status == 0
    assert flags[0] == "1"  # no_new_privs set before the filter
    assert set(flags[1:]) == {str(NR_OPENAT)}
