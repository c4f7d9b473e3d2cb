"""``-F`` over kernel.perf_event_max_sample_rate is capped in one line (perf record's
rule), and ring losses (ENOBUFS) are explained in one line, not just counted."""

from __future__ import annotations

import io
from types import MappingProxyType

import pytest

import ktr._perf
from formats import DropError
from ktr._control import RunResult
from ktr._descriptor import DescriptorStats
from ktr._options import parse_record_arguments
from ktr._recorder import RecordingReport, _BestEffortText, _capped_sample_rate, summary_lines


def test_the_sysctl_is_read_from_the_kernel() -> None:
    with open("/proc/sys/kernel/perf_event_max_sample_rate") as file:
        assert ktr._perf.max_sample_rate() == int(file.read())


def test_a_rate_over_the_kernels_limit_is_capped_in_one_line(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # (the sysctl is machine-wide, shared with other recorders: not lowered for a test)
    monkeypatch.setattr(ktr._perf, "max_sample_rate", lambda: 25000)
    options = parse_record_arguments(["-F", "100000", "-o", "x.ktr", "--", "true"])
    stream = io.StringIO()
    capped = _capped_sample_rate(options, _BestEffortText(stream))
    assert capped.sample_hz == 25000
    lines = stream.getvalue().splitlines()
    assert lines == [lines[0]] and "perf_event_max_sample_rate (25000)" in lines[0]
    below = parse_record_arguments(["-F", "999", "-o", "x.ktr", "--", "true"])
    assert _capped_sample_rate(below, _BestEffortText(stream)) is below


def test_ring_losses_are_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    options = parse_record_arguments(["-F", "100000", "-o", "x.ktr", "--", "true"])
    drops = {kind: 0 for kind in DropError}
    drops[DropError.ENOBUFS] = 802
    stats = DescriptorStats(1115, 1115, 0, 0, 1 << 20, 3, MappingProxyType(drops), 802,
                            False, 0, None, 0)
    result = RunResult(0, None, None, 1, 1, 0, 0, 0)
    lines = summary_lines(options, RecordingReport(0, result, stats, None))
    (why,) = [line for line in lines if "ENOBUFS)" in line and "lost" in line]
    assert "802 perf records lost" in why and "-F 100000" in why


def test_queue_drops_say_the_writer_fell_behind() -> None:
    """A full queue is counted under ktrace's ENOSPC, but no disk is full: the end line
    says what happened."""
    options = parse_record_arguments(["-o", "x.ktr", "--", "true"])
    drops = {kind: 0 for kind in DropError}
    drops[DropError.ENOSPC] = 5
    stats = DescriptorStats(100, 100, 0, 0, 1 << 20, 3, MappingProxyType(drops), 5,
                            False, 0, None, 0)
    result = RunResult(0, None, None, 1, 1, 0, 0, 0)
    lines = summary_lines(options, RecordingReport(0, result, stats, None))
    assert "; 5 dropped (ENOSPC 5: queue full, the writer fell behind); " in lines[-1]
