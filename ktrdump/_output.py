"""Output: write described lines to a stream in large pieces.

``Output`` collects the strings ``_describe`` returns and writes them joined
and encoded (UTF-8) once at least ``chunk_size`` characters are pending, so a
million records cost a few hundred writes, not a million.

Guarantees: lines are written in the order given, unchanged; nothing is left
pending after ``flush``; an interactive output (a terminal) is flushed after
every ``write`` so a live trace shows up as it arrives; a binary stream gets
UTF-8 bytes, a text stream gets strings (for callers that pass
``io.StringIO`` or a text file). ``BrokenPipeError`` propagates (the CLI
decides what a closed pipe means).

A string of a batch longer than the chunk size is written as it is (no join), and
encoded a chunk at a time (no second copy of it whole). A ``StreamedText`` (a large
record's dump) is made a piece at a time as it is written: it is never held whole.

Does not: format anything, or flush per record.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

#: Characters collected before one write.
DEFAULT_CHUNK_SIZE = 1 << 18


class StreamedText:
    """One record's text made a piece at a time by ``pieces`` (a large I/O dump, four
    times its data's size and more): ``Output`` writes each piece as it comes, so
    the text is never held whole. ``len`` is a lower bound of the text's length
    (the data's size); ``str`` makes it whole, for a caller that wants it so."""

    __slots__ = ("_pieces", "_size")

    def __init__(self, pieces: Callable[[], Iterator[str]], size: int) -> None:
        self._pieces = pieces
        self._size = size

    def __len__(self) -> int:
        return self._size

    def __iter__(self) -> Iterator[str]:
        return self._pieces()

    def __str__(self) -> str:
        return "".join(self._pieces())


class Output:
    def __init__(
        self,
        stream: IO[Any],
        *,
        interactive: bool | None = None,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self._stream = stream
        self._binary = not isinstance(stream, io.TextIOBase)
        if interactive is None:
            try:
                interactive = stream.isatty()
            except (AttributeError, ValueError, OSError):
                interactive = False
        self.interactive = bool(interactive)
        self._chunk_size = chunk_size
        self._pending: list[str] = []
        self._pending_size = 0
        # Lines of records written (not of notices): ``dump`` counts them, to say
        # when the filters left nothing.
        self.records_written = 0

    def write(self, lines: Sequence[str | StreamedText]) -> None:
        """Queue ``lines`` (each ending in a newline); write if enough is pending."""
        if not lines:
            return
        try:
            if sum(map(len, lines)) < self._chunk_size:
                text = "".join(lines)  # type: ignore[arg-type]  # (a StreamedText: below)
                self._pending.append(text)
                self._pending_size += len(text)
                if self.interactive or self._pending_size >= self._chunk_size:
                    self.flush()
                return
        except TypeError:  # a StreamedText shorter than the chunk size (a larger one)
            pass
        # A batch holding an 8 MiB record's dump: its strings are written as they
        # are, not joined twice first (here and in flush), each a copy of them all;
        # a StreamedText a piece at a time.
        for line in lines:
            for text in (line,) if type(line) is str else line:
                self._pending.append(text)
                self._pending_size += len(text)
                if self._pending_size >= self._chunk_size:
                    self._write_pending()
        if self.interactive or self._pending_size >= self._chunk_size:
            self.flush()

    def _write_pending(self) -> None:
        pending = self._pending
        text = pending[0] if len(pending) == 1 else "".join(pending)
        pending.clear()
        self._pending_size = 0
        if not self._binary:
            self._stream.write(text)
            return
        step = self._chunk_size
        if len(text) <= 2 * step:
            self._stream.write(text.encode("utf-8", "backslashreplace"))
            return
        # A huge string (a large record's dump) encoded a piece at a time: not a
        # second copy of it all. Code points are whole in each piece (str slices).
        for start in range(0, len(text), step):
            self._stream.write(text[start : start + step].encode("utf-8", "backslashreplace"))

    def flush(self) -> None:
        """Write everything pending and flush the stream."""
        if self._pending:
            self._write_pending()
        self._stream.flush()
