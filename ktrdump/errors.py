"""The exception tree of ``ktrdump``.

::

    KtrdumpError                every failure ktrdump reports; str() is one line
     +-- UsageError             a bad command line (exit status 2)
     +-- OutputError            standard output cannot be written (exit status 1):
     |                          closed, full disk, an I/O error (not a closed
     |                          pipe: SIGPIPE ends ktrdump quietly, as C tools)
     +-- InputError             the input cannot be read (exit status 1):
          |                     missing file, no permission, an I/O error
          +-- TraceFormatError  the input is not a readable trace: not a ktr
                                file, empty, an unknown major version, a damaged
                                file header; wraps the ``formats.FormatError``
                                and keeps its byte ``offset``

Guarantees: ``formats`` errors (``FormatError`` and subclasses) and ``OSError``
are converted into this tree at one boundary, where the reader opens and reads
its input (``ktrdump._reader``); nothing else in ktrdump raises them. Every
message names the input it concerns, so ``f"ktrdump: {error}"`` is the whole
line the command prints.

Does not: cover damaged batches. Those are not errors: the reader reports them
as ``Skipped`` notices (return values) and goes on.
"""

from __future__ import annotations

import formats


class KtrdumpError(Exception):
    """Base of every error ktrdump raises on purpose."""


class UsageError(KtrdumpError):
    """The command line asks for something ktrdump cannot do."""


class OutputError(KtrdumpError):
    """Standard output cannot be written; ``errno`` says why."""

    def __init__(self, message: str, error_number: int | None = None) -> None:
        super().__init__(message)
        self.errno = error_number


class InputError(KtrdumpError):
    """The input named ``source`` cannot be read."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")
        self.source = source
        self.message = message


class TraceFormatError(InputError):
    """The input is not a trace this reader can read; ``offset`` is where it fails."""

    def __init__(self, source: str, error: formats.FormatError) -> None:
        super().__init__(source, str(error))
        self.offset = error.offset
        self.format_error = error
