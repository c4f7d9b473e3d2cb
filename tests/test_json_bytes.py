"""Bytes in JSON and parquet: one encoding, strict JSON, a path that opens as it is.

The oracle is the file system: a path read back from ``--json`` (or its
``path_hex``) must open the very file ``cat`` opened while recorded.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from ktrdump_support import build_trace

import formats
from ktrdump._text import json_bytes, json_bytes_list, json_safe

BIN = Path(sys.executable).parent
#: A JSON escape of a UTF-16 surrogate: lone ones are invalid for strict parsers.
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _strict(line: str) -> dict[str, object]:
    assert SURROGATE_ESCAPE.search(line) is None, line
    value = json.loads(line)
    json.dumps(value, ensure_ascii=False).encode("utf-8")  # raises on a lone surrogate
    return value  # type: ignore[no-any-return]


def test_recorded_paths_and_argv_open_as_they_are(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    names = [b"back\\slash", b"bad\xff\xfename", b'quote"d']
    for index, name in enumerate(names):
        Path(os.fsdecode(name)).write_bytes(b"content %d\n" % index)
    trace = tmp_path / "t.ktr"
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--", "cat",
                    *(os.fsdecode(name) for name in names)], check=True, capture_output=True)
    out = subprocess.run([BIN / "ktrdump", "--json", trace], capture_output=True,
                         text=True, check=True).stdout
    records = [_strict(line) for line in out.splitlines()]
    by_path: dict[bytes, dict[str, object]] = {}
    for record in records:
        if record["type"] == "NAMI":
            exact = record.get("path_hex")
            raw = bytes.fromhex(exact) if isinstance(exact, str) else str(
                record["path"]).encode("utf-8")
            by_path[raw] = record
    for index, name in enumerate(names):
        record = by_path[name]
        if name.decode("utf-8", "replace").encode("utf-8") == name:  # valid UTF-8
            assert "path_hex" not in record
            with open(str(record["path"]), "rb") as opened:  # as it is: no unescaping
                assert opened.read() == b"content %d\n" % index
        else:
            assert record["path"] == "bad\ufffd\ufffdname"
            with open(bytes.fromhex(str(record["path_hex"])), "rb") as opened:
                assert opened.read() == b"content %d\n" % index
    argv = next(r for r in records if r["type"] == "ARG")
    assert argv["argv"] == ["cat", "back\\slash", "bad\ufffd\ufffdname", 'quote"d']
    assert argv["argv_hex"] == [None, None, names[1].hex(), None]
    begin = next(r for r in records if r["type"] == "BEGIN")
    options = begin["options"]
    assert isinstance(options, dict)
    assert options["command"] == argv["argv"]
    assert options["command_hex"] == argv["argv_hex"]
    # jq, a strict parser, reads every line and gets the same path.
    jq = subprocess.run(["jq", "-r", 'select(.type == "NAMI") | .path'], input=out,
                        capture_output=True, text=True, check=True)
    assert "back\\slash" in jq.stdout.splitlines()


def test_encoders() -> None:
    assert json_bytes("path", b"a\\b") == '"path":"a\\\\b"'
    assert json_bytes("path", b"a\xffb") == '"path":"a\ufffdb","path_hex":"61ff62"'
    assert json_bytes_list("argv", [b"x", b"\xc3"]) == (
        '"argv":["x","\ufffd"],"argv_hex":[null,"c3"]')
    assert json_bytes_list("argv", [b"x"]) == '"argv":["x"]'
    assert json_safe({"command": ["ok", "bad\udcff"], "n": 1, "s": "\udcfe"}) == {
        "command": ["ok", "bad\ufffd"], "command_hex": [None, "626164ff"], "n": 1,
        "s": "\ufffd", "s_hex": "fe"}


def test_parquet_paths_are_text_and_exact_bytes(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.chdir(tmp_path)
    name = b"bad\xff\\name"
    Path(os.fsdecode(name)).write_bytes(b"x")
    trace = tmp_path / "t.ktr"
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--", "cat", os.fsdecode(name)],
                   check=True, capture_output=True)
    subprocess.run([BIN / "ktrdump", "--format", "parquet", "-o", tmp_path / "p", trace],
                   check=True, capture_output=True)
    table = pq.read_table(tmp_path / "p", columns=["paths", "paths_bytes"]).to_pylist()
    row = next(r for r in table if name in (r["paths_bytes"] or []))
    assert row["paths"] == ["bad\ufffd\\name"]  # a backslash stays single; no \xff escape
    with open(row["paths_bytes"][0], "rb") as opened:
        assert opened.read() == b"x"


def test_quotes_inside_quoted_strings_are_escaped(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Text: ``"`` inside a quoted string is ``\\"`` (NAMI, ARG); strace's format
    quotes as strace itself does (the oracle: strace on the same command)."""
    monkeypatch.chdir(tmp_path)
    name = b'x"y\xff\\z'
    Path(os.fsdecode(name)).write_bytes(b"x")
    trace = tmp_path / "t.ktr"
    command = ["cat", os.fsdecode(name)]
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--", *command],
                   check=True, capture_output=True)
    text = subprocess.run([BIN / "ktrdump", trace], capture_output=True, text=True,
                          check=True).stdout
    assert any(line.endswith('NAMI  "x\\"y\\xff\\\\z"') for line in text.splitlines())
    assert any(line.endswith('ARG   [1] "x\\"y\\xff\\\\z"') for line in text.splitlines())
    ours = subprocess.run([BIN / "ktrdump", "--format", "strace", trace], capture_output=True,
                          text=True, check=True).stdout
    theirs = subprocess.run(["strace", "-e", "trace=openat", "-o", "/dev/stdout", *command],
                            capture_output=True, text=True).stdout
    opened = [line for line in theirs.splitlines() if "openat(AT_FDCWD, \"x" in line]
    assert opened, theirs
    quoted = opened[0].split(", ")[1]
    assert quoted == '"x\\"y\\377\\\\z"'
    assert any(f"openat(AT_FDCWD, {quoted}, O_RDONLY)" in line for line in ours.splitlines())


def test_json_fd_path_and_args_decoded_carry_the_real_string(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``fd_path`` and the strings of ``args_decoded`` are the path itself (U+FFFD
    for an invalid byte, ``fd_path_hex`` the exact bytes), not the text view's
    escapes; the text view's ``-y`` keeps a control character escaped (one line)."""
    monkeypatch.chdir(tmp_path)
    name = b"a\\b\x01c\xffd"
    Path(os.fsdecode(name)).write_bytes(b"content\n")
    trace = tmp_path / "t.ktr"
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--", "cat",
                    os.fsdecode(name)], check=True, capture_output=True)
    out = subprocess.run([BIN / "ktrdump", "--json", "-y", trace], capture_output=True,
                         text=True, check=True).stdout
    records = [_strict(line) for line in out.splitlines()]
    real = name.decode("utf-8", "replace")
    opened = next(r for r in records if r["type"] == "CALL" and r["syscall"] == "openat"
                  and r["args_decoded"][1] == f'"{real}"')  # type: ignore[index]
    ret = next(r for r in records if r["type"] == "RET" and r.get("call") == opened["call"])
    # -y names the file as the kernel does (strace -y): the absolute path
    full = os.fsencode(tmp_path) + b"/" + name
    real = full.decode("utf-8", "replace")
    assert (ret["fd_path"], ret["fd_path_hex"]) == (real, full.hex())
    with open(bytes.fromhex(str(ret["fd_path_hex"])), "rb") as exact:
        assert exact.read() == b"content\n"
    reads = [r for r in records if r["type"] in ("CALL", "GIO") and r.get("fd_path") == real]
    assert reads and all(r["fd_path_hex"] == full.hex() for r in reads)
    text = subprocess.run([BIN / "ktrdump", "-y", trace], capture_output=True, check=True
                          ).stdout
    assert b"\x01" not in text and b"/a\\\\b\\x01c\\xffd>" in text
    # The Python API: fd_path as os decodes file names, so it opens as it is.
    import ktrdump

    described = [item.fd_path for item in ktrdump.calls(str(trace), fd_paths=True)
                 if isinstance(item, ktrdump.Call) and item.fd_path is not None
                 and os.fsencode(item.fd_path) == full]
    assert described
    with open(described[0], "rb") as exact:
        assert exact.read() == b"content\n"


def test_parquet_text_columns_have_exact_bytes_beside_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """comm and fd_path (calls), comm (signals, processes), as paths: the text with
    U+FFFD, and KEY_bytes the exact bytes (the oracle: the file system, the name the
    kernel gave the process)."""
    pq = pytest.importorskip("pyarrow.parquet")
    monkeypatch.chdir(tmp_path)
    program = b"c\xffat"
    os.symlink("/bin/cat", os.fsdecode(program))
    name = b"in\xfe"
    Path(os.fsdecode(name)).write_bytes(b"x")
    trace = tmp_path / "t.ktr"
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--",
                    f"./{os.fsdecode(program)}", os.fsdecode(name)],
                   check=True, capture_output=True)
    subprocess.run([BIN / "ktrdump", "--format", "parquet", "-o", tmp_path / "p", trace],
                   check=True, capture_output=True)
    calls = pq.read_table(tmp_path / "p").drop_columns(["start"]).to_pylist()
    full = os.fsencode(tmp_path) + b"/" + name  # as the kernel names it (strace -y)
    read = next(r for r in calls if r["syscall"] == "read" and r["fd_path_bytes"] == full)
    assert read["fd_path"] == full.decode("utf-8", "replace")
    with open(read["fd_path_bytes"], "rb") as exact:
        assert exact.read() == b"x"
    assert (read["comm"], read["comm_bytes"]) == ("c\ufffdat", program)
    assert all(r["comm_bytes"].decode("utf-8", "replace") == r["comm"] for r in calls)
    processes = pq.read_table(tmp_path / "p.processes.parquet").to_pylist()
    exits = [r for r in processes if r["event"] == "exit"]
    assert exits and (exits[-1]["comm"], exits[-1]["comm_bytes"]) == ("c\ufffdat", program)


def test_the_recorder_writes_no_lone_surrogate_and_old_files_still_read(
        tmp_path: Path) -> None:
    """An argument that is not UTF-8: the file header and BEGIN options hold U+FFFD
    text and ``command_hex`` (strict JSON: ``json.loads`` of the raw bytes, decoded
    strictly, and no ``\\udcXX`` escape); a file an older recorder wrote
    (``surrogateescape``) still reads the same in every key and in the text view."""
    trace = tmp_path / "t.ktr"
    argument = b"a\xffb"
    subprocess.run([BIN / "ktr", "record", "-q", "-o", trace, "--", "/bin/echo",
                    os.fsdecode(argument)], check=True, capture_output=True)
    data = trace.read_bytes()
    assert SURROGATE_ESCAPE.search(data.decode("ascii", "replace")) is None
    header, _ = formats.parse_file_header(data)
    assert header.options["command"] == ["/bin/echo", "a\ufffdb"]
    assert header.options["command_hex"] == [None, argument.hex()]
    new = subprocess.run([BIN / "ktrdump", "--json", trace], capture_output=True, text=True,
                         check=True).stdout
    begin = _strict(new.splitlines()[0])
    assert begin["options"]["command_hex"] == [None, argument.hex()]  # type: ignore[index]
    text = subprocess.run([BIN / "ktrdump", trace], capture_output=True, text=True,
                          check=True).stdout
    assert text.splitlines()[0].endswith('command "/bin/echo" "a\\xffb"')
    # An older recorder's BEGIN: the same argument as surrogateescape in its JSON.
    old_options = json.dumps({"command": ["/bin/echo", os.fsdecode(argument)]}).encode()
    assert b"\\udcff" in old_options
    old, _ = build_trace([[(formats.RecordKind.BEGIN, 0, 0, b"ktr",
                            formats.Begin(1, 0, 1, 2, b"v", old_options))]])
    path = tmp_path / "old.ktr"
    path.write_bytes(old)
    # (status 1: a BEGIN promises an END, which this one-record file lacks)
    read = _strict(subprocess.run([BIN / "ktrdump", "--json", path], capture_output=True,
                                  text=True).stdout.splitlines()[0])
    assert read["options"] == {"command": ["/bin/echo", "a\ufffdb"],
                               "command_hex": [None, argument.hex()]}
    old_text = subprocess.run([BIN / "ktrdump", path], capture_output=True,
                              text=True).stdout
    assert old_text.splitlines()[0].endswith('command "/bin/echo" "a\\xffb"')


def test_chrome_metadata_command_as_json_lines_has_it(tmp_path: Path) -> None:
    """otherData's ``command``: U+FFFD text and ``command_hex``, from a header written
    now or by an older recorder (surrogateescape), never a lone surrogate."""
    argument = "a\udcffb"  # os.fsdecode(b"a\xffb")
    for name, options in (("new", formats.json_safe({"command": ["echo", argument]})),
                          ("old", {"command": ["echo", argument]})):
        assert isinstance(options, dict)
        path = tmp_path / f"{name}.ktr"
        path.write_bytes(formats.encode_file_header(formats.FileHeader(
            "h", "k", "m", 1, 2, "v", options)))
        out = subprocess.run([BIN / "ktrdump", "--format", "chrome", path],
                             capture_output=True, text=True).stdout
        assert SURROGATE_ESCAPE.search(out) is None
        other = json.loads(out)["otherData"]
        assert (other["command"], other["command_hex"]) == (["echo", "a\ufffdb"],
                                                            [None, "61ff62"]), name
