"""The exception tree of ``formats.linux``.

::

    LinuxTableError (ValueError)    a question the Linux tables cannot answer
     +-- UnknownSyscallClass        a syscall class name that is not one of SYSCALL_CLASSES

Lookups of numbers and names never raise: an unknown number, name or ABI
answers None (or an empty set). Only a malformed question raises.
"""

from __future__ import annotations


class LinuxTableError(ValueError):
    pass


class UnknownSyscallClass(LinuxTableError):
    """``str(error)`` is one line naming the class and the known ones."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown syscall class {name!r} (known: {', '.join(known)})")
        self.name = name
