"""The options object's strings (file header, BEGIN): bytes that are not UTF-8.

SPEC ("File header", ``options``): the options are strict JSON, so a value
that came from bytes that are not UTF-8 (a command-line argument, a probe
spec) is written as text with each invalid byte U+FFFD, and beside it
``KEY_hex`` holds the exact bytes in lower-case hex (for a list: a list as
long, null for the valid items). Never a lone surrogate. Writers before this
rule wrote such bytes as Python's ``surrogateescape`` (``"\\udcff"`` in the
JSON); ``json_safe`` turns those into the rule's form, so one reader serves
both.

Guarantees: pure functions, never raise for any JSON value.
"""

from __future__ import annotations


def text_bytes(text: str) -> bytes:
    """The bytes a string decoded with ``surrogateescape`` came from (an older
    recorder's options carry undecodable bytes so); other lone surrogates as UTF-8
    would spell them (then invalid UTF-8: ``json_safe`` gives their hex)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def json_safe(value: object) -> object:
    """A JSON value with every string holding lone surrogates made valid: U+FFFD for
    each bad byte, and in an object a ``key_hex`` sibling with the exact bytes (a
    list: ``key_hex`` a list as long, null for the valid items). Values already in
    that form, and every other value, are unchanged."""
    if isinstance(value, list):
        return [json_safe(item) for item in value]
    if not isinstance(value, dict):
        return _valid(value)[0] if isinstance(value, str) else value
    out: dict[str, object] = {}
    for key, item in value.items():
        key = _valid(key)[0]
        if isinstance(item, str):
            out[key], exact = _valid(item)
            if exact is not None:
                out[f"{key}_hex"] = exact
        elif isinstance(item, list) and any(isinstance(x, str) and _surrogates(x) for x in item):
            pairs = [_valid(x) if isinstance(x, str) else (json_safe(x), None) for x in item]
            out[key] = [text for text, _ in pairs]
            out[f"{key}_hex"] = [exact for _, exact in pairs]
        else:
            out[key] = json_safe(item)
    return out


def _surrogates(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _valid(text: str) -> tuple[str, str | None]:
    """``text`` without lone surrogates, and the exact bytes' hex when it had some."""
    if not _surrogates(text):
        return text, None
    data = text_bytes(text)
    return data.decode("utf-8", "replace"), data.hex()
