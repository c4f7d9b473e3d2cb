"""Option edges an strace user meets: ``-e`` qualifiers, and ``--pin=-1``.

``-e status=failed`` said "unknown syscall 'status=failed'" while ``-e signal=none``
said "-e signal= is not supported (only trace=)": every strace qualifier but trace=
gets the second line now, and strace's ``t=`` abbreviation means trace=. ``--pin=-1``
was taken for a bare ``--pin`` (argparse's const), while ``--pin=-5`` was refused.
Oracles: strace's own reading of ``-e t=write`` (the calls it prints), and the line
``--pin=-5`` gets.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ktr._options import parse_record_arguments
from ktr.errors import UsageError

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]


@pytest.mark.parametrize("qualifier", ["signal", "status", "quiet", "decode-fds", "x"])
def test_strace_qualifiers_other_than_trace_are_refused_in_one_line(qualifier: str) -> None:
    with pytest.raises(UsageError) as caught:
        parse_record_arguments(["-e", f"{qualifier}=1", "--", "true"])
    assert str(caught.value) == f"ktr record: -e {qualifier}= is not supported (only trace=)"


def test_t_is_trace(tmp_path: Path) -> None:
    assert (parse_record_arguments(["-e", "t=write,%file", "--", "true"]).syscalls
            == parse_record_arguments(["-e", "trace=write,%file", "--", "true"]).syscalls)
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("no strace")
    oracle = subprocess.run([strace, "-qq", "-e", "t=write", "-o", str(tmp_path / "s"),
                             "echo", "hi"], capture_output=True, check=True)
    assert oracle.stdout == b"hi\n"
    out = tmp_path / "t.ktr"
    subprocess.run([*KTR, "record", "-q", "-e", "t=write", "-o", str(out), "--", "echo", "hi"],
                   capture_output=True, check=True)
    dump = subprocess.run([*KTRDUMP, "--format", "strace", str(out)], capture_output=True,
                          text=True, check=True)
    ours = [match.group(1) for line in dump.stdout.splitlines()
            if (match := re.match(r"\d+ +[\d.]+ (\w+)\(", line))]
    theirs = [line.split("(")[0] for line in (tmp_path / "s").read_text().splitlines()]
    assert ours == theirs == ["write"]


def test_pin_minus_one_is_a_cpu_number() -> None:
    messages = []
    for cpu in ("-1", "-5"):
        with pytest.raises(UsageError) as caught:
            parse_record_arguments([f"--pin={cpu}", "--", "true"])
        messages.append(str(caught.value))
    assert messages == [f"ktr record: --pin: CPU {cpu} is not available to ktr"
                        for cpu in ("-1", "-5")]
    assert (parse_record_arguments(["--pin", "--", "true"]).pin_cpu
            == min(os.sched_getaffinity(0)))
