"""JSON Lines: the ``call`` id pairs a call's records; docs/json.md lists every key."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"
KTRDUMP = str(Path(sys.executable).parent / "ktrdump")
KTR = str(Path(sys.executable).parent / "ktr")


def _lines(*arguments: str) -> list[dict[str, Any]]:
    done = subprocess.run([KTRDUMP, "--json", *arguments], capture_output=True, timeout=60)
    assert done.returncode == 0 or b"damaged" in done.stderr or b"skipped" in done.stderr
    return [json.loads(line) for line in done.stdout.splitlines()]


def _check_calls(lines: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    groups: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for line in lines:
        if "call" in line:
            assert isinstance(line["call"], int) and line["call"] > 0
            groups[line["call"]].append(line)
        else:
            assert line["type"] != "CALL", line  # orphans (no CALL in the trace) have none
    for members in groups.values():
        kinds = [m["type"] for m in members]
        assert kinds.count("CALL") <= 1 and kinds.count("RET") <= 1
        if "CALL" in kinds:
            assert kinds[0] == "CALL"
        if "RET" in kinds:
            assert kinds[-1] == "RET"
            ret = members[-1]
            assert all(m["syscall"] == ret["syscall"] for m in members if "syscall" in m)
        assert len({(m["pid"], m["tid"]) for m in members}) == 1
    return groups


def test_call_ids_pair_every_record_of_a_call() -> None:
    lines = _lines(str(VECTORS / "calls.ktr"))
    groups = _check_calls(lines)
    calls = [line for line in lines if line["type"] == "CALL"]
    assert [c["call"] for c in calls] == list(range(1, len(calls) + 1))
    read = next(g for g in groups.values() if g[0].get("syscall") == "read")
    assert [m["type"] for m in read] == ["CALL", "GIO", "RET"]
    stat = next(g for g in groups.values() if g[0].get("syscall") == "newfstatat")
    assert [m["type"] for m in stat] == ["CALL", "NAMI", "STRU", "RET"]


def test_call_ids_do_not_depend_on_filters() -> None:
    every = {line["call"]: line["syscall"] for line in _lines(str(VECTORS / "calls.ktr"))
             if line["type"] == "CALL"}
    some = _lines("-e", "trace=read,close", str(VECTORS / "calls.ktr"))
    _check_calls(some)
    shown = {line["call"]: line["syscall"] for line in some if line["type"] == "CALL"}
    assert shown and all(every[call] == name for call, name in shown.items())


def test_call_ids_on_a_real_recording_with_threads(tmp_path: Path) -> None:
    trace = tmp_path / "t.ktr"
    program = ("import threading\n"
               "def work():\n"
               "    for _ in range(20): open('/etc/hostname').read()\n"
               "threads = [threading.Thread(target=work) for _ in range(3)]\n"
               "[t.start() for t in threads]; [t.join() for t in threads]\n")
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", sys.executable, "-c", program],
                   check=True, timeout=120)
    lines = _lines(str(trace))
    groups = _check_calls(lines)
    reads = [g for g in groups.values() if g[0]["type"] == "CALL" and g[0]["syscall"] == "read"
             and any(m["type"] == "GIO" for m in g)]
    assert len({g[0]["tid"] for g in reads}) >= 3  # interleaved threads, still paired


def _documented_keys() -> dict[str, set[str]]:
    """``docs/json.md``: the keys of each record type, from its table rows."""
    text = (ROOT / "docs" / "json.md").read_text()
    keys: dict[str, set[str]] = defaultdict(set)
    for match in re.finditer(r"^\| `(\w+)` \| `([\w, ]+)` \|", text, re.MULTILINE):
        for kind in match.group(2).split(","):
            keys[kind.strip()].add(match.group(1))
    return keys


def test_every_key_written_is_documented() -> None:
    documented = _documented_keys()
    seen: dict[str, set[str]] = defaultdict(set)
    for name in ("all_kinds.ktr", "calls.ktr", "corrupt_middle.ktr"):
        for arguments in ([], ["-y"]):
            for line in _lines(*arguments, str(VECTORS / name)):
                seen[line["type"]].update(line)
    assert seen
    for kind, keys in seen.items():
        missing = keys - documented["all"] - documented[kind]
        assert not missing, f"{kind}: {sorted(missing)} not in docs/json.md"


def test_calls_made_through_a_multiplexer_name_their_subcall(tmp_path: Path) -> None:
    """i386 socketcall and ipc: ``syscall`` is the multiplexer (it matches ``nr``),
    ``subcall`` the call it made, on the CALL and on its RET."""
    from strace_corpus import I386_C

    source = tmp_path / "i386.c"
    source.write_text(I386_C)
    program = tmp_path / "i386"
    subprocess.run(["gcc", "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pic",
                    "-fno-stack-protector", "-fno-builtin", "-O1", "-w", "-o", str(program),
                    str(source)], capture_output=True, timeout=60, check=True)
    trace = tmp_path / "i386.ktr"
    subprocess.run([KTR, "record", "-q", "-o", str(trace), "--", str(program)],
                   capture_output=True, timeout=30, check=True)
    lines = _lines(str(trace))
    _check_calls(lines)
    made = [(line["type"], line["syscall"], line.get("subcall")) for line in lines
            if line["type"] in ("CALL", "RET") and line["nr"] in (102, 117)]
    subcalls = ["socketpair", "send", "recv", "shutdown", "socket"]
    expected = [(kind, "socketcall", name) for name in subcalls for kind in ("CALL", "RET")]
    expected += [(kind, "ipc", name) for name in ("semget", "semctl") for kind in ("CALL", "RET")]
    assert made == expected
    assert all("subcall" not in line for line in lines if line.get("nr") not in (102, 117))
