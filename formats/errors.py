"""The exception tree of ``formats``.

::

    FormatError                 every problem with a file's bytes; has .offset
     +-- NotATraceFile          wrong magic, or too short to hold a header
     +-- UnsupportedVersion     a major version this reader does not know
     +-- CorruptHeader          the file header is damaged
     +-- CorruptBatch           a batch failed its checks (crc, size, framing)
          +-- TruncatedBatch    the input ended inside a batch (a torn tail)

Guarantees: ``str(error)`` is one line that names the byte offset where the
problem was found; construct's own exceptions never escape this package.
"""

from __future__ import annotations


class FormatError(Exception):
    """The bytes are not a valid ktr trace at ``offset``."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset

    def __str__(self) -> str:
        return f"{self.message} at byte offset {self.offset}"


class NotATraceFile(FormatError):
    pass


class UnsupportedVersion(FormatError):
    def __init__(self, message: str, offset: int, major: int, minor: int) -> None:
        super().__init__(message, offset)
        self.major = major
        self.minor = minor


class CorruptHeader(FormatError):
    pass


class CorruptBatch(FormatError):
    pass


class TruncatedBatch(CorruptBatch):
    pass
