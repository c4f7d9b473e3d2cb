"""The ktrdump command: output, options, one-line errors, exit status, pipes."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import build_trace, file_header, syscall_batch

import formats
from formats import Drop, RecordKind
from ktrdump import Options
from ktrdump.cli import main

SCRIPT = Path(sys.executable).parent / "ktrdump"


@pytest.fixture
def trace(tmp_path: Path) -> Path:
    data, _ = build_trace([syscall_batch(6), syscall_batch(6, pid=77, comm=b"sh")])
    path = tmp_path / "t.ktr"
    path.write_bytes(data)
    return path


def test_text_output(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(trace)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == ('  4242 ls       CALL  '
                        'openat(AT_FDCWD,"/etc/ld.so.cache",O_RDONLY|O_CLOEXEC)')
    assert lines[1] == '  4242 ls       NAMI  "/etc/ld.so.cache"'
    assert lines[2] == "  4242 ls       RET   openat 3"
    assert lines[4:6] == ["  4242 ls       GIO   fd 3 read 12 bytes", '       "hello world']
    assert sum(1 for line in lines if line.startswith("    77 sh       ")) == 6


def test_json_output(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", str(trace)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(records) == 12
    assert [r["type"] for r in records[:6]] == ["CALL", "NAMI", "RET", "CALL", "GIO", "RET"]
    assert records[4]["data"] == b"hello world\n".hex()


def test_default_file_is_ktr_out(trace: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(trace.parent)
    assert main([]) == 1
    assert capsys.readouterr().err == "ktrdump: ktr.out: No such file or directory\n"
    trace.rename(trace.parent / "ktr.out")
    assert main(["-f", "ktr.out"]) == 0
    assert len(capsys.readouterr().out.splitlines()) > 12


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"#!/bin/sh\necho hello\n", "not a ktr trace file (bad magic) at byte offset 0"),
        (b"", "empty file, not a ktr trace at byte offset 0"),
        (file_header(major=9), f"trace format 9.{formats.FORMAT_MINOR} is not supported by "
                               "this reader (it reads 1.x) at byte offset 12"),
    ],
)
def test_bad_input_is_one_line_and_status_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    path = tmp_path / "FILE"
    path.write_bytes(content)
    assert main([str(path)]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"ktrdump: {path}: {message}\n"


def test_damaged_batch_warns_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data, offsets = build_trace([syscall_batch(3), syscall_batch(3), syscall_batch(2)])
    damaged = bytearray(data)
    damaged[offsets[1] + 30] ^= 0x10
    path = tmp_path / "d.ktr"
    path.write_bytes(bytes(damaged))
    assert main([str(path)]) == 1
    out, err = capsys.readouterr()
    # Batches 1 (CALL NAMI RET) and 3 (CALL NAMI) are printed, batch 2 is not: the
    # damage is said in-band where it is, as well as on stderr.
    message = (f"batch payload checksum mismatch at byte offset {offsets[1]}; skipped 1 batch "
               f"({offsets[2] - offsets[1]} bytes); its header, whose checksum holds, counts "
               "3 records")
    lines = out.splitlines()
    assert [line.split()[2] for line in lines] == ["CALL", "NAMI", "RET", "SKIP", "CALL", "NAMI"]
    assert lines[3] == f"     0 ktrdump  SKIP  {message}"
    assert err == f"ktrdump: {path}: {message}\n"


def test_damage_is_in_band_in_json_and_strace(tmp_path: Path) -> None:
    """Output read without stderr (``2>/dev/null | jq``) still shows the gap, where it is."""
    data, offsets = build_trace([syscall_batch(3), syscall_batch(3), syscall_batch(2)])
    damaged = bytearray(data)
    damaged[offsets[1] + 30] ^= 0x10
    path = tmp_path / "d.ktr"
    path.write_bytes(bytes(damaged))
    lost = offsets[2] - offsets[1]
    jq = subprocess.run(f"{SCRIPT} --json {path} 2>/dev/null | jq -c 'select(.type == \"SKIP\")'",
                        shell=True, capture_output=True, text=True, check=True)
    skip = json.loads(jq.stdout)
    assert (skip["offset"], skip["bytes"], skip["lost_bytes"], skip["batches"]) == (
        offsets[1], lost, lost, 1)
    assert skip["reason"] == "batch payload checksum mismatch"
    records = [json.loads(line) for line in subprocess.run(
        [SCRIPT, "--json", path], capture_output=True, text=True).stdout.splitlines()]
    types = [record["type"] for record in records]
    assert types == ["CALL", "NAMI", "RET", "SKIP", "CALL", "NAMI"]
    # In the time order: after the last record before the damage, before the next.
    assert records[2]["ts"] <= records[3]["ts"] < records[4]["ts"]
    strace = subprocess.run([SCRIPT, "--format", "strace", path], capture_output=True,
                            text=True)
    assert strace.returncode == 1
    lines = strace.stdout.splitlines()
    assert lines[1].split(None, 2)[0] == "0"
    assert lines[1].split(None, 2)[2] == (
        f"--- ktr: {lost} bytes lost at byte offset {offsets[1]} "
        "(1 batch skipped: batch payload checksum mismatch) ---")
    assert "openat" in lines[0] and "openat" in lines[2]


def test_usage_errors_are_one_line_status_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("ktrdump: unrecognized arguments: --no-such-option")
    assert err.count("\n") == 1
    assert main(["-t", "q", "x.ktr"]) == 2
    assert "unknown trace facility 'q'" in capsys.readouterr().err
    assert main(["a.ktr", "-f", "b.ktr"]) == 2
    capsys.readouterr()
    assert main(["-m", "-1", "x.ktr"]) == 2
    assert capsys.readouterr().err == (
        "ktrdump: argument -m: must be 0 or more: '-1' (see ktrdump --help)\n")
    assert main(["--help"]) == 0
    assert "ktrdump" in capsys.readouterr().out


def test_filters_keep_drop_records(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    drop = [(RecordKind.DROP, 0, 0, b"ktr", Drop(28, 0, 5))]
    data, _ = build_trace([drop + syscall_batch(6) + syscall_batch(6, pid=77, comm=b"sh")])
    path = tmp_path / "f.ktr"
    path.write_bytes(data)
    assert main(["-p", "77", str(path)]) == 0
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if not line.startswith('       "')]
    assert lines[0].endswith("DROP  ENOSPC 5 records lost (queue full, the writer fell behind)")
    assert all(line.startswith("    77 sh") for line in lines[1:]) and len(lines) == 7
    assert main(["-t", "n", str(path)]) == 0
    tags = [line.split()[2] for line in capsys.readouterr().out.splitlines()
            if not line.startswith('       "')]
    assert tags == ["DROP", "NAMI", "NAMI"]


def test_hex_dump_option(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-x", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "       0x0000 6865 6c6c 6f20 776f 726c 640a" in out


def test_installed_console_script_outside_the_source_tree(trace: Path, tmp_path: Path) -> None:
    # Run from tmp_path: the script must find ktrdump *and* formats as installed.
    result = subprocess.run([str(SCRIPT), "--json", trace.name], cwd=tmp_path,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert len(result.stdout.splitlines()) == 12
    missing = subprocess.run([str(SCRIPT), "absent.ktr"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=60, check=False)
    assert (missing.returncode, missing.stderr) == (
        1, "ktrdump: absent.ktr: No such file or directory\n")


def test_stdin_from_a_pipe(trace: Path, tmp_path: Path) -> None:
    result = subprocess.run([str(SCRIPT), "-"], input=trace.read_bytes(), cwd=tmp_path,
                            capture_output=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().splitlines()[2] == "  4242 ls       RET   openat 3"
    garbage = subprocess.run([sys.executable, "-m", "ktrdump", "-"], input=b"garbage",
                             cwd=tmp_path, capture_output=True, timeout=60, check=False)
    assert (garbage.returncode, garbage.stderr) == (
        1, b"ktrdump: <stdin>: not a ktr trace file (bad magic) at byte offset 0\n")


def test_live_pipe_prints_each_batch_as_it_arrives(tmp_path: Path) -> None:
    data, offsets = build_trace([syscall_batch(3), syscall_batch(3)])
    process = subprocess.Popen([str(SCRIPT), "-"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=tmp_path)
    assert process.stdin is not None and process.stdout is not None
    try:
        # The header and the first batch only; the "recorder" is still running.
        process.stdin.write(data[: offsets[1]])
        process.stdin.flush()
        ready, _, _ = select.select([process.stdout], [], [], 30)
        assert ready, "the first batch was not printed while the pipe stayed open"
        assert process.stdout.readline().startswith(b"  4242 ls       CALL  openat(")
        process.stdin.write(data[offsets[1] :])
    finally:
        process.stdin.close()
    rest = process.stdout.read()
    assert process.wait(timeout=60) == 0
    assert len(rest.splitlines()) == 5


def test_early_close_of_stdout_is_quiet(tmp_path: Path) -> None:
    data, _ = build_trace([syscall_batch(1000) for _ in range(6)])
    path = tmp_path / "big.ktr"
    path.write_bytes(data)
    # Like `ktrdump big.ktr | head -1`: read one line, then close the pipe.
    process = subprocess.Popen([str(SCRIPT), str(path)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, cwd=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()
    process.stdout.close()
    stderr = process.stderr.read()
    process.wait(timeout=60)
    assert first.startswith(b"  4242 ls       CALL  openat(")
    assert stderr == b""
    assert process.returncode == -signal.SIGPIPE  # killed quietly, as C tools are
    shell = subprocess.run(f"'{SCRIPT}' '{path}' | head -1", shell=True, capture_output=True,
                           cwd=tmp_path, timeout=60, check=False)
    assert shell.stderr == b""
    assert len(shell.stdout.splitlines()) == 1


def test_describes_every_kind_without_error(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    unknown = [(123, 1, 1, b"x", b"\x01\x02")]
    data, _ = build_trace([unknown + syscall_batch(2)])
    path = tmp_path / "u.ktr"
    path.write_bytes(data)
    assert main([str(path)]) == 0
    assert capsys.readouterr().out.startswith("     1 x        UNKNOWN(123) 2 bytes\n")
    assert formats.KIND_TAGS[RecordKind.NAMEI] == "NAMI"


def test_ktrdump_never_imports_the_recorder() -> None:
    code = ("import sys, ktrdump, ktrdump.cli, ktrdump._describe; "
            "print(sorted(m for m in sys.modules if m == 'ktr' or m.startswith('ktr.')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]"


def test_every_option_reaches_options() -> None:
    from ktrdump.cli import parse_options

    options = parse_options(["-d", "-n", "-s", "-x", "-y", "-H", "-R", "-T", "-E", "--durations",
                             "-m", "16", "-p", "1", "-p", "2", "-t", "cn", "-u", "app",
                             "-u", "db", "--format", "text", "-f", "t.ktr"])
    assert options == Options(
        input="t.ktr", output_format="text", hex_dump=True,
        timestamps=("absolute", "elapsed", "relative"), thread_ids=True,
        pids=frozenset({1, 2}), kinds=frozenset(int(k) for k in formats.kinds_for_facilities("cn")),
        user_labels=frozenset({b"app", b"db"}), max_data=16, suppress_data=True, decimal=True,
        raw=True, fd_paths=True, durations=True)
    assert parse_options([]) == Options()
    assert parse_options(["--json", "-"]).output_format == "json"
    assert parse_options(["-R", "x"]).timestamps == ("relative",)


def test_conflicting_formats_are_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--json", "--format", "strace", "x.ktr"]) == 2
    assert "not allowed with" in capsys.readouterr().err
    assert main(["--format", "chrome-ish", "x.ktr"]) == 2
    assert main(["-m", "-1", "x.ktr"]) == 2


def test_strace_format_and_suppressed_data(trace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "strace", str(trace)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("4242  1700000000.000000 openat(AT_FDCWD, \"/etc/ld.so.cache\", "
                               "O_RDONLY|O_CLOEXEC) = 3 <0.000001>")
    assert lines[1].startswith('4242  1700000000.000003 read(3, "hello world\\n", 64) = 12')
    assert main(["-s", str(trace)]) == 0
    out = capsys.readouterr().out
    assert "GIO   fd 3 read 12 bytes" in out and "hello world" not in out


def test_user_label_filter(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    users = [(RecordKind.USER, 5, 5, b"app", formats.User(label, b"x"))
             for label in (b"app", b"db", b"app")]
    data, _ = build_trace([users + syscall_batch(3)])
    path = tmp_path / "u.ktr"
    path.write_bytes(data)
    assert main(["-u", "app", str(path)]) == 0
    tags = [line.split()[2:4] for line in capsys.readouterr().out.splitlines()
            if not line.startswith('       "')]
    assert tags == [["USER", '"app"'], ["USER", '"app"']]


@pytest.mark.parametrize("view", [[], ["--json"], ["--format", "chrome"], ["--summary"],
                                  ["--format", "folded"]])
def test_a_module_that_cannot_symbolize_is_said_on_the_given_stderr(
        view: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every view says it on the stderr ``run`` was given (an API caller's), once."""
    import io

    from ktrdump.cli import parse_options, run

    gone = tmp_path / "gone"  # deleted while mapped: never there
    mapping = formats.Mmap(0x500000, 0x501000, 0, 5, 0x2 | formats.MmapFlag.DELETED, 1,
                           bytes.fromhex("99887766"), str(gone).encode(), b"")
    sample = formats.Sample(0x500100, 1_000_000, 1, int(formats.Abi.X86_64), 0, 0, 0, (), (),
                            b"")
    data, _ = build_trace([[(formats.RecordKind.MMAP, 7, 7, b"prog", mapping),
                            (formats.RecordKind.SAMPLE, 7, 7, b"prog", sample),
                            (formats.RecordKind.SAMPLE, 7, 7, b"prog", sample)]])
    trace = tmp_path / "t.ktr"
    trace.write_bytes(data)
    stdout = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    stderr = io.StringIO()
    run(parse_options([*view, "--no-symbol-cache", str(trace)]), stdout, stderr)
    said = [line for line in stderr.getvalue().splitlines() if str(gone) in line]
    assert said == [f"ktrdump: {gone}: no such file (it was deleted while mapped); "
                    "its frames are shown as offsets"]
    assert str(gone) not in capsys.readouterr().err


@pytest.mark.parametrize("value, shown", [
    ("-5", "-5"), ("4194305", "4194305"), ("abc", "'abc'"), ("1,abc", "'abc'")])
def test_a_bad_pid_is_a_usage_error(value: str, shown: str) -> None:
    """Worded as ``ktr record -p`` words it (but for the range: 0 is ktr's own records)."""
    done = subprocess.run([sys.executable, "-m", "ktrdump", "-p", value,
                           str(Path(__file__).parent / "vectors" / "calls.ktr")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"ktrdump: -p: {shown} is not a process id (0 to 4194304)"]
    assert done.stdout == ""
    recorded = subprocess.run([sys.executable, "-m", "ktr", "record", "-p", value, "-o",
                               "/dev/null"], capture_output=True, text=True, timeout=60)
    assert recorded.returncode == 2
    assert recorded.stderr.splitlines() == [
        f"ktr record: -p: {shown} is not a process id (1 to 4194304)"]


def test_salvage_shows_a_damaged_batch_records_marked_unverified(tmp_path: Path) -> None:
    """8 bytes corrupted inside a 60-record raw batch: by default the batch is lost
    (its header's count said); --salvage shows what still decodes, marked in-band."""
    data, offsets = build_trace([syscall_batch(3), syscall_batch(60), syscall_batch(2)])
    damaged = bytearray(data)
    middle = (offsets[1] + offsets[2]) // 2
    damaged[middle:middle + 8] = bytes(b ^ 0xFF for b in damaged[middle:middle + 8])
    path = tmp_path / "d.ktr"
    path.write_bytes(bytes(damaged))
    plain = subprocess.run([SCRIPT, "--json", path], capture_output=True, text=True)
    assert plain.returncode == 1
    records = [json.loads(line) for line in plain.stdout.splitlines()]
    assert [r["type"] for r in records].count("CALL") == 2  # batches 1 and 3 only
    [skip] = [r for r in records if r["type"] == "SKIP"]
    assert skip["records"] == 60 and "counts 60 records" in plain.stderr
    salvaged = subprocess.run([SCRIPT, "--json", "--salvage", path], capture_output=True,
                              text=True)
    assert salvaged.returncode == 1  # still damaged input
    records = [json.loads(line) for line in salvaged.stdout.splitlines()]
    types = [r["type"] for r in records]
    first, last = types.index("UNVERIFIED"), types.index("SKIP")
    unverified = records[first]
    assert unverified["offset"] == offsets[1] and unverified["records"] == 60
    assert 0 < unverified["kept"] == last - first - 1 <= 60
    assert offsets[1] < unverified["unverified_from"] < unverified["unverified_to"] <= offsets[2]
    # The records before the damage are the writer's.
    intact = tmp_path / "w.ktr"
    intact.write_bytes(data)
    whole = [json.loads(line) for line in subprocess.run(
        [SCRIPT, "--json", intact], capture_output=True, text=True, check=True
    ).stdout.splitlines()]
    assert records[first + 1:first + 20] == whole[3:22]
    assert "UNVERIFIED" in salvaged.stderr
    text = subprocess.run([SCRIPT, "--salvage", path], capture_output=True, text=True).stdout
    (unverified,) = [line for line in text.splitlines()
                     if len(line.split()) > 2 and line.split()[2] == "UNVERIFIED"]
    assert unverified.split()[3] != "UNVERIFIED:"  # the tag is said once
    strace = subprocess.run([SCRIPT, "--format", "strace", "--salvage", path],
                            capture_output=True, text=True).stdout
    assert any("--- ktr: UNVERIFIED:" in line for line in strace.splitlines())


def test_salvage_says_once_that_a_damaged_compressed_batch_has_nothing_to_salvage(
        tmp_path: Path) -> None:
    """Two damaged zstd batches: --salvage adds no records (a compressed payload cannot
    be read in part) and says why, once; without --salvage nothing is said of it."""
    data, offsets = build_trace([syscall_batch(3), syscall_batch(60), syscall_batch(60),
                                 syscall_batch(2)], compress=True)
    damaged = bytearray(data)
    for first, after in ((offsets[1], offsets[2]), (offsets[2], offsets[3])):
        middle = (first + after) // 2
        damaged[middle:middle + 8] = bytes(b ^ 0xFF for b in damaged[middle:middle + 8])
    path = tmp_path / "z.ktr"
    path.write_bytes(bytes(damaged))
    says = "--salvage cannot recover the records of a damaged compressed batch"
    salvaged = subprocess.run([SCRIPT, "--salvage", path], capture_output=True, text=True)
    assert salvaged.returncode == 1
    assert salvaged.stderr.count(says) == 1, salvaged.stderr
    assert salvaged.stdout.count(says) == 1  # in-band too, where the batch was
    assert "UNVERIFIED" not in salvaged.stdout
    plain = subprocess.run([SCRIPT, path], capture_output=True, text=True)
    assert says not in plain.stderr + plain.stdout


def test_counts_of_one_are_singular() -> None:
    from ktrdump._profile import Profile, profile_lines
    from ktrdump._reader import Skipped
    from ktrdump._text import plural

    assert [plural(1, "record"), plural(2, "record"), plural(2, "batch")] == [
        "1 record", "2 records", "2 batches"]
    one = Skipped(100, 1, 50, "batch payload checksum mismatch", records=1).describe()
    assert one.endswith("skipped 1 batch (50 bytes); its header, whose checksum holds, "
                        "counts 1 record")
    profile = Profile()
    profile.samples = 1
    profile.threads = {7}
    profile.self_counts["f"] = profile.total_counts["f"] = 1
    assert profile_lines(profile)[0] == "\nProfile: 1 sample, 1 thread\n"
