r"""Arguments and results of a call, rendered by their kinds (``formats.linux`` signatures).

Two styles share one set of per-kind rules; ``compile_arguments`` turns a
``CallPlan`` into a renderer once per (ABI, syscall, style), so a call costs
a few small function calls and dict hits.

Text (kdump's, ``Style(strace=False)``), used for CALL lines and JSON's
``args_decoded``:

- fds, ints, pids, sizes, offsets in decimal (32-bit ``int`` kinds
  sign-extended: ``-1``, ``AT_FDCWD``); with ``-y`` a known fd is
  ``3</etc/passwd>``;
- flags and enumerations symbolically (``_flags``): ``O_RDONLY|O_CLOEXEC``,
  ``PROT_READ|PROT_WRITE``, ``SIGUSR1``, ``0644``; values with no name in hex;
- paths from the call's NAMI records, quoted (``display_text`` escaping,
  ``\"`` for a quote); without a NAMI record the pointer;
- structures the call read, from its STRU records (``_structs``), in place
  of the pointer; pointers, buffers and everything else in hex (``-d``:
  decimal); open/openat's mode only when the flags have O_CREAT or O_TMPFILE
  (as strace).

strace (``Style(strace=True)``): the same, in strace's spelling: ``NULL``,
strings quoted as strace quotes them (octal escapes, at most ``string_limit``
bytes then ``...``), the data of read/write-like buffers from the call's GIO
record, structures it filled (STRU records at exit) in place, execve's argv as
``["ls", "-l"]`` and envp as ``0x7ffd... /* 12 vars */``, i386's split
offsets as one number, unused register slots left out; getrandom's bytes in
hex (strace's QUOTE_FORCE_HEX), an array a call filled with none ``[]``.
Both styles show epoll_ctl's EPOLL_CTL_DEL event as its pointer (the kernel
does not read it).

``raw`` (``-n``): every argument word in hex (``-d``: decimal), no names.

Guarantees: renderers never raise for any argument words or attached
records; a structure that cannot be decoded shows as its pointer.

Does not: decide when a line is printed (the describers do), or decode flags
and structures itself (``_flags``, ``_structs``).
"""

from __future__ import annotations

import re
import struct as struct_module
from collections.abc import Callable
from typing import Any, NamedTuple

from formats import Struct, linux, split_nul_strings, struct_data
from formats.linux import ArgKind, RetKind, errno_name, signal_name

from . import _flags, _netlink, _structs
from ._calls import (
    F_DUPFD,
    F_DUPFD_CLOEXEC,
    O_CREAT,
    O_TMPFILE_BIT,
    RESULT_ARGUMENT,
    UPDATED,
    Call,
    CallPlan,
    signed32,
)
from ._fdtable import FdTables
from ._text import (
    display_text,
    exact_quoted,
    fd_text,
    quoted,
    strace_bounded_string,
    strace_fd_text,
    strace_hex_string,
    strace_string,
    text_bytes,
    valid_text,
)

_U64 = (1 << 64) - 1
_CACHE_LIMIT = 4096
_I386 = 2  # formats.Abi.I386


class Style(NamedTuple):
    strace: bool = False
    raw: bool = False  # -n
    decimal: bool = False  # -d
    fd_paths: bool = False  # -y
    string_limit: int = 32  # strace's -s (our -m)
    #: strace's -x (1: a string with a byte neither printable nor whitespace in hex)
    #: and -xx (2: every string in hex); 0: neither (strace style only)
    hex_strings: int = 0
    #: netlink messages' interface indexes as strace's ``if_nametoindex("lo")``:
    #: the trace was recorded on this boot, whose interfaces still have those names
    ifnames: bool = False
    #: JSON's ``args_decoded`` (text style): quoted strings and fd descriptions hold
    #: the real text (UTF-8, each invalid byte U+FFFD), not the text view's escapes
    exact: bool = False


#: Renders one argument word of a call; None: the argument is not shown.
ArgRenderer = Callable[[int, Call], str | None]
#: Renders a call's arguments (the ones shown, in order).
CallArguments = Callable[[Call], list[str]]


# ---------------------------------------------------------------------------
# structures


def decode_struct(struct: Struct, hex_strings: int = 0, array_limit: int | None = None) -> str:
    """A STRU record's structure as text (``{st_mode=S_IFREG|0644, ...}``);
    ``hex_strings``: ``Style.hex_strings``, for the strings it holds; ``array_limit``:
    the most elements of an array shown (strace's -s)."""
    return _structs.decode_struct(struct.name, struct.abi, struct.data, hex_strings=hex_strings,
                                  array_limit=array_limit)


def struct_fields(struct: Struct) -> dict[str, Any] | None:
    """A STRU record's fields as a dict for JSON, or None when they cannot be decoded."""
    fields = _structs.struct_fields(struct.name, struct.abi, struct.data)
    return None if fields is None else dict(fields)


# ---------------------------------------------------------------------------
# numbers


def _signed64(value: int) -> int:
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


def _hex(value: int) -> str:
    return hex(value & _U64)


def _number(decimal: bool) -> Callable[[int], str]:
    # Argument words are unsigned 64-bit values already: the builtins suffice.
    return str if decimal else hex


# ---------------------------------------------------------------------------
# per-kind renderers
#
# A part renders one argument word: ``render(value)`` when it needs nothing
# else (``value_only``), ``render(value, call)`` when it needs the call's
# attached records or its other arguments. ``omittable`` parts may answer
# None (the argument is not shown).


class _Part(NamedTuple):
    render: Callable[..., str | None]
    value_only: bool = True
    omittable: bool = False


class _Memo(dict[int, str]):
    """``decode`` memoised: a hit is one C-level dict lookup (``memo[value]``)."""

    def __init__(self, decode: Callable[[int], str]) -> None:
        super().__init__()
        self._decode = decode

    def __missing__(self, value: int) -> str:
        if len(self) >= _CACHE_LIMIT:
            self.clear()  # bounded: a trace of random flag words cannot grow it
        text = self[value] = self._decode(value)
        return text


def _bounded_cache(decode: Callable[[int], str]) -> Callable[[int], str]:
    """``decode`` memoised in a bounded dict; the renderer is the dict's own lookup."""
    return _Memo(decode).__getitem__


def _flag_part(kind: ArgKind, abi: int, style: Style) -> _Part | None:
    decoder = _flags.decoder_for(kind)
    if decoder is None:
        return None
    number = _number(style.decimal and not style.strace)

    def decode(value: int) -> str:
        text = decoder(value, abi)
        if text is not None:
            return text
        if kind is ArgKind.SIGNAL:
            return signal_name(signed32(value)) or str(signed32(value))
        return number(value) if value else "0"

    return _Part(_bounded_cache(decode))


class _Context(NamedTuple):
    """What every part of one (plan, style) shares."""

    plan: CallPlan
    style: Style
    fds: FdTables | None
    pointer: Callable[[int], str]
    number: Callable[[int], str]
    #: the fd tables, for a socket's netlink protocol (strace style; None otherwise)
    sockets: FdTables | None = None

    def quote(self) -> Callable[[bytes], str]:
        """How the text style quotes a string (``exact``: as it is)."""
        return exact_quoted if self.style.exact else quoted

    def describer(self, fds: FdTables) -> Callable[[int, int], str | None]:
        """What an fd of a pid is, in this style (``exact``: the real text)."""
        if not self.style.exact:
            return fds.describe
        exact = fds.exact
        return lambda pid, fd: None if (text := exact(pid, fd)) is None else valid_text(text)

    def shown(self, fds: FdTables) -> Callable[[str], str]:
        """An ``exact`` description (``Call.fd_path``) in this style, as ``describer``."""
        return valid_text if self.style.exact else fds.shown


def _fd_part(context: _Context, dirfd: bool, first: bool = False) -> _Part:
    """An fd argument; ``first``: the call's first (``CallPlan.first_fd_arg``), named by
    what it was at the call's entry (``Call.fd_path``: the strace view prints at the
    RET, and close, applied at the CALL, has dropped it by then)."""
    # fanotify_mark's dirfd -1: strace's FAN_NOFD
    no_fd = "FAN_NOFD" if dirfd and context.plan.name == "fanotify_mark" else None

    def decode(value: int) -> str:
        fd = signed32(value)
        if dirfd and fd == -100:
            return "AT_FDCWD"
        return no_fd if no_fd is not None and fd == -1 else str(fd)

    plain = _bounded_cache(decode)
    fds = context.fds
    if fds is None:
        return _Part(plain)
    describe = context.describer(fds)
    shown = context.shown(fds)

    cwd = fds.cwd
    hex_strings = context.style.hex_strings
    escape: Callable[[bytes], str] = (
        (lambda data: strace_fd_text(data, hex_strings)) if context.style.strace
        else display_text)

    def render(value: int, call: Call) -> str:
        fd = signed32(value)
        if dirfd and fd == -100:  # AT_FDCWD: the working directory, as strace -y
            directory = cwd(call.pid)
            if directory is None:
                return "AT_FDCWD"
            return f"AT_FDCWD<{escape(text_bytes(directory))}>"
        if no_fd is not None and fd == -1:
            return no_fd
        if first:
            at_entry = call.fd_path
            description = None if at_entry is None else shown(at_entry)
        else:
            description = describe(call.pid, fd)
        return plain(value) if description is None else fd_text(fd, description)

    return _Part(render, value_only=False)


_P_PIDFD = 3


def _waitid_id_part(context: _Context) -> _Part:
    """waitid's id: a pidfd (``-y``: with what it is) when idtype is P_PIDFD, else a number."""
    fd = _fd_part(context, False).render

    def render(value: int, call: Call) -> str:
        if call.args[0] & 0xFFFF_FFFF == _P_PIDFD and context.fds is not None:
            return str(fd(value, call))
        return _signed32_text(value)

    return _Part(render, value_only=False)


def _path_part(context: _Context, index: int) -> _Part:
    pointer = context.pointer
    hex_strings = context.style.hex_strings
    quote = _bounded_quote(context.quote() if not context.style.strace
                           else strace_string if not hex_strings
                           else lambda data: strace_string(data, None, False, hex_strings))
    if context.plan.path_args == (index,):  # the common case: one path argument
        def render(value: int, call: Call) -> str:
            paths = call.paths
            return quote(paths[0]) if paths and value else pointer(value)
    else:
        def render(value: int, call: Call) -> str:
            path = call.path(index)
            return pointer(value) if path is None else quote(path)
    return _Part(render, value_only=False)


def _bounded_quote(quote: Callable[[bytes], str]) -> Callable[[bytes], str]:
    # Programs look the same paths up again and again (libraries, locales).
    cache: dict[bytes, str] = {}

    def render(path: bytes) -> str:
        text = cache.get(path)
        if text is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            text = cache[path] = quote(path)
        return text

    return render


#: Structures a call reads as long as the caller says; shorter than their first
#: version, the call fails with EINVAL and strace shows the pointer.
_FIRST_VERSION_SIZES = {b"open_how": 24, b"sched_attr": 48}


def _struct_part(context: _Context, index: int) -> _Part:
    pointer = context.pointer
    hex_strings = context.style.hex_strings
    array_limit = context.style.string_limit if context.style.strace else None

    def render(value: int, call: Call) -> str:
        structs = call.structs
        struct = None if structs is None else structs.get(index)
        if struct is None or len(struct.data) < _FIRST_VERSION_SIZES.get(struct.name, 0):
            return pointer(value)
        return decode_struct(struct, hex_strings, array_limit)

    return _Part(render, value_only=False)


_AF_NETLINK = 16
_X86_64 = 1  # formats.Abi.X86_64

#: Calls whose buffer strace decodes as netlink messages on a netlink socket.
_NETLINK_BUFFER_CALLS = frozenset({"send", "sendto", "recv", "recvfrom"})


def _ifname(index: int) -> str | None:
    import socket  # (here: with its enums, about 1.5 ms of every start-up)

    try:
        return socket.if_indextoname(index)
    except (OSError, OverflowError, ValueError):
        return None


def _netlink_quote(context: _Context) -> Callable[[Call, bytes, int | None, bool], str]:
    """Data as strace prints it: netlink messages on a netlink socket, else a string."""
    sockets = context.sockets
    assert sockets is not None
    protocol_of = sockets.netlink_protocol
    ifname = _ifname if context.style.ifnames else None
    limit_ = context.style.string_limit
    hex_strings = context.style.hex_strings

    def quote(call: Call, data: bytes, limit: int | None, more: bool) -> str:
        protocol = protocol_of(call.pid, signed32(call.args[0])) if call.args else None
        if protocol is None or protocol == _netlink.NETLINK_KOBJECT_UEVENT:
            return strace_string(data, limit, more, hex_strings)
        return _netlink.render(data, protocol, limit_, ifname, more, hex_strings)

    return quote


def _buffer_part(context: _Context, index: int, kind: ArgKind) -> _Part:
    pointer = context.pointer
    limit = context.style.string_limit
    filled = kind is ArgKind.BUF_OUT
    signature = context.plan.signature
    length_arg = signature.args[index].length_arg if signature is not None else None
    hex_strings = context.style.hex_strings
    quote: Callable[[Call, bytes, int | None, bool], str] = lambda call, data, limit, more: (
        strace_string(data, limit, more, hex_strings))
    if context.sockets is not None and context.plan.name in _NETLINK_BUFFER_CALLS:
        quote = _netlink_quote(context)

    def render(value: int, call: Call) -> str:
        ret = call.ret
        if not filled and (ret is None or ret.error):
            # what a failed write-like call was asked to send (before its RET:
            # looked ahead for an unfinished line, _strace)
            unsent = call.struct(index)
            if unsent is not None and unsent.name == b"bytes":
                asked = call.args[length_arg] if length_arg is not None else 0
                return quote(call, unsent.data, limit, len(unsent.data) < asked)
        if not filled and ret is None and call.io:
            genio = call.io[0]  # looked ahead for an unfinished line (_strace)
            return quote(call, genio.data, limit, len(genio.data) < genio.transferred)
        if ret is not None and not ret.error and not ret.flags & 1:
            io = call.io
            if io:
                genio = io[0]
                return quote(call, genio.data, limit, len(genio.data) < genio.transferred)
            if ret.retval == 0 and (filled or value):
                return '""'
        return pointer(value)

    return _Part(render, value_only=False)


def _argv_part(context: _Context) -> _Part:
    pointer = context.pointer
    limit = context.style.string_limit
    hex_strings = context.style.hex_strings

    def render(value: int, call: Call) -> str:
        if call.argv is None:
            return pointer(value)
        strings = split_nul_strings(call.argv)
        shown = [strace_string(s, limit, False, hex_strings) for s in strings[:limit]]
        if len(strings) > limit:
            shown.append("...")
        return "[" + ", ".join(shown) + "]"

    return _Part(render, value_only=False)


def _envp_part(context: _Context, index: int) -> _Part:
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        count = call.env_count
        if count is None:
            struct = call.struct(index)
            if struct is not None and struct.name == b"count":
                count, _ = struct_data.decode_count(struct.data)
        text = pointer(value)
        if count is None or not value:
            return text
        return f"{text} /* {count} var{'' if count == 1 else 's'} */"

    return _Part(render, value_only=False)


def _mode_part(base: _Part, flags_arg: int, creating: int = O_CREAT | O_TMPFILE_BIT) -> _Part:
    """An argument shown only when the flags say the call creates something."""
    inner = base.render
    value_only = base.value_only

    def render(value: int, call: Call) -> str | None:
        args = call.args
        if flags_arg < len(args) and args[flags_arg] & creating:
            return inner(value) if value_only else inner(value, call)
        return None

    return _Part(render, value_only=False, omittable=True)


def _offset_pair_part(low: int, high: int) -> _Part:
    def render(value: int, call: Call) -> str:
        args = call.args
        high_word = args[high] if high < len(args) else 0
        return str(_signed64(((high_word & 0xFFFF_FFFF) << 32) | (value & 0xFFFF_FFFF)))

    return _Part(render, value_only=False)


def _mmap2_offset(value: int) -> str:
    return _strace_hex((value & 0xFFFF_FFFF) * 4096)  # mmap2 counts 4096-byte pages


def _octal_mode(value: int) -> str:
    value &= 0xFFFF_FFFF
    return ("0" + format(value, "o") if value else "0").rjust(3, "0")


def _unsigned32_id(value: int) -> str:
    value &= 0xFFFF_FFFF
    return "-1" if value == 0xFFFF_FFFF else str(value)


def _strace_hex(value: int) -> str:
    return "0" if not value else _hex(value)


def _signed32_text(value: int) -> str:
    return str(signed32(value))


def _signed64_text(value: int) -> str:
    return str(_signed64(value))


def _low32_text(value: int) -> str:
    return str(value & 0xFFFF_FFFF)


_POINTERS = {
    ArgKind.PTR, ArgKind.STRING, ArgKind.PATH_STRING, ArgKind.PATH_OUT, ArgKind.IOVEC_IN,
    ArgKind.IOVEC_OUT, ArgKind.MSGHDR_IN, ArgKind.MSGHDR_OUT, ArgKind.MMSGHDR_IN,
    ArgKind.MMSGHDR_OUT, ArgKind.SOCKLEN_PTR,
}
_STRUCT_LIKE = (ArgKind.SOCKADDR_IN, ArgKind.SOCKADDR_OUT, ArgKind.FD_PAIR_OUT)
#: strace prints these offsets in hex (mmap's file offset).
_HEX_OFFSETS = frozenset({("mmap", 5), ("mmap2", 5)})


def _data_part(context: _Context, index: int, kind: ArgKind) -> _Part:
    """Strings and data captured as STRUCT "string"/"bytes" (xattrs, getcwd, getrandom)."""
    pointer = context.pointer
    limit = context.style.string_limit if context.style.strace else None
    whole = kind is ArgKind.PATH_OUT or kind is ArgKind.PATH_STRING  # strace: paths in full
    filled_by_result = kind in (ArgKind.DATA_OUT, ArgKind.PATH_OUT)
    # an int socket option prints as strace's [1]
    int_sized = context.plan.name in ("setsockopt", "getsockopt")
    # strace prints getrandom's bytes in hex (its QUOTE_FORCE_HEX)
    hex_strings = context.style.hex_strings

    def strace_quoted(data: bytes, limit: int | None = None, more: bool = False) -> str:
        return strace_string(data, limit, more, hex_strings)

    strace_quote = (strace_hex_string if context.plan.name == "getrandom"
                    else strace_quoted if hex_strings else strace_string)
    plain_quote = context.quote()
    quote = strace_quote if context.style.strace else (lambda data, *_: plain_quote(data))

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        if struct is None:
            ret = call.ret
            if (filled_by_result and value and ret is not None and not ret.error
                    and not ret.flags & 1 and ret.retval == 0):
                return '""'
            return pointer(value)
        data = struct.data
        if int_sized and len(data) == 4:
            return f"[{int.from_bytes(data, 'little', signed=True)}]"
        if int_sized and context.style.strace and len(call.args) > 2:
            shown = _socket_option_struct(call.args[1], call.args[2], data)
            if shown is not None:
                return shown
        if whole:
            return quote(data[:-1] if data.endswith(b"\0") else data)
        more = False
        if filled_by_result and call.ret is not None:
            more = len(data) < call.ret.retval
        return quote(data, limit, more) if context.style.strace else quote(data)

    return _Part(render, value_only=False)


# linux/mount.h: the flags with which mount reads neither its file system type
# (MS_REMOUNT, and the rest) nor its data (all but MS_REMOUNT), as strace's mount.c
_MS_REMOUNT = 32
_MS_NO_TYPE_NO_DATA = 0x1000 | 0x2000 | 0x20000 | 0x40000 | 0x80000 | 0x100000  # BIND, MOVE,
# UNBINDABLE, PRIVATE, SLAVE, SHARED
_MS_MGC_MSK, _MS_MGC_VAL = 0xFFFF_0000, 0xC0ED_0000


def _mount_string_part(context: _Context, index: int, inner: _Part) -> _Part:
    """mount's file system type (``index`` 2) and data (4): their strings, or their
    addresses when the flags say the call ignores them, as strace prints them."""
    pointer = context.pointer
    render = inner.render

    def ignored(call: Call) -> bool:
        flags = call.args[3] if len(call.args) > 3 else 0
        if flags & _MS_MGC_MSK == _MS_MGC_VAL:  # the old magic: not flags
            flags &= ~_MS_MGC_MSK
        if index == 2 and flags & _MS_REMOUNT:
            return True
        return bool(flags & _MS_NO_TYPE_NO_DATA)

    def render_string(value: int, call: Call) -> str | None:
        return pointer(value) if ignored(call) else render(value, call)

    return _Part(render_string, value_only=False)


#: __NEW_UTS_LEN (linux/utsname.h): a longer host or domain name is refused (EINVAL)
_UTS_LEN = 64


def _host_name_part(context: _Context, inner: _Part) -> _Part:
    """sethostname's and setdomainname's name: its address when the length passes
    what a name may hold (strace does not read it then), else the bytes."""
    pointer = context.pointer
    render = inner.render

    def render_name(value: int, call: Call) -> str | None:
        length = call.args[1] & 0xFFFF_FFFF if len(call.args) > 1 else 0
        return pointer(value) if length > _UTS_LEN else render(value, call)

    return _Part(render_name, value_only=False)


_SOL_SOCKET, _SO_LINGER, _SO_PEERCRED = 1, 13, 17  # asm-generic/socket.h


def _socket_option_struct(level: int, name: int, data: bytes) -> str | None:
    """The structures strace decodes in a socket option: struct linger, struct ucred."""
    if level & 0xFFFF_FFFF != _SOL_SOCKET:
        return None
    name &= 0xFFFF_FFFF
    if name == _SO_LINGER and len(data) == 8:
        onoff, linger = struct_module.unpack("<ii", data)
        return f"{{l_onoff={onoff}, l_linger={linger}}}"
    if name == _SO_PEERCRED and len(data) == 12:
        pid, uid, gid = struct_module.unpack("<iII", data)
        return f"{{pid={pid}, uid={uid}, gid={gid}}}"
    return None


def _count_part(context: _Context, index: int, one: str, many: str) -> _Part:
    """``0x7ffd... /* 12 entries */``: an array whose elements the recorder counted."""
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        text = pointer(value)
        struct = call.struct(index)
        count = None if struct is None or not value else struct_data.decode_count(struct.data)[0]
        if count is None:
            ret = call.ret
            if (not value or ret is None or ret.error or ret.flags & 1 or ret.retval != 0):
                return text
            count = 0  # nothing filled: the recorder leaves out an empty count
        return f"{text} /* {count} {one if count == 1 else many} */"

    return _Part(render, value_only=False)


def _filled_array_part(context: _Context, index: int) -> _Part:
    """An array of as many elements as the call returns: those, ``[]`` when it returned 0.

    getgroups' ids, epoll_wait's events: strace prints an empty array there.
    """
    struct_part = _struct_part(context, index).render
    pointer = context.pointer

    def render(value: int, call: Call) -> str | None:
        ret = call.ret
        if (call.struct(index) is None and value and ret is not None and not ret.error
                and not ret.flags & 1 and ret.retval == 0):
            return "[]"
        return struct_part(value, call) if value else pointer(value)

    return _Part(render, value_only=False)


def _mincore_vector_part(context: _Context, index: int) -> _Part:
    """mincore's vector: ``[]`` for a length of 0 (no page, nothing recorded), as strace's
    empty array; the recorded bytes, or the address (NULL, a failed call), otherwise."""
    struct_part = _struct_part(context, index).render
    signature = context.plan.signature
    length_arg = None if signature is None else signature.args[index].length_arg

    def render(value: int, call: Call) -> str | None:
        ret = call.ret
        args = call.args
        if (call.struct(index) is None and value and ret is not None and not ret.error
                and not ret.flags & 1 and length_arg is not None and length_arg < len(args)
                and args[length_arg] == 0):
            return "[]"
        return struct_part(value, call)

    return _Part(render, value_only=False)


def _fd_pair_part(context: _Context, index: int) -> _Part:
    """pipe's and socketpair's two new fds, each with what it is under ``-y`` (strace's
    ``[3<pipe:[…]>, 4<pipe:[…]>]``; the strace view settles such a call's effect on
    the fd tables before it renders it); as the structure alone when it is not whole."""
    assert context.fds is not None
    describe = context.describer(context.fds)
    structure = _struct_part(context, index).render

    def render(value: int, call: Call) -> str:
        structs = call.structs
        struct = None if structs is None else structs.get(index)
        if struct is None or len(struct.data) != 8:
            return structure(value, call) or context.pointer(value)
        shown = []
        for fd in (int.from_bytes(struct.data[:4], "little", signed=True),
                   int.from_bytes(struct.data[4:], "little", signed=True)):
            description = describe(call.pid, fd)  # x86's ABIs are all little-endian
            shown.append(str(fd) if description is None else fd_text(fd, description))
        return f"[{', '.join(shown)}]"

    return _Part(render, value_only=False)


_EPOLL_CTL_DEL = 2


def _epoll_event_part(context: _Context, index: int) -> _Part:
    """epoll_ctl's event: the structure, but for EPOLL_CTL_DEL its pointer.

    The kernel ignores the event of a DEL (strace prints the address): what
    the recorder read there is whatever the memory held.
    """
    pointer = context.pointer
    structure = _struct_part(context, index).render

    def render(value: int, call: Call) -> str | None:
        args = call.args
        if len(args) > 1 and args[1] & 0xFFFF_FFFF == _EPOLL_CTL_DEL:
            return pointer(value)
        return structure(value, call)

    return _Part(render, value_only=False)


def _socket_protocol_part(context: _Context) -> _Part:
    def render(value: int, call: Call) -> str:
        args = call.args
        name = _flags.decode_socket_protocol(args[0], value) if args else None
        return name if name is not None else str(signed32(value))

    return _Part(render, value_only=False)


_DATA_KINDS = frozenset({ArgKind.STRING, ArgKind.PATH_STRING, ArgKind.DATA_IN, ArgKind.DATA_OUT,
                         ArgKind.PATH_OUT, ArgKind.SOCKOPT_VAL_OUT})


def _iovec_text(vectors: list[tuple[int, int]], io: list[Any] | None, remaining: int,
                limit: int, pointer: Callable[[int], str],
                netlink: Callable[[bytes, bool], str] | None = None,
                hex_strings: int = 0) -> str:
    """``[{iov_base="...", iov_len=N}, ...]``: ``remaining`` bytes of the GIO data, in order.

    ``netlink``: each vector's data are netlink messages (strace decodes each alone);
    ``hex_strings``: strace's -x (1) / -xx (2).
    """
    data = b"".join(genio.data for genio in io) if io else None
    offset = 0
    items = []
    for base, length in vectors[:limit]:
        if data is None or base == 0:  # strace: NULL, whatever the length says
            items.append(f"{{iov_base={pointer(base)}, iov_len={length}}}")
            continue
        wanted = min(length, max(remaining, 0))
        chunk = data[offset:offset + wanted]
        offset += wanted
        remaining -= wanted
        if netlink is not None:
            text = netlink(chunk, len(chunk) < wanted)
        else:
            text = strace_string(chunk, limit, len(chunk) < wanted, hex_strings)
        items.append(f"{{iov_base={text}, iov_len={length}}}")
    if len(vectors) > limit:
        items.append("...")
    return "[" + ", ".join(items) + "]"


#: struct clone_args' first version (Linux 5.3): flags to tls, 8 u64s
_CLONE_ARGS_V0 = 64


def _clone_args_part(context: _Context, index: int) -> _Part:
    """clone3's struct clone_args, then `` => {pidfd=[N], parent_tid=[N]}`` once it returned.

    (Recordings before STRUCT "clone3_ids" hold an "int": the parent_tid alone.)
    """
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        if struct is None or len(struct.data) < _CLONE_ARGS_V0:
            return pointer(value)  # strace: shorter than the first version, an address
        text = decode_struct(struct)  # clone_args holds no string
        updated = call.struct(UPDATED + index)
        if updated is None:
            return text
        if updated.name == b"clone3_ids":
            fds = context.fds
            ids = _structs.render_clone3_ids(
                updated.data, None if fds is None else lambda fd: fds.describe(call.pid, fd))
            if ids is not None:
                text += " => " + ids
        elif len(updated.data) >= 4:
            text += f" => {{parent_tid=[{int.from_bytes(updated.data[:4], 'little')}]}}"
        return text

    return _Part(render, value_only=False)


def _advanced_offset_part(context: _Context, index: int) -> _Part:
    """sendfile's offset: ``[0] => [8]``, the value it read then the one it left.

    As strace: unsigned; the new value only for a call that moved bytes.
    """
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        text = None if struct is None else _structs.render_offset(struct.data, signed=False)
        if text is None:
            return pointer(value)
        ret = call.ret
        updated = call.struct(UPDATED + index)
        if ret is not None and not ret.error and ret.retval and updated is not None:
            after = _structs.render_offset(updated.data, signed=False)
            if after is not None:
                text += " => " + after
        return text

    return _Part(render, value_only=False)


def _io_uring_params_part(context: _Context, index: int) -> _Part:
    """io_uring_setup's parameters: the fields the call read (the entry's STRUCT),
    then those it filled (the exit's; a failed call's, as strace, none)."""
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        head = None if struct is None else _structs.io_uring_params_head(struct.data)
        if struct is None or head is None:
            return pointer(value)
        updated = call.struct(UPDATED + index)
        tail = None if updated is None else _structs.io_uring_params_tail(updated.data)
        return head + (tail if tail is not None else "}")

    return _Part(render, value_only=False)


def _filled_part(context: _Context, index: int) -> _Part:
    """A structure strace prints at exit only, as the call left it (adjtimex's struct
    timex: the exit's STRUCT); a failed call's, or one not recorded, as its address."""
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        ret = call.ret
        updated = call.struct(UPDATED + index)
        if ret is None or ret.error or updated is None:
            return pointer(value)
        return decode_struct(updated)

    return _Part(render, value_only=False)


def _msgbuf_part(context: _Context, index: int) -> _Part:
    """msgsnd's/msgrcv's message: ``{mtype=7, mtext="hello"}``, mtext as strace
    quotes it (at most ``-s`` bytes of the msgsz the call was given)."""
    pointer = context.pointer
    limit = context.style.string_limit
    abi = context.plan.abi
    signature = context.plan.signature
    length_arg = signature.args[index].length_arg if signature is not None else None
    hex_strings = context.style.hex_strings

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        message = None if struct is None else _structs.msgbuf(struct.data, abi)
        if message is None:
            return pointer(value)
        mtype, text = message
        asked = call.args[length_arg] if length_arg is not None else len(text)
        quoted = strace_string(text, limit, len(text) < asked, hex_strings)
        return f"{{mtype={mtype}, mtext={quoted}}}"

    return _Part(render, value_only=False)


def _vector_struct(call: Call, index: int) -> Struct | None:
    """The STRUCT of argument ``index`` of a call that did not fail (None: show a pointer)."""
    ret = call.ret
    if ret is not None and (ret.error or ret.flags & 1):
        return None
    return call.struct(index)


def _bytes_moved(call: Call) -> int:
    """What the vectors of ``call`` hold: its result, or before it the GIO data's length."""
    if call.ret is not None:
        return call.ret.retval
    return sum(genio.transferred for genio in call.io) if call.io else 0


class _Unsent(NamedTuple):
    """What a failed write-like call was asked to send, standing in for its GIO."""

    data: bytes


def _unsent(call: Call, key: int) -> Struct | None:
    """The STRUCT ``bytes`` a failed write-like call has at ``key``: what it was asked
    to send (None if it has none)."""
    struct = call.struct(key)
    return struct if struct is not None and struct.name == b"bytes" else None


def _msghdr_part(context: _Context, index: int, filled: bool) -> _Part:
    """sendmsg/recvmsg's struct msghdr with the data of its iovecs (GIO)."""
    pointer = context.pointer
    limit = context.style.string_limit
    abi = context.plan.abi
    sockets = context.sockets
    fds = context.fds  # -y: the fds passed in SCM_RIGHTS with what they are
    ifname = _ifname if context.style.ifnames else None
    hex_strings = context.style.hex_strings

    def describe(call: Call) -> Callable[[int], str | None] | None:
        if fds is None:
            return None
        pid = call.pid
        return lambda fd: fds.describe(pid, fd)

    def netlink(call: Call, header: _structs.Msghdr) -> Callable[[bytes, bool], str] | None:
        """strace's choice: a netlink msg_name, else (no name) a netlink socket."""
        if sockets is None:
            return None
        name = header.name_data
        protocol = sockets.netlink_protocol(call.pid, signed32(call.args[0]))
        if name is not None and len(name) >= 2:
            if int.from_bytes(name[:2], "little") != _AF_NETLINK:
                return None
        elif header.name or protocol is None:
            return None
        if protocol == _netlink.NETLINK_KOBJECT_UEVENT:
            return None
        return lambda data, more: _netlink.render(data, protocol, limit, ifname, more,
                                                  hex_strings)

    def render(value: int, call: Call) -> str:
        ret = call.ret
        if filled and ret is not None and ret.error:
            before = call.struct(index)  # recvmsg: msg_namelen as the caller set it
            socklen = None
            if before is not None and before.name == b"socklen":
                socklen, _ = struct_data.decode_socklen(before.data)
            if socklen is not None:
                return f"{{msg_namelen={socklen.before}}}"
            return pointer(value)
        # a failed call, or one whose look-ahead (_strace: an unfinished line) found
        # what it was asked to send
        unsent = None if filled or (ret is not None and not ret.error) else (
            _unsent(call, UPDATED + index))
        if unsent is not None:
            sent = call.struct(index)
            header = None if sent is None else _structs.msghdr(sent.data, abi)
            if header is None:
                return pointer(value)
            total = sum(length for _, length in header.iovecs)
            return _structs.render_msghdr(
                header, _iovec_text(header.iovecs, [_Unsent(unsent.data)], total, limit, pointer,
                                    netlink(call, header), hex_strings),
                describe(call), ifname, hex_strings)
        struct = _vector_struct(call, index)
        if struct is None:
            return pointer(value)
        header = _structs.msghdr(struct.data, abi)
        if header is None:
            return pointer(value)
        iov = _iovec_text(header.iovecs, call.io, _bytes_moved(call), limit, pointer,
                          netlink(call, header), hex_strings)
        return _structs.render_msghdr(header, iov, describe(call), ifname, hex_strings)

    return _Part(render, value_only=False)


def _mmsghdr_part(context: _Context, index: int) -> _Part:
    """sendmmsg's and recvmmsg's messages as strace prints them at exit: each
    msghdr with its data (one GIO per message moved; sendmmsg's messages not
    sent, a failed call's all of them, from the STRUCT "unsent_messages" that
    follows its messages) and, for the messages moved, ``msg_len`` (recvmmsg's
    STRUCT holds those alone)."""
    pointer = context.pointer
    limit = context.style.string_limit
    abi = context.plan.abi
    sending = context.plan.kinds[index] is ArgKind.MMSGHDR_IN

    ifname = _ifname if context.style.ifnames else None
    fds = context.fds  # -y: the fds passed in SCM_RIGHTS with what they are
    hex_strings = context.style.hex_strings

    def render(value: int, call: Call) -> str:
        ret = call.ret
        failed = ret is not None and (ret.error or ret.flags & 1)
        pid = call.pid
        describe = None if fds is None else (lambda fd: fds.describe(pid, fd))
        struct = call.struct(index) if sending and failed else _vector_struct(call, index)
        messages = None if struct is None else _structs.mmsghdrs(struct.data, abi)
        if not messages or ret is None or (failed and not sending):
            return pointer(value)
        extras = call.struct(RESULT_ARGUMENT)
        messages = _structs.with_mmsg_extras(
            messages, extras.data if extras is not None and extras.name == b"mmsg_extras"
            else None)
        sent = 0 if failed else ret.retval
        unsent = call.struct(UPDATED + index) if sending else None
        pending = (_structs.unsent_messages(unsent.data)
                   if unsent is not None and unsent.name == b"unsent_messages" else None)
        io = call.io or []
        items = []
        for number, (header, length) in enumerate(messages[:limit]):
            if number < sent:
                data = io[number:number + 1]
                iov = _iovec_text(header.iovecs, data, length if data else 0, limit, pointer,
                                  hex_strings=hex_strings)
            elif pending and number - sent < len(pending):  # what it was asked to send
                total = sum(size for _, size in header.iovecs)
                iov = _iovec_text(header.iovecs, [_Unsent(pending[number - sent])], total,
                                  limit, pointer, hex_strings=hex_strings)
            else:
                iov = _iovec_text(header.iovecs, None, 0, limit, pointer)
            text = "{msg_hdr=" + _structs.render_msghdr(header, iov, describe, ifname,
                                                         hex_strings)
            items.append(text + (f", msg_len={length}}}" if number < sent else "}"))
        if len(messages) > limit:
            items.append("...")
        return "[" + ", ".join(items) + "]"

    return _Part(render, value_only=False)


def _iovec_part(context: _Context, index: int, filled: bool) -> _Part:
    """``[{iov_base="hello ", iov_len=6}, ...]``: the STRUCT's lengths, the GIO's data.

    A read-like call's vectors hold the return value's bytes, in order; a
    write-like call's, the data it sent. A read-like call that failed shows its
    vectors' addresses, as strace.
    """
    pointer = context.pointer
    limit = context.style.string_limit
    abi = context.plan.abi
    hex_strings = context.style.hex_strings

    def render(value: int, call: Call) -> str:
        ret = call.ret
        # a failed call; before its RET (an unfinished line), one whose look-ahead
        # (_strace) found what it was asked to send
        failed = bool(ret.error) if ret is not None else (
            not filled and _unsent(call, UPDATED + index) is not None)
        if failed:
            struct = call.struct(index)
            if struct is None:
                return pointer(value)
            vectors = _structs.iovec_lengths(struct.data, abi)
            unsent = call.struct(UPDATED + index)
            if not filled and unsent is not None and unsent.name == b"bytes":
                # what a failed write-like call was asked to send
                return _iovec_text(vectors, [_Unsent(unsent.data)],
                                   sum(length for _, length in vectors), limit, pointer,
                                   hex_strings=hex_strings)
            # (a failed write-like call's data that could not be read: strace's
            # vectors with their addresses, as a failed read-like call's)
            return _iovec_text(vectors, None, 0, limit, pointer)
        struct = _vector_struct(call, index)
        if struct is None or (filled and call.ret is None):
            return pointer(value)
        return _iovec_text(_structs.iovec_lengths(struct.data, abi), call.io,
                           _bytes_moved(call), limit, pointer, hex_strings=hex_strings)

    return _Part(render, value_only=False)


def _nodemask_part(context: _Context, index: int) -> _Part:
    """A NUMA node mask as strace prints it: ``[0x00000000000001, 0000000000000000]``,
    the words the maxnode argument's bits (less one) fill, at most ``-s`` of them."""
    pointer = context.pointer
    limit = context.style.string_limit
    signature = context.plan.signature
    length_arg = signature.args[index].length_arg if signature is not None else None
    width = 8 if context.plan.abi == _X86_64 else 4
    bits = width * 8

    def word(value: int) -> str:  # C's %#0*lx: no 0x for zero
        return f"{value:#0{2 * width}x}" if value else "0" * (2 * width)

    def render(value: int, call: Call) -> str:
        if not value or length_arg is None or length_arg >= len(call.args):
            return pointer(value)
        maxnode = call.args[length_arg] & ((1 << bits) - 1)
        count = (maxnode + bits - 2) // bits
        if count < maxnode // bits or (maxnode and not count):
            return pointer(value)
        struct = call.struct(index)
        if struct is None:
            return pointer(value)
        data = struct.data
        have = min(len(data) // width, count)
        items = [word(int.from_bytes(data[i * width:(i + 1) * width], "little"))
                 for i in range(min(have, limit))]
        if count > len(items):
            items.append("...")
        return "[" + ", ".join(items) + "]"

    return _Part(render, value_only=False)


def _mpol_mode_out_part(context: _Context, index: int) -> _Part:
    """get_mempolicy's mode: ``[MPOL_DEFAULT]`` (the int it wrote)."""
    pointer = context.pointer

    def render(value: int, call: Call) -> str:
        struct = call.struct(index)
        if struct is None or len(struct.data) < 4:
            return pointer(value)
        mode = int.from_bytes(struct.data[:4], "little")
        return f"[{_flags.mpol_mode_name(mode)}]"

    return _Part(render, value_only=False)


#: Calls strace 6.1 has no decoder for: its printargs shows every argument as a
#: number in hex (``rseq(0, 0x20, 0, 0x53053053)``), pointers too.
_STRACE_PRINTARGS = frozenset({"rseq"})


def _part(context: _Context, index: int, kind: ArgKind) -> _Part | None:
    """The part for argument ``index``; None: the style does not show it."""
    plan, style = context.plan, context.style
    if style.strace and plan.name == "mount" and index in (2, 4):
        return _mount_string_part(context, index, _data_part(context, index, kind))
    if style.strace and plan.name in ("sethostname", "setdomainname") and index == 0:
        return _host_name_part(context, _data_part(context, index, kind))
    if kind in _DATA_KINDS:
        if not style.strace and kind in (ArgKind.DATA_OUT, ArgKind.PATH_OUT,
                                         ArgKind.SOCKOPT_VAL_OUT):
            return _Part(context.pointer)
        return _data_part(context, index, kind)
    if plan.name == "waitid" and index == 1 and context.fds is not None:
        return _waitid_id_part(context)
    if kind is ArgKind.CLONE_ARGS_IN and style.strace:
        return _clone_args_part(context, index)
    if (kind is ArgKind.OFF_INOUT or kind is ArgKind.LOFF_INOUT) and style.strace:
        return _advanced_offset_part(context, index)
    if kind is ArgKind.IO_URING_PARAMS_INOUT and style.strace:
        return _io_uring_params_part(context, index)
    if (kind is ArgKind.TIMEX_INOUT or kind is ArgKind.TIMEX64_INOUT) and style.strace:
        return _filled_part(context, index)
    if (kind is ArgKind.MSGBUF_IN or kind is ArgKind.MSGBUF_OUT) and style.strace:
        return _msgbuf_part(context, index)
    if kind is ArgKind.MSGHDR_IN or kind is ArgKind.MSGHDR_OUT:
        if not style.strace:
            return _Part(context.pointer)
        return _msghdr_part(context, index, kind is ArgKind.MSGHDR_OUT)
    if (kind is ArgKind.MMSGHDR_IN or kind is ArgKind.MMSGHDR_OUT) and style.strace:
        return _mmsghdr_part(context, index)
    if kind is ArgKind.IOVEC_IN or kind is ArgKind.IOVEC_OUT:
        if not style.strace:
            return _Part(context.pointer)
        return _iovec_part(context, index, kind is ArgKind.IOVEC_OUT)
    if (kind is ArgKind.GIDS_OUT or kind is ArgKind.EPOLL_EVENTS_OUT) and style.strace:
        return _filled_array_part(context, index)
    if kind is ArgKind.MINCORE_VEC_OUT and style.strace:
        return _mincore_vector_part(context, index)
    if kind is ArgKind.PTR and style.strace and plan.name in _STRACE_PRINTARGS:
        return _Part(_strace_hex)  # a NULL pointer as 0
    if kind is ArgKind.DIRENTS_OUT:
        if not style.strace:
            return _Part(context.pointer)
        return _count_part(context, index, "entry", "entries")
    if kind is ArgKind.SOCKET_PROTOCOL:
        return _socket_protocol_part(context)
    if kind is ArgKind.EPOLL_EVENT_IN and plan.name == "epoll_ctl":
        return _epoll_event_part(context, index)
    if kind is ArgKind.FD_PAIR_OUT and style.strace and context.fds is not None:
        return _fd_pair_part(context, index)
    if kind is ArgKind.KEY_SERIAL:
        return _Part(_bounded_cache(_key_serial))
    if kind is ArgKind.MMAP_FLAGS and style.strace:
        return _Part(_bounded_cache(_flags.strace_mmap_flags))
    if kind is ArgKind.MODE and style.strace and plan.name not in ("mknod", "mknodat"):
        return _Part(_bounded_cache(_octal_mode))  # strace names file types for mknod only
    if (kind is ArgKind.NODEMASK_IN or kind is ArgKind.NODEMASK_OUT) and style.strace:
        return _nodemask_part(context, index)
    if kind is ArgKind.MPOL_MODE_OUT and style.strace:
        return _mpol_mode_out_part(context, index)
    direction = plan.struct_direction.get(index)
    if direction is not None or kind in _STRUCT_LIKE:
        # Structures: in place of the pointer. Text shows a line at entry, before
        # the structures a call fills arrive: those stay pointers there.
        if not style.strace and (direction == "out" or kind in (ArgKind.SOCKADDR_OUT,
                                                                ArgKind.FD_PAIR_OUT)):
            return _Part(context.pointer)
        return _struct_part(context, index)
    if kind is ArgKind.FD or kind is ArgKind.DIRFD:
        return _fd_part(context, kind is ArgKind.DIRFD, index == plan.first_fd_arg)
    if kind is ArgKind.INT or kind is ArgKind.PID:
        return _Part(_bounded_cache(_signed32_text))
    if kind is ArgKind.UID or kind is ArgKind.GID:
        return _Part(_unsigned32_id)
    if kind is ArgKind.UINT and style.strace and plan.name == "mmap2" and index == 5:
        return _Part(_mmap2_offset)  # strace shows the offset in bytes, not pages
    if kind is ArgKind.SIZE or kind is ArgKind.UINT:
        return _Part(str)
    if kind is ArgKind.OFFSET:
        if style.strace and (plan.name, index) in _HEX_OFFSETS:
            return _Part(_strace_hex)
        return _Part(_signed32_text if plan.abi == _I386 else _signed64_text)
    if kind is ArgKind.OFFSET_LOW:
        if style.strace:
            kinds = plan.kinds
            high = kinds.index(ArgKind.OFFSET_HIGH) if ArgKind.OFFSET_HIGH in kinds else len(kinds)
            return _offset_pair_part(index, high)
        return _Part(_low32_text)
    if kind is ArgKind.OFFSET_HIGH:
        return None if style.strace else _Part(_low32_text)
    if kind is ArgKind.IGNORED:
        return None if style.strace else _Part(context.number)
    if kind is ArgKind.HEX:
        return _Part(_strace_hex if style.strace else context.number)
    if kind is ArgKind.DEV:
        return _Part(_structs.makedev)
    if kind is ArgKind.PATH:
        return _path_part(context, index)
    if kind is ArgKind.BUF_IN or kind is ArgKind.BUF_OUT:
        return _buffer_part(context, index, kind) if style.strace else _Part(context.pointer)
    if kind is ArgKind.ARGV:
        return _argv_part(context) if style.strace else _Part(context.pointer)
    if kind is ArgKind.ENVP:
        return _envp_part(context, index) if style.strace else _Part(context.pointer)
    if kind in _POINTERS:
        return _Part(context.pointer)
    flags = _flag_part(kind, plan.abi, style)
    return flags if flags is not None else _Part(context.number)


def compile_arguments(plan: CallPlan, style: Style, fds: FdTables | None,
                      stop: int | None = None) -> CallArguments:
    """The renderer of ``plan``'s calls in ``style`` (``fds``: for ``-y``, else None).

    ``stop``: render only the arguments before this index (what strace prints
    at entry when a call's line is interrupted).
    """
    decimal = style.decimal and not style.strace
    number = _number(decimal)
    pointer: Callable[[int], str] = _strace_pointer if style.strace else number
    if style.raw or plan.signature is None:
        # kdump -d prints argument words as signed numbers of the ABI's width.
        raw = (_strace_hex if style.strace
               else (_signed32_text if plan.abi == _I386 else _signed64_text) if decimal
               else number)
        count = None if plan.signature is None else len(plan.kinds)
        if stop is not None:
            count = stop if count is None else min(count, stop)

        def render_raw(call: Call) -> list[str]:
            args = call.args if count is None else call.args[:count]
            return [raw(value) for value in args]

        return render_raw

    context = _Context(plan, style, fds if style.fd_paths else None, pointer, number,
                       fds if style.strace else None)
    if style.strace and plan.name == "clone":
        return _strace_clone(plan, stop, context.fds)
    if style.strace and plan.name in ("futex", "futex_time64"):
        return _strace_futex(plan, stop)
    if style.strace and plan.name == "rt_sigreturn":
        return _strace_sigreturn
    if style.strace and plan.name == "ptrace":
        limit = style.string_limit
        return lambda call: _strace_ptrace(call, limit)
    if style.strace and plan.name == "kcmp":
        return _strace_kcmp
    if style.strace and plan.name == "membarrier":
        return _strace_membarrier
    if style.strace and plan.name == "keyctl":
        return _strace_keyctl(style)
    if style.strace and plan.name == "syslog":
        return _strace_syslog(style)
    if style.strace and plan.name in ("quotactl", "quotactl_fd"):
        return _strace_quotactl(plan, style, _generic_renderer(
            tuple((i, p) for i, k in enumerate(plan.kinds)
                  if (p := _part(context, i, k)) is not None), plan, _contextual(plan)))
    if style.strace and plan.name == "prctl":
        return _strace_prctl(style.hex_strings, style.string_limit, _generic_renderer(
            tuple((i, p) for i, k in enumerate(plan.kinds)
                  if (p := _part(context, i, k)) is not None), plan, _contextual(plan)))


    parts: list[tuple[int, _Part]] = []
    flags_arg = {"open": 1, "openat": 2}.get(plan.name)
    for index, kind in enumerate(plan.kinds):
        if stop is not None and index >= stop:
            break
        part = _part(context, index, kind)
        if part is None:
            continue
        if kind is ArgKind.MODE and flags_arg is not None:
            part = _mode_part(part, flags_arg)
        elif plan.name == "mq_open" and index >= 2 and style.strace:
            part = _mode_part(part, 1, O_CREAT)  # the mode and attributes: with O_CREAT only
        parts.append((index, part))
    steps = tuple(parts)
    context_decode = _contextual(plan)
    slow = _generic_renderer(steps, plan, context_decode)
    if plan.name in ("fcntl", "fcntl64"):
        return _fcntl_renderer(slow, plan)
    if plan.name == "ioctl" and style.strace:
        return _ioctl_renderer(slow)
    if plan.name == "mremap" and style.strace:
        return _mremap_renderer(slow)
    if plan.name in ("mknod", "mknodat") and style.strace:
        return _mknod_renderer(slow, plan.kinds.index(ArgKind.MODE))
    if (plan.name == "semctl" and style.strace and plan.abi == _I386
            and linux.syscall_name(plan.abi, plan.nr) == "ipc"):
        return _ipc_semctl_renderer(slow)
    if plan.name in ("semctl", "msgctl", "shmctl") and style.strace:
        return _ipc_ds_renderer(slow, 2 if plan.name == "semctl" else 1)
    if context_decode is not None:
        return slow
    return _generated_renderer(steps, slow)


_S_IFMT, _S_IFCHR, _S_IFBLK = 0o170000, 0o020000, 0o060000


_MREMAP_MAYMOVE_FIXED = 3  # MREMAP_MAYMOVE | MREMAP_FIXED


def _mremap_renderer(inner: CallArguments) -> CallArguments:
    """mremap as strace prints it: new_address only with MREMAP_MAYMOVE|MREMAP_FIXED."""
    def render(call: Call) -> list[str]:
        out = inner(call)
        args = call.args
        if (len(args) > 3 and len(out) == 5
                and args[3] & _MREMAP_MAYMOVE_FIXED != _MREMAP_MAYMOVE_FIXED):
            del out[4]
        return out

    return render


def _mknod_renderer(inner: CallArguments, mode_index: int) -> CallArguments:
    """mknod as strace prints it: the device number only for a device node."""
    def render(call: Call) -> list[str]:
        out = inner(call)
        args = call.args
        if (len(args) > mode_index and len(out) == mode_index + 2
                and args[mode_index] & _S_IFMT not in (_S_IFCHR, _S_IFBLK)):
            return out[:-1]
        return out

    return render


# fcntl commands (asm-generic/fcntl.h, linux/fcntl.h): those without a third
# argument, those whose argument strace prints in decimal, those with a
# struct flock (F_GETLK fills it: strace shows l_pid only there).
_FCNTL_NO_ARGUMENT = frozenset({1, 3, 9, 11, 1025, 1032, 1034})
_FCNTL_DECIMAL = frozenset({0, 8, 1030, 1031})
_FCNTL_FLOCK_SET = frozenset({6, 7, 37, 38})
_FCNTL_FLOCK_SET_I386 = frozenset({6, 7, 13, 14, 37, 38})
_FCNTL_FLOCK_GET = frozenset({5, 36})
_FCNTL_FLOCK_GET_I386 = frozenset({5, 12, 36})


def _fcntl_renderer(inner: CallArguments, plan: CallPlan) -> CallArguments:
    setting = _FCNTL_FLOCK_SET_I386 if plan.abi == _I386 else _FCNTL_FLOCK_SET
    getting = _FCNTL_FLOCK_GET_I386 if plan.abi == _I386 else _FCNTL_FLOCK_GET

    def render(call: Call) -> list[str]:
        out = inner(call)
        args = call.args
        if len(args) < 3 or len(out) < 3:
            return out
        command = args[1] & 0xFFFF_FFFF
        if command in _FCNTL_NO_ARGUMENT:
            del out[2]
        elif command in _FCNTL_DECIMAL:
            out[2] = str(signed32(args[2]))
        elif command in setting or command in getting:
            struct = call.struct(2)
            if struct is not None:
                text = decode_struct(struct)
                if command in setting:
                    text = re.sub(r", l_pid=-?\d+\}$", "}", text)
                out[2] = text
        return out

    return render


_IPC_SET = 1


def _ipc_ds_renderer(inner: CallArguments, command: int) -> CallArguments:
    """semctl/msgctl/shmctl as strace prints them: the structure IPC_STAT (and
    the other *_STAT commands) filled, or IPC_SET read, in place of its pointer."""
    def render(call: Call) -> list[str]:
        out = inner(call)
        struct = call.struct(command + 1)
        if struct is None or len(out) <= command + 1 or len(call.args) <= command:
            return out
        setting = call.args[command] & 0xFF == _IPC_SET
        text = _structs.render_ipc_ds(struct.name, struct.data, setting)
        if text is not None:
            out[command + 1] = text
        return out

    return render


def _ipc_semctl_renderer(inner: CallArguments) -> CallArguments:
    """i386 ipc(SEMCTL) as strace prints it: the union semun ``ptr`` points to, ``[0x5]``.

    The recorder reads that word at entry (STRUCT "semun" of ipc's argument
    4); without it (NULL, unreadable, an older recording) the pointer shows,
    as strace shows an address it cannot read.
    """
    def render(call: Call) -> list[str]:
        out = inner(call)
        struct = call.struct(4)
        if struct is not None and len(out) > 3:
            out[3] = decode_struct(struct)
        return out

    return render


_FICLONE = 0x40049409  # linux/fs.h _IOW(0x94, 9, int): the argument is an fd


# Requests strace names by both their meanings (the numbers collide).
_IOCTL_ALIASES = {
    _FICLONE: "BTRFS_IOC_CLONE or FICLONE", 0x5402: "SNDCTL_TMR_START or TCSETS",
    0x5403: "SNDCTL_TMR_STOP or TCSETSW", 0x5404: "SNDCTL_TMR_CONTINUE or TCSETSF",
}


# Requests that take no argument: strace's decoders (term.c's "ioctls with no
# parameters", FIOCLEX/FIONCLEX) print none.
_IOCTL_NO_ARGUMENT = frozenset({
    0x5451, 0x5450,  # FIOCLEX, FIONCLEX
    0x540C, 0x540D, 0x5427, 0x5428, 0x541D, 0x5422, 0x5437,
    # TIOCEXCL, TIOCNXCL, TIOCSBRK, TIOCCBRK, TIOCCONS, TIOCNOTTY, TIOCVHANGUP
})
_TCSBRK = 0x5409  # its argument is an int, printed in decimal


def _ioctl_renderer(inner: CallArguments) -> CallArguments:
    """ioctl as strace prints it: the argument the recorder captured for the request."""
    def render(call: Call) -> list[str]:
        out = inner(call)
        args = call.args
        if len(args) < 3 or len(out) < 3:
            return out
        request = args[1] & 0xFFFF_FFFF
        alias = _IOCTL_ALIASES.get(request)
        if alias is not None:
            out[1] = alias
        if request in _IOCTL_NO_ARGUMENT:
            del out[2:]
        elif request in (_FICLONE, _TCSBRK):
            out[2] = str(signed32(args[2]))
        else:
            struct = call.struct(2)
            if struct is not None:
                out[2] = decode_struct(struct)
        return out

    return render


# futex operations (linux/futex.h) and the arguments strace shows for each
# after uaddr and the operation: val, timeout, val2 (the timeout word read
# as a count), uaddr2, val3 (a bitset for the *_BITSET ones).
_FUTEX_SHOWN: dict[int, tuple[str, ...]] = {
    0: ("val", "timeout"), 1: ("val",), 3: ("val", "val2", "uaddr2"),
    4: ("val", "val2", "uaddr2", "val3"), 6: ("timeout",), 7: (), 8: (),
    9: ("val", "timeout", "bitset"), 10: ("val", "bitset"),
    11: ("val", "timeout", "uaddr2"), 12: ("val", "val2", "uaddr2", "val3"),
    13: ("timeout",),
}


_CAPABILITIES = _structs.CAPABILITIES
_DUMPABLE = {0: "SUID_DUMP_DISABLE", 1: "SUID_DUMP_USER", 2: "SUID_DUMP_ROOT"}
# prctl options (linux/prctl.h) and how strace shows their arguments after the
# option: "" none, "u" one unsigned, "u+" one unsigned then the other three in
# hex, "sig" a signal, "cap" a capability, "dump" a SUID_DUMP_* value, "name" the
# string the recorder captured.
_PRCTL_SHOWN = {
    7: "", 13: "", 21: "", 30: "", 31: "", 32: "", 3: "",
    8: "u", 10: "u", 12: "u", 14: "u", 20: "u", 36: "u", 29: "u",
    38: "u+", 41: "u+", 57: "u+",
    1: "sig", 23: "cap", 24: "cap", 4: "dump", 15: "name", 16: "name",
}


#: TASK_COMM_LEN: strace reads PR_SET_NAME's name up to one byte less (the
#: kernel keeps that many), PR_GET_NAME's up to all of it
_TASK_COMM_LEN = 16


def _strace_prctl(hex_strings: int, limit: int, inner: CallArguments) -> CallArguments:
    """prctl as strace prints it: the option, then only the arguments it uses
    (``hex_strings``: strace's -x/-xx for PR_SET_NAME's string; ``limit``: -s)."""
    def render(call: Call) -> list[str]:
        args = call.args
        out = inner(call)
        if len(args) < 5 or not out:
            return out
        shown = _PRCTL_SHOWN.get(args[0] & 0xFFFF_FFFF)
        if shown is None:
            return out
        head = [out[0]]
        value = args[1]
        if shown == "":
            return head
        if shown == "u":
            return [*head, str(value)]
        if shown == "u+":
            return [*head, str(value), *(_strace_hex(word) for word in args[2:5])]
        if shown == "sig":
            return [*head, signal_name(signed32(value)) or str(signed32(value))]
        if shown == "cap":
            cap = value & 0xFFFF_FFFF
            return [*head, _CAPABILITIES[cap] if cap < len(_CAPABILITIES)
                    else f"{cap:#x} /* CAP_??? */"]
        if shown == "dump":
            return [*head, _DUMPABLE.get(value & 0xFFFF_FFFF, f"{value:#x} /* SUID_DUMP_??? */")]
        struct = call.struct(1)  # "name": PR_SET_NAME / PR_GET_NAME's string
        if struct is None:
            return [*head, _strace_pointer(value)]
        bound = _TASK_COMM_LEN - 1 if args[0] & 0xFFFF_FFFF == 15 else _TASK_COMM_LEN
        return [*head, strace_bounded_string(struct.data, bound, limit, hex_strings)]

    return render


def _key_serial(value: int) -> str:
    """A key_serial_t: ``KEY_SPEC_SESSION_KEYRING``, or the id in decimal."""
    return (_flags.decode_argument(ArgKind.KEY_SERIAL, value, 0)
            or str(signed32(value)))


def _key_reqkey_default(value: int) -> str:
    names = _flags.KEY_REQKEY_NAMES
    return names.get(signed32(value)) or str(signed32(value))


# keyctl's commands (linux/keyctl.h) and what strace's keyctl.c prints after
# the command: "k" a key id, "d" an int, "u" an unsigned, "U" a uid or gid,
# "s" the string the recorder captured (its argument), "n" the data it
# captured (its length the next argument), "o" the buffer the call filled
# (its length the next argument; at exit), "e" an errno, "r" a
# KEY_REQKEY_DEFL_* value, "p" a key's permissions, "a" an address (a string the
# recorder did not capture).
_KEYCTL_SHOWN = {
    0: "kd", 1: "s", 2: "knu", 3: "k", 4: "kUU", 5: "kp", 6: "kou", 7: "k", 8: "kk", 9: "kk",
    10: "kaak", 11: "kou", 12: "knuk", 13: "kuk", 14: "r", 15: "ku", 16: "k", 17: "kou",
    18: "", 19: "kuek", 21: "k", 22: "Uk",
}
#: KEYCTL_DESCRIBE and KEYCTL_GET_SECURITY return a string with its NUL (strace
#: leaves the NUL out); KEYCTL_READ a key's bytes
_KEYCTL_NUL_ENDED = frozenset({6, 17})


def _strace_keyctl(style: Style) -> CallArguments:
    """keyctl as strace prints it: the command, then the arguments it takes, as
    that command reads them (others: four words in hex)."""
    limit, hex_strings = style.string_limit, style.hex_strings

    def render(call: Call) -> list[str]:
        args = call.args
        if len(args) < 5:
            return [_strace_hex(value) for value in args]
        command = args[0] & 0xFFFF_FFFF
        name = _flags.decode_argument(ArgKind.KEYCTL_CMD, command, 0)
        out = [name or f"{_hex(command)} /* KEYCTL_??? */"]
        shown = _KEYCTL_SHOWN.get(command)
        if shown is None:
            return [*out, *(_strace_hex(value) for value in args[1:5])]
        ret = call.ret
        for position, letter in enumerate(shown, start=1):
            value = args[position]
            if letter == "k":
                out.append(_key_serial(value))
            elif letter == "d":
                out.append(str(signed32(value)))
            elif letter == "u":  # a length after its data: the whole word; else 32 bits
                out.append(str(value if position > 1 and shown[position - 2] in "no"
                               else value & 0xFFFF_FFFF))
            elif letter == "U":
                out.append(_unsigned32_id(value))
            elif letter == "e":
                number = value & 0xFFFF_FFFF
                out.append(errno_name(number) or str(number))
            elif letter == "r":
                out.append(_key_reqkey_default(value))
            elif letter == "p":
                out.append(_flags.render_flags(_flags.KEY_PERMS, value & 0xFFFF_FFFF))
            elif letter == "a":
                out.append(_strace_pointer(value))
            else:
                struct = call.struct(position)
                if letter == "o" and (ret is None or ret.error or ret.flags & 1):
                    out.append(_strace_pointer(value))  # nothing filled (or not yet)
                elif struct is None:
                    out.append(_strace_pointer(value))
                elif letter == "s":
                    out.append(strace_string(struct.data, limit, False, hex_strings))
                elif letter == "n":
                    data = struct.data
                    out.append(strace_string(data, limit, len(data) < args[position + 1],
                                             hex_strings))
                else:  # "o": the bytes filled, at most the buffer's length
                    wanted = min(ret.retval, args[position + 1]) if ret is not None else 0
                    size = min(wanted, limit)
                    data = struct.data[:size]
                    more = wanted > limit or len(data) < size
                    if command in _KEYCTL_NUL_ENDED and data.endswith(b"\0"):
                        # strace leaves out a NUL that is the last byte it shows,
                        # and then sees the string as whole
                        data, more = data[:-1], False
                    out.append(strace_string(data, None, more, hex_strings))
        return out

    return render


#: ptrace requests strace prints with fewer arguments: the request alone, or the pid too.
_PTRACE_REQUEST_ONLY = frozenset({0})  # PTRACE_TRACEME
_PTRACE_PID_ONLY = frozenset({16, 0x4207, 8, 0x4208})  # ATTACH, INTERRUPT, KILL, LISTEN
#: Requests whose data is a signal to deliver (CONT, DETACH, SYSCALL, SINGLESTEP, SYSEMU,
#: SYSEMU_SINGLESTEP, SINGLEBLOCK), and whose data is PTRACE_O_* (SETOPTIONS, SEIZE).
_PTRACE_DATA_SIGNAL = frozenset({7, 17, 24, 9, 31, 32, 33})
_PTRACE_DATA_OPTIONS = frozenset({0x4200, 0x4206})
#: Requests whose addr is a size or count, printed in decimal (GETSIGMASK, SETSIGMASK,
#: SECCOMP_GET_FILTER, SECCOMP_GET_METADATA, GET_SYSCALL_INFO), or a register set (NT_*).
_PTRACE_ADDR_NUMBER = frozenset({0x420A, 0x420B, 0x420C, 0x420D, 0x420E})
_PTRACE_ADDR_NT = frozenset({0x4204, 0x4205})
_NT_NAMES = {value: name for name, value in _flags.NT_TYPES}
#: x86_64's struct user (sys/user.h) as strace names offsets in it (PEEKUSER, POKEUSER):
#: the registers strace lists (``8*RIP``; not fs_base and the ones after it), then the
#: other fields; an offset between two is the one before it ``+N``.
_USER_REGISTERS_64 = ("R15", "R14", "R13", "R12", "RBP", "RBX", "R11", "R10", "R9", "R8", "RAX",
                      "RCX", "RDX", "RSI", "RDI", "ORIG_RAX", "RIP", "CS", "EFL", "RSP", "SS")
_USER_OFFSETS_64: tuple[tuple[int, str], ...] = (
    *[(8 * index, f"8*{name}") for index, name in enumerate(_USER_REGISTERS_64)],
    *[(offset, f"offsetof(struct user, {name})") for offset, name in (
        (216, "u_fpvalid"), (224, "i387"), (736, "u_tsize"), (744, "u_dsize"),
        (752, "u_ssize"), (760, "start_code"), (768, "start_stack"), (776, "signal"),
        (784, "reserved"), (792, "u_ar0"), (800, "u_fpstate"), (808, "magic"),
        (816, "u_comm"), (848, "u_debugreg"))],
    (912, "sizeof(struct user)"),
)
_PEEKS = frozenset({1, 2, 3})  # PTRACE_PEEKTEXT, PEEKDATA, PEEKUSER
_PTRACE_GETEVENTMSG, _PTRACE_GETSIGINFO, _PTRACE_GETSIGMASK = 0x4201, 0x4202, 0x420A
_PTRACE_GET_SYSCALL_INFO = 0x420E
_PTRACE_REGS_NO_ADDR = frozenset({12, 13, 14, 15})
_PTRACE_FILLED = frozenset({_PTRACE_GETEVENTMSG, _PTRACE_GETSIGINFO, _PTRACE_GETSIGMASK,
                            _PTRACE_GET_SYSCALL_INFO})


def _user_offset(addr: int) -> str:
    """A PEEKUSER/POKEUSER offset as strace 6.1 names it on x86_64 (``8*RIP``,
    ``offsetof(struct user, u_debugreg)+8``); past struct user, the address."""
    if addr > _USER_OFFSETS_64[-1][0]:
        return _strace_pointer(addr)
    base, name = next((offset, name) for offset, name in reversed(_USER_OFFSETS_64)
                      if offset <= addr)
    return name if base == addr else f"{name}+{addr - base}"


def _ptrace_filled(call: Call, request: int, data: int) -> str:
    """What a successful PEEK*, GETEVENTMSG, GETSIGINFO, GETSIGMASK or GET_SYSCALL_INFO
    stored at data, as strace prints it at exit (``[0x1122334455667788]``, ``[0]``,
    ``{si_signo=...}``, ``[USR1]``, ``{op=PTRACE_SYSCALL_INFO_ENTRY, ...}``), from the
    STRUCT recorded then; else (a failed call, nothing recorded) the address."""
    ret = call.ret
    struct = call.struct(3)
    if struct is None or ret is None or ret.error or ret.flags & 1:
        return _strace_pointer(data)
    value = int.from_bytes(struct.data[:8], "little")
    if request in _PEEKS:
        return f"[{_strace_pointer(value)}]"
    if request == _PTRACE_GETEVENTMSG:
        return f"[{value}]"
    if request == _PTRACE_GETSIGMASK:
        if len(call.args) < 3 or call.args[2] != len(struct.data):
            return _strace_pointer(data)  # strace: a size not sigset_t's
        return _flags.decode_sigset(value)
    return decode_struct(struct)


def _strace_ptrace(call: Call, limit: int | None = 32) -> list[str]:
    """ptrace as strace prints it at entry: the request by name and the arguments it
    reads (PTRACE_TRACEME alone; ATTACH, INTERRUPT, KILL, LISTEN: the pid), a signal
    for the requests that resume (``PTRACE_CONT, 1234, NULL, SIGCONT``), the PTRACE_O_*
    options of SETOPTIONS and SEIZE, NT_* register sets, x86_64's struct user offsets
    (PEEKUSER, POKEUSER: ``8*RIP``); what PEEK*, GETEVENTMSG, GETSIGINFO, GETSIGMASK
    and GET_SYSCALL_INFO stored, as strace prints it at exit (recorded then); x86_64's
    registers (GETREGS, SETREGS, GETFPREGS, SETFPREGS: strace's three-argument form;
    GETREGSET's and SETREGSET's iovec with NT_PRSTATUS's or NT_PRFPREG's registers).
    Other register sets are not recorded: their address is shown, as strace shows it."""
    args = call.args
    if len(args) < 4:
        return [_strace_hex(value) for value in args]
    request = args[0] & _U64
    name = (_flags.decode_argument(ArgKind.PTRACE_REQUEST, request, call.plan.abi)
            if request <= 0xFFFF_FFFF else None)
    out = [name or f"{_hex(request)} /* PTRACE_??? */"]
    if request in _PTRACE_REQUEST_ONLY:
        return out
    out.append(str(signed32(args[1])))
    if request in _PTRACE_PID_ONLY:
        return out
    if request in _PTRACE_REGS_NO_ADDR and call.plan.abi == _X86_64:
        # GETREGS, SETREGS, GETFPREGS, SETFPREGS: x86 ignores addr, strace leaves it out
        struct = call.struct(3)
        ret = call.ret
        shown = None
        if struct is None or ((request == 12 or request == 14)
                              and (ret is None or ret.error or ret.flags & 1)):
            pass  # (a GET* that failed filled nothing)
        elif struct.name == b"user_regs_struct":
            shown = _structs.render_user_regs(struct.data)
        elif struct.name == b"user_fpregs_struct":
            shown = _structs.render_user_fpregs(struct.data, limit)
        return [*out, shown or _strace_pointer(args[3])]
    addr, data = args[2], args[3]
    if request in _PTRACE_ADDR_NUMBER:
        out.append(str(addr & _U64))
    elif request in _PTRACE_ADDR_NT:
        out.append(_NT_NAMES.get(addr & _U64) or f"{_hex(addr)} /* NT_??? */")
    elif (request == 3 or request == 6) and call.plan.abi == _X86_64:  # PEEKUSER, POKEUSER
        out.append(_user_offset(addr & _U64))
    else:
        out.append(_strace_pointer(addr))
    if request in _PTRACE_DATA_SIGNAL:
        number = signed32(data)
        out.append((_flags.decode_argument(ArgKind.SIGNAL, data, call.plan.abi) or str(number))
                   if number else "0")
    elif request in _PTRACE_DATA_OPTIONS:
        out.append(_flags.render_flags(_flags.PTRACE_OPTIONS, data & _U64, "0"))
    elif request in _PEEKS or request in _PTRACE_FILLED:
        out.append(_ptrace_filled(call, request, data))
    elif request in _PTRACE_ADDR_NT and (regset := call.struct(3)) is not None:
        # GETREGSET, SETREGSET: the iovec (x86_64: with NT_PRSTATUS's or NT_PRFPREG's
        # registers)
        out.append(_structs.render_regset(regset.name, regset.data, limit)
                   or decode_struct(regset))
    else:
        out.append(_strace_pointer(data))
    return out


#: kcmp types that compare whole resources: strace prints no indexes for them.
_KCMP_NO_INDEX = frozenset({1, 2, 3, 4, 5, 6})  # VM, FILES, FS, SIGHAND, IO, SYSVSEM


def _strace_kcmp(call: Call) -> list[str]:
    """kcmp as strace prints it: the indexes its type reads, KCMP_FILE's as fds
    (``kcmp(12, 12, KCMP_FILE, 3, 4)``), none for the types that compare whole
    resources (``kcmp(12, 13, KCMP_VM)``), others in hex; KCMP_EPOLL_TFD's
    structure is shown by its address."""
    args = call.args
    if len(args) < 5:
        return [_strace_hex(value) for value in args]
    kind = args[2] & 0xFFFF_FFFF
    name = _flags.decode_argument(ArgKind.KCMP_TYPE, kind, call.plan.abi)
    out = [str(signed32(args[0])), str(signed32(args[1])),
           name or f"{_hex(kind)} /* KCMP_??? */"]
    if kind == 0 or kind == 7:  # KCMP_FILE, KCMP_EPOLL_TFD: fds
        out.append(str(signed32(args[3])))
        out.append(str(signed32(args[4])) if kind == 0 else _strace_pointer(args[4]))
    elif kind not in _KCMP_NO_INDEX:
        out += [_hex(args[3]), _hex(args[4])]
    return out


#: quotactl's commands (linux/quota.h, linux/dqblk_xfs.h), QCMD's high bits: the old
#: (OLD_CMD: << 8), new (| 0x800000) and XFS ones ('X' << 8 | N)
_QUOTA_COMMANDS = {
    0x100: "Q_V1_QUOTAON", 0x200: "Q_V1_QUOTAOFF", 0x300: "Q_V1_GETQUOTA",
    0x400: "Q_V1_SETQUOTA", 0x500: "Q_V1_SETUSE", 0x600: "Q_V1_SYNC", 0x700: "Q_SETQLIM",
    0x800: "Q_V1_GETSTATS", 0x1000: "Q_V1_RSQUASH", 0xD00: "Q_V2_GETQUOTA",
    0xE00: "Q_V2_SETQUOTA", 0xF00: "Q_V2_SETUSE", 0x900: "Q_V2_GETINFO",
    0xA00: "Q_V2_SETINFO", 0xB00: "Q_V2_SETGRACE", 0xC00: "Q_V2_SETFLAGS",
    0x1100: "Q_V2_GETSTATS",
    0x800001: "Q_SYNC", 0x800002: "Q_QUOTAON", 0x800003: "Q_QUOTAOFF", 0x800004: "Q_GETFMT",
    0x800005: "Q_GETINFO", 0x800006: "Q_SETINFO", 0x800007: "Q_GETQUOTA",
    0x800008: "Q_SETQUOTA", 0x800009: "Q_GETNEXTQUOTA",
    0x5801: "Q_XQUOTAON", 0x5802: "Q_XQUOTAOFF", 0x5803: "Q_XGETQUOTA", 0x5804: "Q_XSETQLIM",
    0x5805: "Q_XGETQSTAT", 0x5806: "Q_XQUOTARM", 0x5807: "Q_XQUOTASYNC",
    0x5808: "Q_XGETQSTATV", 0x5809: "Q_XGETNEXTQUOTA",
}
_QUOTA_TYPES = ("USRQUOTA", "GRPQUOTA", "PRJQUOTA")
_QUOTA_FORMATS = {1: "QFMT_VFS_OLD", 2: "QFMT_VFS_V0", 3: "QFMT_OCFS2", 4: "QFMT_VFS_V1"}
_XFS_QUOTA_FLAGS = (("FS_QUOTA_UDQ_ACCT", 1), ("FS_QUOTA_UDQ_ENFD", 2), ("FS_QUOTA_GDQ_ACCT", 4),
                    ("FS_QUOTA_GDQ_ENFD", 8), ("FS_QUOTA_PDQ_ACCT", 0x10),
                    ("FS_QUOTA_PDQ_ENFD", 0x20))
_XFS_DQBLK_FLAGS = (("FS_USER_QUOTA", 1), ("FS_PROJ_QUOTA", 2), ("FS_GROUP_QUOTA", 4))
#: What quotactl shows after its device (quotactl_fd: after its command), by command:
#: "" nothing; "f" the quota format and the quota file's path (Q_QUOTAON); "i" the id
#: and the data; "d" the data alone. Others: the id and the data's address.
_QUOTA_SHOWN = {
    0x800001: "", 0x800003: "", 0x5807: "", 0x800002: "f",
    0x800007: "i", 0x800008: "i", 0x800009: "i", 0x5803: "i", 0x5804: "i", 0x5809: "i",
    0x800004: "d", 0x800005: "d", 0x800006: "d", 0x5805: "d", 0x5808: "d",
    0x5801: "d", 0x5802: "d", 0x5806: "d",
}


def _strace_quotactl(plan: CallPlan, style: Style, inner: CallArguments) -> CallArguments:
    """quotactl and quotactl_fd as strace prints them: the command as
    ``QCMD(Q_GETQUOTA, USRQUOTA)``, then the arguments that command takes: Q_QUOTAON's
    format and quota file, the id (``-1`` for all bits set) and the structure of
    the commands that read or fill one (recorded at entry, or at a successful
    exit; else its address); XFS structures by their address."""
    hex_strings = style.hex_strings
    first = 1 if plan.name == "quotactl_fd" else 0  # the command word

    def render(call: Call) -> list[str]:
        args = call.args
        out = inner(call)
        if len(args) < 4 or len(out) < 2:
            return out
        command = args[first] & 0xFFFF_FFFF
        kind, kind_type = command >> 8, command & 0xFF
        name = _QUOTA_COMMANDS.get(kind) or f"{_strace_hex(kind)} /* Q_??? */"
        type_name = (_QUOTA_TYPES[kind_type] if kind_type < len(_QUOTA_TYPES)
                     else f"{_strace_hex(kind_type)} /* ???QUOTA */")
        head = out[:2]
        head[first] = f"QCMD({name}, {type_name})"
        shown = _QUOTA_SHOWN.get(kind)
        id_word = args[2] & 0xFFFF_FFFF
        id_text = "-1" if id_word == 0xFFFF_FFFF else str(id_word)
        if shown is None:
            return [*head, id_text, _strace_pointer(args[3])]
        if shown == "":
            return head
        struct = call.struct(3)
        if struct is None:
            data = _strace_pointer(args[3])
        elif struct.name == b"string":
            data = strace_string(struct.data, None, False, hex_strings)
        elif struct.name == b"int" and len(struct.data) >= 4:
            word = int.from_bytes(struct.data[:4], "little")
            if kind == 0x800004:  # Q_GETFMT
                text = _QUOTA_FORMATS.get(word) or f"{_strace_hex(word)} /* QFMT_VFS_??? */"
            elif kind == 0x5806:  # Q_XQUOTARM
                text = _flags.render_flags_noting_unknown(_XFS_DQBLK_FLAGS, word,
                                                          "FS_???_QUOTA")
            else:
                text = _flags.render_flags_noting_unknown(_XFS_QUOTA_FLAGS, word,
                                                          "FS_QUOTA_???")
            data = f"[{text}]"
        else:
            data = decode_struct(struct)
        if shown == "f":
            format_name = (_QUOTA_FORMATS.get(id_word)
                           or f"{_strace_hex(id_word)} /* QFMT_VFS_??? */")
            return [*head, format_name, data]
        return [*head, id_text, data] if shown == "i" else [*head, data]

    return render


#: syslog's actions (linux/syslog.h), as strace names them
_SYSLOG_ACTIONS = ("CLOSE", "OPEN", "READ", "READ_ALL", "READ_CLEAR", "CLEAR", "CONSOLE_OFF",
                   "CONSOLE_ON", "CONSOLE_LEVEL", "SIZE_UNREAD", "SIZE_BUFFER")
#: syslog's console levels (linux/kern_levels.h)
_LOG_LEVELS = ("EMERG", "ALERT", "CRIT", "ERR", "WARNING", "NOTICE", "INFO", "DEBUG")
#: The actions that read the log into bufp (the result's bytes), and those that
#: take neither bufp nor len (strace shows the action alone).
_SYSLOG_READS = frozenset({2, 3, 4})
_SYSLOG_ALONE = frozenset({0, 1, 5, 6, 7, 9, 10})


def _strace_syslog(style: Style) -> CallArguments:
    """syslog as strace prints it: the action in decimal with its name in a comment
    (``syslog(10 /* SYSLOG_ACTION_SIZE_BUFFER */)``), alone for the actions that take
    neither buffer nor length; the text a read action filled (recorded at exit;
    the address when it failed or was not recorded); CONSOLE_LEVEL's level named
    (``4 /* LOGLEVEL_WARNING */``)."""
    limit, hex_strings = style.string_limit, style.hex_strings

    def render(call: Call) -> list[str]:
        args = call.args
        if len(args) < 3:
            return [_strace_hex(value) for value in args]
        action = signed32(args[0])
        name = _SYSLOG_ACTIONS[action] if 0 <= action < len(_SYSLOG_ACTIONS) else "???"
        out = [f"{action} /* SYSLOG_ACTION_{name} */"]
        if action in _SYSLOG_ALONE:
            return out
        length = signed32(args[2])
        ret = call.ret
        struct = call.struct(1)
        if (action in _SYSLOG_READS and ret is not None and not ret.error
                and not ret.flags & 1 and args[1] and (struct is not None or ret.retval == 0)):
            wanted = min(ret.retval, limit) if limit is not None else ret.retval
            data = b"" if struct is None else struct.data[:wanted]
            out.append(strace_string(data, None, ret.retval > len(data), hex_strings))
        else:
            out.append(_strace_pointer(args[1]))
        if action == 8:
            level = _LOG_LEVELS[length] if 0 <= length < len(_LOG_LEVELS) else "???"
            out.append(f"{length} /* LOGLEVEL_{level} */")
        else:
            out.append(str(length))
        return out

    return render


def _strace_membarrier(call: Call) -> list[str]:
    """membarrier as strace prints it: the command and flags, and the CPU only when
    MEMBARRIER_CMD_FLAG_CPU asks for one (``membarrier(MEMBARRIER_CMD_QUERY, 0)``)."""
    args = call.args
    if len(args) < 3:
        return [_strace_hex(value) for value in args]
    abi = call.plan.abi
    command, flags = args[0] & 0xFFFF_FFFF, args[1] & 0xFFFF_FFFF
    known = flags & 1
    out = [_flags.decode_argument(ArgKind.MEMBARRIER_CMD, command, abi)
           or f"{_hex(command)} /* MEMBARRIER_CMD_??? */",
           _flags.render_flags(_flags.MEMBARRIER_FLAGS, flags) if known or not flags
           else f"{_hex(flags)} /* MEMBARRIER_CMD_FLAG_??? */"]
    if flags & 1:  # MEMBARRIER_CMD_FLAG_CPU
        out.append(str(signed32(args[2])))
    return out


def _strace_sigreturn(call: Call) -> list[str]:
    """rt_sigreturn({mask=[...]}): the mask the signal frame restores, when recorded."""
    struct = call.struct(0)
    if struct is None or len(struct.data) < 8:
        return []
    return [f"{{mask={_flags.decode_sigset(int.from_bytes(struct.data[:8], 'little'))}}}"]


def _strace_futex(plan: CallPlan, stop: int | None) -> CallArguments:
    """futex as strace prints it: only the arguments its operation reads."""
    decode_op = _bounded_cache(
        lambda value: _flags.decode_argument(ArgKind.FUTEX_OP, value, plan.abi) or hex(value))

    def render(call: Call) -> list[str]:
        args = call.args
        if len(args) < 6:
            return [_strace_hex(value) for value in args]
        op = args[1] & 0xFFFF_FFFF
        shown = _FUTEX_SHOWN.get(op & 0x7F)
        out = [_strace_pointer(args[0]), decode_op(op)]
        if shown is None:
            return [*out, *(_strace_hex(value) for value in args[2:])]
        for name in shown:
            if name == "val":
                out.append(str(args[2] & 0xFFFF_FFFF))
            elif name == "timeout":
                struct = call.struct(3)
                out.append(decode_struct(struct) if struct is not None
                           else _strace_pointer(args[3]))
            elif name == "val2":
                out.append(str(args[3] & 0xFFFF_FFFF))
            elif name == "uaddr2":
                out.append(_strace_pointer(args[4]))
            elif name == "val3":
                out.append(str(args[5] & 0xFFFF_FFFF))
            else:  # bitset
                bitset = args[5] & 0xFFFF_FFFF
                out.append("FUTEX_BITSET_MATCH_ANY" if bitset == 0xFFFF_FFFF else hex(bitset))
        return out

    if stop is None:
        return render
    return render  # every futex argument is read at entry


# include/uapi/linux/sched.h
_CLONE_PARENT_SETTID = 0x00100000
_CLONE_PIDFD = 0x00001000
_CLONE_SETTLS = 0x00080000
_CLONE_CHILD_TIDS = 0x00200000 | 0x01000000  # CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID
#: The flags that make strace print more of clone at its exit (else it printed
#: the call whole at entry: its RVAL_DECODED).
CLONE_EXIT_FLAGS = _CLONE_PARENT_SETTID | _CLONE_PIDFD | _CLONE_SETTLS | _CLONE_CHILD_TIDS


def _strace_clone(plan: CallPlan, stop: int | None, fds: FdTables | None) -> CallArguments:
    """clone as strace prints it: named arguments, only those its flags use.

    ``clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|...|SIGCHLD,
    child_tidptr=0x7f...)``; the register order of the ABI (i386 passes tls
    before child_tid). strace prints child_stack and flags at entry, the rest
    at exit (``entry_only``: the first two alone); CLONE_PARENT_SETTID's
    ``parent_tid`` as the tid the kernel stored there, ``[1234]``: the call's
    result, when it succeeded; CLONE_PIDFD's as the pidfd the kernel stored there
    (STRUCT "clone3_ids" for argument 2: ``[3]``, with ``fds`` (-y)
    ``[3<anon_inode:[pidfd]>]``); else (a failed call, a recording without it) the
    address.
    """
    names = [arg.name for arg in plan.signature.args] if plan.signature is not None else []
    position = {name: index for index, name in enumerate(names)}
    decode_flags = _bounded_cache(
        lambda value: _flags.decode_argument(ArgKind.CLONE_FLAGS, value, plan.abi) or hex(value))
    entry_only = stop is not None

    def word(args: tuple[int, ...], name: str) -> int:
        index = position.get(name, len(args))
        return args[index] if index < len(args) else 0

    def render(call: Call) -> list[str]:
        args = call.args
        flags = word(args, "flags")
        out = [f"child_stack={_strace_pointer(word(args, 'stack'))}",
               f"flags={decode_flags(flags)}"]
        if entry_only:
            return out
        if flags & (_CLONE_PARENT_SETTID | _CLONE_PIDFD):
            ret = call.ret
            succeeded = (ret is not None and not ret.flags & 1 and not ret.error
                         and ret.retval > 0)
            ids = call.struct(2) if succeeded and flags & _CLONE_PIDFD else None
            pidfd = (_structs.clone3_ids(ids.data)[0]
                     if ids is not None and ids.name == b"clone3_ids" else None)
            if flags & _CLONE_PARENT_SETTID and succeeded and ret is not None:
                out.append(f"parent_tid=[{ret.retval}]")
            elif pidfd is not None:
                described = None if fds is None else fds.describe(call.pid, pidfd)
                out.append(f"parent_tid=[{pidfd}]" if described is None
                           else f"parent_tid=[{pidfd}<{described}>]")
            else:
                out.append(f"parent_tid={_strace_pointer(word(args, 'parent_tid'))}")
        if flags & _CLONE_SETTLS:
            out.append(f"tls={_strace_pointer(word(args, 'tls'))}")
        if flags & _CLONE_CHILD_TIDS:
            out.append(f"child_tidptr={_strace_pointer(word(args, 'child_tid'))}")
        return out

    return render


def _strace_pointer(value: int) -> str:
    return "NULL" if not value else _hex(value)


def _generic_renderer(steps: tuple[tuple[int, _Part], ...], plan: CallPlan,
                      context_decode: Callable[[tuple[int, ...]], list[str | None]] | None,
                      ) -> CallArguments:
    overridable = frozenset(i for i, kind in enumerate(plan.kinds) if kind in _CONTEXT_ARGUMENTS)

    def render(call: Call) -> list[str]:
        args = call.args
        size = len(args)
        decoded = None if context_decode is None else context_decode(args)
        out = []
        for index, part in steps:
            if index >= size:
                continue
            text = decoded[index] if decoded is not None and index in overridable else None
            if text is None:
                text = (part.render(args[index]) if part.value_only
                        else part.render(args[index], call))
            if text is not None:
                out.append(text)
        return out

    return render


def _generated_renderer(steps: tuple[tuple[int, _Part], ...],
                        slow: CallArguments) -> CallArguments:
    """One straight-line function for the call's parts (no loop, no per-part branching).

    Falls back to ``slow`` for a record holding fewer argument words than the
    parts need. Omittable parts must come last (open's mode is).
    """
    if not steps:
        return lambda call: []
    omittable = [position for position, (_index, part) in enumerate(steps) if part.omittable]
    if omittable and omittable[0] != len(steps) - len(omittable):
        return slow
    names: dict[str, Any] = {"slow": slow}
    fixed: list[str] = []
    optional: list[str] = []
    for position, (index, part) in enumerate(steps):
        name = f"p{position}"
        names[name] = part.render
        expression = f"{name}(a[{index}])" if part.value_only else f"{name}(a[{index}], call)"
        (optional if part.omittable else fixed).append(expression)
    need = max(index for index, _part in steps) + 1
    lines = [
        "def render(call):",
        "    a = call.args",
        f"    if len(a) < {need}:",
        "        return slow(call)",
        f"    out = [{', '.join(fixed)}]",
    ]
    for expression in optional:
        lines += [f"    t = {expression}", "    if t is not None:", "        out.append(t)"]
    lines.append("    return out")
    exec("\n".join(lines), names)  # the code is built from our own part names
    render: CallArguments = names["render"]
    return render


# Calls where one argument's meaning depends on another (fcntl's argument, a
# socket option's name, faccessat2's and waitid's flags): ``_flags`` decodes
# those from the whole argument list.
_CONTEXT_KINDS = {ArgKind.FCNTL_CMD, ArgKind.SOCKOPT_LEVEL}
_CONTEXT_CALLS = {"faccessat2", "waitid", "statx", "semctl", "msgctl", "shmctl"}
_CONTEXT_ARGUMENTS = {ArgKind.HEX, ArgKind.SOCKOPT_NAME, ArgKind.AT_FLAGS, ArgKind.WAIT_OPTIONS,
                      ArgKind.IPC_CMD}


def _contextual(plan: CallPlan) -> Callable[[tuple[int, ...]], list[str | None]] | None:
    signature = plan.signature
    if signature is None or not (_CONTEXT_KINDS & set(plan.kinds)
                                 or plan.name in _CONTEXT_CALLS):
        return None
    abi = plan.abi

    def decode(args: tuple[int, ...]) -> list[str | None]:
        return _flags.decode_arguments(signature, args, abi)

    return decode


# ---------------------------------------------------------------------------
# results


_POLLS = frozenset({"poll", "ppoll", "ppoll_time64"})
_SELECTS = frozenset({"select", "_newselect", "pselect6", "pselect6_time64"})


def _select_result(call: Call, ready: int) -> str:
    """``in [3], out [4], left {tv_sec=4, tv_usec=999}``: what select found, as strace."""
    parts = []
    for index, label in ((1, "in"), (2, "out"), (3, "except")):
        if ready <= 0:
            break
        updated = call.struct(UPDATED + index)
        if updated is None:
            continue
        members = _structs.fd_set_members(updated.data)[:ready]
        ready -= len(members)
        if members:
            parts.append(f"{label} [{' '.join(str(fd) for fd in members)}]")
    left = call.struct(UPDATED + 4)
    if left is not None:
        parts.append(f"left {decode_struct(left)}")
    return ", ".join(parts)

#: Calls whose 0 result strace annotates ``(Timeout)``.
_TIMEOUT_CALLS = frozenset({"poll", "ppoll", "ppoll_time64", "select", "_newselect",
                            "pselect6", "pselect6_time64"})


#: Calls that return the clock state, and where their struct timex is.
_ADJTIMEX = {"adjtimex": 0, "clock_adjtime": 1, "clock_adjtime64": 1}
#: include/uapi/linux/timex.h: the clock states adjtimex returns
_TIME_STATES = ("TIME_OK", "TIME_INS", "TIME_DEL", "TIME_OOP", "TIME_WAIT", "TIME_ERROR")


def strace_result(plan: CallPlan, retval: int, fd_description: str | None,
                  args: tuple[int, ...] = (), call: Call | None = None,
                  limit: int | None = None) -> str:
    """A successful call's result as strace prints it (after ``= ``).

    ``args``: the call's argument words, for results whose meaning depends on
    them (fcntl's F_GETFD/F_GETFL flags); ``call``: for results that show
    what the call wrote (poll's revents); ``limit``: strace's -s, the most
    entries of such a list.
    """
    ret = plan.ret
    name = plan.name
    if retval == 0 and name in _TIMEOUT_CALLS:
        return "0 (Timeout)"
    if call is not None and name == "set_thread_area":
        before, after = call.struct(0), call.struct(UPDATED)
        if before is not None and after is not None and before.data[:4] != after.data[:4]:
            return f"{retval} (entry_number={int.from_bytes(after.data[:4], 'little')})"
    if call is not None and retval > 0 and name in _POLLS:
        updated = call.struct(UPDATED)
        left = call.struct(UPDATED + 2)
        if updated is not None:
            notes = _structs.poll_revents(updated.data, limit)
            if left is not None:
                notes += f", left {decode_struct(left)}"
            return f"{retval} ({notes})"
    if call is not None and retval > 0 and name in _SELECTS:
        return f"{retval} ({_select_result(call, retval)})"
    if call is not None and name in ("recvmmsg", "recvmmsg_time64"):
        left = call.struct(UPDATED + 4)
        if left is not None:
            return f"{retval} (left {decode_struct(left)})"
    # strace names the clock state only when it could read the struct timex
    if (call is not None and name in _ADJTIMEX and 0 <= retval < len(_TIME_STATES)
            and call.struct(UPDATED + _ADJTIMEX[name]) is not None):
        return f"{retval} ({_TIME_STATES[retval]})"
    if ret is RetKind.UMASK:
        return _flags.render_umask(retval)
    if ret is RetKind.SIGNAL:
        signal = signal_name(signed32(retval))
        return f"{retval} ({signal})" if signal else str(retval)
    if name == "sched_getscheduler" and _flags.sched_policy_name(retval) is not None:
        return f"{retval} ({_flags.sched_policy_name(retval)})"
    if name == "personality" and retval >= 0:  # the previous persona, decoded
        return f"{_hex(retval) if retval else '0'} ({_flags.render_personality(retval)})"
    if name == "membarrier" and retval > 0 and args and not args[0] & 0xFFFF_FFFF:
        # MEMBARRIER_CMD_QUERY: the commands the kernel supports
        return f"{_hex(retval)} ({_flags.render_flags(_flags.MEMBARRIER_COMMANDS, retval)})"
    if name == "ioprio_get" and retval >= 0:
        return f"{retval} ({_flags.render_ioprio(retval)})"
    if name == "prctl" and args and args[0] & 0xFFFF_FFFF == 3 and retval in _DUMPABLE:
        return f"{retval} ({_DUMPABLE[retval]})"  # PR_GET_DUMPABLE
    if (name == "fcntl" or name == "fcntl64") and len(args) > 1:
        command = args[1] & 0xFFFF_FFFF
        if command in (F_DUPFD, F_DUPFD_CLOEXEC) and fd_description is not None:
            return fd_text(retval, fd_description)  # a new fd, as dup's
        if command == 1 and retval:  # F_GETFD
            return f"{retval:#x} (flags {_flags.render_flags(_flags.FD_FLAGS, retval)})"
        if command == 3:  # F_GETFL
            flags = _flags.decode_argument(ArgKind.OPEN_FLAGS, retval, plan.abi)
            return f"{_hex(retval) if retval else '0'} (flags {flags})"
        if command == 1034 and retval:  # F_GET_SEALS
            return f"{retval:#x} (seals {_flags.render_flags(_flags.SEALS, retval)})"
    if ret is RetKind.PTR or ret is RetKind.HEX:
        return _hex(retval) if retval else "0"
    if ret is RetKind.FD and fd_description is not None:
        return fd_text(retval, fd_description)
    return str(retval)
