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
        text = "".join(lines)
        self._pending.append(text)
        self._pending_size += len(text)
        if self.interactive or self._pending_size >= self._chunk_size:
            self.flush()

    def flush(self) -> None:
        """Write everything pending and flush the stream."""
        if self._pending:
            text = "".join(self._pending)
            self._pending.clear()
            self._pending_size = 0
            if self._binary:
                self._stream.write(text.encode("utf-8", "backslashreplace"))
            else:
                self._stream.write(text)
        self._stream.flush()
