r"""Bytes to strings, for every output: reversible escaping, terminal-safe escaping, JSON.

``text_of``: bytes are decoded as UTF-8; a byte that is not part of valid
UTF-8 becomes the four characters ``\xNN`` (lower-case hex) and a backslash
in the data becomes ``\\``, so the escaping is reversible and no surrogates
appear. ``display_text`` also escapes control characters (``\n``, ``\t``,
``\r``, ``\xNN`` below 0x20 and for 0x7f, ``\uNNNN`` for U+0080-U+009F), so a
string never breaks a line. ``json_bytes`` (JSON): valid UTF-8 as it is, with
JSON's own escaping only, so a path read from JSON can be opened as it is;
invalid UTF-8 as U+FFFD plus a ``KEY_hex`` sibling with the exact bytes
(``docs/json.md``, "Bytes"). JSON output never holds a lone surrogate.

Guarantees: pure functions, never raise for any bytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from json.encoder import encode_basestring as _encode_basestring

from formats import json_safe as json_safe  # re-exported: the options' rule (formats)
from formats import text_bytes as text_bytes

#: json's own C string encoder (escapes quotes, backslashes and control characters).
encode_basestring: Callable[[str], str] = _encode_basestring


_DELETED = " (deleted)"


def fd_text(fd: int, description: str) -> str:
    """``fd`` with what it refers to, as strace -y prints it: ``3</path>``, and for a file
    the kernel names with `` (deleted)`` (unlinked, a memfd) ``3</path>(deleted)``."""
    if description.endswith(_DELETED) and len(description) > len(_DELETED):
        return f"{fd}<{description[:-len(_DELETED)]}>(deleted)"
    return f"{fd}<{description}>"


def plural(count: int, word: str) -> str:
    """``1 record``, ``2 records``: a count and its noun (``batch``: ``batches``)."""
    if count == 1:
        return f"{count} {word}"
    return f"{count} {word}es" if word.endswith(("ch", "s")) else f"{count} {word}s"


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


def display_str(text: str) -> str:
    """A name already decoded (a symbol, a frame label) with control characters escaped
    as ``display_text`` escapes them: safe on one line of a terminal."""
    return text if text.isprintable() else text.translate(_CONTROL_ESCAPES)


def quoted(data: bytes) -> str:
    """``display_text`` in double quotes (a double quote inside is escaped)."""
    text = display_text(data)
    if '"' in text:
        text = text.replace('"', '\\"')
    return f'"{text}"'


def exact_quoted(data: bytes) -> str:
    """``data`` in double quotes as it is (UTF-8, each invalid byte U+FFFD), without
    display escaping: JSON's ``args_decoded`` (JSON escapes it as a whole)."""
    return f'"{data.decode("utf-8", "replace")}"'


def valid_text(text: str) -> str:
    """``text`` (bytes decoded with ``surrogateescape``) with each lone surrogate
    U+FFFD, as ``exact_quoted`` treats the bytes: fit for JSON."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text_bytes(text).decode("utf-8", "replace")
    return text


def json_string(data: bytes) -> str:
    """A JSON string literal for bytes: valid UTF-8 as it is (JSON's own escaping
    only), each invalid byte U+FFFD. Lossy for invalid UTF-8: a key carrying
    bytes goes through ``json_bytes``, which adds the exact bytes."""
    return encode_basestring(data.decode("utf-8", "replace"))


def json_bytes(key: str, data: bytes) -> str:
    """``"key":"text"`` for bytes (``docs/json.md``, "Bytes"): the text is the bytes
    decoded as UTF-8 (so a path can be passed to ``open`` as it is); when they are
    not valid UTF-8, each invalid byte is U+FFFD there and ``"key_hex"`` follows
    with the exact bytes in lower-case hex. Never a lone surrogate."""
    try:
        return f'"{key}":{encode_basestring(data.decode("utf-8"))}'
    except UnicodeDecodeError:
        return (f'"{key}":{encode_basestring(data.decode("utf-8", "replace"))},'
                f'"{key}_hex":"{data.hex()}"')


def json_bytes_list(key: str, items: list[bytes]) -> str:
    """``"key":[...]`` for a list of bytes, as ``json_bytes``: when any is not valid
    UTF-8, ``"key_hex"`` follows, a list as long, the exact bytes in hex where the
    item is not valid UTF-8 and null where it is."""
    texts: list[str] = []
    exact: list[str] = []
    invalid = False
    for item in items:
        try:
            texts.append(encode_basestring(item.decode("utf-8")))
            exact.append("null")
        except UnicodeDecodeError:
            texts.append(encode_basestring(item.decode("utf-8", "replace")))
            exact.append(f'"{item.hex()}"')
            invalid = True
    out = f'"{key}":[{",".join(texts)}]'
    return f'{out},"{key}_hex":[{",".join(exact)}]' if invalid else out


def recording_target(options: dict[str, object]) -> str:
    """What a recording traced, from its options (a BEGIN's, a header's), for one line:
    ``command "make" "-j4"``, ``attach pid 12``, ``attach pids 12, 13``, ``attach process
    group 7``; ``""``
    when the options do not say (or say it in another shape)."""
    command = options.get("command")
    if isinstance(command, list) and command and all(isinstance(a, str) for a in command):
        exact = options.get("command_hex")
        if not (isinstance(exact, list) and len(exact) == len(command)):
            exact = [None] * len(command)
        return "command " + " ".join(quoted(_exact(text, hexed))
                                     for text, hexed in zip(command, exact, strict=True))
    parts = []
    pids = options.get("pids")
    if isinstance(pids, list) and pids and all(type(p) is int for p in pids):
        parts.append(("pid " if len(pids) == 1 else "pids ") + ", ".join(map(str, pids)))
    group = options.get("process_group")
    if type(group) is int:
        parts.append(f"process group {group}")
    return "attach " + ", ".join(parts) if parts else ""


def _exact(text: str, hexed: object) -> bytes:
    """An options string's bytes: its ``KEY_hex`` item when there is one (valid hex),
    else the text (an older recorder's ``surrogateescape`` too)."""
    if isinstance(hexed, str):
        try:
            return bytes.fromhex(hexed)
        except ValueError:
            pass
    return text_bytes(text)


# ---------------------------------------------------------------------------
# strace's string quoting

_STRACE_ESCAPES = {ord('"'): '\\"', ord("\\"): "\\\\", ord("\f"): "\\f", ord("\n"): "\\n",
                   ord("\r"): "\\r", ord("\t"): "\\t", ord("\v"): "\\v"}
_STRACE_PLAIN = re.compile(rb'[\x20-\x21\x23-\x5b\x5d-\x7e]*')
#: Each byte (as a latin-1 character) as strace writes it when no octal digit
#: follows: its C escape, itself when printable, else its shortest octal escape.
_STRACE_TABLE: dict[int, str] = {
    code: _STRACE_ESCAPES.get(code, f"\\{code:o}") for code in range(256)
    if code in _STRACE_ESCAPES or not 0x20 <= code < 0x7F}
#: A byte written in octal with a digit after it: its escape takes all three digits.
_STRACE_BEFORE_DIGIT = re.compile("([^\\x20-\\x7e\\t\\n\\v\\f\\r])(?=[0-7])")


#: A byte that is neither printable nor whitespace: under strace's -x, a string
#: holding one is written in hex.
_NOT_PRINTABLE = re.compile(rb"[^\x09-\x0d\x20-\x7e]")


def strace_string(data: bytes, limit: int | None = None, more: bool = False,
                  hex_strings: int = 0) -> str:
    r"""``data`` quoted as strace quotes it: ``"\177ELF\2\1"``, then ``...`` past ``limit``.

    ``more``: the data shown is not all there was (a capped GIO record).
    ``hex_strings``: strace's -x (1: in hex when a byte is neither printable nor
    whitespace) or -xx (2: always in hex); 0, neither (``Style.hex_strings``).
    """
    if limit is not None and len(data) > limit:
        data = data[:limit]
        more = True
    if hex_strings and (hex_strings > 1 or _NOT_PRINTABLE.search(data)):
        return strace_hex_string(data, None, more)
    if _STRACE_PLAIN.fullmatch(data):
        body = data.decode("ascii")
    else:
        text = data.decode("latin-1")
        if _STRACE_BEFORE_DIGIT.search(text) is None:
            body = text.translate(_STRACE_TABLE)
        else:
            # Split at the bytes whose escape takes three octal digits (a digit
            # follows): the pieces between are translated, those bytes spelled out.
            parts = _STRACE_BEFORE_DIGIT.split(text)
            parts[0::2] = [part.translate(_STRACE_TABLE) for part in parts[0::2]]
            parts[1::2] = [f"\\{ord(char):03o}" for char in parts[1::2]]
            body = "".join(parts)
    return f'"{body}"...' if more else f'"{body}"'


def strace_bounded_string(data: bytes, bound: int, limit: int, hex_strings: int = 0) -> str:
    """A NUL-terminated string strace reads at most ``bound`` bytes of (its
    ``printstr_ex(..., bound, QUOTE_0_TERMINATED)``), shown up to ``limit``
    bytes (-s): ``...`` when no NUL came within what it read (prctl's
    PR_SET_NAME, 15 bytes: ``"a-thread-name-l"...``). ``data``: the string
    without its NUL (a NUL in it ends it)."""
    data = data.split(b"\0", 1)[0]
    size = min(bound, limit)
    return strace_string(data[:size], None, len(data) >= size, hex_strings)


_STRACE_FD_DIGIT = re.compile(r"[<>](?=[0-7])")


def strace_fd_text(data: bytes, hex_strings: int = 0) -> str:
    r"""A path as strace -y writes it between ``<`` and ``>``: quoted as
    ``strace_string`` quotes it (``hex_strings`` too), without the quotes, ``<``
    and ``>`` in octal."""
    body = strace_string(data, None, False, hex_strings)[1:-1]
    if "<" not in body and ">" not in body:
        return body
    body = _STRACE_FD_DIGIT.sub(lambda found: f"\\{ord(found[0]):03o}", body)
    return body.replace("<", "\\74").replace(">", "\\76")


def strace_hex_string(data: bytes, limit: int | None = None, more: bool = False) -> str:
    r"""``data`` as strace's QUOTE_FORCE_HEX quotes it: ``"\x65\x9e"``, ``...`` past ``limit``."""
    if limit is not None and len(data) > limit:
        data = data[:limit]
        more = True
    body = "".join(f"\\x{byte:02x}" for byte in data)
    return f'"{body}"...' if more else f'"{body}"'
