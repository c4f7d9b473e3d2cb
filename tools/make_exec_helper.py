"""Write ``ktr/_exec_helper.py``: the exec helper's program (``tools/exec_helper.c``), built.

Run from the repository root after changing ``tools/exec_helper.c``::

    python tools/make_exec_helper.py          # rebuild and rewrite ktr/_exec_helper.py
    python tools/make_exec_helper.py --check  # exit 1 if the rebuild differs

Needs gcc for x86_64 (the image is a static program without the C library, so
it runs wherever the kernel does). The bytes depend on the compiler's version:
``--check`` is meaningful with the gcc that built the committed image (the
module says which); the behaviour is tested on the committed image itself
(``tests/test_exec_helper.py``). A development tool: not installed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "tools" / "exec_helper.c"
TARGET = ROOT / "ktr" / "_exec_helper.py"
FLAGS = ["-Os", "-static", "-nostdlib", "-ffreestanding", "-fno-builtin",
         "-fno-stack-protector", "-fno-asynchronous-unwind-tables", "-fno-pie", "-no-pie",
         "-fcf-protection=none", "-Wall", "-Wextra", "-Werror", "-Wl,--build-id=none",
         "-Wl,-z,norelro", "-Wl,-z,noseparate-code", "-s"]


def build() -> tuple[bytes, str]:
    """The program's bytes and the compiler that made them."""
    version = subprocess.run(["gcc", "-dumpfullversion"], capture_output=True, text=True,
                             check=True).stdout.strip()
    with tempfile.TemporaryDirectory() as directory:
        output = Path(directory) / "exec_helper"
        subprocess.run(["gcc", *FLAGS, "-o", str(output), str(SOURCE)], check=True)
        return output.read_bytes(), f"gcc {version}"


def render(image: bytes, compiler: str) -> str:
    lines = [f'    "{image[i:i + 32].hex()}"' for i in range(0, len(image), 32)]
    body = "\n".join(lines)
    return f'''"""The exec helper (``tools/exec_helper.c``), built: do not edit.

Made by ``tools/make_exec_helper.py``. A static x86_64 program of {len(image)} bytes,
no C library; ``_trampoline`` runs it
from a memfd. Built with {compiler}.
"""

IMAGE = bytes.fromhex(
{body}
)
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--check", action="store_true")
    arguments = parser.parse_args()
    text = render(*build())
    if arguments.check:
        if TARGET.read_text() != text:
            print(f"{TARGET} differs from a rebuild of {SOURCE}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
