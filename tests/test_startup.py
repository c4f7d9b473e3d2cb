"""What a recording's start-up loads: the imports issue 13 measured as a quarter of it.

construct (with pdb, pickle and hashlib), python-ptrace (ldconfig in a
subprocess, logging, datetime) and the perf, sampling and probe code are not
needed to record or read syscalls; a recording of ``true`` and a dump of it
must run without them. A test of what is imported, not of time: the time is
``bench/bench_record.py``'s.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

NOT_NEEDED = ("construct", "ptrace", "subprocess", "ktr._perf", "ktr._perfsource", "ktr._probes",
              "ktr._sampling", "ktr._probe_source", "ktr._tracefs", "elftools", "zstandard")


def _loaded_after(code: str) -> list[str]:
    program = code + (
        "\nimport json, sys\n"
        f"loaded = sorted(m for m in sys.modules if m.startswith({NOT_NEEDED!r}))\n"
        "print(json.dumps(loaded), file=sys.stderr)\n")
    shown = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                           check=True)
    loaded: list[str] = json.loads(shown.stderr.strip().splitlines()[-1])
    return loaded


def test_a_syscall_recording_and_its_dump_load_none_of_the_optional_code(
    tmp_path: Path,
) -> None:
    trace = tmp_path / "t.ktr"
    loaded = _loaded_after(
        "import ktr.cli, ktrdump.cli, os\n"
        f"assert ktr.cli.main(['record', '-q', '-o', {str(trace)!r}, '--', 'true']) == 0\n"
        "out = os.open(os.devnull, os.O_WRONLY); os.dup2(out, 1)\n"
        f"assert ktrdump.cli.main([{str(trace)!r}]) == 0\n")
    assert trace.stat().st_size > 0
    assert loaded == []


def test_the_perf_code_is_loaded_when_a_recording_asks_for_it(tmp_path: Path) -> None:
    """The other side: -t w needs the perf source (so the list above can fail)."""
    trace = tmp_path / "t.ktr"
    loaded = _loaded_after(
        "import ktr.cli\n"
        f"ktr.cli.main(['record', '-q', '-t', 'w', '-o', {str(trace)!r}, '--', 'true'])\n")
    assert "ktr._perfsource" in loaded


def test_import_ktr_for_utrace_does_not_load_the_recorder() -> None:
    """A traced program imports ktr for ``ktr.utrace`` alone."""
    program = ("import sys, ktr\nktr.utrace('label', 'data')\n"
               "print(sorted(m for m in sys.modules if m.startswith(('ktr.', 'formats'))))")
    shown = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                           check=True).stdout
    assert json.loads(shown.replace("'", '"')) == ["ktr._utrace"]
