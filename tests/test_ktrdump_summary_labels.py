"""``ktrdump --summary -u LABEL``: -u shows USER records alone, so the tables count nothing.

The summary counted every call while saying "the filters matched no records": -u was
ignored by the tables and heeded by the notice. It now counts what -t u counts (no
table counts USER records), and both say the same. Oracle: the trace's own records
(``--json -u``) and the summary of the same trace with -t u.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]


@pytest.fixture(scope="module")
def trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("labels") / "u.ktr"
    subprocess.run([*KTR, "record", "-q", "-o", str(out), "--", sys.executable, "-c",
                    "import ktr; ktr.utrace('phase', b'start')"], check=True, timeout=60)
    return out


def _dump(*arguments: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([*KTRDUMP, *arguments], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done


def _total_calls(summary: str) -> int:
    (total,) = [line for line in summary.splitlines() if line.endswith(" total")]
    return int(total.split()[3])


def test_the_summary_of_a_label_counts_what_t_u_counts(trace: Path) -> None:
    labelled = [json.loads(line) for line in _dump("--json", "-u", "phase", str(trace))
                .stdout.splitlines()]
    assert [r["type"] for r in labelled] == ["USER"]  # -u: that record alone
    assert _total_calls(_dump("--summary", str(trace)).stdout) > 10  # python's calls
    for label in ("phase", "none-such"):
        with_label = _dump("--summary", "-u", label, str(trace))
        assert with_label.stdout == _dump("--summary", "-t", "u", str(trace)).stdout
        assert _total_calls(with_label.stdout) == 0
    nothing = _dump("--summary", "-u", "none-such", str(trace))
    assert nothing.stderr.endswith("the filters matched no records\n"), nothing.stderr
