"""``NAME.samples.parquet`` names its frames: ``frames``, ``function``, ``dso``.

A C program compiled here spends three quarters of its CPU time in
``hot_spin`` and a quarter in ``cool_spin`` (each spins on its thread's own
CPU clock, so the shares hold whatever the load). Recorded with ``-F``, its
samples table answers "top functions" without the raw bytes: the leaf
``function`` column is ``hot_spin`` for about 3/4 of the rows, and every
row's ``frames`` (labels, innermost first), ``function`` and ``dso`` are
what ``ktrdump --json`` says of the same sample. Read with pyarrow alone.
"""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from test_sampling import BURN_H, KTRDUMP, compile_c, record

HOT_C = BURN_H + r"""
volatile unsigned long sink;
__attribute__((noinline)) void hot_spin(long us) { BURN(us); }
__attribute__((noinline)) void cool_spin(long us) { BURN(us); }
__attribute__((noinline)) void work(long us) { hot_spin(3 * us); cool_spin(us); sink++; }
int main(int argc, char **argv) {
    long reps = argc > 1 ? atol(argv[1]) : 60;
    for (long r = 0; r < reps; r++) work(1000);
    return 0;
}
"""


def _label(frame: dict[str, Any]) -> str | None:
    return frame["function"]


def test_samples_table_has_the_json_frames_and_the_hot_leaf(tmp_path: Path) -> None:
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    program = compile_c(tmp_path, HOT_C, "hot")
    trace = record(tmp_path, str(program), "60", options=("-t", "S"))
    out = tmp_path / "hot.parquet"
    subprocess.run([KTRDUMP, "--format", "parquet", "-o", str(out), str(trace)],
                   check=True, capture_output=True, timeout=120)
    table = pq.read_table(tmp_path / "hot.samples.parquet")
    schema = table.schema
    assert schema.field("frames").type == pa.list_(pa.string())
    assert schema.field("function").type == pa.string()
    assert schema.field("dso").type == pa.string()
    rows = table.select(["tid", "ts_ns", "frames", "function", "dso"]).to_pylist()
    assert len(rows) > 200

    leaves = Counter(row["function"] for row in rows)
    hot_share = leaves["hot_spin"] / len(rows)
    assert leaves.most_common(1)[0][0] == "hot_spin", leaves
    assert 0.6 < hot_share < 0.9, leaves
    assert 0.1 < leaves["cool_spin"] / len(rows) < 0.4, leaves
    hot = [row for row in rows if row["function"] == "hot_spin"]
    # innermost first: the leaf, then its callers up to main
    assert all(row["frames"][:2] == ["hot_spin", "work"] and "main" in row["frames"]
               for row in hot), hot[:3]
    assert {row["dso"] for row in hot} == {program.name}  # the module, as --json names it

    samples = [json.loads(line) for line in subprocess.run(
        [KTRDUMP, "--json", "-t", "S", str(trace)], check=True, capture_output=True,
        text=True, timeout=120).stdout.splitlines()]
    by_sample = {(s["tid"], s["ts"]): s["frames"] for s in samples if s["type"] == "SAMPLE"}
    assert len(by_sample) == len(rows)
    for row in rows:
        frames = by_sample[(row["tid"], row["ts_ns"])]
        assert row["function"] == frames[0]["function"]
        assert row["dso"] == frames[0]["module"]
        named = [frame["function"] for frame in frames]
        assert [label if name is not None else None
                for label, name in zip(row["frames"], named, strict=True)] == named
