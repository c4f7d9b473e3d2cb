"""``ktrdump --format parquet``'s probes table carries what ``--json`` does, on real uprobes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from probe_support import build_program

pq = pytest.importorskip("pyarrow.parquet")
duckdb = pytest.importorskip("duckdb")

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="uprobes need root")


def _as_column(value: object) -> str | None:
    """A JSON value as the probes table's text column holds it."""
    return None if value is None else value if isinstance(value, str) else str(value)


def test_probe_rows_are_the_json_records_typed(tmp_path: Path) -> None:
    prog = build_program(tmp_path)
    trace = tmp_path / "p.ktr"
    subprocess.run([*KTR, "record", "-q", "-o", str(trace), "-P", "prog:pair(str,i32,str)",
                    "-P", "prog:pair:return(i32)", "-P", "prog:name_of:return(str)",
                    "-P", "prog:add3(i64,i32,i64)", "--", str(prog), "basic"],
                   check=True, capture_output=True, timeout=60)
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    expected = [r for r in map(json.loads, text.splitlines()) if r["type"] == "PROBE"]
    subprocess.run([*KTRDUMP, "--format", "parquet", "-o", str(tmp_path / "p.parquet"),
                    str(trace)], check=True, capture_output=True, timeout=60)
    rows = pq.read_table(tmp_path / "p.probes.parquet").to_pylist()
    assert len(rows) == len(expected) == 8 + 1 + 2 + 1  # add3 (5 + outer), pair, 2 name_of
    for row, record in zip(rows, expected, strict=True):
        assert row["probe"] == record["probe"] and row["point"] == record["point"]
        assert row["function"] == record["probe"].split(":")[1]
        assert row["args"] == [_as_column(value) for value in record["args"]]
        assert row["retval"] == _as_column(record.get("retval"))
    pair = duckdb.sql(
        f"SELECT args[1], CAST(args[2] AS INTEGER), args[3] FROM '{tmp_path}/p.probes.parquet'"
        " WHERE function = 'pair' AND point = 'entry'").fetchall()
    assert pair == [("pq", -7, "xyz")]
    returns = duckdb.sql(
        f"SELECT function, retval FROM '{tmp_path}/p.probes.parquet' WHERE point = 'return'"
        " ORDER BY ts_ns").fetchall()
    assert returns == [("name_of", "zero"), ("name_of", "one"), ("pair", "-2")]


def test_a_return_rows_raw_word_tells_null_from_an_unreadable_string(tmp_path: Path) -> None:
    """A ``str`` return value that cannot be read is null in ``retval`` whether the
    pointer was NULL or bad; ``args_raw`` keeps the raw word, as ``--json``'s
    ``retval_address`` does (tperf finding T1: the row had ``args_raw`` empty)."""
    from c_support import build_program as build_c

    prog = build_c(tmp_path, "ns", r"""
#include <stddef.h>
__attribute__((noinline)) const char *nm(const char *s) {
  __asm__ volatile("" ::: "memory");
  return s;
}
int main(void) {
  volatile const char *r;
  r = nm(NULL); r = nm((const char *)16); r = nm("ok");
  return 0;
}
""", "-O1", "-g")
    trace = tmp_path / "r.ktr"
    subprocess.run([*KTR, "record", "-q", "-t", "f", "-o", str(trace), "-P", f"{prog}:nm:return",
                    "--", str(prog)], check=True, capture_output=True, timeout=60)
    text = subprocess.run([*KTRDUMP, "--json", str(trace)], capture_output=True, text=True,
                          check=True, timeout=60).stdout
    expected = [r for r in map(json.loads, text.splitlines()) if r["type"] == "PROBE"]
    subprocess.run([*KTRDUMP, "--format", "parquet", "-o", str(tmp_path / "r.parquet"),
                    str(trace)], check=True, capture_output=True, timeout=60)
    rows = pq.read_table(tmp_path / "r.probes.parquet").to_pylist()
    assert [(row["retval"], row["args_raw"]) for row in rows] == [
        (record["retval"], [record["retval_address"]]) for record in expected]
    assert [row["args_raw"][0] for row in rows][:2] == [0, 16]
