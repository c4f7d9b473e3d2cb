"""Output: a batch holding a huge string (an 8 MiB record's dump) is written in
pieces, not joined and encoded whole: the bytes are those of the joined text."""

from __future__ import annotations

import io

from ktrdump._output import Output


def test_huge_strings_are_written_unchanged_in_order() -> None:
    lines = ["first line\n", "é\U0001f600\udcff" * 100_000 + "\n", "x\n", "y" * 70_000 + "\n"]
    for chunk_size in (1 << 10, 1 << 18):
        stream = io.BytesIO()
        output = Output(stream, interactive=False, chunk_size=chunk_size)
        output.write(lines[:1])
        output.write(lines[1:])
        output.write(["last\n"])
        output.flush()
        assert stream.getvalue() == "".join([*lines, "last\n"]).encode("utf-8", "backslashreplace")


def test_a_text_stream_gets_the_strings() -> None:
    stream = io.StringIO()
    output = Output(stream, interactive=False, chunk_size=16)
    output.write(["a\n", "b" * 100 + "\n", "c\n"])
    output.flush()
    assert stream.getvalue() == "a\n" + "b" * 100 + "\nc\n"
