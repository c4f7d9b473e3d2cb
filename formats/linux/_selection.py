"""strace's ``-e trace=SET``: which syscalls a set names, per ABI.

One parser for the recorder (``ktr record -e``: what is recorded) and for
ktrdump (``ktrdump -e``: what is shown), so both read the same syntax:
comma-separated syscall names and strace classes (``%file``, ``%net``,
``%process`` ... ``SYSCALL_CLASSES``), ``/REGEX`` (every syscall whose name
the regular expression matches anywhere, as strace's POSIX extended ``regexec``),
syscall numbers, ``all``, ``none``, a ``?`` before an item (an item that names
nothing is then no error, as strace's ``?``), and a leading ``!`` that inverts
the whole set (strace's ``-e trace=!%file``; each further ``!`` inverts again).
A name counts in every ABI that has it (``stat`` on x86_64, ``stat``/``stat64``
are separate names on i386); a number in every ABI that has a syscall of that
number (x32: with __X32_SYSCALL_BIT). A ``trace=`` prefix is optional.

Guarantees: pure; ``parse_trace_set`` either returns a ``SyscallSelection``
or raises ``TraceSetError`` (a ``LinuxTableError``, so a ``ValueError``) with
one line naming the bad item; ``selects`` never raises for any number.

Does not: know syscalls its tables do not (a recording's unknown number is
selected only by ``all`` or an inverted set), or parse strace's other ``-e``
qualifiers (``signal=``, ``status=``, ``read=`` ...): callers handle those.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._kinds import Abi
from ._lookup import SYSCALL_CLASSES, syscall_class_members, syscall_names, syscall_number
from .errors import LinuxTableError

#: The ABIs a set is resolved for (x32 shares x86_64's names).
SELECTION_ABIS: tuple[Abi, ...] = (Abi.X86_64, Abi.I386, Abi.X32)


class TraceSetError(LinuxTableError):
    """A malformed ``trace=`` set; ``str(error)`` is one line."""


@dataclass(frozen=True)
class SyscallSelection:
    """The syscalls a ``trace=`` set names, per ABI (``numbers`` None: every syscall)."""

    expression: str
    numbers: dict[Abi, frozenset[int]] | None
    #: Inverted set: numbers the tables do not know are selected too.
    inverted: bool = False

    def selects(self, abi: int, nr: int) -> bool:
        numbers = self.numbers
        if numbers is None:
            return True
        chosen = numbers.get(abi)  # type: ignore[call-overload]
        if chosen is None or nr in chosen:
            return chosen is not None
        return self.inverted and nr not in syscall_names(abi)

    @property
    def everything(self) -> bool:
        return self.numbers is None


ALL_SYSCALLS = SyscallSelection("all", None)


def parse_trace_set(expression: str, abis: tuple[Abi, ...] = SELECTION_ABIS) -> SyscallSelection:
    """``[trace=][!]ITEM[,ITEM...]``: names, %classes, /regexes, numbers, ``all``,
    ``none``, each optionally ``?ITEM``."""
    text = expression.removeprefix("trace=")
    stripped = text.lstrip("!")
    invert = (len(text) - len(stripped)) % 2 == 1
    text = stripped
    if not text.strip(" ,"):
        raise TraceSetError("-e trace= needs a set of syscalls")
    chosen: dict[Abi, set[int]] = {abi: set() for abi in abis}
    everything = False
    for given in (part.strip() for part in text.split(",")):
        item = given.lstrip("?")
        optional = item != given  # strace's ?ITEM: naming nothing is no error
        if not item or item == "none":
            continue
        if item == "all":
            everything = True
            continue
        if item.startswith("%"):
            try:
                members = {abi: syscall_class_members(abi, item) for abi in abis}
            except ValueError:
                if optional:
                    continue
                known = " ".join(sorted(SYSCALL_CLASSES))
                raise TraceSetError(f"unknown syscall class {item} (known: {known})") from None
            for abi, names in members.items():
                chosen[abi].update(_numbers(abi, names))
            continue
        if item.startswith("/"):
            found = _add_matching(chosen, abis, item[1:], expression)
        elif item.isdecimal():
            found = _add_number(chosen, abis, int(item))
        else:
            found = False
            for abi in abis:
                number = syscall_number(abi, item)
                if number is not None:
                    chosen[abi].add(number)
                    found = True
        if not found and not optional:
            # strace still takes a class without its % (deprecated); say which was meant
            hint = (f" (the class is %{item})"
                    if f"%{item}" in SYSCALL_CLASSES or item == "net" else "")
            raise TraceSetError(f"unknown syscall {item!r} in -e {expression}{hint}")
    if everything:
        return ALL_SYSCALLS if not invert else SyscallSelection(
            expression, {abi: frozenset() for abi in abis})
    if invert:
        numbers = {abi: frozenset(set(syscall_names(abi)) - chosen[abi]) for abi in abis}
    else:
        numbers = {abi: frozenset(chosen[abi]) for abi in abis}
    return SyscallSelection(expression, numbers, inverted=invert)


#: x32's syscall numbers carry this bit (a number item names x32's syscall with it).
_X32_SYSCALL_BIT = 0x40000000


def _add_matching(chosen: dict[Abi, set[int]], abis: tuple[Abi, ...], pattern: str,
                  expression: str) -> bool:
    """strace's ``/REGEX``: every syscall whose name the pattern matches anywhere."""
    try:
        regex = re.compile(pattern)
    except re.error as error:
        raise TraceSetError(
            f"bad regular expression /{pattern} in -e {expression}: {error}") from None
    found = False
    for abi in abis:
        for number, name in syscall_names(abi).items():
            if regex.search(name):
                chosen[abi].add(number)
                found = True
    return found


def _add_number(chosen: dict[Abi, set[int]], abis: tuple[Abi, ...], number: int) -> bool:
    """A syscall number: that syscall in every ABI that has one of that number."""
    found = False
    for abi in abis:
        nr = number | _X32_SYSCALL_BIT if abi == Abi.X32 else number
        if nr in syscall_names(abi):
            chosen[abi].add(nr)
            found = True
    return found


def _numbers(abi: Abi, names: frozenset[str]) -> set[int]:
    found = (syscall_number(abi, name) for name in names)
    return {number for number in found if number is not None}
