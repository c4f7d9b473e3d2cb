r"""Describe: records as kdump-style text lines or JSON Lines.

Both describers take a batch (``list[formats.Record]``) and return a list of
strings, each one or more complete lines ending in ``\n``; ``_output`` writes
them.

Text (kdump style)::

      4242 ls       CALL  openat(0xffffff9c,0x7ffd1000,0x80000,0x0)
      4242 ls       NAMI  "/etc/ld.so.cache"
      4242 ls       RET   openat 3
      4242 ls       RET   openat -1 errno 2 ENOENT
      4242 ls       GIO   fd 1 wrote 12 bytes
           "hello world
           "

pid (``-H``: then tid), command, (``-T``/``-R``/``-E``: seconds.nanoseconds),
the tag (``formats.KIND_TAGS``), the payload. Return values above 9 or below 0
also print in hex (``RET   mmap 4096/0x1000``). CALL shows the arguments in
hex, as many as the syscall takes (``formats.linux.signature``), or every
argument the record holds when the syscall is unknown (JSON always has all).
I/O data (GIO, USER) follows on its own lines: quoted, printable ASCII as
is, ``\\ \t \r \a \b \v \f`` escaped, other bytes ``\xNN``; a newline byte
ends the line (the closing quote then stands alone when the data ends with
one); lines wrap at the width with a trailing ``\``; continuation lines are
indented 8 spaces. ``-x`` prints a hex dump instead. Strings (paths, argv,
command names) are UTF-8 text escaped as described below, with control
characters also escaped (``\n``, ``\t``, ``\r``, ``\xNN`` below 0x20 and for
0x7f, ``\uNNNN`` for U+0080-U+009F). Unknown kinds print
``UNKNOWN(kind) N bytes``.

Strings from bytes (both formats): bytes are decoded as UTF-8; a byte that is
not part of valid UTF-8 becomes the four characters ``\xNN`` (lower-case hex)
and a backslash in the data becomes ``\\``, so the escaping is reversible and
no surrogates appear. JSON then applies its own string escaping on top (so a
non-UTF-8 byte 0xff reads ``"\\xff"`` in the JSON text).

JSON Lines keys (a stable interface). Every record: ``type`` (the tag),
``pid``, ``tid``, ``comm``, ``ts`` (integer ns since the epoch). Then:

- CALL: ``syscall`` (name or ``"syscall_N"``), ``nr``, ``args`` (integers)
- RET: ``syscall``, ``nr``, ``retval`` (integer), ``errno`` (``"ENOENT"``,
  ``"errno_N"`` for numbers without a name, or null), ``duration_ns``
- NAMI: ``path``
- GIO: ``fd``, ``rw`` (``"read"``/``"write"``), ``len`` (bytes transferred),
  ``data`` (the captured bytes, lower-case hex), ``truncated`` (bool)
- PSIG: ``signal`` (``"SIGUSR1"`` or ``"signal_N"``), ``signo``, ``code``,
  ``action`` (0 default, 1 ignore, 2**64-1 caught with the handler unknown,
  else the handler address)
- PROC: ``event`` (``fork vfork clone exec exit attach detach lost``, or
  ``"event_N"``), and as they apply: fork/vfork ``child``; clone ``child``,
  ``thread`` (bool); exec ``path``; exit ``status``, ``signal`` (name, or null
  when the process called exit), ``core_dumped`` (bool); lost ``reason``;
  attach/detach ``detail`` when the record has one; unknown events ``child``,
  ``status``, ``signal``, ``detail``
- DROP: ``error`` (``"ENOSPC"``/``"ENOMEM"``), ``count``
- CSW: ``out`` (bool: switched out), ``user`` (bool: user mode)
- EMUL: ``name``
- USER: ``label``, ``len``, ``data`` (hex)
- ARG: ``argv`` (list of strings); ENV: ``env`` (list of strings)
- PROBE: ``probe_id``, ``site`` (``entry``/``return``/``offset`` or
  ``"site_N"``), ``name``, ``pc``, ``offset``, ``value``, ``args`` (integers)
- SAMPLE: ``pc``, ``sp``, ``stack`` (integers, innermost first)
- MMAP: ``start``, ``end``, ``offset``, ``prot``, ``flags``, ``path``,
  ``build_id`` (hex, ``""`` when unknown)
- unknown kinds: ``type`` is ``"UNKNOWN"``, then ``kind``, ``len``, ``data`` (hex)

Guarantees: every line is valid JSON / one record's text, whatever the bytes
in the record; describing never raises for a record ``formats`` decoded.
Does not: look numbers up itself (``_model``) or write anything (``_output``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable
from itertools import accumulate
from json.encoder import encode_basestring as _encode_basestring
from typing import Any

from formats import Record, RecordKind, split_nul_strings

from . import _model
from ._model import Names
from ._options import Options

# ---------------------------------------------------------------------------
# Bytes to strings

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


# ---------------------------------------------------------------------------
# I/O data dumps (kdump's visdump and hexdump)

_VIS_C_ESCAPES = {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b",
                  "\v": "\\v", "\f": "\\f"}
_VIS_TABLE: dict[int, str] = {
    code: _VIS_C_ESCAPES.get(chr(code)) or f"\\x{code:02x}"
    for code in range(256)
    if not (0x20 <= code < 0x7F and code != ord("\\")) and code != ord("\n")
}
_VIS_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e\n]*")
_VIS_TOKEN = re.compile(r"\\x[0-9a-f]{2}|\\.|[^\\]")

DUMP_INDENT = " " * 8
_DUMP_OPEN = ' ' * 7 + '"'


def visdump(data: bytes, width: int) -> str:
    """I/O data as kdump prints it: quoted, escaped, broken at newlines, wrapped."""
    if _VIS_PLAIN.fullmatch(data):
        text = data.decode("ascii")
    else:
        text = data.decode("latin-1").translate(_VIS_TABLE)
    limit = width - 2 - len(DUMP_INDENT)  # characters per line after the indent
    if "\n" not in text:
        if len(text) > limit:
            text = _wrap(text, limit)
        return f'{_DUMP_OPEN}{text}"\n'
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if len(line) > limit:
            lines[index] = _wrap(line, limit)
    if not lines[-1]:
        # Data ending in a newline: the closing quote lines up with the opening one.
        return _DUMP_OPEN + ("\n" + DUMP_INDENT).join(lines[:-1]) + "\n" + _DUMP_OPEN + "\n"
    return _DUMP_OPEN + ("\n" + DUMP_INDENT).join(lines) + '"\n'


_WRAP_JOIN = "\\\n" + DUMP_INDENT


def _wrap(line: str, limit: int) -> str:
    """Break ``line`` into pieces of at most ``limit`` characters, never inside an escape."""
    if "\\" not in line:
        return _WRAP_JOIN.join(line[i : i + limit] for i in range(0, len(line), limit))
    # Escapes are 2 or 4 characters: cut at token boundaries, found by bisection
    # over the tokens' running end offsets (no Python loop per character).
    ends = list(accumulate(map(len, _VIS_TOKEN.findall(line))))
    pieces = []
    token = 0
    start = 0
    while token < len(ends):
        stop = max(bisect_right(ends, start + limit, token), token + 1)
        end = ends[stop - 1]
        pieces.append(line[start:end])
        token, start = stop, end
    return _WRAP_JOIN.join(pieces)


_HEX_DUMP_PRINTABLE = bytes(code if 0x20 <= code < 0x7F else ord(".") for code in range(256))
HEX_DUMP_BYTES_PER_LINE = 16


def hexdump(data: bytes) -> str:
    """I/O data as ``kdump -x`` prints it: offset, 16 bytes in pairs, then the printable ones."""
    lines = []
    for start in range(0, len(data), HEX_DUMP_BYTES_PER_LINE):
        chunk = data[start : start + HEX_DUMP_BYTES_PER_LINE]
        digits = chunk.hex().ljust(2 * HEX_DUMP_BYTES_PER_LINE)
        pairs = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
        shown = chunk.translate(_HEX_DUMP_PRINTABLE).decode("ascii")
        lines.append(f"       0x{start:04x} {pairs}  |{shown}|\n")
    return "".join(lines)


# ---------------------------------------------------------------------------
# Shared helpers

_U64 = (1 << 64) - 1
_PROT_BITS = ((1, "r"), (2, "w"), (4, "x"))


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _seconds(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    seconds, fraction = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{seconds}.{fraction:09d}"


def _prot(prot: int) -> str:
    return "".join(letter if prot & bit else "-" for bit, letter in _PROT_BITS)


Handler = Callable[..., str]


# ---------------------------------------------------------------------------
# Text


class TextDescriber:
    """Records as kdump-style text."""

    def __init__(self, options: Options, names: Names | None = None) -> None:
        self.options = options
        self.names = names if names is not None else Names()
        self._hex = options.hex_dump
        self._width = options.width
        self._max_data = options.max_data
        self._plain_data = options.max_data is None and not options.hex_dump
        self._prefixes: dict[tuple[int, int, bytes], str] = {}
        self._previous_ns: int | None = None
        self._first_ns: int | None = None
        self._call_names: dict[tuple[int, int], str] = {}
        self._call_heads: dict[tuple[int, int], tuple[str, int | None]] = {}
        self._handlers: dict[int, Handler] = {
            RecordKind.SYSCALL: self._call,
            RecordKind.SYSRET: self._ret,
            RecordKind.NAMEI: self._namei,
            RecordKind.GENIO: self._genio,
            RecordKind.PSIG: self._psig,
            RecordKind.CSW: self._csw,
            RecordKind.EMUL: self._emul,
            RecordKind.USER: self._user,
            RecordKind.EXEC_ARG: self._exec_strings,
            RecordKind.EXEC_ENV: self._exec_strings,
            RecordKind.PROC: self._proc,
            RecordKind.PROBE: self._probe,
            RecordKind.SAMPLE: self._sample,
            RecordKind.MMAP: self._mmap,
            RecordKind.DROP: self._drop,
        }

    def describe(self, records: list[Record]) -> list[str]:
        out: list[str] = []
        append = out.append
        handlers = self._handlers
        unknown: Handler = self._unknown
        prefixes = self._prefixes
        plain = self.options.timestamps == "none"
        thread_ids = self.options.thread_ids
        for kind, _version, pid, tid, timestamp, comm, payload in records:
            key = (pid, tid if thread_ids else 0, comm)
            prefix = prefixes.get(key)
            if prefix is None:
                prefix = self._make_prefix(key)
            if not plain:
                prefix += self._timestamp(timestamp)
            append(handlers.get(kind, unknown)(prefix, payload, kind))
        return out

    def _make_prefix(self, key: tuple[int, int, bytes]) -> str:
        pid, tid, comm = key
        name = display_text(comm)
        if self.options.thread_ids:
            prefix = f"{pid:6d} {tid:6d} {name:<8} "
        else:
            prefix = f"{pid:6d} {name:<8} "
        if len(self._prefixes) > 65536:  # pid reuse on a long trace: stay bounded
            self._prefixes.clear()
        self._prefixes[key] = prefix
        return prefix

    def _timestamp(self, ns: int) -> str:
        mode = self.options.timestamps
        if mode == "absolute":
            return _seconds(ns) + " "
        if mode == "elapsed":
            if self._first_ns is None:
                self._first_ns = ns
            return _seconds(ns - self._first_ns) + " "
        previous = self._previous_ns if self._previous_ns is not None else ns
        self._previous_ns = ns
        return _seconds(ns - previous) + " "

    def _syscall(self, abi: int, nr: int) -> str:
        key = (abi, nr)
        name = self._call_names.get(key)
        if name is None:
            name = self._call_names[key] = self.names.syscall(abi, nr)
        return name

    def _data(self, data: bytes, total: int, truncated: bool) -> str:
        shown = data if self._max_data is None else data[: self._max_data]
        dump = hexdump(shown) if self._hex else visdump(shown, self._width)
        if truncated or len(shown) < len(data):
            dump += f"       (truncated: {len(shown)} of {total} bytes shown)\n"
        return dump

    # One method per kind: (prefix, payload, kind) -> lines.

    def _call(self, prefix: str, payload: Any, kind: int) -> str:
        nr, abi, _flags, args = payload
        key = (abi, nr)
        head = self._call_heads.get(key)
        if head is None:
            head = self._call_heads[key] = (
                f"CALL  {self._syscall(abi, nr)}(", self.names.syscall_arg_count(abi, nr))
        name, count = head
        if count is not None:
            args = args[:count]  # like kdump: only the arguments the call takes
        return f"{prefix}{name}{','.join(map(hex, args))})\n"

    def _ret(self, prefix: str, payload: Any, kind: int) -> str:
        nr, abi, flags, error, retval, _duration = payload
        name = self._call_names.get((abi, nr)) or self._syscall(abi, nr)
        if flags and _model.unfinished(flags):
            return f"{prefix}RET   {name} unfinished\n"
        if error:
            return f"{prefix}RET   {name} -1 errno {error} {self.names.errno(error)}\n"
        if 0 <= retval <= 9:
            return f"{prefix}RET   {name} {retval}\n"
        return f"{prefix}RET   {name} {retval}/{retval & _U64:#x}\n"

    def _namei(self, prefix: str, payload: Any, kind: int) -> str:
        return f'{prefix}NAMI  "{display_text(payload.path)}"\n'

    def _genio(self, prefix: str, payload: Any, kind: int) -> str:
        fd, direction, flags, transferred, data = payload
        verb = "read" if direction == 0 else "wrote" if direction == 1 else f"direction_{direction}"
        plural = "" if transferred == 1 else "s"
        head = f"{prefix}GIO   fd {fd} {verb} {transferred} byte{plural}\n"
        if self._plain_data and not flags:
            return head + visdump(data, self._width)
        return head + self._data(data, transferred, _model.genio_truncated(flags))

    def _psig(self, prefix: str, payload: Any, kind: int) -> str:
        signo, code, action, blocked, _siginfo = payload
        name = self.names.signal(signo)
        if action == _model.ACTION_DEFAULT:
            how = "SIG_DFL"
        elif action == _model.ACTION_IGNORE:
            how = "SIG_IGN"
        elif action == _model.ACTION_CAUGHT_UNKNOWN_HANDLER:
            how = f"caught mask={blocked:#x}"
        else:
            how = f"caught handler={action:#x} mask={blocked:#x}"
        return f"{prefix}PSIG  {name} {how} code={code}\n"

    def _csw(self, prefix: str, payload: Any, kind: int) -> str:
        switch = "stop" if payload.out else "resume"
        mode = "user" if payload.user else "kernel"
        return f"{prefix}CSW   {switch} {mode}\n"

    def _emul(self, prefix: str, payload: Any, kind: int) -> str:
        return f'{prefix}EMUL  "{display_text(payload.name)}"\n'

    def _user(self, prefix: str, payload: Any, kind: int) -> str:
        label, data = payload
        head = f'{prefix}USER  "{display_text(label)}" {_plural(len(data), "byte")}\n'
        return head + self._data(data, len(data), False)

    def _exec_strings(self, prefix: str, payload: Any, kind: int) -> str:
        tag = "ARG   " if kind == RecordKind.EXEC_ARG else "ENV   "
        strings = split_nul_strings(payload.data)
        if not strings:
            return f"{prefix}{tag}(none)\n"
        return "".join(
            f'{prefix}{tag}[{index}] "{display_text(string)}"\n'
            for index, string in enumerate(strings)
        )

    def _proc(self, prefix: str, payload: Any, kind: int) -> str:
        view = _model.view_proc(payload, self.names)
        words = [view.event]
        if view.child is not None:
            words.append(f"{'thread' if view.thread else 'child'} {view.child}")
        if view.path is not None:
            words.append(f'"{display_text(view.path)}"')
        if view.signal is not None:
            words.append(f"signal {view.signal}")
        elif view.status is not None:
            words.append(f"status {view.status}")
        if view.core_dumped:
            words.append("(core dumped)")
        if view.reason is not None:
            words.append(f'"{display_text(view.reason)}"')
        if view.detail is not None:
            words.append(f'"{display_text(view.detail)}"')
        return f"{prefix}PROC  {' '.join(words)}\n"

    def _probe(self, prefix: str, payload: Any, kind: int) -> str:
        probe_id, site, pc, offset, value, args, name = payload
        site_name = _model.probe_site_name(site)
        head = f'{prefix}PROBE  {probe_id} {site_name} "{display_text(name)}" pc {pc:#x}'
        if site_name == "entry":
            return f"{head} args ({','.join(map(hex, args))})\n"
        if site_name == "return":
            return f"{head} value {value:#x}\n"
        if site_name == "offset":
            return f"{head} offset {offset:#x}\n"
        return f"{head} offset {offset:#x} value {value:#x} args ({','.join(map(hex, args))})\n"

    def _sample(self, prefix: str, payload: Any, kind: int) -> str:
        pc, sp, stack = payload
        return f"{prefix}SAMPLE  pc {pc:#x} sp {sp:#x} stack ({','.join(map(hex, stack))})\n"

    def _mmap(self, prefix: str, payload: Any, kind: int) -> str:
        start, end, offset, prot, flags, build_id, path = payload
        line = (f'{prefix}MMAP  {start:#x}-{end:#x} {_prot(prot)} flags {flags:#x} '
                f'offset {offset:#x} "{display_text(path)}"')
        if build_id:
            line += f" build-id {build_id.hex()}"
        return line + "\n"

    def _drop(self, prefix: str, payload: Any, kind: int) -> str:
        error, count = payload  # not payload.count: tuple.count shadows that field
        name = _model.drop_error_name(error, self.names)
        return f"{prefix}DROP  {name} {_plural(count, 'record')} lost\n"

    def _unknown(self, prefix: str, payload: Any, kind: int) -> str:
        size = len(payload.raw) if hasattr(payload, "raw") else 0
        return f"{prefix}UNKNOWN({kind}) {_plural(size, 'byte')}\n"


# ---------------------------------------------------------------------------
# JSON Lines


def json_string(data: bytes) -> str:
    """A JSON string literal for bytes (``text_of``'s escaping, then JSON's)."""
    return encode_basestring(text_of(data))


def _json_ints(values: Any) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


class JsonDescriber:
    """Records as JSON Lines (keys in the module docstring)."""

    def __init__(self, options: Options, names: Names | None = None) -> None:
        self.options = options
        self.names = names if names is not None else Names()
        self._commons: dict[tuple[int, int, bytes], str] = {}
        self._syscalls: dict[tuple[int, int], str] = {}
        self._errnos: dict[int, str] = {}
        self._handlers: dict[int, Handler] = {
            RecordKind.SYSCALL: self._call,
            RecordKind.SYSRET: self._ret,
            RecordKind.NAMEI: self._namei,
            RecordKind.GENIO: self._genio,
            RecordKind.PSIG: self._psig,
            RecordKind.CSW: self._csw,
            RecordKind.EMUL: self._emul,
            RecordKind.USER: self._user,
            RecordKind.EXEC_ARG: self._exec_strings,
            RecordKind.EXEC_ENV: self._exec_strings,
            RecordKind.PROC: self._proc,
            RecordKind.PROBE: self._probe,
            RecordKind.SAMPLE: self._sample,
            RecordKind.MMAP: self._mmap,
            RecordKind.DROP: self._drop,
        }

    def describe(self, records: list[Record]) -> list[str]:
        out: list[str] = []
        append = out.append
        handlers = self._handlers
        unknown: Handler = self._unknown
        commons = self._commons
        for kind, _version, pid, tid, timestamp, comm, payload in records:
            key = (pid, tid, comm)
            common = commons.get(key)
            if common is None:
                common = self._make_common(key)
            append(handlers.get(kind, unknown)(common, timestamp, payload, kind))
        return out

    def _make_common(self, key: tuple[int, int, bytes]) -> str:
        pid, tid, comm = key
        common = f'"pid":{pid},"tid":{tid},"comm":{json_string(comm)}'
        if len(self._commons) > 65536:
            self._commons.clear()
        self._commons[key] = common
        return common

    def _syscall(self, abi: int, nr: int) -> str:
        key = (abi, nr)
        name = self._syscalls.get(key)
        if name is None:
            name = self._syscalls[key] = encode_basestring(self.names.syscall(abi, nr))
        return name

    def _errno(self, error: int) -> str:
        name = self._errnos.get(error)
        if name is None:
            text = self.names.errno(error)
            name = self._errnos[error] = "null" if text is None else encode_basestring(text)
        return name

    def _call(self, common: str, ts: int, payload: Any, kind: int) -> str:
        nr, abi, _flags, args = payload
        name = self._syscalls.get((abi, nr)) or self._syscall(abi, nr)
        return (f'{{"type":"CALL",{common},"ts":{ts},"syscall":{name},'
                f'"nr":{nr},"args":[{",".join(map(str, args))}]}}\n')

    def _ret(self, common: str, ts: int, payload: Any, kind: int) -> str:
        nr, abi, _flags, error, retval, duration = payload
        name = self._syscalls.get((abi, nr)) or self._syscall(abi, nr)
        return (f'{{"type":"RET",{common},"ts":{ts},"syscall":{name},'
                f'"nr":{nr},"retval":{retval},"errno":{self._errno(error)},'
                f'"duration_ns":{duration}}}\n')

    def _namei(self, common: str, ts: int, payload: Any, kind: int) -> str:
        return f'{{"type":"NAMI",{common},"ts":{ts},"path":{json_string(payload.path)}}}\n'

    def _genio(self, common: str, ts: int, payload: Any, kind: int) -> str:
        fd, direction, flags, transferred, data = payload
        rw = "read" if direction == 0 else "write" if direction == 1 else f"direction_{direction}"
        truncated = "true" if _model.genio_truncated(flags) else "false"
        return (f'{{"type":"GIO",{common},"ts":{ts},"fd":{fd},"rw":"{rw}",'
                f'"len":{transferred},"data":"{data.hex()}","truncated":{truncated}}}\n')

    def _psig(self, common: str, ts: int, payload: Any, kind: int) -> str:
        signo, code, action, _blocked, _siginfo = payload
        name = encode_basestring(self.names.signal(signo))
        return (f'{{"type":"PSIG",{common},"ts":{ts},"signal":{name},"signo":{signo},'
                f'"code":{code},"action":{action}}}\n')

    def _csw(self, common: str, ts: int, payload: Any, kind: int) -> str:
        return (f'{{"type":"CSW",{common},"ts":{ts},"out":{_json_bool(bool(payload.out))},'
                f'"user":{_json_bool(bool(payload.user))}}}\n')

    def _emul(self, common: str, ts: int, payload: Any, kind: int) -> str:
        return f'{{"type":"EMUL",{common},"ts":{ts},"name":{json_string(payload.name)}}}\n'

    def _user(self, common: str, ts: int, payload: Any, kind: int) -> str:
        label, data = payload
        return (f'{{"type":"USER",{common},"ts":{ts},"label":{json_string(label)},'
                f'"len":{len(data)},"data":"{data.hex()}"}}\n')

    def _exec_strings(self, common: str, ts: int, payload: Any, kind: int) -> str:
        tag, key = ("ARG", "argv") if kind == RecordKind.EXEC_ARG else ("ENV", "env")
        strings = ",".join(map(json_string, split_nul_strings(payload.data)))
        return f'{{"type":"{tag}",{common},"ts":{ts},"{key}":[{strings}]}}\n'

    def _proc(self, common: str, ts: int, payload: Any, kind: int) -> str:
        view = _model.view_proc(payload, self.names)
        fields = [f'"event":{encode_basestring(view.event)}']
        if view.child is not None:
            fields.append(f'"child":{view.child}')
        if view.thread is not None:
            fields.append(f'"thread":{_json_bool(view.thread)}')
        if view.path is not None:
            fields.append(f'"path":{json_string(view.path)}')
        if view.status is not None:
            fields.append(f'"status":{view.status}')
        if view.event == "exit" or view.signal is not None:
            signal = "null" if view.signal is None else encode_basestring(view.signal)
            fields.append(f'"signal":{signal}')
        if view.core_dumped is not None:
            fields.append(f'"core_dumped":{_json_bool(view.core_dumped)}')
        if view.reason is not None:
            fields.append(f'"reason":{json_string(view.reason)}')
        if view.detail is not None:
            fields.append(f'"detail":{json_string(view.detail)}')
        return f'{{"type":"PROC",{common},"ts":{ts},{",".join(fields)}}}\n'

    def _probe(self, common: str, ts: int, payload: Any, kind: int) -> str:
        probe_id, site, pc, offset, value, args, name = payload
        site_name = encode_basestring(_model.probe_site_name(site))
        return (f'{{"type":"PROBE",{common},"ts":{ts},"probe_id":{probe_id},'
                f'"site":{site_name},"name":{json_string(name)},"pc":{pc},'
                f'"offset":{offset},"value":{value},"args":{_json_ints(args)}}}\n')

    def _sample(self, common: str, ts: int, payload: Any, kind: int) -> str:
        pc, sp, stack = payload
        return (f'{{"type":"SAMPLE",{common},"ts":{ts},"pc":{pc},"sp":{sp},'
                f'"stack":{_json_ints(stack)}}}\n')

    def _mmap(self, common: str, ts: int, payload: Any, kind: int) -> str:
        start, end, offset, prot, flags, build_id, path = payload
        return (f'{{"type":"MMAP",{common},"ts":{ts},"start":{start},"end":{end},'
                f'"offset":{offset},"prot":{prot},"flags":{flags},'
                f'"path":{json_string(path)},"build_id":"{build_id.hex()}"}}\n')

    def _drop(self, common: str, ts: int, payload: Any, kind: int) -> str:
        error, count = payload  # not payload.count: tuple.count shadows that field
        name = encode_basestring(_model.drop_error_name(error, self.names))
        return f'{{"type":"DROP",{common},"ts":{ts},"error":{name},"count":{count}}}\n'

    def _unknown(self, common: str, ts: int, payload: Any, kind: int) -> str:
        raw = payload.raw if hasattr(payload, "raw") else b""
        return (f'{{"type":"UNKNOWN",{common},"ts":{ts},"kind":{kind},"len":{len(raw)},'
                f'"data":"{raw.hex()}"}}\n')


def describer_for(options: Options, names: Names | None = None) -> TextDescriber | JsonDescriber:
    if options.output_format == "json":
        return JsonDescriber(options, names)
    return TextDescriber(options, names)
