"""Big-endian ELF seeds for the fuzz harness: ``fuzz/seeds/elf/lib32be.so``, ``lib64be.so``.

gcc and binutils here make little-endian x86 files only (objcopy cannot swap byte order),
so these are built with ``struct``: minimal but valid shared objects (ET_DYN) of a
big-endian machine (ELF32 EM_PPC, ELF64 EM_S390), each with a PT_LOAD (R+X) and a PT_NOTE
program header, ``.text``, a GNU build-id note, ``.dynsym``/``.dynstr``,
``.symtab``/``.strtab`` (locals first, ``sh_info`` past them; GLOBAL, LOCAL and WEAK
functions, an IFUNC and its ``__NAME_variant`` implementation, an object and an undefined
function, which are not functions to the readers) and ``.shstrtab``. readelf and
pyelftools read them (``tests/test_elf.py``).

``python -m fuzz.make_be_seeds`` writes them; ``--check`` fails if the committed files
differ from what this builds. Deterministic: the build-ids are fixed bytes.
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent / "seeds" / "elf"

EM_PPC, EM_S390 = 20, 22
STB_LOCAL, STB_GLOBAL, STB_WEAK = 0, 1, 2
STT_OBJECT, STT_FUNC, STT_GNU_IFUNC = 1, 2, 10
TEXT_AT = 0x200
TEXT_SIZE = 0x80

#: (name, binding, type, offset into .text (None: undefined), size, in .dynsym)
SYMBOLS: tuple[tuple[str, int, int, int | None, int, bool], ...] = (
    ("be_helper", STB_LOCAL, STT_FUNC, 0x00, 0x10, False),
    ("be_add", STB_GLOBAL, STT_FUNC, 0x10, 0x10, True),
    ("be_count", STB_GLOBAL, STT_FUNC, 0x20, 0x18, True),
    ("be_weak", STB_WEAK, STT_FUNC, 0x38, 0x08, False),
    ("be_pick", STB_GLOBAL, STT_GNU_IFUNC, 0x40, 0x10, True),  # the resolver
    ("__be_pick_fast", STB_GLOBAL, STT_FUNC, 0x50, 0x10, False),
    ("be_table", STB_GLOBAL, STT_OBJECT, 0x60, 0x10, False),  # not a function
    ("be_extern", STB_GLOBAL, STT_FUNC, None, 0, True),  # undefined
)


def expected_functions() -> list[tuple[str, int, int, bool, str]]:
    """What ``formats.elf`` should list: (name, vaddr, size, ifunc, binding), by vaddr."""
    names = {STB_LOCAL: "LOCAL", STB_GLOBAL: "GLOBAL", STB_WEAK: "WEAK"}
    return [(name, TEXT_AT + at, size, kind == STT_GNU_IFUNC, names[bind])
            for name, bind, kind, at, size, _ in SYMBOLS
            if at is not None and kind in (STT_FUNC, STT_GNU_IFUNC)]


def _strings(names: list[str]) -> tuple[bytes, dict[str, int]]:
    table = b"\0"
    where: dict[str, int] = {}
    for name in names:
        where[name] = len(table)
        table += name.encode() + b"\0"
    return table, where


def build(wide: bool) -> bytes:
    """One seed: ELF64 EM_S390 (``wide``) or ELF32 EM_PPC, big-endian."""
    order = ">"
    sym = struct.Struct(order + ("IBBHQQ" if wide else "IIIBBH"))
    ehsize, phentsize, shentsize = (64, 56, 64) if wide else (52, 32, 40)
    text = b"\x60\x00\x00\x00" * (TEXT_SIZE // 4)  # (ppc's nop; s390 does not run these)
    build_id = bytes(range(0xB0, 0xB0 + 20)) if wide else bytes(range(0x30, 0x30 + 20))
    note = struct.pack(order + "III", 4, len(build_id), 3) + b"GNU\0" + build_id
    text_index = 1
    ordered = sorted(SYMBOLS, key=lambda s: s[1] != STB_LOCAL)  # locals first
    strtab, str_at = _strings([s[0] for s in ordered])
    dynamic = [s for s in ordered if s[5]]
    dynstr, dyn_at = _strings([s[0] for s in dynamic])

    def table(symbols: list[tuple[str, int, int, int | None, int, bool]],
              at: dict[str, int]) -> bytes:
        out = bytearray(sym.size)
        for name, bind, kind, offset, size, _ in symbols:
            info = (bind << 4) | kind
            shndx = 0 if offset is None else text_index
            value = 0 if offset is None else TEXT_AT + offset
            out += (sym.pack(at[name], info, 0, shndx, value, size) if wide
                    else sym.pack(at[name], value, size, info, 0, shndx))
        return bytes(out)

    symtab = table(ordered, str_at)
    dynsym = table(dynamic, dyn_at)
    locals_end = 1 + sum(1 for s in ordered if s[1] == STB_LOCAL)
    names = [".text", ".note.gnu.build-id", ".dynsym", ".dynstr", ".symtab", ".strtab",
             ".shstrtab"]
    shstrtab, name_at = _strings(names)
    # contents after the text, each 8-aligned: (name, type, flags, data, link, info,
    # align, entsize)
    SHF_ALLOC, SHF_EXEC = 2, 4
    contents = [
        (".note.gnu.build-id", 7, SHF_ALLOC, note, 0, 0, 4, 0),
        (".dynsym", 11, SHF_ALLOC, dynsym, 4, 1, 8, sym.size),
        (".dynstr", 3, SHF_ALLOC, dynstr, 0, 0, 1, 0),
        (".symtab", 2, 0, symtab, 6, locals_end, 8, sym.size),
        (".strtab", 3, 0, strtab, 0, 0, 1, 0),
        (".shstrtab", 3, 0, shstrtab, 0, 0, 1, 0),
    ]
    image = bytearray(TEXT_AT)
    image += text
    placed: list[tuple[int, int]] = []
    for *_, data, _link, _info, _align, _entsize in contents:
        image += bytes(-len(image) % 8)
        placed.append((len(image), len(data)))
        image += data
    image += bytes(-len(image) % 8)
    shoff = len(image)
    section = struct.Struct(order + ("IIQQQQIIQQ" if wide else "IIIIIIIIII"))
    headers = bytearray(section.pack(0, 0, 0, 0, 0, 0, 0, 0, 0, 0))
    headers += section.pack(name_at[".text"], 1, SHF_ALLOC | SHF_EXEC, TEXT_AT, TEXT_AT,
                            TEXT_SIZE, 0, 0, 16, 0)
    for (name, kind, flags, _data, link, info, align, entsize), (offset, size) in zip(
            contents, placed, strict=True):
        address = offset if flags & SHF_ALLOC else 0
        headers += section.pack(name_at[name], kind, flags, address, offset, size, link,
                                info, align, entsize)
    image += headers
    # program headers right after the ELF header: PT_LOAD of everything allocated (R+X),
    # PT_NOTE of the build-id note
    note_at, note_size = placed[0]
    load_end = placed[2][0] + placed[2][1]  # through .dynstr
    PT_LOAD, PT_NOTE, PF_R, PF_X = 1, 4, 4, 1
    if wide:
        program = struct.Struct(order + "IIQQQQQQ")
        phdrs = (program.pack(PT_LOAD, PF_R | PF_X, 0, 0, 0, load_end, load_end, 0x1000)
                 + program.pack(PT_NOTE, PF_R, note_at, note_at, note_at, note_size,
                                note_size, 4))
    else:
        program = struct.Struct(order + "IIIIIIII")
        phdrs = (program.pack(PT_LOAD, 0, 0, 0, load_end, load_end, PF_R | PF_X, 0x1000)
                 + program.pack(PT_NOTE, note_at, note_at, note_at, note_size, note_size,
                                PF_R, 4))
    ident = b"\x7fELF" + bytes([2 if wide else 1, 2, 1, 3]) + bytes(8)  # ELFOSABI_GNU: IFUNC
    ET_DYN = 3
    count = 2 + len(contents)
    if wide:
        header = ident + struct.pack(order + "HHIQQQIHHHHHH", ET_DYN, EM_S390, 1, 0, ehsize,
                                     shoff, 0, ehsize, phentsize, 2, shentsize, count,
                                     count - 1)
    else:
        header = ident + struct.pack(order + "HHIIIIIHHHHHH", ET_DYN, EM_PPC, 1, 0, ehsize,
                                     shoff, 0, ehsize, phentsize, 2, shentsize, count,
                                     count - 1)
    image[: len(header)] = header
    image[ehsize : ehsize + len(phdrs)] = phdrs
    assert ehsize + len(phdrs) <= TEXT_AT
    return bytes(image)


SEEDS = {"lib32be.so": False, "lib64be.so": True}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fuzz.make_be_seeds",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="fail if the committed seeds differ from what this builds")
    arguments = parser.parse_args(argv)
    stale = []
    for name, wide in SEEDS.items():
        path = SEED_DIR / name
        data = build(wide)
        if arguments.check:
            if not path.exists() or path.read_bytes() != data:
                stale.append(name)
        else:
            path.write_bytes(data)
    if stale:
        print(f"stale big-endian seeds (run python -m fuzz.make_be_seeds): {stale}",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
