"""DWARF call-frame information of one ELF image, decoded lazily into unwind rows.

``CfiTable(elf)`` indexes ``.eh_frame`` through its ``.eh_frame_hdr`` binary
search table when there is one (so only the FDEs that samples hit are ever
parsed: python3 has ~10 000 of them and parsing them all costs seconds), and
otherwise parses every FDE of ``.eh_frame`` / ``.debug_frame`` once. ``row(vaddr)``
returns the compiled unwind rule in force at a link-time address: the CFA rule
and the rules of the registers the unwinder restores, as plain tuples, cached
per address (a per-pc cache of rows is valid; a cache of whole unwinds is not,
since they depend on the stack's contents).

Pure: imports neither ``ktr`` nor ``ktrdump`` (ktrdump unwinds and names stripped code
with it; ktr checks that an address probe in stripped code starts an instruction).

Guarantees: never raises on malformed CFI — an FDE that cannot be parsed or
decoded is treated as absent (the caller falls back to frame pointers); the
rows are computed by pyelftools' decoder, not restated here.
Does not: read stacks or registers (``ktrdump._unwind``), map runtime addresses to
link-time ones (``ktrdump._maps``), or find files (``ktrdump._symbols``).
"""

from __future__ import annotations

import io
import struct
from bisect import bisect_right
from typing import Any

from elftools.dwarf.callframe import CIE, FDE, CallFrameInfo
from elftools.dwarf.dwarf_expr import DWARFExprParser
from elftools.dwarf.structs import DWARFStructs
from elftools.elf.elffile import ELFFile


class _Cache(dict[int, Any]):
    """A memo emptied when it reaches its limit (the values can be computed again;
    cheaper than LRU bookkeeping on every hit)."""

    __slots__ = ("limit",)

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: int, value: Any) -> None:
        if len(self) >= self.limit and key not in self:
            self.clear()
        super().__setitem__(key, value)

# Register rule kinds of a compiled row.
OFFSET = 0  # saved at CFA + arg
VAL_OFFSET = 1  # the value is CFA + arg
REGISTER = 2  # the value is in register arg
UNDEFINED = 3  # no value (for the return address: the outermost frame)
EXPRESSION = 4  # saved at the address the expression arg computes (CFA pushed first)
VAL_EXPRESSION = 5  # the value the expression computes

#: A DWARF expression compiled to (operation name, arguments) pairs.
Expression = tuple[tuple[str, tuple[Any, ...]], ...]
#: One register rule: (DWARF register number, kind, argument).
Rule = tuple[int, int, Any]
#: A compiled row: (CFA register or -1, CFA offset, CFA expression or None, rules,
#: and — when the CFA is register + offset and every rule is "saved at CFA + n", the
#: usual case — those rules again as (register, n) pairs for the unwinder's fast path).
Row = tuple[int, int, "Expression | None", tuple[Rule, ...], "tuple[tuple[int, int], ...] | None"]

_RULE_KINDS = {
    "OFFSET": OFFSET,
    "VAL_OFFSET": VAL_OFFSET,
    "REGISTER": REGISTER,
    "UNDEFINED": UNDEFINED,
    "EXPRESSION": EXPRESSION,
    "VAL_EXPRESSION": VAL_EXPRESSION,
}

# .eh_frame_hdr pointer encodings (LSB's DW_EH_PE_*).
_PE_OMIT = 0xFF
_PE_FORMATS = {0x01: "H", 0x02: "H", 0x03: "I", 0x04: "Q", 0x09: "h", 0x0A: "h",
               0x0B: "i", 0x0C: "q"}


class _FdeRows:
    """The decoded rows of one FDE: sorted start addresses and their rows."""

    __slots__ = ("end", "rows", "starts")

    def __init__(self, starts: list[int], rows: list[Row], end: int) -> None:
        self.starts = starts
        self.rows = rows
        self.end = end


class CfiTable:
    """Unwind rows of one ELF image, by link-time address."""

    def __init__(self, elf: ELFFile) -> None:
        self.address_size = 8 if elf.elfclass == 64 else 4
        self.return_register = 16 if self.address_size == 8 else 8
        self._structs = DWARFStructs(
            little_endian=elf.little_endian, dwarf_format=32, address_size=self.address_size
        )
        self._expr_parser = DWARFExprParser(self._structs)
        self._rows: dict[int, Row | None] = _Cache(1 << 16)
        self._fdes: dict[int, _FdeRows | None] = _Cache(1 << 12)
        # Sorted FDE starts and, for each, a way to get it: an .eh_frame offset
        # (lazy, through the header) or an already parsed FDE.
        self._starts: list[int] = []
        self._fde_offsets: list[int] = []
        self._parsed: list[FDE] = []
        self._eh: CallFrameInfo | None = None
        self.has_cfi = False
        try:
            self._index(elf)
        except Exception:  # malformed CFI sections: treat the image as having none
            self._starts, self._fde_offsets, self._parsed = [], [], []
        self.has_cfi = bool(self._starts)

    # -- indexing -------------------------------------------------------------

    def _index(self, elf: ELFFile) -> None:
        eh = elf.get_section_by_name(".eh_frame")
        hdr = elf.get_section_by_name(".eh_frame_hdr")
        if eh is not None and eh["sh_type"] != "SHT_NOBITS" and eh.data_size:
            self._eh = CallFrameInfo(io.BytesIO(eh.data()), eh.data_size, eh["sh_addr"],
                                     self._structs, for_eh_frame=True)
            if (hdr is not None and hdr["sh_type"] != "SHT_NOBITS"
                    and self._index_header(hdr.data(), hdr["sh_addr"], eh["sh_addr"])):
                return
            self._index_all(self._eh)
            if self._starts:
                return
        debug = elf.get_section_by_name(".debug_frame")
        if debug is not None and debug["sh_type"] != "SHT_NOBITS" and debug.data_size:
            self._eh = None
            self._index_all(CallFrameInfo(io.BytesIO(debug.data()), debug.data_size,
                                          debug["sh_addr"], self._structs))

    def _index_header(self, data: bytes, hdr_addr: int, eh_addr: int) -> bool:
        """Read .eh_frame_hdr's sorted (initial location, FDE address) table."""
        if len(data) < 4 or data[0] != 1:
            return False
        ptr_enc, count_enc, table_enc = data[1], data[2], data[3]
        order = "<" if self._structs.little_endian else ">"
        position = 4

        def read(encoding: int) -> int | None:
            nonlocal position
            if encoding == _PE_OMIT:
                return None
            fmt = _PE_FORMATS.get(encoding & 0x0F)
            if fmt is None:
                raise ValueError("unsupported pointer encoding")
            (value,) = struct.unpack_from(order + fmt, data, position)
            base = {0x00: 0, 0x10: hdr_addr + position, 0x30: hdr_addr}.get(encoding & 0x70)
            if base is None:
                raise ValueError("unsupported pointer application")
            position += struct.calcsize(fmt)
            return int(value) + base

        read(ptr_enc)
        count = read(count_enc)
        if count is None or table_enc != 0x3B:  # datarel | sdata4, what linkers write
            return False
        pairs = struct.unpack_from(f"{order}{2 * count}i", data, position)
        self._starts = [hdr_addr + v for v in pairs[0::2]]
        self._fde_offsets = [hdr_addr + v - eh_addr for v in pairs[1::2]]
        return True

    def _index_all(self, cfi: CallFrameInfo) -> None:
        fdes = sorted((e for e in cfi.get_entries() if isinstance(e, FDE)),
                      key=lambda e: int(e.header["initial_location"]))
        self._parsed = fdes
        self._starts = [int(e.header["initial_location"]) for e in fdes]
        self._fde_offsets = []

    # -- lookup ---------------------------------------------------------------

    def row(self, vaddr: int) -> Row | None:
        """The unwind row in force at link-time address ``vaddr``, or None."""
        rows = self._rows
        if vaddr in rows:
            return rows[vaddr]
        found = self._lookup(vaddr)
        rows[vaddr] = found
        return found

    def function_start(self, vaddr: int) -> int | None:
        """The start of the FDE covering link-time address ``vaddr`` (the function's
        start as the compiler described it), or None: how a module without symbols
        still tells its functions apart."""
        found = self._covering(vaddr)
        return None if found is None else self._starts[found[0]]

    def function_range(self, vaddr: int) -> tuple[int, int] | None:
        """(start, end) of the FDE covering link-time address ``vaddr``, or None."""
        found = self._covering(vaddr)
        return None if found is None else (self._starts[found[0]], found[1].end)

    def _covering(self, vaddr: int) -> tuple[int, _FdeRows] | None:
        """The index and rows of the FDE covering ``vaddr`` (decoded once), or None."""
        index = bisect_right(self._starts, vaddr) - 1
        if index < 0:
            return None
        fde = self._fdes.get(index, False)
        if fde is False:
            fde = self._decode(index)
            self._fdes[index] = fde
        if not isinstance(fde, _FdeRows) or vaddr >= fde.end:
            return None
        return index, fde

    def _lookup(self, vaddr: int) -> Row | None:
        found = self._covering(vaddr)
        if found is None:
            return None
        fde = found[1]
        at = bisect_right(fde.starts, vaddr) - 1
        return fde.rows[at] if at >= 0 else None

    def _decode(self, index: int) -> _FdeRows | None:
        try:
            if self._fde_offsets:
                assert self._eh is not None
                entry = self._eh._parse_entry_at(self._fde_offsets[index])
            else:
                entry = self._parsed[index]
            if not isinstance(entry, FDE) or isinstance(entry, CIE):
                return None
            start = int(entry.header["initial_location"])
            end = start + int(entry.header["address_range"])
            ra = int(entry.cie["return_address_register"]) if entry.cie is not None else (
                self.return_register)
            table = entry.get_decoded().table
            starts: list[int] = []
            rows: list[Row] = []
            for line in table:
                starts.append(int(line["pc"]))
                rows.append(self._compile(line, ra))
            return _FdeRows(starts, rows, end)
        except Exception:  # a damaged FDE: no CFI here
            return None

    def _compile(self, line: dict[Any, Any], ra: int) -> Row:
        cfa = line["cfa"]
        expr = None
        if cfa.expr is not None:
            expr = self._expression(cfa.expr)
            cfa_reg, cfa_off = -1, 0
        else:
            cfa_reg, cfa_off = int(cfa.reg), int(cfa.offset)
        rules: list[Rule] = []
        for key, rule in line.items():
            if not isinstance(key, int):
                continue
            kind = _RULE_KINDS.get(rule.type)
            if kind is None:  # SAME_VALUE, ARCHITECTURAL: keep the value
                continue
            arg: Any = rule.arg
            if kind in (EXPRESSION, VAL_EXPRESSION):
                arg = self._expression(arg)
            rules.append((key, kind, arg))
        if not any(r[0] == ra for r in rules):
            rules.append((ra, UNDEFINED, None))
        # The return address last: the unwinder reads it after the other registers.
        rules.sort(key=lambda r: r[0] == ra)
        fast = None
        if expr is None and all(kind == OFFSET for _, kind, _ in rules):
            fast = tuple((regno, int(arg)) for regno, _, arg in rules)
        return (cfa_reg, cfa_off, expr, tuple(rules), fast)

    def _expression(self, raw: Any) -> Expression:
        ops = self._expr_parser.parse_expr(list(raw))
        return tuple((op.op_name, tuple(op.args)) for op in ops)


def evaluate(expression: Expression, registers: list[int | None], read: Any,
             initial: int | None = None, mask: int = (1 << 64) - 1) -> int | None:
    """Run a CFI DWARF expression; None when it needs something unknown.

    ``read(address)`` returns the word at an address of the stack copy, or None.
    Only the operations call-frame expressions use are implemented (PLT
    entries' ``rsp + 8 + ((rip & 15) >= 11) * 8`` and the like).
    """
    stack: list[int] = [] if initial is None else [initial]
    for name, args in expression:
        if name.startswith("DW_OP_breg"):
            value = registers[int(name[10:])] if int(name[10:]) < len(registers) else None
            if value is None:
                return None
            stack.append((value + int(args[0])) & mask)
        elif name.startswith("DW_OP_lit"):
            stack.append(int(name[9:]))
        elif name.startswith("DW_OP_const"):
            stack.append(int(args[0]) & mask)
        elif name == "DW_OP_plus_uconst":
            stack.append((stack.pop() + int(args[0])) & mask)
        elif name == "DW_OP_deref":
            value = read(stack.pop())
            if value is None:
                return None
            stack.append(value)
        elif name == "DW_OP_dup":
            stack.append(stack[-1])
        elif name == "DW_OP_drop":
            stack.pop()
        elif name == "DW_OP_swap":
            stack[-1], stack[-2] = stack[-2], stack[-1]
        elif name == "DW_OP_over":
            stack.append(stack[-2])
        elif name in _BINARY:
            b = stack.pop()
            a = stack.pop()
            stack.append(_BINARY[name](a, b) & mask)
        elif name == "DW_OP_neg":
            stack.append(-stack.pop() & mask)
        elif name == "DW_OP_not":
            stack.append(~stack.pop() & mask)
        else:
            return None
    return stack[-1] if stack else None


def _signed(value: int) -> int:
    return value - (1 << 64) if value >> 63 else value


_BINARY: dict[str, Any] = {
    "DW_OP_plus": lambda a, b: a + b,
    "DW_OP_minus": lambda a, b: a - b,
    "DW_OP_mul": lambda a, b: a * b,
    "DW_OP_and": lambda a, b: a & b,
    "DW_OP_or": lambda a, b: a | b,
    "DW_OP_xor": lambda a, b: a ^ b,
    "DW_OP_shl": lambda a, b: a << b,
    "DW_OP_shr": lambda a, b: a >> b,
    "DW_OP_ge": lambda a, b: int(_signed(a) >= _signed(b)),
    "DW_OP_gt": lambda a, b: int(_signed(a) > _signed(b)),
    "DW_OP_le": lambda a, b: int(_signed(a) <= _signed(b)),
    "DW_OP_lt": lambda a, b: int(_signed(a) < _signed(b)),
    "DW_OP_eq": lambda a, b: int(a == b),
    "DW_OP_ne": lambda a, b: int(a != b),
}
