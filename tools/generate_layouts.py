"""Write ``formats/_layouts.py``: the ``struct`` layouts derived from the construct schemas.

Run from the repository root after changing ``formats/_schema.py``::

    python tools/generate_layouts.py          # rewrite formats/_layouts.py
    python tools/generate_layouts.py --check  # exit 1 if it would change

The output is a pure function of the schemas (``formats._codec.layout_tables``):
sorted, no timestamps. ``tests/test_format_equivalence.py`` fails while the
committed file differs from what the schemas derive, so a schema change cannot
land without it. A development tool: it is not installed with the package.
"""

from __future__ import annotations

import argparse
import pprint
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from formats._codec import layout_tables  # noqa: E402

TARGET = ROOT / "formats" / "_layouts.py"

HEAD = '''"""The schemas' ``struct`` layouts, made by ``tools/generate_layouts.py``: do not edit.

Per byte order, per schema (the file preamble and header fields, the batch
header, the record header and each payload kind by name): the fixed run's
``struct`` format, the names of the values it packs, and the variable parts
after it as (name, the fixed field that sizes it, the ``struct`` format of one
array element or None for bytes). ``NAME+`` holds the fields a later minor
appended after NAME's variable parts (older payloads end before them).
``PROBE:strings`` is the length word before each entry of PROBE's ``strings``
(``formats._probe_strings``). ``STRUCT:NAME`` (little-endian only) is one item
of a STRUCT name's data whose layout is ktr's own (``formats._struct_data``).
``formats._codec`` builds its codecs from these, so reading and writing traces
needs no construct; a test checks that they equal what the construct schemas in
``_schema`` derive.
"""

from __future__ import annotations

LayoutData = tuple[str, tuple[str, ...], tuple[tuple[str, str, str | None], ...]]

'''


def render() -> str:
    tables = layout_tables()
    body = pprint.pformat(tables, width=100, sort_dicts=True)
    return f"{HEAD}LAYOUTS: dict[str, dict[str, LayoutData]] = {body}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    options = parser.parse_args()
    text = render()
    if options.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET.relative_to(ROOT)} is out of date: run tools/generate_layouts.py",
                  file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
