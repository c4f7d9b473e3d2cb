"""Ask the C compiler what the installed headers say: constant values, sizes, offsets.

``c_values`` compiles (never links or runs) a file that stores each expression
in an array, then reads the array back from the object file with pyelftools,
so it works for ``-m32`` too without a 32-bit C library. ``build_i386`` links a
freestanding i386 program (no C library; system calls by ``int $0x80``).
Both skip the calling test when the compiler cannot do it here; ``build_program``
compiles and links a test program (skips without a compiler).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

#: Stands for "the header does not define this name".
_MISSING = -(2**63)
#: x86 uapi headers (asm/...) are bi-arch; -m32 finds them here.
_ASM_INCLUDE = "/usr/include/x86_64-linux-gnu"


def _compiler() -> str:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler")
    return compiler


def c_values(
    tmp_path: Path,
    headers: Sequence[str],
    expressions: Sequence[str],
    *,
    m32: bool = False,
    guard_names: bool = False,
    defines: Sequence[str] = (),
) -> list[int | None]:
    """The value of each C expression (as a signed 64-bit integer) with ``headers`` included.

    ``guard_names``: each expression is a macro name; one the headers do not
    define gives None instead of a compile error.
    """
    lines = [f"#define {define}" for define in defines]
    lines += ["#include <stddef.h>", *(f"#include <{header}>" for header in headers)]
    lines.append("long long ktr_values[] = {")
    for expression in expressions:
        if guard_names:
            lines += [f"#ifdef {expression}", f"  (long long)({expression}),", "#else",
                      f"  {_MISSING}LL,", "#endif"]
        else:
            lines.append(f"  (long long)({expression}),")
    lines += ["  0", "};", ""]
    source = tmp_path / ("values32.c" if m32 else "values64.c")
    source.write_text("\n".join(lines))
    obj = source.with_suffix(".o")
    arch = ["-m32", "-ffreestanding", f"-I{_ASM_INCLUDE}"] if m32 else ["-m64"]
    result = subprocess.run(
        [_compiler(), *arch, "-w", "-c", "-o", str(obj), str(source)],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        if m32 and ("-m32" in result.stderr or "No such file" in result.stderr):
            pytest.skip(f"gcc -m32 cannot compile here: {result.stderr.strip()[:200]}")
        raise AssertionError(f"C compile failed:\n{result.stderr}")
    with obj.open("rb") as stream:
        elf = ELFFile(stream)
        symtab = elf.get_section_by_name(".symtab")
        symbol = symtab.get_symbol_by_name("ktr_values")[0]  # type: ignore[union-attr]
        section = elf.get_section(symbol["st_shndx"])
        data = section.data()[symbol["st_value"]:symbol["st_value"] + 8 * len(expressions)]
    values = [int.from_bytes(data[i:i + 8], "little", signed=True)
              for i in range(0, len(data), 8)]
    return [None if value == _MISSING else value for value in values]


def build_i386(tmp_path: Path, source: str, name: str = "probe32") -> Path:
    """Link a freestanding i386 executable from C ``source`` (it defines ``_start``)."""
    path = tmp_path / f"{name}.c"
    path.write_text(source)
    output = tmp_path / name
    result = subprocess.run(
        [_compiler(), "-m32", "-static", "-nostdlib", "-ffreestanding", "-fno-pic",
         "-fno-stack-protector", "-fno-builtin", "-O1", "-o", str(output), str(path)],
        capture_output=True, text=True, timeout=60,
    )
    if result.returncode != 0:
        pytest.skip(f"gcc -m32 cannot link a freestanding program here: "
                    f"{result.stderr.strip()[:200]}")
    return output


def build_program(directory: Path, name: str, source: str, *flags: str) -> Path:
    """Compile and link C ``source`` into ``directory/name`` with ``flags`` (skips
    the calling test when there is no compiler; a compile error fails it)."""
    path = directory / f"{name}.c"
    path.write_text(source)
    output = directory / name
    result = subprocess.run([_compiler(), *flags, "-o", str(output), str(path)],
                            capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise AssertionError(f"C compile failed:\n{result.stderr}")
    return output
