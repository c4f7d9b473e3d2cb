"""Generate the Linux name tables of ``formats.linux`` from their published sources.

Run from the repository root::

    python -m formats.linux.generate_tables \\
        --linux-src /path/to/linux-6.18 --strace-src /path/to/strace \\
        --strace-version v7.2 --glibc-errlist /path/to/glibc/sysdeps/gnu/errlist.h \\
        --glibc-version 2.42.9000 [--output-dir formats/linux] [--check]

Inputs (none of them is committed to this repository; fetch them, point the
script at them):

- ``--linux-src``: a Linux source tree (only these files are read):
  ``Makefile`` (the version), ``arch/x86/entry/syscalls/syscall_64.tbl`` and
  ``syscall_32.tbl`` (numbers and names), ``include/uapi/asm-generic/errno-base.h``,
  ``include/uapi/asm-generic/errno.h`` and ``include/linux/errno.h`` (errno
  numbers, the kernel's own comments as fallback messages),
  ``arch/x86/include/uapi/asm/signal.h`` and ``arch/x86/include/asm/signal.h``
  (signal numbers, ``_NSIG``).
- ``--strace-src``: a strace source tree; ``src/linux/{x86_64,i386,x32}/syscallent.h``
  and what they include give each syscall's trace classes (the TF/TP/TN/...
  flags). Only the class membership is taken, joined to the kernel's tables by
  number; strace's names and pseudo numbers (socketcall/ipc subcalls) are not.
- ``--glibc-errlist`` (optional): glibc's ``sysdeps/gnu/errlist.h``, whose
  messages are the ``strerror`` texts users know. Without it the kernel's header
  comments are used.

Outputs (in ``--output-dir``): ``_syscalls_x86_64.py``, ``_syscalls_i386.py``,
``_syscalls_x32.py``, ``_errno.py``, ``_signals.py``. The output is a pure
function of the inputs and the version labels: sorted, no timestamps, so
re-running on the same inputs gives the same bytes. ``--check`` compares instead
of writing and exits 1 if a file would change.

This script is a development tool: nothing in ``formats`` imports it, and it
uses only the standard library.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

#: Set in the syscall number by x32 processes (arch/x86/include/uapi/asm/unistd.h).
X32_SYSCALL_BIT = 0x40000000

#: strace's trace-class flag macros and the ``-e trace=`` class each one selects.
STRACE_CLASS_FLAGS: dict[str, str] = {
    "TF": "%file",
    "TI": "%ipc",
    "TN": "%network",
    "TP": "%process",
    "TS": "%signal",
    "TD": "%desc",
    "TM": "%memory",
    "TST": "%stat",
    "TLST": "%lstat",
    "TFST": "%fstat",
    "TSTA": "%%stat",
    "TSF": "%statfs",
    "TFSF": "%fstatfs",
    "TSFA": "%%statfs",
    "PU": "%pure",
    "TC": "%creds",
    "TCL": "%clock",
}

#: strace flags that are not classes (never-fails, arg count, ...): accepted, ignored.
STRACE_OTHER_FLAGS = frozenset({"0", "NF", "MA", "SI", "SE", "CST", "TSD", "CC", "IS"})

#: Messages for the kernel-internal restart codes, which glibc does not know and
#: the kernel leaves uncommented (or commented tersely). They are what a tracer
#: sees at syscall exit when a signal interrupted the call.
KERNEL_INTERNAL_MESSAGES: dict[str, str] = {
    "ERESTARTSYS": "Interrupted by a signal; restarted if the handler has SA_RESTART",
    "ERESTARTNOINTR": "Interrupted by a signal; always restarted",
    "ERESTARTNOHAND": "Interrupted by a signal; restarted if no handler runs",
    "ENOIOCTLCMD": "No ioctl command",
    "ERESTART_RESTARTBLOCK": "Interrupted by a signal; resumed by restart_syscall",
}

#: Aliases glibc's <bits/errno.h> adds on Linux that the kernel headers lack.
LIBC_ERRNO_ALIASES: dict[str, str] = {"ENOTSUP": "EOPNOTSUPP"}


class GeneratorError(Exception):
    """An input could not be understood; the message names the file and line."""


# --------------------------------------------------------------------------- kernel .tbl


class TableEntry(NamedTuple):
    """One line of a kernel ``syscall_*.tbl``."""

    number: int
    abi: str
    name: str
    entry_point: str | None


def parse_syscall_tbl(text: str, source: str = "<tbl>") -> list[TableEntry]:
    """Parse ``<number> <abi> <name> [<entry point> [<compat entry point>]]`` lines."""
    entries: list[TableEntry] = []
    for line_number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        fields = line.split()
        if len(fields) < 3 or not fields[0].isdigit():
            raise GeneratorError(f"{source}:{line_number}: not a syscall table line: {raw!r}")
        entry_point = fields[3] if len(fields) > 3 else None
        entries.append(TableEntry(int(fields[0]), fields[1], fields[2], entry_point))
    return entries


@dataclass(frozen=True)
class AbiTable:
    """The syscalls of one ABI: number -> name, and which are not implemented.

    Not implemented: listed with no entry point, or with ``sys_ni_syscall``
    (the native one for i386; the kernel answers ENOSYS to both).
    """

    names: dict[int, str]
    unimplemented: frozenset[int]


def select_abi(
    entries: Iterable[TableEntry], abis: frozenset[str], number_bit: int = 0
) -> AbiTable:
    """Keep the entries of ``abis``; a number or name seen twice is an error."""
    names: dict[int, str] = {}
    seen_names: set[str] = set()
    unimplemented: set[int] = set()
    for entry in entries:
        if entry.abi not in abis:
            continue
        number = entry.number | number_bit
        if number in names or entry.name in seen_names:
            raise GeneratorError(f"duplicate syscall {entry.number} {entry.name!r}")
        names[number] = entry.name
        seen_names.add(entry.name)
        if entry.entry_point in (None, "sys_ni_syscall"):
            unimplemented.add(number)
    return AbiTable(dict(sorted(names.items())), frozenset(unimplemented))


# --------------------------------------------------------------------------- strace classes

_STRACE_ENTRY = re.compile(
    r"^\[\s*(?P<index>[^\]]+?)\s*\]\s*=\s*\{\s*(?P<body>.*)\}\s*,?\s*(?:/\*.*\*/)?\s*$"
)
_STRACE_BODY = re.compile(
    r"^(?P<nargs>\w+)\s*,\s*(?P<flags>[\w|\s]+?)\s*,\s*SEN\(\w+\)\s*,\s*\"(?P<name>[^\"]+)\"\s*$"
)
_STRACE_INCLUDE = re.compile(r'^#\s*include\s+"(?P<path>[^"]+)"')
_STRACE_SYMBOLIC_BASE = re.compile(r"^SYS_\w+_subcall\s*\+\s*\d+$")


class StraceEntry(NamedTuple):
    number: int
    name: str
    classes: frozenset[str]


def parse_strace_syscallent(
    text: str, source: str, include: Callable[[str, str], tuple[str, str]] | None = None
) -> list[StraceEntry]:
    """Parse a strace ``syscallent.h``; ``include(name, from_source)`` returns (text, source).

    Index forms understood: ``N`` and ``BASE_NR + N`` (BASE_NR is 0 for the
    tables used here); an empty entry ``{ }`` is an unused slot. Pseudo
    numbers (``SYS_socket_subcall + N``) are strace's own and are skipped.
    """
    entries: list[StraceEntry] = []
    in_comment = False
    for line_number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_comment:
            if "*/" in line:
                in_comment = False
            continue
        if line.startswith("/*") and "*/" not in line:
            in_comment = True
            continue
        included = _STRACE_INCLUDE.match(line)
        if included:
            if include is None:
                raise GeneratorError(f"{source}:{line_number}: #include with no resolver")
            sub_text, sub_source = include(included.group("path"), source)
            entries.extend(parse_strace_syscallent(sub_text, sub_source, include))
            continue
        if not line.startswith("["):
            continue
        match = _STRACE_ENTRY.match(line)
        if match is None:
            raise GeneratorError(f"{source}:{line_number}: unrecognised entry {raw!r}")
        index = match.group("index")
        body = match.group("body").strip()
        if not body:
            continue  # an unused slot or reserved range: no syscall
        if _STRACE_SYMBOLIC_BASE.match(index):
            continue
        index_match = re.fullmatch(r"(?:BASE_NR\s*\+\s*)?(\d+)", index)
        if index_match is None:
            raise GeneratorError(f"{source}:{line_number}: unrecognised index {index!r}")
        body_match = _STRACE_BODY.match(body)
        if body_match is None:
            raise GeneratorError(f"{source}:{line_number}: unrecognised entry body {body!r}")
        classes: set[str] = set()
        for flag in (f.strip() for f in body_match.group("flags").split("|")):
            if flag in STRACE_CLASS_FLAGS:
                classes.add(STRACE_CLASS_FLAGS[flag])
            elif flag not in STRACE_OTHER_FLAGS:
                raise GeneratorError(f"{source}:{line_number}: unknown strace flag {flag!r}")
        entries.append(
            StraceEntry(int(index_match.group(1)), body_match.group("name"), frozenset(classes))
        )
    return entries


def strace_file_loader(strace_src: Path) -> Callable[[str, str], tuple[str, str]]:
    """Resolve strace's includes the way its build does: beside the file, then linux/generic."""
    linux_dir = strace_src / "src" / "linux"

    def load(name: str, from_source: str) -> tuple[str, str]:
        for directory in (Path(from_source).parent, linux_dir / "generic"):
            candidate = (directory / name).resolve()
            if candidate.is_file():
                return candidate.read_text(encoding="utf-8"), str(candidate)
        raise GeneratorError(f"{from_source}: cannot find included {name!r}")

    return load


def class_members(
    table: AbiTable, strace_entries: Sequence[StraceEntry], number_bit: int = 0
) -> tuple[dict[str, frozenset[str]], list[str]]:
    """Join strace's class flags to the kernel's names by syscall number.

    Returns (class -> names, notes). A note is written for each number whose
    strace name differs from the kernel's (the kernel's name is used) and for
    each strace entry with no kernel syscall at that number (skipped).
    """
    members: dict[str, set[str]] = {cls: set() for cls in STRACE_CLASS_FLAGS.values()}
    notes: list[str] = []
    seen: set[int] = set()
    for entry in strace_entries:
        number = entry.number | number_bit
        if number in seen:
            raise GeneratorError(f"strace lists syscall {entry.number} twice")
        seen.add(number)
        kernel_name = table.names.get(number)
        if kernel_name is None:
            notes.append(f"strace {entry.number} {entry.name!r}: no such kernel syscall, skipped")
            continue
        if kernel_name != entry.name:
            notes.append(f"strace {entry.number} {entry.name!r} is kernel {kernel_name!r}")
        for cls in entry.classes:
            members[cls].add(kernel_name)
    return {cls: frozenset(names) for cls, names in members.items()}, notes


# --------------------------------------------------------------------------- errno, signals

_DEFINE = re.compile(
    r"^#\s*define\s+(?P<name>\w+)\s+(?P<value>\w+)\s*(?:/\*\s*(?P<comment>.*?)\s*\*/)?"
)


def _strip_block_comments(text: str) -> str:
    """Remove multi-line ``/* */`` comments, keeping same-line trailing ones."""
    out: list[str] = []
    in_comment = False
    for line in text.splitlines():
        stripped = line.strip()
        if in_comment:
            if "*/" in stripped:
                in_comment = False
            continue
        if stripped.startswith("/*") and "*/" not in stripped:
            in_comment = True
            continue
        if stripped.startswith("/*") and stripped.endswith("*/"):
            continue
        out.append(line)
    return "\n".join(out)


class Define(NamedTuple):
    name: str
    value: str
    comment: str | None


def parse_defines(text: str, prefix: str) -> list[Define]:
    """``#define`` lines whose name starts with ``prefix``, in file order."""
    defines: list[Define] = []
    for line in _strip_block_comments(text).splitlines():
        match = _DEFINE.match(line.strip())
        if match and match.group("name").startswith(prefix):
            defines.append(Define(*match.group("name", "value", "comment")))
    return defines


@dataclass(frozen=True)
class ErrnoTable:
    names: dict[int, str]
    messages: dict[int, str]
    aliases: dict[str, int]


_GLIBC_MESSAGE = re.compile(
    r'^_S\s*\(\s*(?P<name>\w+)\s*,\s*N_\s*\(\s*"(?P<message>[^"]*)"\s*\)\s*\)'
)


def parse_glibc_errlist(text: str) -> dict[str, str]:
    """Name -> message from glibc's ``errlist.h`` (``_S(ENAME, N_("message"))``)."""
    messages: dict[str, str] = {}
    for line in text.splitlines():
        match = _GLIBC_MESSAGE.match(line.strip())
        if match and match.group("name") not in messages:
            messages[match.group("name")] = match.group("message")
    return messages


def build_errno(header_texts: Sequence[str], glibc_messages: Mapping[str, str]) -> ErrnoTable:
    """Number -> canonical name and message; later names for a number are aliases."""
    numbers: dict[str, int] = {}
    names: dict[int, str] = {}
    comments: dict[int, str] = {}
    aliases: dict[str, int] = {}
    for text in header_texts:
        for define in parse_defines(text, "E"):
            if define.value.isdigit():
                number = int(define.value)
            elif define.value in numbers:
                number = numbers[define.value]
            else:
                raise GeneratorError(f"errno {define.name} = {define.value!r}: unknown value")
            numbers[define.name] = number
            if number in names:
                aliases[define.name] = number
            else:
                names[number] = define.name
                if define.comment:
                    comments[number] = define.comment
    for alias, target in LIBC_ERRNO_ALIASES.items():
        if alias not in numbers and target in numbers:
            aliases[alias] = numbers[target]
    messages: dict[int, str] = {}
    for number, name in names.items():
        message = (
            KERNEL_INTERNAL_MESSAGES.get(name) or glibc_messages.get(name) or comments.get(number)
        )
        if message is None:
            raise GeneratorError(f"errno {name} ({number}) has no message")
        messages[number] = message
    return ErrnoTable(
        dict(sorted(names.items())), dict(sorted(messages.items())), dict(sorted(aliases.items()))
    )


@dataclass(frozen=True)
class SignalTable:
    names: dict[int, str]
    aliases: dict[str, int]
    rtmin: int
    rtmax: int


def build_signals(uapi_text: str, nsig: int) -> SignalTable:
    """Signals 1..31 by their first name; ``SIGRTMIN..SIGRTMAX`` as ``SIGRT_<n>``.

    Real-time signals are named relative to the kernel's SIGRTMIN (32), as
    strace does: the C library's SIGRTMIN is a run-time value (glibc reserves
    32 and 33, so its SIGRTMIN is 34), which a trace read elsewhere cannot know.
    SIGRTMIN/SIGRTMAX themselves are not offered as names for the same reason.
    """
    values: dict[str, int] = {}
    names: dict[int, str] = {}
    aliases: dict[str, int] = {}
    for define in parse_defines(uapi_text, "SIG"):
        if define.value.isdigit():
            number = int(define.value)
        elif define.value in values:
            number = values[define.value]
        elif define.value == "_NSIG":
            number = nsig
        else:
            continue  # SIG_BLOCK etc. are not signals
        values[define.name] = number
    rtmin, rtmax = values.pop("SIGRTMIN"), values.pop("SIGRTMAX")
    for name, number in values.items():
        if not 0 < number < rtmin:
            continue
        if number in names:
            aliases[name] = number
        else:
            names[number] = name
    for number in range(rtmin, rtmax + 1):
        names[number] = f"SIGRT_{number - rtmin}"
    return SignalTable(dict(sorted(names.items())), dict(sorted(aliases.items())), rtmin, rtmax)


def parse_nsig(text: str) -> int:
    for define in parse_defines(text, "_NSIG"):
        if define.name == "_NSIG" and define.value.isdigit():
            return int(define.value)
    raise GeneratorError("no numeric _NSIG in arch/x86/include/asm/signal.h")


def parse_kernel_version(makefile_text: str) -> str:
    fields: dict[str, str] = {}
    for line in makefile_text.splitlines()[:10]:
        match = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL|EXTRAVERSION)\s*=\s*(\S*)", line)
        if match:
            fields[match.group(1)] = match.group(2)
    if "VERSION" not in fields or "PATCHLEVEL" not in fields:
        raise GeneratorError("Makefile has no VERSION/PATCHLEVEL")
    version = f"{fields['VERSION']}.{fields['PATCHLEVEL']}"
    if fields.get("SUBLEVEL", "0") not in ("", "0"):
        version += f".{fields['SUBLEVEL']}"
    return version + fields.get("EXTRAVERSION", "")


# --------------------------------------------------------------------------- rendering

_LINE_LIMIT = 99


def _header(sources: Sequence[str], docstring: str) -> list[str]:
    lines = ["# GENERATED by formats/linux/generate_tables.py from"]
    lines += [f"#   {source}" for source in sources]
    lines += ["# -- do not edit; re-run the generator instead.", f'"""{docstring}"""', ""]
    lines += ["from __future__ import annotations", "", "from typing import Final", ""]
    return lines


def _packed(items: Sequence[str], indent: str) -> list[str]:
    """``items`` each followed by a comma, wrapped below the line limit."""
    lines: list[str] = []
    current = ""
    for item in items:
        piece = item + ","
        candidate = piece if not current else current + " " + piece
        if current and len(indent) + len(candidate) > _LINE_LIMIT:
            lines.append(indent + current)
            current = piece
        else:
            current = candidate
    if current:
        lines.append(indent + current)
    return lines


def _frozenset_literal(name: str, values: Sequence[str], annotation: str) -> list[str]:
    if not values:
        return [f"{name}: Final[{annotation}] = frozenset()"]
    return [f"{name}: Final[{annotation}] = frozenset({{", *_packed(values, "    "), "})"]


def render_syscalls(
    abi_name: str,
    table: AbiTable,
    classes: Mapping[str, frozenset[str]],
    sources: Sequence[str],
    number_note: str,
) -> str:
    doc = (
        f"System-call numbers and names of the {abi_name} ABI, with strace's classes.\n\n"
        f"{number_note}\n"
    )
    lines = _header(sources, doc)
    lines += ["#: syscall number -> name, every number the kernel table lists."]
    lines += ["NAMES: Final[dict[int, str]] = {"]
    lines += [f'    {number}: "{name}",' for number, name in table.names.items()]
    lines += ["}", ""]
    lines += ["#: numbers with no entry point or sys_ni_syscall: the kernel answers ENOSYS."]
    lines += _frozenset_literal(
        "UNIMPLEMENTED", [str(n) for n in sorted(table.unimplemented)], "frozenset[int]"
    )
    lines += ["", "#: strace trace class -> names of this ABI's syscalls in it."]
    lines += ["CLASSES: Final[dict[str, frozenset[str]]] = {"]
    for cls in sorted(classes):
        members = sorted(classes[cls])
        if members:
            quoted = [f'"{member}"' for member in members]
            lines += [f'    "{cls}": frozenset({{', *_packed(quoted, "        "), "    }),"]
        else:
            lines += [f'    "{cls}": frozenset(),']
    lines += ["}", ""]
    return "\n".join(lines)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render_errno(table: ErrnoTable, sources: Sequence[str]) -> str:
    doc = (
        "Linux errno numbers, names and messages (x86_64 and i386 share them).\n\n"
        "1..133 are the user-visible values; 512 and up are kernel-internal codes a\n"
        "tracer can still see at syscall exit (ERESTARTSYS and friends).\n"
    )
    lines = _header(sources, doc)
    lines += ["#: errno number -> canonical name (the first the headers define)."]
    lines += ["NAMES: Final[dict[int, str]] = {"]
    lines += [f'    {number}: "{name}",' for number, name in table.names.items()]
    lines += ["}", "", "#: errno number -> message."]
    lines += ["MESSAGES: Final[dict[int, str]] = {"]
    for number, message in table.messages.items():
        line = f"    {number}: {_quoted(message)},"
        if len(line) > _LINE_LIMIT:
            line = f"    {number}: (\n        {_quoted(message)}\n    ),"
        lines.append(line)
    lines += ["}", "", "#: other names for a number (EWOULDBLOCK -> 11, ...)."]
    lines += ["ALIASES: Final[dict[str, int]] = {"]
    lines += [f'    "{name}": {number},' for name, number in table.aliases.items()]
    lines += ["}", ""]
    return "\n".join(lines)


def render_signals(table: SignalTable, sources: Sequence[str]) -> str:
    doc = (
        "Linux signal numbers and names for x86 (x86_64, i386 and x32 share them).\n\n"
        f"Real-time signals {table.rtmin}..{table.rtmax} are named SIGRT_<n>, n counted from the\n"
        f"kernel's SIGRTMIN ({table.rtmin}), as strace names them: the C library's SIGRTMIN\n"
        "is decided at run time (glibc reserves 32 and 33), so it is not used.\n"
    )
    lines = _header(sources, doc)
    lines += [f"SIGRTMIN: Final = {table.rtmin}", f"SIGRTMAX: Final = {table.rtmax}", ""]
    lines += ["#: signal number -> name."]
    lines += ["NAMES: Final[dict[int, str]] = {"]
    lines += [f'    {number}: "{name}",' for number, name in table.names.items()]
    lines += ["}", "", "#: other names for a number (SIGIOT -> 6, ...)."]
    lines += ["ALIASES: Final[dict[str, int]] = {"]
    lines += [f'    "{name}": {number},' for name, number in table.aliases.items()]
    lines += ["}", ""]
    return "\n".join(lines)


# --------------------------------------------------------------------------- driver

TBL_64 = "arch/x86/entry/syscalls/syscall_64.tbl"
TBL_32 = "arch/x86/entry/syscalls/syscall_32.tbl"


class AbiSpec(NamedTuple):
    """How one ABI's table is cut out of a kernel .tbl, and what its numbers mean."""

    name: str
    tbl: str
    tbl_abis: frozenset[str]
    number_bit: int
    number_note: str


ABI_SPECS: tuple[AbiSpec, ...] = (
    AbiSpec(
        "x86_64", TBL_64, frozenset({"common", "64"}), 0,
        "Numbers are what an x86_64 process puts in rax (orig_rax at a ptrace stop).",
    ),
    AbiSpec(
        "x32", TBL_64, frozenset({"common", "x32"}), X32_SYSCALL_BIT,
        f"Numbers include __X32_SYSCALL_BIT ({X32_SYSCALL_BIT:#x}), as an x32 process\n"
        "passes them; the 64-only entries are not x32 syscalls.",
    ),
    AbiSpec(
        "i386", TBL_32, frozenset({"i386"}), 0,
        "Numbers are what an i386 process puts in eax (int 0x80, sysenter), on a\n"
        "32-bit kernel or under a 64-bit kernel's IA32 emulation.",
    ),
)



@dataclass(frozen=True)
class Inputs:
    linux_src: Path
    strace_src: Path
    strace_version: str
    glibc_errlist: Path | None
    glibc_version: str | None
    linux_version: str | None


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as error:
        raise GeneratorError(f"cannot read {path}: {error.strerror}") from None


def generate(inputs: Inputs) -> tuple[dict[str, str], list[str]]:
    """Return (output file name -> text, notes about the join with strace)."""
    linux = inputs.linux_src
    version = inputs.linux_version or parse_kernel_version(_read(linux / "Makefile"))
    entries64 = parse_syscall_tbl(_read(linux / TBL_64), TBL_64)
    entries32 = parse_syscall_tbl(_read(linux / TBL_32), TBL_32)
    load = strace_file_loader(inputs.strace_src)
    outputs: dict[str, str] = {}
    notes: list[str] = []
    tables = {TBL_64: entries64, TBL_32: entries32}
    for spec in ABI_SPECS:
        abi_name, bit = spec.name, spec.number_bit
        table = select_abi(tables[spec.tbl], spec.tbl_abis, bit)
        syscallent = f"src/linux/{abi_name}/syscallent.h"
        strace_path = inputs.strace_src / syscallent
        strace_entries = parse_strace_syscallent(_read(strace_path), str(strace_path), load)
        classes, join_notes = class_members(table, strace_entries, bit)
        notes += [f"{abi_name}: {note}" for note in join_notes]
        abi_labels = " and ".join(sorted(spec.tbl_abis))
        sources = [
            f"Linux {version} {spec.tbl} (abi {abi_labels})",
            f"strace {inputs.strace_version} {syscallent} (class flags, joined by number)",
        ]
        outputs[f"_syscalls_{abi_name}.py"] = render_syscalls(
            abi_name, table, classes, sources, spec.number_note
        )

    errno_files = [
        "include/uapi/asm-generic/errno-base.h",
        "include/uapi/asm-generic/errno.h",
        "include/linux/errno.h",
    ]
    glibc_messages: dict[str, str] = {}
    errno_sources = [f"Linux {version} {name}" for name in errno_files]
    if inputs.glibc_errlist is not None:
        glibc_messages = parse_glibc_errlist(_read(inputs.glibc_errlist))
        glibc_version = inputs.glibc_version or "(version not given)"
        errno_sources.append(f"glibc {glibc_version} sysdeps/gnu/errlist.h (messages)")
    errno_table = build_errno([_read(linux / name) for name in errno_files], glibc_messages)
    outputs["_errno.py"] = render_errno(errno_table, errno_sources)

    uapi_signal = "arch/x86/include/uapi/asm/signal.h"
    kernel_signal = "arch/x86/include/asm/signal.h"
    signal_table = build_signals(
        _read(linux / uapi_signal), parse_nsig(_read(linux / kernel_signal))
    )
    outputs["_signals.py"] = render_signals(
        signal_table,
        [f"Linux {version} {uapi_signal}", f"Linux {version} {kernel_signal} (_NSIG)"],
    )
    return outputs, notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--linux-src", type=Path, required=True)
    parser.add_argument("--strace-src", type=Path, required=True)
    parser.add_argument("--strace-version", required=True, help="label, e.g. v7.2")
    parser.add_argument("--glibc-errlist", type=Path, help="glibc sysdeps/gnu/errlist.h")
    parser.add_argument("--glibc-version", help="label for the glibc messages")
    parser.add_argument("--linux-version", help="label; default: from the tree's Makefile")
    parser.add_argument("--output-dir", type=Path, default=Path(__file__).resolve().parent)
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    parser.add_argument("--quiet", action="store_true", help="do not print join notes")
    options = parser.parse_args(argv)
    inputs = Inputs(
        options.linux_src, options.strace_src, options.strace_version,
        options.glibc_errlist, options.glibc_version, options.linux_version,
    )
    try:
        outputs, notes = generate(inputs)
    except GeneratorError as error:
        print(f"generate_tables: {error}", file=sys.stderr)
        return 2
    if not options.quiet:
        for note in notes:
            print(f"note: {note}", file=sys.stderr)
    stale: list[str] = []
    for name, text in outputs.items():
        path = options.output_dir / name
        if options.check:
            current = path.read_text(encoding="utf-8") if path.exists() else None
            if current != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
    if stale:
        print(f"generate_tables: out of date: {', '.join(stale)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
