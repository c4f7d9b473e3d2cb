r"""Describe: records as kdump-style text lines or JSON Lines, with decoded calls.

Both describers take a batch (``list[formats.Record]``) and return a list of
strings, each one or more complete lines ending in ``\n``; ``_output`` writes
them. With ``stream_large`` (set by ``cli.dump``) the text describer gives the
dump of a record with ``STREAMED_BYTES`` of data or more as an
``_output.StreamedText`` instead: the same text, made a piece at a time as it is
written (never held whole: an 8 MiB record's is 32 MiB and more); so does the JSON
describer for such a GIO or USER record's line (its data in hex: 16 MiB). ``finish()``
returns what is still held back at the end of the input (see "Calls" below).
``describer_for(options, header)`` picks the describer (``_strace.StraceDescriber``
for ``--format strace``).

Text (kdump style)::

      4242 ls       CALL  openat(AT_FDCWD,"/etc/ld.so.cache",O_RDONLY|O_CLOEXEC)
      4242 ls       NAMI  "/etc/ld.so.cache"
      4242 ls       RET   openat 3
      4242 ls       RET   openat -1 errno 2 ENOENT (No such file or directory)
      4242 ls       GIO   fd 1 wrote 12 bytes
           "hello world
           "

pid (``-H``: then tid), command, the timestamps asked for (``-T`` absolute,
``-E`` since the first record shown, ``-R`` since the previous one shown; in
that order when combined; seconds.nanoseconds), the tag
(``formats.KIND_TAGS``), the payload.

- CALL: the arguments the syscall takes, decoded by kind (``_args``: paths
  from the call's NAMI records, flags by name, fds, structures it reads in
  place of their pointers); with ``-y`` fds as ``3</etc/passwd>``. ``-n``
  (kdump's "no ad hoc translations"): every argument in hex as recorded,
  ``-d``: numbers in decimal. A syscall without a signature shows every
  argument the record holds, in hex.
- RET: ``-1 errno N NAME (message)`` for a failure (``-n``: ``-1 errno N``);
  a pointer result in hex; otherwise the value, with its hex form after a
  slash when above 9 or below 0 (``832/0x340``, kdump's); ``-n``: hex (``-d``:
  decimal); ``-y``: ``3</etc/passwd>`` for an fd result; a call that never
  returned: ``unfinished`` (``unfinished: detached, continues untraced`` for one
  ktr let go in, strace's ``<detached ...>``: SYSRET flag DETACHED; files
  written before the flag say ``unfinished`` alone); ``--durations``:
  `` <0.000012>`` (seconds spent).
- STRU: ``struct stat {st_mode=S_IFREG|0644, ...}`` (``fds [3, 4]``,
  ``sigset [USR1]``); undecodable or ``-n``: the name, size and a hex dump.
- GIO, USER: I/O data on their own lines: quoted, printable ASCII as is,
  ``\\ \t \r \a \b \v \f`` escaped, other bytes ``\xNN``; a newline byte
  ends the line (the closing quote then stands alone when the data ends with
  one); lines wrap at the width with a trailing ``\``; continuation lines
  are indented 8 spaces. ``-x`` prints a hex + ASCII dump instead, ``-m N``
  at most N bytes, ``-s`` (GIO only) no data.
- PSIG: ``SIGUSR1 caught handler=0x401136 mask=0x2000 code=SI_USER``
  (``-n``: the code's number).
- SAMPLE: ``cpu 1 leaf_a+0x1a <- mid_a+0x5 <- main+0x26 <- ...``: the
  unwound frames, innermost first (``_profile``; a kernel-mode sample starts
  with ``[kernel]``); ``-n``: the CPU and the sampled pc only.
- MMAP: ``0x7f..-0x7f.. r-x flags 0x2 offset 0x26000 "/usr/lib/.../libc.so.6"
  build-id 93ac...``, `` (deleted)`` / `` (replaced)`` after the path when
  the record says the path no longer named the mapped file (``MmapFlag``),
  `` (maps)`` for a /proc/PID/maps snapshot, ``image N bytes`` when it
  carries the vDSO's image.

Damage (``notice_lines``): where the reader skipped damaged batches or a
recording has no END, a line of pid 0, command ``ktrdump``, tag ``SKIP`` (or
``CUT``) and the one-line notice stderr also gets; in JSON a ``SKIP``/``CUT``
record (``damage_json``). It comes after the records read before the damage
(a call entry held back is passed on first), so it stands where the data is
missing.

Strings (paths, argv, command names) are UTF-8 text escaped as ``_text``
says. Unknown kinds print ``UNKNOWN(kind) N bytes``.

Calls: records come through the call layer (``_calls.CallTracker.feed``): a
CALL line shows what the call's entry records (NAMI, in-STRU, ARG, ENV) say,
so the layer passes the CALL on once they have arrived (they follow it, in
their order), and records of other sources that came meanwhile follow them.
At the end of a batch a still-open entry is held over to the next batch
(``defer_entries``, the default) or passed on at once (for a live input, so
nothing waits for the next batch); ``finish()`` passes it on at the end of
the input. The describers only render.

JSON Lines keys: ``docs/json.md`` is the public contract (keys are only ever
added; update it with any key added here). In short, every record:
``type`` (the tag), ``pid``, ``tid``, ``comm``, ``ts`` (integer ns since the
epoch), ``call`` (the call id, on every record of a call). Then:

- CALL: ``syscall`` (name or ``"syscall_N"``), ``nr``, ``args`` (integers,
  every register the record holds), ``args_decoded`` (strings: the arguments
  the text shows, as the text shows them; ``-n``: in hex), with ``-y``
  ``fd_path`` (what the call's first fd argument was, when known)
- RET: ``syscall``, ``nr``, ``retval`` (integer), ``errno`` (``"ENOENT"``,
  ``"errno_N"`` for numbers without a name, or null), ``duration_ns``;
  ``unfinished`` (true, only when the call never returned: the thread
  exited, exec'd or was let go; retval then means nothing); ``detached``
  (true, only when ktr let the thread go in the call: it continues
  untraced; files written before the flag lack it); with ``-y``
  ``fd_path`` (the fd the call returned, or else its first fd argument,
  when known)
- NAMI: ``path``
- GIO: ``fd``, ``rw`` (``"read"``/``"write"``), ``len`` (bytes transferred),
  ``data`` (the captured bytes, lower-case hex), ``truncated`` (bool); with
  ``-y`` ``fd_path`` when known
- STRU: ``struct`` (its name), ``argument`` (index of the call argument it
  belongs to), ``data`` (hex), ``fields`` (an object of the decoded fields,
  or null when it cannot be decoded)
- PSIG: ``signal`` (``"SIGUSR1"`` or ``"signal_N"``), ``signo``, ``code``,
  ``action`` (0 default, 1 ignore, 2**64-1 caught with the handler unknown,
  else the handler address), ``blocked`` (the blocked mask: bit n-1 for
  signal n)
- PROC: ``event`` (``fork vfork clone exec exit attach detach lost stop``, or
  ``"event_N"``), and as they apply: fork/vfork ``child``; clone ``child``,
  ``thread`` (bool); exec ``path``; exit ``status``, ``signal`` (name, or null
  when the process called exit), ``core_dumped`` (bool); stop ``signal`` (what
  stopped the thread: job control); lost ``reason``;
  attach/detach ``detail`` when the record has one; unknown events ``child``,
  ``status``, ``signal``, ``detail``
- DROP: ``error`` (``"ENOSPC"``/``"ENOMEM"``), ``count``
- BEGIN: ``recorder_pid``, ``realtime_ns``, ``monotonic_ns`` (when the
  recording started), ``version`` (the recorder's), ``options`` (the
  recording's options object, as the file header's; null when the record's
  bytes are not a JSON object)
- END: ``status`` (the started command's exit status, -1 for none),
  ``stopped_early`` (bool), ``reason`` (why, or ""), ``processes``, ``threads``,
  ``lost``, ``detached``
- CSW: ``event`` (``"out"``/``"in"``), ``preempted`` (bool, out only), ``cpu``,
  ``user`` (bool: a preemption rather than a sleep in the kernel)
- CNT: ``counters`` (object: name → cumulative value for the thread),
  ``final`` (bool: the reading at thread exit), ``enabled_ns``,
  ``running_ns``, ``user_only`` (bool); ``not_supported`` (the counters asked
  for that this machine could not count, the ``counters_not_supported`` of
  the record's recording (its BEGIN's; the header's before any BEGIN): perf
  stat's ``<not supported>``; only when there are some)
- EMUL: ``name``
- USER: ``label``, ``len``, ``data`` (hex)
- ARG: ``argv`` (list of strings); ENV: ``env`` (list of strings)
- PROBE: ``probe_id``, ``probe`` (``"MODULE:FUNCTION:POINT"``, the module as its
  file name, POINT ``entry``/``return``/``+0xOFF``), ``point`` (``entry``, ``return``
  or ``offset``), ``pc``, ``args`` (typed as the probe's definition says: integers as
  numbers, ``str`` as strings, null when unreadable; empty for return probes), ``retval``
  (return probes), ``offset`` (offset probes), ``strings_damage`` (only when the
  record's strings field is damaged: ``offset``, ``length``, ``reason``)
- PDEF (a probe's definition): ``probe_id``, ``probe``, ``point``, ``module`` (path),
  ``build_id``, ``function``, ``alias`` (the IFUNC it implements, or ""), ``offset``,
  ``file_offset``, ``types`` (names), ``string_cap``
- SAMPLE: ``cpu``, ``pc``, ``period`` (task-clock ns the sample stands
  for), ``kernel`` (bool: sampled in the kernel), ``frames`` (list, innermost
  first, each ``{"pc", "function", "module", "offset"}``: ``function`` null
  when unknown, ``module`` null when no mapping holds the pc; ``offset`` from
  the function's start, else the link-time address in the module; the
  kernel's frame of a kernel-mode sample is module ``"[kernel]"``), unwound
  and symbolized as ``_profile`` says
- MMAP: ``start``, ``end``, ``offset``, ``prot``, ``flags``, ``path``,
  ``build_id`` (hex, ``""`` when unknown), ``origin`` (``"mmap"`` the kernel
  reported it, ``"maps"`` /proc/PID/maps at attach), ``image_len`` (bytes of
  the vDSO image it carries)
- unknown kinds: ``type`` is ``"UNKNOWN"``, then ``kind``, ``len``, ``data`` (hex)

Filters (``-p``, ``-t``, ``-u``; ``_filter``; and the call filters of
``_select``) decide which records are shown; every record still goes through
the call layer.

Guarantees: every line is valid JSON / one record's text, whatever the bytes
in the record; describing never raises for a record ``formats`` decoded;
state is per live thread and process (``_calls``), so memory does not grow
with the trace.
Does not: look numbers up itself (``_model``), decode flags or structures
(``_flags``, ``_structs`` through ``_args``), or write anything (``_output``).
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from functools import lru_cache
from typing import Any

from formats import (
    DROP_CAUSES,
    PROBE_ARG_TYPE_NAMES,
    EndFlag,
    FileHeader,
    MmapFlag,
    ProbeSite,
    Record,
    RecordKind,
    split_nul_strings,
)
from formats.linux import RetKind, errno_message

from . import _model, _perfviews
from ._args import CallArguments, Style, compile_arguments, decode_struct, struct_fields
from ._bounded import Cache
from ._calls import Call, CallPlan, CallTracker, LineView, recorded_facilities, returns_fd
from ._filter import record_filter
from ._model import Names
from ._options import TIMESTAMP_ORDER, Options
from ._output import StreamedText
from ._probes import ProbeTable
from ._profile import Stacks, frames_json, sample_text
from ._reader import CutShort, HeaderLost, Skipped, Unverified
from ._siginfo import code_name
from ._text import (
    display_text,
    encode_basestring,
    fd_text,
    json_bytes,
    json_bytes_list,
    json_safe,
    json_string,
    plural,
    quoted,
    recording_target,
    text_bytes,
    text_of,
)

__all__ = [
    "DUMP_INDENT", "JsonDescriber", "TextDescriber", "describer_for", "display_text",
    "encode_basestring", "hexdump", "json_string", "text_of", "visdump",
]

# ---------------------------------------------------------------------------
# I/O data dumps (kdump's visdump and hexdump)

#: codecs.escape_encode's escapes (C speed) that kdump spells otherwise, by the
#: byte escaped; an escaped backslash becomes _VIS_BACKSLASH while wrapping (first:
#: from there on every backslash begins an escape, so no other can match across two).
_VIS_FIXES = ((b"\\", b"\\\\", b"\x01\x02"), (b"\n", b"\\n", b"\n"), (b"'", b"\\'", b"'"),
              (b"\a", b"\\x07", b"\\a"), (b"\b", b"\\x08", b"\\b"), (b"\v", b"\\x0b", b"\\v"),
              (b"\f", b"\\x0c", b"\\f"))
#: The same mended in one pass, from the left (an escaped backslash is met whole):
#: cheaper than a pass each where they are few (a callback each).
_VIS_FIX = re.compile(rb"\\\\|\\(?:[n']|x0[78bc])")
_VIS_FIXED = {escaped: kdump for _byte, escaped, kdump in _VIS_FIXES}
#: The one pass where the bytes to mend number fewer than the passes they would
#: take (the kinds present) times a slice's length over this (measured: a
#: callback costs about what 150 bytes of a pass do).
_VIS_FEW = 150
#: Data that is its own escape: printable ASCII but the backslash, and newlines.
_VIS_PLAIN = re.compile(rb"[\x20-\x5b\x5d-\x7e\n]*")
#: An escaped backslash while wrapping: two bytes escape_encode never writes, so
#: whether a place is inside an escape shows in the 3 bytes before it.
_VIS_BACKSLASH = b"\x01\x02"
#: Bytes of data escaped at a time (the escaped text is at most 4 times as long).
_VIS_SLICE = 1 << 16
#: Where a line wraps (the newline gets the indent with the others).
_WRAP_BREAK = b"\\\n"

DUMP_INDENT = " " * 8
_DUMP_OPEN = ' ' * 7 + '"'
_NEWLINE_INDENT = b"\n" + DUMP_INDENT.encode("ascii")
_NEWLINE_INDENT_TEXT = "\n" + DUMP_INDENT
#: Data from this long on is dumped a piece at a time when the describer streams
#: (``StreamedText``): at least ``Output``'s chunk, as its length says.
STREAMED_BYTES = 1 << 18
#: Bytes of data a piece of a streamed JSON line holds in hex (twice as many characters).
_HEX_PIECE = 1 << 16
#: Data up to this long is escaped by _VIS_TABLE first: most needs no cut.
_VIS_SMALL = 512
_VIS_TABLE: dict[int, str] = {
    code: {"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\a": "\\a", "\b": "\\b", "\v": "\\v",
           "\f": "\\f"}.get(chr(code)) or f"\\x{code:02x}"
    for code in range(256)
    if not (0x20 <= code < 0x7F and code != ord("\\")) and code != ord("\n")
}


def visdump(data: bytes, width: int, before: str = "") -> str:
    """I/O data as kdump prints it: quoted, escaped, broken at newlines, wrapped.

    Printable ASCII but ``\\`` as is; ``\\\\ \\t \\r \\a \\b \\v \\f``; other bytes
    ``\\xNN``; each line cut greedily into pieces of at most ``width - 10``
    characters, never inside an escape (an escape longer than that alone): the
    per-token cut's text, which the tests keep as the oracle. Small data is escaped
    by a table; larger data, or lines to cut, a slice at a time (C-speed escaping
    and regex pieces, no Python per character or per piece), so beside the result
    only a slice's escapes and pieces are held.
    ``before``: text put first (the record's line: no copy of the dump to add it).
    """
    limit = width - 10  # characters per line after the indent (8) and for the quotes
    if len(data) <= _VIS_SMALL:
        # A small record (the common case): escaped a character at a time, shown
        # as it is when no line needs cutting (cheaper than the C-speed passes).
        if _VIS_PLAIN.fullmatch(data):
            text = data.decode("ascii")
        else:
            text = data.decode("latin-1").translate(_VIS_TABLE)
        if "\n" not in text:
            if len(text) <= limit:
                return f'{before}{_DUMP_OPEN}{text}"\n'
        elif max(map(len, text.split("\n"))) <= limit:
            text = text.replace("\n", _NEWLINE_INDENT_TEXT)
            if data.endswith(b"\n"):  # the closing quote lines up with the opening one
                text = text[:-1]
            return f'{before}{_DUMP_OPEN}{text}"\n'
        # Cut as the slices are (below), in one go. Escaped backslashes are met
        # whole from the left, so this finds them all and nothing else.
        pieces = _wrap_piece_text(limit).findall(text.replace("\\\\", "\x01\x02"))
        text = ("\\\n".join(pieces).replace("\n\\\n", "\n")
                .replace("\n", _NEWLINE_INDENT_TEXT).replace("\x01\x02", "\\\\"))
        if data.endswith(b"\n"):
            text = text[:-1]
        return f'{before}{_DUMP_OPEN}{text}"\n'
    # One string grown in place (CPython resizes a str nothing else refers to),
    # not a list of parts joined: that would hold the dump twice.
    dump = ""
    for part in _visdump_large(data, limit, before):
        dump += part
    return dump


def visdump_pieces(data: bytes, width: int, before: str = "") -> Iterator[str]:
    """``visdump``'s text in pieces (one for small data; for large, a piece per slice
    of it): joined, they are ``visdump``'s, and only a slice's are held at a time."""
    if len(data) <= _VIS_SMALL:
        yield visdump(data, width, before)
    else:
        yield from _visdump_large(data, width - 10, before)


def _visdump_large(data: bytes, limit: int, before: str) -> Iterator[str]:
    """``visdump`` of data over _VIS_SMALL, a slice at a time."""
    piece = _wrap_piece(limit)
    long_line = _long_line(limit)
    yield before + _DUMP_OPEN
    carry = b""  # the last piece so far: more data may lengthen it
    for start in range(0, len(data), _VIS_SLICE):
        chunk = data[start : start + _VIS_SLICE]
        escaped = chunk if _VIS_PLAIN.fullmatch(chunk) else _vis_escape(chunk)
        escaped = carry + escaped
        if long_line.search(escaped) is None:
            # No line to cut (text, as a rule): the lines as they are, but the last,
            # which more data may lengthen (with its newline, for the closing quote).
            cut = escaped.rfind(b"\n", 0, len(escaped) - 1) + 1
            carry = escaped[cut:]
            if cut:
                yield _vis_text(escaped[:cut])
            continue
        pieces = piece.findall(escaped)
        carry = pieces.pop()
        if pieces:
            yield _vis_text(_WRAP_BREAK.join(pieces) + _WRAP_BREAK)
    last = _vis_text(carry)
    if data.endswith(b"\n"):
        # Data ending in a newline: the closing quote lines up with the opening one.
        last = last[:-1]
    yield last + '"\n'


def _vis_escape(chunk: bytes) -> bytes:
    """``chunk`` escaped as kdump does, but an escaped backslash is _VIS_BACKSLASH."""
    text: bytes = codecs.escape_encode(chunk)[0]
    counts = [chunk.count(byte) for byte, _escaped, _kdump in _VIS_FIXES]
    if _VIS_FEW * sum(counts) < len(chunk) * (len(counts) - counts.count(0)):
        return _VIS_FIX.sub(_vis_fix, text)
    for count, (_byte, escaped, kdump) in zip(counts, _VIS_FIXES, strict=True):
        if count:
            text = text.replace(escaped, kdump)
    return text


def _vis_fix(found: re.Match[bytes]) -> bytes:
    return _VIS_FIXED[found[0]]


def _vis_text(pieces: bytes) -> str:
    """Pieces joined with breaks as the dump's text: a line's end breaks no more, indents."""
    # A piece ending a line carries its newline: a break after it is none.
    pieces = pieces.replace(b"\n" + _WRAP_BREAK, b"\n")
    return pieces.replace(b"\n", _NEWLINE_INDENT).replace(_VIS_BACKSLASH, b"\\\\").decode("ascii")


@lru_cache(maxsize=8)
def _long_line(limit: int) -> re.Pattern[bytes]:
    """A line longer than ``limit``, looked for from line starts only (no rescans)."""
    return re.compile(rb"(?m)^.{%d}" % (max(limit, 0) + 1))


@lru_cache(maxsize=8)
def _wrap_piece_text(limit: int) -> re.Pattern[str]:
    """``_wrap_piece`` for escaped text as a str (small data)."""
    return re.compile(_wrap_piece(limit).pattern.decode("latin-1"))


@lru_cache(maxsize=8)
def _wrap_piece(limit: int) -> re.Pattern[bytes]:
    """One piece of a wrapped line (with the line's newline when it ends one), or an empty line."""
    # As many characters as fit, given back one by one (at most 3) while the piece
    # would end inside an escape: after a backslash (or _VIS_BACKSLASH's first
    # byte), or 1 or 2 bytes into \xNN. An escape alone when none fits (a limit under 4).
    alone = rb"\\x..|[\\\x01].|."
    if limit < 1:
        return re.compile(rb"(?:%s)\n?|\n" % alone)
    fits = rb"(?>.{1,%d}(?<![\\\x01])(?<!\\x)(?<!\\x.))" % limit
    if limit < 4:
        fits += rb"|" + alone
    return re.compile(rb"(?:%s)\n?|\n" % fits)


_HEX_DUMP_PRINTABLE = bytes(code if 0x20 <= code < 0x7F else ord(".") for code in range(256))
HEX_DUMP_BYTES_PER_LINE = 16


def hexdump(data: bytes) -> str:
    """I/O data as ``kdump -x`` prints it: offset, 16 bytes in pairs, then the printable ones."""
    if len(data) <= _HEX_DUMP_SLICE:
        return _hexdump_lines(data, 0)
    dump = ""  # grown in place (see visdump)
    for part in hexdump_pieces(data):
        dump += part
    return dump


def hexdump_pieces(data: bytes) -> Iterator[str]:
    """``hexdump``'s text a slice of the data at a time (joined, ``hexdump``'s)."""
    for start in range(0, len(data), _HEX_DUMP_SLICE):
        yield _hexdump_lines(data[start : start + _HEX_DUMP_SLICE], start)


#: Bytes of data dumped at a time (a multiple of a line's).
_HEX_DUMP_SLICE = 256 * HEX_DUMP_BYTES_PER_LINE


def _hexdump_lines(data: bytes, offset: int) -> str:
    """The lines of ``data``, the first at ``offset`` of the whole."""
    lines = []
    for start in range(0, len(data), HEX_DUMP_BYTES_PER_LINE):
        chunk = data[start : start + HEX_DUMP_BYTES_PER_LINE]
        digits = chunk.hex().ljust(2 * HEX_DUMP_BYTES_PER_LINE)
        pairs = " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))
        shown = chunk.translate(_HEX_DUMP_PRINTABLE).decode("ascii")
        lines.append(f"       0x{offset + start:04x} {pairs}  |{shown}|\n")
    return "".join(lines)


# ---------------------------------------------------------------------------
# Shared helpers

_U64 = (1 << 64) - 1
_PROT_BITS = ((1, "r"), (2, "w"), (4, "x"))
_SYSCALL = int(RecordKind.SYSCALL)
_SYSRET = int(RecordKind.SYSRET)
_GENIO = int(RecordKind.GENIO)
_NAMEI = int(RecordKind.NAMEI)
_STRUCT = int(RecordKind.STRUCT)
_PROC = int(RecordKind.PROC)
_MMAP = int(RecordKind.MMAP)
_PROBE_DEF = int(RecordKind.PROBE_DEF)
_BEGIN = int(RecordKind.BEGIN)
_UNFINISHED = 1  # formats.SyscallFlag.UNFINISHED
_DETACHED = 2  # formats.SyscallFlag.DETACHED (with UNFINISHED)
#: STRU names that are not C structures (kdump prints "struct NAME" for the others).
_NOT_STRUCTS = frozenset({b"fds", b"sigset", b"old_sigset", b"id", b"old_id", b"ptr",
                          b"ulong"})


def _seconds(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    seconds, fraction = divmod(abs(ns), 1_000_000_000)
    return f"{sign}{seconds}.{fraction:09d}"


def duration_text(ns: int) -> str:
    """A call's duration as strace -T prints it: ``<0.000012>``."""
    seconds, micro = divmod(ns // 1000, 1_000_000)
    return f"<{seconds}.{micro:06d}>"


def _prot(prot: int) -> str:
    return "".join(letter if prot & bit else "-" for bit, letter in _PROT_BITS)


Handler = Callable[..., "str | StreamedText"]


#: The describer method for each record kind (CALL goes through the call tracker).
_HANDLER_NAMES: dict[int, str] = {
    RecordKind.SYSRET: "_ret",
    RecordKind.NAMEI: "_namei",
    RecordKind.GENIO: "_genio",
    RecordKind.PSIG: "_psig",
    RecordKind.CSW: "_csw",
    RecordKind.EMUL: "_emul",
    RecordKind.USER: "_user",
    RecordKind.EXEC_ARG: "_exec_strings",
    RecordKind.EXEC_ENV: "_exec_strings",
    RecordKind.PROC: "_proc",
    RecordKind.PROBE: "_probe",
    RecordKind.SAMPLE: "_sample",
    RecordKind.MMAP: "_mmap",
    RecordKind.DROP: "_drop",
    RecordKind.STRUCT: "_struct",
    RecordKind.CNT: "_cnt",
    RecordKind.PROBE_DEF: "_probe_def",
    RecordKind.END: "_end",
    RecordKind.BEGIN: "_begin",
}


def damage_of(notice: Any) -> tuple[str | None, Skipped | None]:
    """The input named (merged inputs) and the damaged region a notice reports, or
    ``(None, None)`` for notices that lose nothing (a merge's late records, ...)."""
    if isinstance(notice, Skipped):
        return None, notice
    inner = getattr(notice, "notice", None)
    if isinstance(inner, Skipped):
        return getattr(notice, "source", None), inner
    return None, None


def damage_tag(notice: Skipped) -> str:
    """The text tag and JSON ``type`` of an in-band damage line: ``SKIP`` for damaged
    batches passed over, ``CUT`` for a recording without its END."""
    if isinstance(notice, Unverified):
        return "UNVERIFIED"
    return "CUT" if isinstance(notice, CutShort) else "SKIP"


def damage_text(notice: Skipped, source: str | None) -> str:
    """A damaged region in a few words, for a comment-like line (strace's view):
    ``812 bytes lost at byte offset 4096 (1 batch skipped: REASON)``."""
    where = f"{source}: " if source is not None else ""
    if isinstance(notice, Unverified):
        return (f"{where}UNVERIFIED: {plural(notice.kept, 'record')} follow from the damaged "
                f"batch at byte offset {notice.offset}, bytes {notice.damage_at} to "
                f"{notice.damage_at + notice.missing}: no checksum vouches for them (--salvage)")
    if isinstance(notice, CutShort):
        return (f"{where}recording cut short at byte offset {notice.offset} ({notice.reason});"
                " records not written are missing")
    if isinstance(notice, HeaderLost):
        return (f"{where}{notice.reason}; read from byte offset "
                f"{notice.bytes} (--salvage): its host, command line, options and start time "
                "are unknown")
    if notice.shown:  # --salvage: its records were shown above, UNVERIFIED
        return (f"{where}{notice.lost} bytes lost at byte offset {notice.shown_to} (shown "
                f"{notice.shown} of {plural(notice.records, 'record')} of the batch at byte "
                f"offset {notice.offset}, UNVERIFIED: {notice.reason})")
    if notice.kept:
        return (f"{where}{notice.lost} bytes lost at byte offset {notice.damage_at} (kept "
                f"{notice.kept} of {plural(notice.records, 'record')} of the batch at byte "
                f"offset "
                f"{notice.offset}: {notice.reason})")
    return (f"{where}{notice.bytes} bytes lost at byte offset {notice.offset} "
            f"({plural(notice.batches, 'batch')} skipped: {notice.reason})")


def damage_json(notice: Skipped, source: str | None, ns: int) -> str:
    """A damaged region as a JSON Lines record (``docs/json.md``, SKIP and CUT)."""
    fields = [f'"type":"{damage_tag(notice)}","pid":0,"tid":0,"comm":"","ts":{ns}',
              f'"offset":{notice.offset}', f'"batches":{notice.batches}',
              f'"bytes":{notice.bytes}', f'"lost_bytes":{notice.lost}',
              f'"reason":{encode_basestring(notice.reason)}']
    if isinstance(notice, Unverified):
        fields.append(f'"kept":{notice.kept},"records":{notice.records},'
                      f'"unverified_from":{notice.damage_at},'
                      f'"unverified_to":{notice.damage_at + notice.missing}')
    elif notice.kept:
        fields.append(f'"kept":{notice.kept},"records":{notice.records},'
                      f'"damage_at":{notice.damage_at},"missing":{notice.missing}')
    elif notice.records:
        fields.append(f'"records":{notice.records}')
    if source is not None:
        fields.append(f'"file":{json_string(source.encode("utf-8", "surrogateescape"))}')
    message = notice.describe() if source is None else f"{source}: {notice.describe()}"
    fields.append(f'"message":{json_string(message.encode("utf-8", "surrogateescape"))}')
    return "{" + ",".join(fields) + "}\n"


class _RecordDescriber(LineView):
    """What the text and JSON describers share: the record loop with its call entries.

    Subclasses provide ``_make_head(pid, tid, comm)`` (the text every line of
    a record starts with, before its timestamps), ``_call_line(call, head)``
    and ``_handlers`` (kind -> method ``(head, record) -> str``).
    """

    #: How heads carry the timestamp: 0 not at all, 1 kdump's -T/-E/-R, 2 JSON's "ts".
    _stamp = 0

    def __init__(self, options: Options, names: Names | None = None,
                 header: FileHeader | None = None,
                 demangle: Callable[[str], str] | None = None) -> None:
        self.options = options
        self.names = names if names is not None else Names()
        track_fds = options.fd_paths and not options.raw
        self.tracker = CallTracker(track_fds=track_fds, facilities=recorded_facilities(header))
        # ``demangle``: how function names (probes, frames) are shown (ktrdump's run:
        # its Demangler; None: as the binary spells them)
        self._demangle = demangle
        self.probe_table = ProbeTable(header.byte_order if header is not None else "little",
                                      demangle)
        # -C counters the machine could not count, "<not supported>" on CNT records:
        # the header's (the first recording's), then each BEGIN's (``_learn_begin``)
        self._not_supported = _perfviews.counters_not_supported(header)
        self.set_filter(record_filter(options))
        self._plans = self.tracker.plans
        self._track = track_fds
        self._style = Style(strace=False, raw=options.raw, decimal=options.decimal,
                            fd_paths=track_fds)
        self._renderers: dict[tuple[int, int], CallArguments] = Cache()
        self._heads: dict[tuple[int, int, bytes], str] = {}
        # Where a module that cannot symbolize samples is said (None: stderr).
        self.warn: Callable[[str], None] | None = None
        self._out: list[str] = []
        self._stacks: Stacks | None = None  # address spaces, made at the first MMAP/SAMPLE
        # Each describer has a method per kind of the same name (CALL and RET
        # come with their call: ``call`` and ``_ret``).
        self._handlers: dict[int, Handler] = {
            kind: getattr(self, name) for kind, name in _HANDLER_NAMES.items()}

    def set_filter(self, keep: Callable[[Record], bool] | None) -> None:
        """The records shown; a hidden probe definition (pid 0 under -p) still types
        the PROBE records shown."""
        if keep is None:
            self.tracker.keep = None
            return
        learn = self.probe_table.learn

        learn_begin = self._learn_begin

        def keep_learning(record: Record) -> bool:
            if keep(record):
                return True
            if record[0] == _PROBE_DEF:
                learn(record[6])  # type: ignore[arg-type]
            elif record[0] == _BEGIN:
                learn_begin(record[6])
            return False

        self.tracker.keep = keep_learning

    def _learn_begin(self, payload: Any) -> None:
        """A recording starts (shown or not): the counters it could not count are its
        own, not the file header's (an appended recording's BEGIN has them)."""
        options = _model.begin_options(payload)
        if options is not None:
            self._not_supported = _perfviews.options_not_supported(options)

    # -- the loop over the call layer's events ------------------------------------

    def describe(self, records: list[Record]) -> list[str | StreamedText]:
        if self.tracker.keep is not None:
            self._observe_maps(records)
        return self._render(self.tracker.stream(records))

    def _observe_maps(self, records: list[Record]) -> None:
        """Mappings and process events hidden by a filter still shape the samples shown."""
        keep = self.tracker.keep
        for record in records:
            kind = record[0]
            if (kind == _MMAP or (kind == _PROC and self._stacks is not None)) and (
                    keep is not None and not keep(record)):
                self._stack_view().observe(record)

    def finish(self) -> list[str | StreamedText]:
        """The lines still held back (an open CALL's), at the end of the input."""
        return self._render(self.tracker.flush_stream())

    def _render(self, events: Iterable[tuple[Call | None, Record | None]]
                ) -> list[str | StreamedText]:
        """The lines of the call layer's events (``CallTracker.stream``): the hot loop (a
        large dump a ``StreamedText`` where the text view streams them)."""
        out: list[str | StreamedText] = []
        append = out.append
        heads = self._heads
        make_head = self._make_head
        stamp = self._stamp
        handlers = self._handlers
        unknown: Handler = self._unknown
        call_line = self._call_line
        ret = self._ret
        syscall, sysret = _SYSCALL, _SYSRET
        # The previous record's thread and head: runs of one thread's records are the rule.
        last_tid = last_pid = -1
        last_comm = b""
        last_head = ""
        for call, record in events:
            if record is None:  # a call that will not return: nothing to print
                continue
            kind, _version, pid, tid, ts, comm, _payload = record
            if tid == last_tid and pid == last_pid and comm == last_comm:
                head = last_head
            else:
                head = last_head = heads.get((pid, tid, comm)) or make_head(pid, tid, comm)
                last_tid, last_pid, last_comm = tid, pid, comm
            if stamp == 2:  # JSON: every record of a call carries the call's id
                if call is not None and call.id:
                    head = f'{head},"ts":{ts},"call":{call.id}'
                else:
                    head = f'{head},"ts":{ts}'
            elif stamp:
                head = self._stamped(head, ts)
            if kind == syscall:
                append(call_line(call, head))  # type: ignore[arg-type]
            elif kind == sysret:
                append(ret(head, record, call))  # type: ignore[arg-type]
            else:
                append(handlers.get(kind, unknown)(head, record))
        return out

    def notice_lines(self, notice: Any, ns: int) -> list[str | StreamedText]:
        """The in-band line(s) of a damaged region (``Skipped``/``CutShort``, or a merge's
        ``SourcedSkipped``) met after the records shown so far: the call entry held back
        goes first, so the line sits where the damage is in the time order. ``ns``: the
        time of the last record read before it (the damage's place in time)."""
        out = self.finish()
        source, skipped = damage_of(notice)
        if skipped is not None:
            out.append(self._damage_line(skipped, source, ns))
        return out

    def _damage_line(self, notice: Skipped, source: str | None, ns: int) -> str:
        raise NotImplementedError

    def _stack_view(self) -> Stacks:
        if self._stacks is None:
            self._stacks = Stacks(self.options.symbol_cache, self.warn, self._demangle)
        return self._stacks

    def _arguments(self, call: Call) -> list[str]:
        plan = call.plan
        render = plan.renderers.get("args") or self._arguments_renderer(plan)
        return render(call)

    def _arguments_renderer(self, plan: CallPlan) -> CallArguments:
        render = plan.renderers.get("args")
        if render is None:
            render = plan.renderers["args"] = compile_arguments(plan, self._style,
                                                                self.tracker.fds)
        return render

    def _ret(self, head: str, record: Record, call: Call) -> str:
        raise NotImplementedError

    def _make_head(self, pid: int, tid: int, comm: bytes) -> str:
        """The line start for (pid, tid, comm), cached: it repeats on most records."""
        head = self._head_text(pid, tid, comm)
        if len(self._heads) > 65536:  # pid reuse on a long trace: stay bounded
            self._heads.clear()
        self._heads[(pid, tid, comm)] = head
        return head

    # -- subclass hooks ------------------------------------------------------

    def _head_text(self, pid: int, tid: int, comm: bytes) -> str:
        raise NotImplementedError

    def _stamped(self, head: str, ts: int) -> str:
        return head

    def _call_line(self, call: Call, head: str) -> str:
        raise NotImplementedError

    def _unknown(self, head: str, record: Record) -> str:
        raise NotImplementedError


# ---------------------------------------------------------------------------
# Text


class TextDescriber(_RecordDescriber):
    """Records as kdump-style text."""

    def __init__(self, options: Options, names: Names | None = None,
                 header: FileHeader | None = None,
                 demangle: Callable[[str], str] | None = None) -> None:
        super().__init__(options, names, header, demangle)
        self._hex = options.hex_dump
        self._width = options.width
        self._max_data = options.max_data
        self._plain_data = options.max_data is None and not options.hex_dump
        self._fancy = not options.raw
        self._durations = options.durations
        self._suppress_data = options.suppress_data
        self._number: Callable[[int], str] = str if options.decimal else _hex
        self._modes = tuple(mode for mode in TIMESTAMP_ORDER if mode in options.timestamps)
        self._stamp = 1 if self._modes else 0
        self._previous_ns: int | None = None
        self._first_ns: int | None = None
        self._errors: dict[int, str] = Cache()
        #: A dump of data from STREAMED_BYTES on is a ``StreamedText`` (for ``Output``,
        #: which writes it a piece at a time), not a string.
        self.stream_large = False

    def _damage_line(self, notice: Skipped, source: str | None, ns: int) -> str:
        head = self._head_text(0, 0, b"ktrdump")
        if self._modes:
            head = self._stamped(head, ns)
        tag = damage_tag(notice)
        described = notice.describe().removeprefix(f"{tag}: ")  # the tag says it already
        message = described if source is None else f"{source}: {described}"
        return f"{head}{tag:<5} {message}\n"

    def _head_text(self, pid: int, tid: int, comm: bytes) -> str:
        name = display_text(comm)
        if self.options.thread_ids:
            return f"{pid:6d} {tid:6d} {name:<8} "
        return f"{pid:6d} {name:<8} "

    def _stamped(self, head: str, ts: int) -> str:
        return head + self._timestamps(ts)

    def _timestamps(self, ns: int) -> str:
        parts = []
        for mode in self._modes:
            if mode == "absolute":
                parts.append(_seconds(ns))
            elif mode == "elapsed":
                if self._first_ns is None:
                    self._first_ns = ns
                parts.append(_seconds(ns - self._first_ns))
            else:
                previous = self._previous_ns if self._previous_ns is not None else ns
                parts.append(_seconds(ns - previous))
        self._previous_ns = ns
        return " ".join(parts) + " "

    def _data(self, line: str, data: bytes, total: int, truncated: bool
              ) -> str | StreamedText:
        """``line``, then the data's dump (made after it: no copy of a large one to join them)."""
        shown = data if self._max_data is None else data[: self._max_data]
        cut = (f"       (truncated: {len(shown)} of {total} bytes shown)\n"
               if truncated or len(shown) < len(data) else "")
        if self.stream_large and len(shown) >= STREAMED_BYTES:
            return self._streamed(line, shown, cut)
        dump = line + hexdump(shown) if self._hex else visdump(shown, self._width, line)
        if cut:
            dump += cut
        return dump

    def _streamed(self, line: str, data: bytes, after: str = "",
                  hex_dump: bool = False) -> StreamedText:
        """``line``, the dump of ``data`` (-x's, or ``hex_dump``) and ``after``, made as
        they are written."""
        def pieces() -> Iterator[str]:
            if self._hex or hex_dump:
                yield line
                yield from hexdump_pieces(data)
            else:
                yield from visdump_pieces(data, self._width, line)
            if after:
                yield after

        return StreamedText(pieces, len(line) + len(data) + len(after))

    def _fd(self, pid: int, fd: int) -> str:
        if self._track:
            description = self.tracker.fds.describe(pid, fd)
            if description is not None:
                return fd_text(fd, description)
        return str(fd)

    # One method per kind: (head, record) -> lines.

    def _call_line(self, call: Call, head: str) -> str:
        plan = call.plan
        render = plan.renderers.get("args") or self._arguments
        return f"{head}CALL  {plan.name}({','.join(render(call))})\n"

    def _ret(self, head: str, record: Record, call: Call) -> str:
        payload: Any = record[6]
        flags = payload.flags
        error = payload.error
        retval = payload.retval
        plan = call.plan
        if self._track:
            self.tracker.settle(call)  # the result's fd as the call left it
        name = plan.name
        if flags & _UNFINISHED:
            if flags & _DETACHED:  # strace's "<detached ...>"
                return f"{head}RET   {name} unfinished: detached, continues untraced\n"
            return f"{head}RET   {name} unfinished\n"
        if error:
            text = self._errors.get(error)
            if text is None:
                text = self._errors[error] = self._error_text(error)
            line = f"{head}RET   {name} {text}"
        elif not self._fancy or plan.ret is RetKind.PTR or plan.ret is RetKind.HEX:
            line = f"{head}RET   {name} {self._number(retval & _U64)}"
        elif self._track and retval >= 0 and returns_fd(plan, call.args):
            line = f"{head}RET   {name} {self._fd(call.pid, retval)}"
        elif 0 <= retval <= 9:
            line = f"{head}RET   {name} {retval}"
        else:
            line = f"{head}RET   {name} {retval}/{retval & _U64:#x}"
        if self._durations:
            return f"{line} {duration_text(payload.duration_ns)}\n"
        return line + "\n"

    def _error_text(self, error: int) -> str:
        if not self._fancy:
            return f"-1 errno {error}"
        message = errno_message(error)
        name = self.names.errno(error)
        return f"-1 errno {error} {name} ({message})" if message else f"-1 errno {error} {name}"

    def _namei(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        return f'{head}NAMI  {quoted(payload.path)}\n'

    def _genio(self, head: str, record: Record) -> str | StreamedText:
        payload: Any = record[6]
        fd = payload.fd
        direction = payload.direction
        flags = payload.flags
        transferred = payload.transferred
        data = payload.data
        fd_shown = self._fd(record[2], fd) if self._track else fd
        verb = "read" if direction == 0 else "wrote" if direction == 1 else f"direction_{direction}"
        plural = "" if transferred == 1 else "s"
        line = f"{head}GIO   fd {fd_shown} {verb} {transferred} byte{plural}\n"
        if self._suppress_data:
            return line
        if self._plain_data and not flags and (len(data) < STREAMED_BYTES
                                               or not self.stream_large):
            return visdump(data, self._width, line)
        return self._data(line, data, transferred, _model.genio_truncated(flags))

    def _struct(self, head: str, record: Record) -> str | StreamedText:
        struct: Any = record[6]
        name = display_text(struct.name)
        if self._fancy:
            label = name if struct.name in _NOT_STRUCTS else f"struct {name}"
            return f"{head}STRU  {label} {decode_struct(struct)}\n"
        line = f"{head}STRU  {name} {plural(len(struct.data), 'byte')}\n"
        if self.stream_large and len(struct.data) >= STREAMED_BYTES:
            return self._streamed(line, struct.data, hex_dump=True)
        return line + hexdump(struct.data) if struct.data else line

    def _psig(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        signo = payload.signo
        code = payload.code
        action = payload.action
        blocked = payload.blocked
        name = self.names.signal(signo)
        if action == _model.ACTION_DEFAULT:
            how = "SIG_DFL"
        elif action == _model.ACTION_IGNORE:
            how = "SIG_IGN"
        elif action == _model.ACTION_CAUGHT_UNKNOWN_HANDLER:
            how = f"caught mask={blocked:#x}"
        else:
            how = f"caught handler={action:#x} mask={blocked:#x}"
        code_text = code_name(signo, code) if self._fancy else code
        return f"{head}PSIG  {name} {how} code={code_text}\n"

    def _csw(self, head: str, record: Record) -> str:
        return f"{head}{_perfviews.csw_text(record[6])}\n"  # type: ignore[arg-type]

    def _cnt(self, head: str, record: Record) -> str:
        return (f"{head}{_perfviews.cnt_text(record[6], self._not_supported)}"  # type: ignore[arg-type]
                "\n")

    def _emul(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        return f'{head}EMUL  {quoted(payload.name)}\n'

    def _user(self, head: str, record: Record) -> str | StreamedText:
        payload: Any = record[6]
        label = payload.label
        data = payload.data
        line = f'{head}USER  {quoted(label)} {plural(len(data), "byte")}\n'
        return self._data(line, data, len(data), False)

    def _exec_strings(self, head: str, record: Record) -> str:
        tag = "ARG   " if record[0] == RecordKind.EXEC_ARG else "ENV   "
        payload: Any = record[6]
        strings = split_nul_strings(payload.data)
        if not strings:
            return f"{head}{tag}(none)\n"
        return "".join(
            f'{head}{tag}[{index}] {quoted(string)}\n'
            for index, string in enumerate(strings)
        )

    def _proc(self, head: str, record: Record) -> str:
        if self._stacks is not None:
            self._stacks.observe(record)
        payload: Any = record[6]
        view = _model.view_proc(payload, self.names)
        words = [view.event]
        if view.child is not None:
            words.append(f"{'thread' if view.thread else 'child'} {view.child}")
        if view.path is not None:
            words.append(quoted(view.path))
        if view.signal is not None:
            words.append(f"signal {view.signal}")
        elif view.status is not None:
            words.append(f"status {view.status}")
        if view.core_dumped:
            words.append("(core dumped)")
        if view.reason is not None:
            words.append(quoted(view.reason))
        if view.detail is not None:
            words.append(quoted(view.detail))
        if view.superseded_by is not None:
            words.append(f"superseded by execve in thread {view.superseded_by}")
        return f"{head}PROC  {' '.join(words)}\n"

    def _probe(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        table = self.probe_table
        info = table.info(payload)
        values = table.text_values(payload)
        label = display_text(info.label.encode("utf-8", "surrogateescape"))
        if payload.site == ProbeSite.RETURN:
            returned = f" = {values[0]}" if values else ""  # (a void function: none)
            return f"{head}PROBE  {label}{returned} pc {payload.pc:#x}\n"
        return f"{head}PROBE  {label}({', '.join(values)}) pc {payload.pc:#x}\n"

    def _probe_def(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        info = self.probe_table.learn(payload)
        types = ",".join(PROBE_ARG_TYPE_NAMES.get(t, str(t)) for t in info.types)  # type: ignore[call-overload]
        if info.void:
            types = "void"  # (the raw value its types say is a leftover rax)
        # The label was decoded with surrogateescape: undecodable bytes round-trip.
        label = display_text(info.label.encode("utf-8", "surrogateescape"))
        line = (f"{head}PDEF  #{info.probe_id} {label} "
                f'{quoted(payload.module)} offset {payload.file_offset:#x} ({types})')
        if payload.build_id:
            line += f" build-id {display_text(payload.build_id)}"
        if payload.alias:
            line += f" implements {display_text(payload.alias)}"
        return line + "\n"

    def _sample(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        if self.options.raw:
            return f"{head}SAMPLE  cpu {payload.cpu} pc {payload.pc:#x}\n"
        frames = self._stack_view().frames(record)
        return f"{head}SAMPLE  {sample_text(frames, payload.cpu)}\n"

    def _mmap(self, head: str, record: Record) -> str:
        self._stack_view().observe(record)
        payload: Any = record[6]
        line = (f'{head}MMAP  {payload.start:#x}-{payload.end:#x} {_prot(payload.prot)} '
                f'flags {payload.flags:#x} offset {payload.offset:#x} '
                f'{quoted(payload.path)}')
        if payload.flags & MmapFlag.DELETED:
            line += " (deleted)"
        elif payload.flags & MmapFlag.REPLACED:
            line += " (replaced)"
        if payload.build_id:
            line += f" build-id {payload.build_id.hex()}"
        if payload.origin == 1:
            line += " (maps)"
        if payload.image:
            line += f" image {len(payload.image)} bytes"
        return line + "\n"

    def _drop(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        error = payload.error
        count = payload.lost
        name = _model.drop_error_name(error, self.names)
        where = f" by cpu {payload.ring - 1}'s perf ring" if payload.ring else ""
        cause = DROP_CAUSES.get(error)
        why = f" ({cause})" if cause is not None else ""
        return f"{head}DROP  {name} {plural(count, 'record')} lost{where}{why}\n"

    def _end(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        if payload.flags & EndFlag.STOPPED_EARLY:
            how = f"stopped: {display_text(payload.reason)}"
        elif payload.reason:  # the command could not be started (its own exit status)
            how = f"ended: {display_text(payload.reason)}"
        else:
            how = "ended"
        if payload.status >= 0:
            how += f"; command exit status {payload.status}"
        if payload.flags & EndFlag.EXIT_STATUS_UNKNOWN:
            how += "; exit status unknown of processes not the recorder's children"
        processes = payload.processes
        counts = [f"{processes} {'process' if processes == 1 else 'processes'}",
                  plural(payload.threads, "thread")]
        if payload.lost:
            counts.append(f"{payload.lost} lost")
        if payload.detached:
            counts.append(f"{payload.detached} detached")
        unplaced = _model.unplaced_probes(payload)
        if unplaced is not None and unplaced[0]:
            specs = ", ".join(display_text(spec.encode()) for spec in unplaced[1])
            counts.append(f"{plural(unplaced[0], 'probe')} never placed"
                          + (f" ({specs})" if specs else ""))
        return f"{head}END   recording {how}; {', '.join(counts)}\n"

    def _begin(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        self._learn_begin(payload)
        line = (f"{head}BEGIN recording started by ktr {display_text(payload.version)} "
                f"(recorder pid {payload.recorder_pid})")
        options = _model.begin_options(payload)
        if options is None:
            return f"{line}; options unreadable ({len(payload.options)} bytes)\n"
        target = recording_target(options)
        return f"{line}; {target}\n" if target else line + "\n"

    def _unknown(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        payload = payload
        size = len(payload.raw) if hasattr(payload, "raw") else 0
        return f"{head}UNKNOWN({record[0]}) {plural(size, 'byte')}\n"


def _hex(value: int) -> str:
    return hex(value)


# ---------------------------------------------------------------------------
# JSON Lines


def _json_ints(values: Any) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def _json_bool(value: bool) -> str:
    return "true" if value else "false"


def _json_text(text: str | None) -> str:
    return "null" if text is None else encode_basestring(text)


def _unplaced_json(end: Any) -> str:
    """END's probes never placed, as JSON keys (null: an END written before them)."""
    unplaced = _model.unplaced_probes(end)
    if unplaced is None:
        return ',"unplaced":null,"unplaced_probes":null'
    specs = ",".join(_json_text(spec) for spec in unplaced[1])
    return f',"unplaced":{unplaced[0]},"unplaced_probes":[{specs}]'


class JsonDescriber(_RecordDescriber):
    """Records as JSON Lines (keys in the module docstring)."""

    def __init__(self, options: Options, names: Names | None = None,
                 header: FileHeader | None = None,
                 demangle: Callable[[str], str] | None = None) -> None:
        super().__init__(options, names, header, demangle)
        self._stamp = 2
        self._max_data = options.max_data  # -m: GIO and USER data cut as the text view's
        self._syscalls: dict[tuple[int, int], str] = Cache()
        self._errnos: dict[int, str] = Cache()
        # args_decoded: strings and fd descriptions as they are, not display-escaped
        self._style = self._style._replace(exact=True)
        #: A line whose data has STREAMED_BYTES or more is a ``StreamedText`` (its hex made
        #: a piece at a time as ``Output`` writes it: an 8 MiB record's is 16 MiB), not a
        #: string (``cli.dump`` sets it, as for the text view).
        self.stream_large = False

    def _hex_line(self, before: str, data: bytes, after: str) -> str | StreamedText:
        """``before``, ``data`` in hex and ``after``: one string, or made as it is written
        (``stream_large``) when the data is large."""
        if not self.stream_large or len(data) < STREAMED_BYTES:
            return f"{before}{data.hex()}{after}"

        def pieces() -> Iterator[str]:
            yield before
            view = memoryview(data)
            for start in range(0, len(view), _HEX_PIECE):
                yield view[start : start + _HEX_PIECE].hex()
            yield after

        return StreamedText(pieces, len(before) + 2 * len(data) + len(after))

    def _damage_line(self, notice: Skipped, source: str | None, ns: int) -> str:
        return damage_json(notice, source, ns)

    def _head_text(self, pid: int, tid: int, comm: bytes) -> str:
        return f'"pid":{pid},"tid":{tid},{json_bytes("comm", comm)}'

    def _stamped(self, head: str, ts: int) -> str:
        return f'{head},"ts":{ts}'

    def _syscall(self, abi: int, nr: int) -> str:
        key = (abi, nr)
        name = self._syscalls.get(key)
        if name is None:
            name = self._syscalls[key] = encode_basestring(self.tracker.plan(abi, nr).name)
        return name

    def _errno(self, error: int) -> str:
        name = self._errnos.get(error)
        if name is None:
            text = self.names.errno(error)
            name = self._errnos[error] = "null" if text is None else encode_basestring(text)
        return name

    def _call_line(self, call: Call, head: str) -> str:
        plan = call.plan
        compiled = plan.renderers.get("json")
        if compiled is None:
            compiled = self._compile_call(plan)
        render, fields = compiled
        decoded = ",".join(map(encode_basestring, render(call)))
        extra = ""
        if call.fd_path is not None:
            extra = "," + json_bytes("fd_path", text_bytes(call.fd_path))
        return (f'{{"type":"CALL",{head},{fields}'
                f'"args":[{",".join(map(str, call.args))}],"args_decoded":[{decoded}]{extra}}}\n')

    def _compile_call(self, plan: CallPlan) -> tuple[CallArguments, str]:
        """The renderer of ``plan``'s arguments and its CALL lines' fixed keys, once per plan."""
        compiled = plan.renderers["json"] = (
            self._arguments_renderer(plan),
            f'"syscall":{self._syscall(plan.abi, plan.nr)},"nr":{plan.nr}{self._subcall(plan)},')
        return compiled

    def _subcall(self, plan: CallPlan) -> str:
        """``,"subcall":NAME`` when ``plan`` is a call made through a multiplexer
        (i386 socketcall, ipc), whose own name ``syscall`` holds; else empty."""
        key: str | None = plan.renderers.get("json_subcall")
        if key is None:
            name = encode_basestring(plan.name)
            key = "" if name == self._syscall(plan.abi, plan.nr) else f',"subcall":{name}'
            plan.renderers["json_subcall"] = key
        return key

    def _ret(self, head: str, record: Record, call: Call) -> str:
        payload: Any = record[6]
        nr = payload.nr
        abi = payload.abi
        flags = payload.flags
        error = payload.error
        retval = payload.retval
        duration = payload.duration_ns
        name = self._syscalls.get((abi, nr)) or self._syscall(abi, nr)
        errnos = self._errnos
        # A call that never returned (exit, exec, detach): retval means nothing.
        extra = ',"unfinished":true' if flags & _UNFINISHED else ""
        if flags & _DETACHED and flags & _UNFINISHED:
            extra += ',"detached":true'  # let go in the call: it continues untraced
        if self._track:
            self.tracker.settle(call)
            fd_path = call.fd_path
            if not error and retval >= 0 and returns_fd(call.plan, call.args):
                fd_path = self.tracker.fds.exact(call.pid, retval)
            if fd_path is not None:
                extra += "," + json_bytes("fd_path", text_bytes(fd_path))
        subcall = call.plan.renderers.get("json_subcall")
        if subcall is None:
            subcall = self._subcall(call.plan)
        return (f'{{"type":"RET",{head},"syscall":{name},'
                f'"nr":{nr}{subcall},"retval":{retval},'
                f'"errno":{errnos.get(error) or self._errno(error)},'
                f'"duration_ns":{duration}{extra}}}\n')

    def _namei(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        return f'{{"type":"NAMI",{head},{json_bytes("path", payload.path)}}}\n'

    def _genio(self, head: str, record: Record) -> str | StreamedText:
        payload: Any = record[6]
        fd = payload.fd
        direction = payload.direction
        flags = payload.flags
        transferred = payload.transferred
        data = payload.data
        rw = "read" if direction == 0 else "write" if direction == 1 else f"direction_{direction}"
        limit = self._max_data
        if limit is not None and len(data) > limit:
            data = data[:limit]  # -m, as the text view cuts it: fewer bytes than were moved
            truncated = "true"
        else:
            truncated = "true" if _model.genio_truncated(flags) else "false"
        extra = ""
        if self._track:
            fd_path = self.tracker.fds.exact(record[2], fd)
            if fd_path is not None:
                extra = "," + json_bytes("fd_path", text_bytes(fd_path))
        return self._hex_line(f'{{"type":"GIO",{head},"fd":{fd},"rw":"{rw}",'
                              f'"len":{transferred},"data":"', data,
                              f'","truncated":{truncated}{extra}}}\n')

    def _struct(self, head: str, record: Record) -> str:
        struct: Any = record[6]
        fields = struct_fields(struct)
        fields_json = "null"
        if fields is not None:
            try:
                fields_json = json.dumps(fields, ensure_ascii=False, separators=(",", ":"),
                                         default=str)
            except (TypeError, ValueError):
                fields_json = "null"
        return (f'{{"type":"STRU",{head},"struct":{json_string(struct.name)},'
                f'"argument":{struct.argument},"data":"{struct.data.hex()}",'
                f'"fields":{fields_json}}}\n')

    def _psig(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        signo = payload.signo
        code = payload.code
        action = payload.action
        blocked = payload.blocked
        name = encode_basestring(self.names.signal(signo))
        return (f'{{"type":"PSIG",{head},"signal":{name},"signo":{signo},'
                f'"code":{code},"action":{action},"blocked":{blocked}}}\n')

    def _csw(self, head: str, record: Record) -> str:
        return f'{{"type":"CSW",{head},{_perfviews.csw_json(record[6])}}}\n'  # type: ignore[arg-type]

    def _cnt(self, head: str, record: Record) -> str:
        return (f'{{"type":"CNT",{head},'
                f'{_perfviews.cnt_json(record[6], self._not_supported)}}}\n')  # type: ignore[arg-type]

    def _emul(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        return f'{{"type":"EMUL",{head},{json_bytes("name", payload.name)}}}\n'

    def _user(self, head: str, record: Record) -> str | StreamedText:
        payload: Any = record[6]
        label = payload.label
        data = payload.data
        size = len(data)
        if self._max_data is not None:
            data = data[:self._max_data]  # -m, as the text view cuts it (len: the whole)
        return self._hex_line(f'{{"type":"USER",{head},{json_bytes("label", label)},'
                              f'"len":{size},"data":"', data, '"}\n')

    def _exec_strings(self, head: str, record: Record) -> str:
        tag, key = ("ARG", "argv") if record[0] == RecordKind.EXEC_ARG else ("ENV", "env")
        payload: Any = record[6]
        strings = json_bytes_list(key, split_nul_strings(payload.data))
        return f'{{"type":"{tag}",{head},{strings}}}\n'

    def _proc(self, head: str, record: Record) -> str:
        if self._stacks is not None:
            self._stacks.observe(record)
        payload: Any = record[6]
        view = _model.view_proc(payload, self.names)
        fields = [f'"event":{encode_basestring(view.event)}']
        if view.child is not None:
            fields.append(f'"child":{view.child}')
        if view.thread is not None:
            fields.append(f'"thread":{_json_bool(view.thread)}')
        if view.path is not None:
            fields.append(json_bytes("path", view.path))
        if view.status is not None:
            fields.append(f'"status":{view.status}')
        if view.event == "exit" or view.signal is not None:
            fields.append(f'"signal":{_json_text(view.signal)}')
        if view.core_dumped is not None:
            fields.append(f'"core_dumped":{_json_bool(view.core_dumped)}')
        if view.reason is not None:
            fields.append(json_bytes("reason", view.reason))
        if view.detail is not None:
            fields.append(json_bytes("detail", view.detail))
        if view.superseded_by is not None:
            fields.append(f'"superseded_by":{view.superseded_by}')
        return f'{{"type":"PROC",{head},{",".join(fields)}}}\n'

    def _probe(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        table = self.probe_table
        info = table.info(payload)
        values, addresses, truncated = table.json_fields(payload)
        line = (f'{{"type":"PROBE",{head},"probe_id":{payload.probe_id},'
                f'{json_bytes("probe", text_bytes(info.label))},"point":"{info.point}",'
                f'"pc":{payload.pc}')
        exact = table.last_exact
        damage = table.last_damage
        # damaged strings (docs/json.md): where in the field, and why
        damaged = ("" if damage is None else
                   f',"strings_damage":{{"offset":{damage.offset},"length":{damage.length},'
                   f'"reason":{json_string(damage.reason.encode())}}}')
        if payload.site == ProbeSite.RETURN:
            tail = (f',"retval_address":{addresses[0]},"retval_truncated":{truncated[0]}'
                    if addresses else "")
            if exact:
                tail += f',"retval_hex":"{exact[0]}"'
            returned = f',"retval":{values[0]}' if values else ""  # (a void function: none)
            return f'{line},"args":[]{returned}{tail}{damaged}}}\n'
        if payload.site == ProbeSite.OFFSET:
            line += f',"offset":{payload.offset}'
        tail = (f',"args_address":[{",".join(addresses)}],'
                f'"args_truncated":[{",".join(truncated)}]' if addresses else "")
        if exact:
            tail += ',"args_hex":[' + ",".join(
                f'"{exact[i]}"' if i in exact else "null" for i in range(len(values))) + "]"
        return f'{line},"args":[{",".join(values)}]{tail}{damaged}}}\n'

    def _probe_def(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        info = self.probe_table.learn(payload)
        types = ",".join(f'"{PROBE_ARG_TYPE_NAMES.get(t, str(t))}"' for t in info.types)  # type: ignore[call-overload]
        void = '"void":true,' if info.void else ""  # (its PROBEs have no retval)
        return (f'{{"type":"PDEF",{head},"probe_id":{info.probe_id},'
                f'{json_bytes("probe", text_bytes(info.label))},"point":"{info.point}",'
                f'{json_bytes("module", payload.module)},'
                f'"build_id":{json_string(payload.build_id)},'
                f'{json_bytes("function", text_bytes(info.function))},'
                f'{json_bytes("alias", payload.alias)},"offset":{payload.point_offset},'
                f'"file_offset":{payload.file_offset},"types":[{types}],'
                f'{void}'
                f'"string_cap":{payload.string_cap}}}\n')

    def _sample(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        frames = self._stack_view().frames(record)
        return (f'{{"type":"SAMPLE",{head},"cpu":{payload.cpu},"pc":{payload.pc},'
                f'"period":{payload.period},"kernel":{"true" if payload.flags & 1 else "false"},'
                f'"frames":{frames_json(frames)}}}\n')

    def _mmap(self, head: str, record: Record) -> str:
        self._stack_view().observe(record)
        payload: Any = record[6]
        origin = "maps" if payload.origin == 1 else "mmap"
        return (f'{{"type":"MMAP",{head},"start":{payload.start},"end":{payload.end},'
                f'"offset":{payload.offset},"prot":{payload.prot},"flags":{payload.flags},'
                f'{json_bytes("path", payload.path)},"build_id":"{payload.build_id.hex()}",'
                f'"origin":"{origin}","image_len":{len(payload.image)}}}\n')

    def _drop(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        error = payload.error
        count = payload.lost
        name = encode_basestring(_model.drop_error_name(error, self.names))
        cpu = payload.ring - 1 if payload.ring else "null"
        cause = DROP_CAUSES.get(error)
        why = f',"cause":{encode_basestring(cause)}' if cause is not None else ""
        return f'{{"type":"DROP",{head},"error":{name},"count":{count},"cpu":{cpu}{why}}}\n'

    def _end(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        stopped = "true" if payload.flags & EndFlag.STOPPED_EARLY else "false"
        unknown = "true" if payload.flags & EndFlag.EXIT_STATUS_UNKNOWN else "false"
        return (f'{{"type":"END",{head},"status":{payload.status},"stopped_early":{stopped},'
                f'"exit_status_unknown":{unknown},'
                f'{json_bytes("reason", payload.reason)},"processes":{payload.processes},'
                f'"threads":{payload.threads},"lost":{payload.lost},'
                f'"detached":{payload.detached}{_unplaced_json(payload)}}}\n')

    def _begin(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        self._learn_begin(payload)
        options = _model.begin_options(payload)
        # Re-encoded (ASCII, one line): the record's bytes may hold anything.
        encoded = "null" if options is None else json.dumps(json_safe(options),
                                                             separators=(",", ":"))
        return (f'{{"type":"BEGIN",{head},"recorder_pid":{payload.recorder_pid},'
                f'"realtime_ns":{payload.realtime_ns},"monotonic_ns":{payload.monotonic_ns},'
                f'{json_bytes("version", payload.version)},"options":{encoded}}}\n')

    def _unknown(self, head: str, record: Record) -> str:
        payload: Any = record[6]
        payload = payload
        raw = payload.raw if hasattr(payload, "raw") else b""
        return (f'{{"type":"UNKNOWN",{head},"kind":{record[0]},"len":{len(raw)},'
                f'"data":"{raw.hex()}"}}\n')


Describer = TextDescriber | JsonDescriber


def describer_for(options: Options, names: Names | None = None,
                  header: FileHeader | None = None, selector: Any = None,
                  warn: Callable[[str], None] | None = None,
                  demangle: Callable[[str], str] | None = None) -> Any:
    """The describer for ``options.output_format`` (text, json or strace).

    ``selector``: the call filters (``_select.Selector``) whose ``hidden``
    records the describer feeds to its call tracker but does not show.
    ``warn``: where a module that cannot symbolize samples is said (None: stderr).
    ``demangle``: how function names (probes, frames) are shown (None: as the
    binary spells them).
    """
    describer: Any
    if options.output_format == "json":
        describer = JsonDescriber(options, names, header, demangle)
    elif options.output_format == "strace":
        from ._strace import StraceDescriber

        describer = StraceDescriber(options, names, header)
    else:
        describer = TextDescriber(options, names, header, demangle)
    if isinstance(describer, _RecordDescriber):
        describer.warn = warn
    if selector is not None:
        if isinstance(describer, _RecordDescriber):
            describer.set_filter(record_filter(options, selector.keep))
        else:
            describer.tracker.keep = record_filter(options, selector.keep)
    return describer
