r"""Bytes to strings, for every output: reversible escaping, terminal-safe escaping, JSON.

``text_of``: bytes are decoded as UTF-8; a byte that is not part of valid
UTF-8 becomes the four characters ``\xNN`` (lower-case hex) and a backslash
in the data becomes ``\\``, so the escaping is reversible and no surrogates
appear. ``display_text`` also escapes control characters (``\n``, ``\t``,
``\r``, ``\xNN`` below 0x20 and for 0x7f, ``\uNNNN`` for U+0080-U+009F), so a
string never breaks a line. ``json_string`` is ``text_of`` then JSON's own
escaping.

Guarantees: pure functions, never raise for any bytes.
"""

from __future__ import annotations

from collections.abc import Callable
from json.encoder import encode_basestring as _encode_basestring

#: json's own C string encoder (escapes quotes, backslashes and control characters).
encode_basestring: Callable[[str], str] = _encode_basestring


def text_of(data: bytes) -> str:
    r"""Bytes as a string: UTF-8, other bytes ``\xNN``, a backslash ``\\`` (reversible)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data.replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
    if "\\" in text:
        return text.replace("\\", "\\\\")
    return text


_CONTROL_ESCAPES: dict[int, str] = {
    **{code: f"\\x{code:02x}" for code in range(0x20)},
    0x7F: "\\x7f",
    **{code: f"\\u{code:04x}" for code in range(0x80, 0xA0)},
    ord("\n"): "\\n",
    ord("\t"): "\\t",
    ord("\r"): "\\r",
}


def display_text(data: bytes) -> str:
    """``text_of`` with control characters escaped too: safe on one line of a terminal."""
    text = text_of(data)
    if text.isprintable():
        return text
    return text.translate(_CONTROL_ESCAPES)


def quoted(data: bytes) -> str:
    """``display_text`` in double quotes (a double quote inside is escaped)."""
    text = display_text(data)
    if '"' in text:
        text = text.replace('"', '\\"')
    return f'"{text}"'


def json_string(data: bytes) -> str:
    """A JSON string literal for bytes (``text_of``'s escaping, then JSON's)."""
    return encode_basestring(text_of(data))


def recording_target(options: dict[str, object]) -> str:
    """What a recording traced, from its options (a BEGIN's, a header's), for one line:
    ``command "make" "-j4"``, ``attach pid 12``, ``attach pids 12, 13``, ``attach process
    group 7``; ``""``
    when the options do not say (or say it in another shape)."""
    command = options.get("command")
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        return "command " + " ".join(
            quoted(a.encode("utf-8", "backslashreplace")) for a in command)
    parts = []
    pids = options.get("pids")
    if isinstance(pids, list) and pids and all(type(p) is int for p in pids):
        parts.append(("pid " if len(pids) == 1 else "pids ") + ", ".join(map(str, pids)))
    group = options.get("process_group")
    if type(group) is int:
        parts.append(f"process group {group}")
    return "attach " + ", ".join(parts) if parts else ""
