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
encoded a chunk at a time (no second copy of it whole).

Does not: format anything, or flush per record.
"""

from __future__ import annotations

import io
from typing import IO, Any

#: Characters collected before one write.
DEFAULT_CHUNK_SIZE = 1 << 18


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

    def write(self, lines: list[str]) -> None:
        """Queue ``lines`` (each ending in a newline); write if enough is pending."""
        if not lines:
            return
        if len(lines) == 1 or sum(map(len, lines)) < self._chunk_size:
            text = "".join(lines)
            self._pending.append(text)
            self._pending_size += len(text)
        else:
            # A batch holding an 8 MiB record's dump: its strings are written as they
            # are, not joined twice first (here and in flush), each a copy of them all.
            for text in lines:
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
