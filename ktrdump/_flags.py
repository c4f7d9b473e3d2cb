"""Symbolic decoding of syscall argument values: ``O_WRONLY|O_CREAT``, ``AT_FDCWD``, ``TCGETS``.

Pure and data-driven: every kind's names are a table of ``(name, value)``
pairs, rendered by one of three generic renderers (bit flags, an enumeration,
or a field plus bit flags); a few kinds need a small function of their own
(file modes, ioctl requests, clock ids, futex operations, mount flags).

Guarantees:

- Values are Linux's for x86 (x86_64, i386, x32), from the uapi headers named
  beside each table (``asm-generic/fcntl.h`` is ``include/uapi/asm-generic/fcntl.h``
  and so on; glibc's ``bits/*.h`` where the kernel has no uapi header); the
  tests compare every name the installed headers define against the C
  compiler's value, for both the 64-bit and the 32-bit ABI. Names added
  after the installed headers (Linux 6.1) are taken from later Linux uapi
  headers (checked against strace's xlat tables); only names Linux 6.18 has.
- Rendering follows strace: flags joined with ``|`` in table order, unknown
  bits last in hex (``O_RDONLY|0x40000000``), an enumeration value without a
  name gives None (the caller prints the number), zero flags print ``0`` or
  the table's name for zero (``PROT_NONE``, ``F_OK``).
- Arguments the kernel reads as a C ``int`` or ``unsigned int`` are reduced to
  their low 32 bits first (and sign-extended where the kernel's type is
  signed), so a raw x86_64 register word and an i386 one render alike.
- Never raises for any integer value or ABI; an unknown ABI is taken as
  x86_64 (only ioctl numbers and fcntl commands differ by ABI).
- Cheap per call: tables are dicts built at import; flag renderings are
  memoised in small bounded caches.

Does not: read memory behind pointers (``_structs`` decodes STRUCT records),
decode argument kinds that have no symbolic form (numbers, sizes, pointers:
``decode_argument`` answers None), or know every ioctl (others print as
``_IOC(dir, type, nr, size)``, as strace does).

Public surface::

    decode_argument(kind, value, abi) -> str | None
    decode_arguments(signature, values, abi) -> list[str | None]
    decoder_for(kind) -> Decoder | None          (Decoder = (value, abi) -> str | None)
    decode_sigset(mask, signals=64) -> str       ("[INT TERM]", "~[KILL STOP]")
    decode_sockopt_name(level, name) -> str | None
    decode_ioctl(request, abi) -> str
    render_mode(mode) -> str                     ("S_IFREG|0644")
    render_flags(table, value) -> str, render_enum(table, value) -> str | None
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import NamedTuple

from formats.linux import SOCKETCALLS, ArgKind, Signature, signal_name

#: Renders one argument value for one ABI; None means "print the number".
Decoder = Callable[[int, int], str | None]
#: (name, value) pairs. For flags: multi-bit names come before the bits they contain.
Table = tuple[tuple[str, int], ...]

_ABI_I386 = 2  # formats.Abi.I386
_ABI_X32 = 3  # formats.Abi.X32
_MASK32 = 0xFFFFFFFF
_CACHE_LIMIT = 1024


def _u32(value: int) -> int:
    return value & _MASK32


def _s32(value: int) -> int:
    value &= _MASK32
    return value - (1 << 32) if value & 0x80000000 else value


# --------------------------------------------------------------------------- renderers


def render_flags(table: Table, value: int, zero: str = "0") -> str:
    """``value`` as ``NAME|NAME|0x...``: each entry whose bits are all set, then what is left."""
    if value == 0:
        return zero
    parts = []
    rest = value
    for name, bits in table:
        if bits and rest & bits == bits:
            parts.append(name)
            rest &= ~bits
    if rest:
        parts.append(hex(rest))
    return "|".join(parts)


def render_flags_noting_unknown(table: Table, value: int, unknown: str) -> str:
    """``render_flags`` as strace's printflags: a nonzero value in which no flag has a
    name is ``0x80000000 /* UNKNOWN */``."""
    text = render_flags(table, value)
    return f"{text} /* {unknown} */" if value and text.startswith("0x") else text


def render_enum(names: Mapping[int, str], value: int) -> str | None:
    """The name of ``value``, or None."""
    return names.get(value)


def _enum(table: Table) -> Mapping[int, str]:
    names: dict[int, str] = {}
    for name, value in table:
        names.setdefault(value, name)  # the first name of a value wins (aliases follow)
    return MappingProxyType(names)


def _flags_decoder(table: Table, *, zero: str = "0", width32: bool = True) -> Decoder:
    cache: dict[int, str] = {}

    def decode(value: int, abi: int) -> str:
        if width32:
            value &= _MASK32
        text = cache.get(value)
        if text is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            text = cache[value] = render_flags(table, value, zero)
        return text

    return decode


def _enum_decoder(table: Table, *, signed: bool = False) -> Decoder:
    names = _enum(table)

    def decode(value: int, abi: int) -> str | None:
        return names.get(_s32(value) if signed else value & _MASK32)

    return decode


def _field_flags_decoder(
    field_mask: int, field_names: Mapping[int, str], table: Table, *, field_last: bool = False
) -> Decoder:
    """A field (an access mode, a socket type, an exit signal) in the low bits, flags above.

    The field prints first (``O_RDONLY|O_CREAT``) or, with ``field_last``, last
    (``CLONE_VM|SIGCHLD``); a zero field without a name is left out.
    """
    cache: dict[int, str] = {}

    def render(value: int) -> str:
        field = value & field_mask
        parts = []
        rest = value & ~field_mask
        if rest:
            parts.append(render_flags(table, rest))
        field_name = field_names.get(field)
        if field_name is not None:
            parts.append(field_name)
        elif field:
            parts.append(hex(field))
        if not field_last:
            parts.reverse()
        return "|".join(parts) if parts else "0"

    def decode(value: int, abi: int) -> str:
        value &= _MASK32
        text = cache.get(value)
        if text is None:
            if len(cache) >= _CACHE_LIMIT:
                cache.clear()
            text = cache[value] = render(value)
        return text

    return decode


# --------------------------------------------------------------------------- files
# asm-generic/fcntl.h (x86 uses the generic values for both ABIs: O_LARGEFILE is
# 0o100000 on i386 and x86_64 alike; x86_64 glibc defines it as 0 because the
# kernel makes every 64-bit open large, so x86_64 programs seldom pass it).

_OPEN_ACCESS: Mapping[int, str] = MappingProxyType(
    {0: "O_RDONLY", 1: "O_WRONLY", 2: "O_RDWR", 3: "O_ACCMODE"}
)
OPEN_FLAGS: Table = (
    ("O_CREAT", 0o100),
    ("O_EXCL", 0o200),
    ("O_NOCTTY", 0o400),
    ("O_TRUNC", 0o1000),
    ("O_APPEND", 0o2000),
    ("O_NONBLOCK", 0o4000),
    ("O_SYNC", 0o4010000),  # __O_SYNC | O_DSYNC
    ("O_DSYNC", 0o10000),
    ("O_DIRECT", 0o40000),
    ("O_LARGEFILE", 0o100000),
    ("O_NOFOLLOW", 0o400000),
    ("O_NOATIME", 0o1000000),
    ("O_CLOEXEC", 0o2000000),
    ("__O_SYNC", 0o4000000),
    ("O_PATH", 0o10000000),
    ("O_TMPFILE", 0o20200000),  # __O_TMPFILE | O_DIRECTORY
    ("__O_TMPFILE", 0o20000000),
    ("O_DIRECTORY", 0o200000),
    ("FASYNC", 0o20000),  # O_ASYNC, as strace names it (last in its order)
)

# linux/stat.h
_FILE_TYPES: Mapping[int, str] = MappingProxyType({
    0o140000: "S_IFSOCK", 0o120000: "S_IFLNK", 0o100000: "S_IFREG", 0o060000: "S_IFBLK",
    0o040000: "S_IFDIR", 0o020000: "S_IFCHR", 0o010000: "S_IFIFO",
})
_S_IFMT = 0o170000
_S_ISUID, _S_ISGID, _S_ISVTX = 0o4000, 0o2000, 0o1000
MODE_CONSTANTS: Table = (
    *((name, value) for value, name in _FILE_TYPES.items()),
    ("S_IFMT", _S_IFMT), ("S_ISUID", _S_ISUID), ("S_ISGID", _S_ISGID), ("S_ISVTX", _S_ISVTX),
)


def _octal(value: int) -> str:
    # C's "%#03o": 0 -> "000", 7 -> "007", 0o644 -> "0644".
    return ("0" + format(value, "o") if value else "0").rjust(3, "0")


def render_mode(mode: int) -> str:
    """A file mode as strace prints it: ``S_IFREG|0644``, ``S_ISUID|0755``, ``0600``."""
    file_type = mode & _S_IFMT
    type_name = ""
    if file_type:
        found = _FILE_TYPES.get(file_type)
        if found is None:
            return _octal(mode)
        type_name = found + "|"
    special = ""
    if mode & _S_ISUID:
        special += "S_ISUID|"
    if mode & _S_ISGID:
        special += "S_ISGID|"
    if mode & _S_ISVTX:
        special += "S_ISVTX|"
    return type_name + special + _octal(mode & ~(_S_IFMT | _S_ISUID | _S_ISGID | _S_ISVTX))


_mode_cache: dict[int, str] = {}


def _decode_mode(value: int, abi: int) -> str:
    value &= _MASK32
    text = _mode_cache.get(value)
    if text is None:
        if len(_mode_cache) >= _CACHE_LIMIT:
            _mode_cache.clear()
        text = _mode_cache[value] = render_mode(value)
    return text


# unistd.h
ACCESS_MODE: Table = (("R_OK", 4), ("W_OK", 2), ("X_OK", 1))

#: linux/fcntl.h: the DIRFD meaning "the current directory".
AT_FDCWD = -100


_AT_FDCWD_32 = AT_FDCWD & _MASK32


def _decode_dirfd(value: int, abi: int) -> str | None:
    return "AT_FDCWD" if value & _MASK32 == _AT_FDCWD_32 else None


# linux/fcntl.h. 0x200 is AT_REMOVEDIR for unlinkat, AT_EACCESS for
# faccessat2 (and AT_HANDLE_FID for name_to_handle_at): decode_arguments
# picks the faccessat2 meaning by the syscall's name.
AT_FLAGS: Table = (
    ("AT_SYMLINK_NOFOLLOW", 0x100),
    ("AT_REMOVEDIR", 0x200),
    ("AT_SYMLINK_FOLLOW", 0x400),
    ("AT_NO_AUTOMOUNT", 0x800),
    ("AT_EMPTY_PATH", 0x1000),
    ("AT_STATX_FORCE_SYNC", 0x2000),
    ("AT_STATX_DONT_SYNC", 0x4000),
    ("AT_RECURSIVE", 0x8000),
    ("AT_EXECVE_CHECK", 0x10000),
)
_AT_FLAGS_EACCESS: Table = (
    ("AT_SYMLINK_NOFOLLOW", 0x100), ("AT_EACCESS", 0x200), *AT_FLAGS[2:],
)
# linux/fs.h (RENAME_*; linux/fcntl.h's AT_RENAME_* are the same bits)
RENAME_FLAGS: Table = (("RENAME_NOREPLACE", 1), ("RENAME_EXCHANGE", 2), ("RENAME_WHITEOUT", 4))

# linux/fs.h (SEEK_*)
WHENCE: Table = (
    ("SEEK_SET", 0), ("SEEK_CUR", 1), ("SEEK_END", 2), ("SEEK_DATA", 3), ("SEEK_HOLE", 4),
)

# asm-generic/fcntl.h, linux/fcntl.h. F_GETLK64/F_SETLK64/F_SETLKW64 exist
# only for 32-bit ABIs (i386); the 64-bit calls have no commands 12-14.
FCNTL_COMMANDS: Table = (
    ("F_DUPFD", 0), ("F_GETFD", 1), ("F_SETFD", 2), ("F_GETFL", 3), ("F_SETFL", 4),
    ("F_GETLK", 5), ("F_SETLK", 6), ("F_SETLKW", 7), ("F_SETOWN", 8), ("F_GETOWN", 9),
    ("F_SETSIG", 10), ("F_GETSIG", 11), ("F_SETOWN_EX", 15), ("F_GETOWN_EX", 16),
    ("F_GETOWNER_UIDS", 17), ("F_OFD_GETLK", 36), ("F_OFD_SETLK", 37), ("F_OFD_SETLKW", 38),
    ("F_SETLEASE", 1024), ("F_GETLEASE", 1025), ("F_NOTIFY", 1026), ("F_DUPFD_QUERY", 1027),
    ("F_CREATED_QUERY", 1028), ("F_CANCELLK", 1029), ("F_DUPFD_CLOEXEC", 1030),
    ("F_SETPIPE_SZ", 1031), ("F_GETPIPE_SZ", 1032), ("F_ADD_SEALS", 1033),
    ("F_GET_SEALS", 1034), ("F_GET_RW_HINT", 1035), ("F_SET_RW_HINT", 1036),
    ("F_GET_FILE_RW_HINT", 1037), ("F_SET_FILE_RW_HINT", 1038),
)
FCNTL64_COMMANDS: Table = (("F_GETLK64", 12), ("F_SETLK64", 13), ("F_SETLKW64", 14))
_FCNTL_64 = _enum(FCNTL_COMMANDS)
_FCNTL_I386 = _enum(FCNTL_COMMANDS + FCNTL64_COMMANDS)


def _decode_fcntl_cmd(value: int, abi: int) -> str | None:
    return (_FCNTL_I386 if abi == _ABI_I386 else _FCNTL_64).get(value & _MASK32)


FD_FLAGS: Table = (("FD_CLOEXEC", 1),)
LOCK_TYPES: Table = (("F_RDLCK", 0), ("F_WRLCK", 1), ("F_UNLCK", 2))
SEALS: Table = (
    ("F_SEAL_SEAL", 1), ("F_SEAL_SHRINK", 2), ("F_SEAL_GROW", 4), ("F_SEAL_WRITE", 8),
    ("F_SEAL_FUTURE_WRITE", 0x10), ("F_SEAL_EXEC", 0x20),
)
NOTIFY_FLAGS: Table = (
    ("DN_ACCESS", 1), ("DN_MODIFY", 2), ("DN_CREATE", 4), ("DN_DELETE", 8),
    ("DN_RENAME", 0x10), ("DN_ATTRIB", 0x20), ("DN_MULTISHOT", 0x80000000),
)

# --------------------------------------------------------------------------- ioctl
# asm-generic/ioctl.h: nr 8 bits, type 8, size 14, direction 2 (x86).
_IOC_NONE, _IOC_WRITE, _IOC_READ = 0, 1, 2
_IOC_DIRECTIONS = ("_IOC_NONE", "_IOC_WRITE", "_IOC_READ", "_IOC_READ|_IOC_WRITE")
_LONG = -1  # size placeholders: sizeof(long) / sizeof(size_t) / sizeof(void *) per ABI


def _c_hex(value: int) -> str:
    return hex(value) if value else "0"


#: Requests without direction and size bits: (name, value). asm-generic/ioctls.h
#: (x86 uses the generic numbers), linux/sockios.h, linux/fs.h, linux/loop.h.
IOCTLS_PLAIN: Table = (
    ("TCGETS", 0x5401), ("TCSETS", 0x5402), ("TCSETSW", 0x5403), ("TCSETSF", 0x5404),
    ("TCGETA", 0x5405), ("TCSETA", 0x5406), ("TCSETAW", 0x5407), ("TCSETAF", 0x5408),
    ("TCSBRK", 0x5409), ("TCXONC", 0x540A), ("TCFLSH", 0x540B), ("TIOCEXCL", 0x540C),
    ("TIOCNXCL", 0x540D), ("TIOCSCTTY", 0x540E), ("TIOCGPGRP", 0x540F),
    ("TIOCSPGRP", 0x5410), ("TIOCOUTQ", 0x5411), ("TIOCSTI", 0x5412),
    ("TIOCGWINSZ", 0x5413), ("TIOCSWINSZ", 0x5414), ("TIOCMGET", 0x5415),
    ("TIOCMBIS", 0x5416), ("TIOCMBIC", 0x5417), ("TIOCMSET", 0x5418),
    ("TIOCGSOFTCAR", 0x5419), ("TIOCSSOFTCAR", 0x541A), ("FIONREAD", 0x541B),
    ("TIOCLINUX", 0x541C), ("TIOCCONS", 0x541D), ("TIOCGSERIAL", 0x541E),
    ("TIOCSSERIAL", 0x541F), ("TIOCPKT", 0x5420), ("FIONBIO", 0x5421),
    ("TIOCNOTTY", 0x5422), ("TIOCSETD", 0x5423), ("TIOCGETD", 0x5424), ("TCSBRKP", 0x5425),
    ("TIOCSBRK", 0x5427), ("TIOCCBRK", 0x5428), ("TIOCGSID", 0x5429),
    ("TIOCGRS485", 0x542E), ("TIOCSRS485", 0x542F), ("TCGETX", 0x5432), ("TCSETX", 0x5433),
    ("TCSETXF", 0x5434), ("TCSETXW", 0x5435), ("TIOCVHANGUP", 0x5437),
    ("FIONCLEX", 0x5450), ("FIOCLEX", 0x5451), ("FIOASYNC", 0x5452),
    ("TIOCSERCONFIG", 0x5453), ("TIOCSERGWILD", 0x5454), ("TIOCSERSWILD", 0x5455),
    ("TIOCGLCKTRMIOS", 0x5456), ("TIOCSLCKTRMIOS", 0x5457), ("TIOCSERGSTRUCT", 0x5458),
    ("TIOCSERGETLSR", 0x5459), ("TIOCSERGETMULTI", 0x545A), ("TIOCSERSETMULTI", 0x545B),
    ("TIOCMIWAIT", 0x545C), ("TIOCGICOUNT", 0x545D), ("FIOQSIZE", 0x5460),
    # linux/sockios.h
    ("FIOSETOWN", 0x8901), ("SIOCSPGRP", 0x8902), ("FIOGETOWN", 0x8903),
    ("SIOCGPGRP", 0x8904), ("SIOCATMARK", 0x8905), ("SIOCGSTAMP_OLD", 0x8906),
    ("SIOCGSTAMPNS_OLD", 0x8907), ("SIOCADDRT", 0x890B), ("SIOCDELRT", 0x890C),
    ("SIOCRTMSG", 0x890D), ("SIOCGIFNAME", 0x8910), ("SIOCSIFLINK", 0x8911),
    ("SIOCGIFCONF", 0x8912), ("SIOCGIFFLAGS", 0x8913), ("SIOCSIFFLAGS", 0x8914),
    ("SIOCGIFADDR", 0x8915), ("SIOCSIFADDR", 0x8916), ("SIOCGIFDSTADDR", 0x8917),
    ("SIOCSIFDSTADDR", 0x8918), ("SIOCGIFBRDADDR", 0x8919), ("SIOCSIFBRDADDR", 0x891A),
    ("SIOCGIFNETMASK", 0x891B), ("SIOCSIFNETMASK", 0x891C), ("SIOCGIFMETRIC", 0x891D),
    ("SIOCSIFMETRIC", 0x891E), ("SIOCGIFMEM", 0x891F), ("SIOCSIFMEM", 0x8920),
    ("SIOCGIFMTU", 0x8921), ("SIOCSIFMTU", 0x8922), ("SIOCSIFNAME", 0x8923),
    ("SIOCSIFHWADDR", 0x8924), ("SIOCGIFENCAP", 0x8925), ("SIOCSIFENCAP", 0x8926),
    ("SIOCGIFHWADDR", 0x8927), ("SIOCGIFSLAVE", 0x8929), ("SIOCSIFSLAVE", 0x8930),
    ("SIOCADDMULTI", 0x8931), ("SIOCDELMULTI", 0x8932), ("SIOCGIFINDEX", 0x8933),
    ("SIOCSIFPFLAGS", 0x8934), ("SIOCGIFPFLAGS", 0x8935), ("SIOCDIFADDR", 0x8936),
    ("SIOCSIFHWBROADCAST", 0x8937), ("SIOCGIFCOUNT", 0x8938), ("SIOCGIFBR", 0x8940),
    ("SIOCSIFBR", 0x8941), ("SIOCGIFTXQLEN", 0x8942), ("SIOCSIFTXQLEN", 0x8943),
    ("SIOCETHTOOL", 0x8946), ("SIOCGMIIPHY", 0x8947), ("SIOCGMIIREG", 0x8948),
    ("SIOCSMIIREG", 0x8949), ("SIOCWANDEV", 0x894A), ("SIOCOUTQNSD", 0x894B),
    ("SIOCGSKNS", 0x894C), ("SIOCDARP", 0x8953), ("SIOCGARP", 0x8954), ("SIOCSARP", 0x8955),
    ("SIOCDRARP", 0x8960), ("SIOCGRARP", 0x8961), ("SIOCSRARP", 0x8962),
    ("SIOCGIFMAP", 0x8970), ("SIOCSIFMAP", 0x8971), ("SIOCADDDLCI", 0x8980),
    ("SIOCDELDLCI", 0x8981), ("SIOCBRADDBR", 0x89A0), ("SIOCBRDELBR", 0x89A1),
    ("SIOCBRADDIF", 0x89A2), ("SIOCBRDELIF", 0x89A3),
    # linux/fs.h: _IO(0x00, n) and the block device _IO(0x12, n) requests
    ("FIBMAP", 0x0001), ("FIGETBSZ", 0x0002), ("BLKROSET", 0x125D), ("BLKROGET", 0x125E),
    ("BLKRRPART", 0x125F), ("BLKGETSIZE", 0x1260), ("BLKFLSBUF", 0x1261),
    ("BLKRASET", 0x1262), ("BLKRAGET", 0x1263), ("BLKFRASET", 0x1264), ("BLKFRAGET", 0x1265),
    ("BLKSECTSET", 0x1266), ("BLKSECTGET", 0x1267), ("BLKSSZGET", 0x1268),
    ("BLKDISCARD", 0x1277), ("BLKIOMIN", 0x1278), ("BLKIOOPT", 0x1279),
    ("BLKALIGNOFF", 0x127A), ("BLKPBSZGET", 0x127B), ("BLKDISCARDZEROES", 0x127C),
    ("BLKSECDISCARD", 0x127D), ("BLKROTATIONAL", 0x127E), ("BLKZEROOUT", 0x127F),
    # linux/loop.h
    ("LOOP_SET_FD", 0x4C00), ("LOOP_CLR_FD", 0x4C01), ("LOOP_SET_STATUS", 0x4C02),
    ("LOOP_GET_STATUS", 0x4C03), ("LOOP_SET_STATUS64", 0x4C04),
    ("LOOP_GET_STATUS64", 0x4C05), ("LOOP_CHANGE_FD", 0x4C06),
    ("LOOP_SET_CAPACITY", 0x4C07), ("LOOP_SET_DIRECT_IO", 0x4C08),
    ("LOOP_SET_BLOCK_SIZE", 0x4C09), ("LOOP_CONFIGURE", 0x4C0A),
    ("LOOP_CTL_ADD", 0x4C80), ("LOOP_CTL_REMOVE", 0x4C81), ("LOOP_CTL_GET_FREE", 0x4C82),
    # linux/nsfs.h
    ("NS_GET_USERNS", 0xB701), ("NS_GET_PARENT", 0xB702), ("NS_GET_NSTYPE", 0xB703),
    ("NS_GET_OWNER_UID", 0xB704),
    # linux/perf_event.h
    ("PERF_EVENT_IOC_ENABLE", 0x2400), ("PERF_EVENT_IOC_DISABLE", 0x2401),
    ("PERF_EVENT_IOC_REFRESH", 0x2402), ("PERF_EVENT_IOC_RESET", 0x2403),
    ("PERF_EVENT_IOC_SET_OUTPUT", 0x2405),
)

#: Requests built with _IOR/_IOW/_IOWR: (name, direction, type, nr, size); a
#: size of _LONG is sizeof(long) (= size_t = pointer) of the ABI.
IOCTLS_SIZED: tuple[tuple[str, int, int, int, int], ...] = (
    # asm-generic/ioctls.h (struct termios2 is 44 bytes on x86)
    ("TCGETS2", _IOC_READ, 0x54, 0x2A, 44), ("TCSETS2", _IOC_WRITE, 0x54, 0x2B, 44),
    ("TCSETSW2", _IOC_WRITE, 0x54, 0x2C, 44), ("TCSETSF2", _IOC_WRITE, 0x54, 0x2D, 44),
    ("TIOCGPTN", _IOC_READ, 0x54, 0x30, 4), ("TIOCSPTLCK", _IOC_WRITE, 0x54, 0x31, 4),
    ("TIOCGDEV", _IOC_READ, 0x54, 0x32, 4), ("TIOCSIG", _IOC_WRITE, 0x54, 0x36, 4),
    ("TIOCGPKT", _IOC_READ, 0x54, 0x38, 4), ("TIOCGPTLCK", _IOC_READ, 0x54, 0x39, 4),
    ("TIOCGEXCL", _IOC_READ, 0x54, 0x40, 4), ("TIOCGPTPEER", _IOC_NONE, 0x54, 0x41, 0),
    # linux/if_tun.h
    ("TUNSETIFF", _IOC_WRITE, 0x54, 202, 4), ("TUNGETIFF", _IOC_READ, 0x54, 210, 4),
    # linux/sockios.h (the 64-bit time_t timestamps)
    ("SIOCGSTAMP_NEW", _IOC_READ, 0x89, 0x06, 16),
    ("SIOCGSTAMPNS_NEW", _IOC_READ, 0x89, 0x07, 16),
    # linux/fs.h
    ("FS_IOC_GETFLAGS", _IOC_READ, 0x66, 1, _LONG),
    ("FS_IOC_SETFLAGS", _IOC_WRITE, 0x66, 2, _LONG),
    ("FS_IOC_GETVERSION", _IOC_READ, 0x76, 1, _LONG),
    ("FS_IOC_SETVERSION", _IOC_WRITE, 0x76, 2, _LONG),
    ("FS_IOC_FIEMAP", _IOC_READ | _IOC_WRITE, 0x66, 11, 32),
    ("FS_IOC32_GETFLAGS", _IOC_READ, 0x66, 1, 4),
    ("FS_IOC32_SETFLAGS", _IOC_WRITE, 0x66, 2, 4),
    ("FS_IOC32_GETVERSION", _IOC_READ, 0x76, 1, 4),
    ("FS_IOC32_SETVERSION", _IOC_WRITE, 0x76, 2, 4),
    ("FS_IOC_FSGETXATTR", _IOC_READ, 0x58, 31, 28),
    ("FS_IOC_FSSETXATTR", _IOC_WRITE, 0x58, 32, 28),
    ("FS_IOC_GETFSLABEL", _IOC_READ, 0x94, 49, 256),
    ("FS_IOC_SETFSLABEL", _IOC_WRITE, 0x94, 50, 256),
    ("FS_IOC_GETFSUUID", _IOC_READ, 0x15, 0, 17),
    ("FS_IOC_GETFSSYSFSPATH", _IOC_READ, 0x15, 1, 129),
    ("FIFREEZE", _IOC_READ | _IOC_WRITE, 0x58, 119, 4),
    ("FITHAW", _IOC_READ | _IOC_WRITE, 0x58, 120, 4),
    ("FITRIM", _IOC_READ | _IOC_WRITE, 0x58, 121, 24),
    ("FICLONE", _IOC_WRITE, 0x94, 9, 4),
    ("FICLONERANGE", _IOC_WRITE, 0x94, 13, 32),
    ("FIDEDUPERANGE", _IOC_READ | _IOC_WRITE, 0x94, 54, 24),
    ("BLKBSZGET", _IOC_READ, 0x12, 112, _LONG),
    ("BLKBSZSET", _IOC_WRITE, 0x12, 113, _LONG),
    ("BLKGETSIZE64", _IOC_READ, 0x12, 114, _LONG),
    ("BLKGETDISKSEQ", _IOC_READ, 0x12, 128, 8),
    # linux/random.h
    ("RNDGETENTCNT", _IOC_READ, 0x52, 0, 4), ("RNDADDTOENTCNT", _IOC_WRITE, 0x52, 1, 4),
    ("RNDZAPENTCNT", _IOC_NONE, 0x52, 4, 0), ("RNDCLEARPOOL", _IOC_NONE, 0x52, 6, 0),
    ("RNDRESEEDCRNG", _IOC_NONE, 0x52, 7, 0),
    # linux/perf_event.h
    ("PERF_EVENT_IOC_PERIOD", _IOC_WRITE, 0x24, 4, 8),
    ("PERF_EVENT_IOC_SET_FILTER", _IOC_WRITE, 0x24, 6, _LONG),
    ("PERF_EVENT_IOC_ID", _IOC_READ, 0x24, 7, _LONG),
    ("PERF_EVENT_IOC_SET_BPF", _IOC_WRITE, 0x24, 8, 4),
    ("PERF_EVENT_IOC_PAUSE_OUTPUT", _IOC_WRITE, 0x24, 9, 4),
)


def ioctl_values(long_size: int) -> dict[str, int]:
    """Every named request -> its number for an ABI whose ``long`` has ``long_size`` bytes."""
    values = dict(IOCTLS_PLAIN)
    for name, direction, kind, nr, size in IOCTLS_SIZED:
        size = long_size if size == _LONG else size
        values[name] = (direction << 30) | (size << 16) | (kind << 8) | nr
    return values


def _ioctl_names(long_size: int) -> Mapping[int, str]:
    names: dict[int, str] = {}
    for name, value in ioctl_values(long_size).items():
        names.setdefault(value, name)  # FS_IOC_GETFLAGS before FS_IOC32_GETFLAGS
    return MappingProxyType(names)


# x32 programs have a 4-byte long, so their requests are the i386 numbers.
_IOCTLS_64 = _ioctl_names(8)
_IOCTLS_32 = _ioctl_names(4)


def decode_ioctl(request: int, abi: int) -> str:
    """An ioctl request's name, or ``_IOC(dir, type, nr, size)`` as strace writes it."""
    request &= _MASK32
    names = _IOCTLS_32 if abi in (_ABI_I386, _ABI_X32) else _IOCTLS_64
    name = names.get(request)
    if name is not None:
        return name
    return (f"_IOC({_IOC_DIRECTIONS[request >> 30]}, {_c_hex((request >> 8) & 0xFF)}, "
            f"{_c_hex(request & 0xFF)}, {_c_hex((request >> 16) & 0x3FFF)})")


# --------------------------------------------------------------------------- memory
# asm-generic/mman-common.h, asm-generic/mman.h, x86 asm/mman.h, linux/mman.h

MMAP_PROT: Table = (
    ("PROT_READ", 0x1), ("PROT_WRITE", 0x2), ("PROT_EXEC", 0x4), ("PROT_SEM", 0x8),
    ("PROT_GROWSDOWN", 0x01000000), ("PROT_GROWSUP", 0x02000000),
)
_MAP_TYPE = 0x0F
MMAP_TYPES: Table = (
    ("MAP_SHARED", 0x01), ("MAP_PRIVATE", 0x02), ("MAP_SHARED_VALIDATE", 0x03),
    ("MAP_DROPPABLE", 0x08),
)
# in strace's order (its xlat/mmap_flags.in, x86 values)
MMAP_FLAGS: Table = (
    ("MAP_FIXED", 0x10), ("MAP_ANONYMOUS", 0x20), ("MAP_32BIT", 0x40),
    ("MAP_NORESERVE", 0x4000), ("MAP_POPULATE", 0x8000), ("MAP_NONBLOCK", 0x10000),
    ("MAP_GROWSDOWN", 0x0100), ("MAP_DENYWRITE", 0x0800), ("MAP_EXECUTABLE", 0x1000),
    ("MAP_LOCKED", 0x2000), ("MAP_STACK", 0x20000), ("MAP_HUGETLB", 0x40000),
    ("MAP_SYNC", 0x80000), ("MAP_UNINITIALIZED", 0x4000000),
    ("MAP_FIXED_NOREPLACE", 0x100000),
)
_MAP_HUGETLB = 0x40000
_MAP_HUGE_SHIFT = 26  # asm-generic/hugetlb_encode.h: log2 of the page size, 6 bits
_MAP_HUGE_MASK = 0x3F << _MAP_HUGE_SHIFT
_MMAP_TYPE_NAMES = _enum(MMAP_TYPES)
_MMAP_FLAGS_NO_UNINITIALIZED = tuple(entry for entry in MMAP_FLAGS
                                     if entry[0] != "MAP_UNINITIALIZED")
_mmap_cache: dict[int, str] = {}


def _huge_page_name(log2: int) -> str:
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if log2 >= shift:
            return f"MAP_HUGE_{1 << (log2 - shift)}{unit}"
    return f"{log2} << MAP_HUGE_SHIFT"


def _render_mmap_flags(value: int, strace: bool = False) -> str:
    """``strace``: bits 26-31 as strace 6 prints them whatever the other flags say,
    ``21<<MAP_HUGE_SHIFT`` (MAP_UNINITIALIZED's bit too); else named: the page
    size with MAP_HUGETLB (``MAP_HUGE_2MB``), MAP_UNINITIALIZED without it."""
    parts = []
    map_type = value & _MAP_TYPE
    type_name = _MMAP_TYPE_NAMES.get(map_type)
    if type_name is not None:
        parts.append(type_name)
    elif map_type:
        parts.append(hex(map_type))
    rest = value & ~_MAP_TYPE
    table = MMAP_FLAGS
    huge = ""
    # With MAP_HUGETLB bits 26-31 are the page size; without it bit 26 is MAP_UNINITIALIZED.
    if strace and rest & _MAP_HUGE_MASK:
        huge = f"{(rest & _MAP_HUGE_MASK) >> _MAP_HUGE_SHIFT}<<MAP_HUGE_SHIFT"
        rest &= ~_MAP_HUGE_MASK
    elif rest & _MAP_HUGETLB and rest & _MAP_HUGE_MASK:
        huge = _huge_page_name((rest & _MAP_HUGE_MASK) >> _MAP_HUGE_SHIFT)
        rest &= ~_MAP_HUGE_MASK
        table = _MMAP_FLAGS_NO_UNINITIALIZED
    if rest:
        parts.append(render_flags(table, rest))
    if huge:
        parts.append(huge)
    return "|".join(parts) if parts else "0"


def strace_mmap_flags(value: int) -> str:
    """mmap's flags as strace prints them (``_render_mmap_flags``)."""
    return _render_mmap_flags(value & _MASK32, strace=True)


def _decode_mmap_flags(value: int, abi: int) -> str:
    value &= _MASK32
    text = _mmap_cache.get(value)
    if text is None:
        if len(_mmap_cache) >= _CACHE_LIMIT:
            _mmap_cache.clear()
        text = _mmap_cache[value] = _render_mmap_flags(value)
    return text


MREMAP_FLAGS: Table = (("MREMAP_MAYMOVE", 1), ("MREMAP_FIXED", 2), ("MREMAP_DONTUNMAP", 4))

MADVISE_ADVICE: Table = (
    ("MADV_NORMAL", 0), ("MADV_RANDOM", 1), ("MADV_SEQUENTIAL", 2), ("MADV_WILLNEED", 3),
    ("MADV_DONTNEED", 4), ("MADV_FREE", 8), ("MADV_REMOVE", 9), ("MADV_DONTFORK", 10),
    ("MADV_DOFORK", 11), ("MADV_MERGEABLE", 12), ("MADV_UNMERGEABLE", 13),
    ("MADV_HUGEPAGE", 14), ("MADV_NOHUGEPAGE", 15), ("MADV_DONTDUMP", 16),
    ("MADV_DODUMP", 17), ("MADV_WIPEONFORK", 18), ("MADV_KEEPONFORK", 19),
    ("MADV_COLD", 20), ("MADV_PAGEOUT", 21), ("MADV_POPULATE_READ", 22),
    ("MADV_POPULATE_WRITE", 23), ("MADV_DONTNEED_LOCKED", 24), ("MADV_COLLAPSE", 25),
    ("MADV_HWPOISON", 100), ("MADV_SOFT_OFFLINE", 101), ("MADV_GUARD_INSTALL", 102),
    ("MADV_GUARD_REMOVE", 103),
)

# --------------------------------------------------------------------------- processes
# linux/sched.h. clone's flags word is read as 32 bits; the low byte is the
# signal sent to the parent at exit. (CLONE_NEWTIME shares that byte and is
# only valid for clone3 and unshare.)
CLONE_FLAGS: Table = (
    ("CLONE_VM", 0x00000100), ("CLONE_FS", 0x00000200), ("CLONE_FILES", 0x00000400),
    ("CLONE_SIGHAND", 0x00000800), ("CLONE_PIDFD", 0x00001000),
    ("CLONE_PTRACE", 0x00002000), ("CLONE_VFORK", 0x00004000),
    ("CLONE_PARENT", 0x00008000), ("CLONE_THREAD", 0x00010000),
    ("CLONE_NEWNS", 0x00020000), ("CLONE_SYSVSEM", 0x00040000),
    ("CLONE_SETTLS", 0x00080000), ("CLONE_PARENT_SETTID", 0x00100000),
    ("CLONE_CHILD_CLEARTID", 0x00200000), ("CLONE_DETACHED", 0x00400000),
    ("CLONE_UNTRACED", 0x00800000), ("CLONE_CHILD_SETTID", 0x01000000),
    ("CLONE_NEWCGROUP", 0x02000000), ("CLONE_NEWUTS", 0x04000000),
    ("CLONE_NEWIPC", 0x08000000), ("CLONE_NEWUSER", 0x10000000),
    ("CLONE_NEWPID", 0x20000000), ("CLONE_NEWNET", 0x40000000), ("CLONE_IO", 0x80000000),
)
_CSIGNAL = 0xFF
# strace names the first real-time signal SIGRTMIN (then SIGRT_1, ...).
_SIGNAL_NAMES: Mapping[int, str] = MappingProxyType({
    **{number: name for number in range(1, 65) if (name := signal_name(number)) is not None},
    32: "SIGRTMIN",
})

# linux/wait.h, in strace's order (its xlat/wait4_options.in, which waitid
# shares): 2 is WSTOPPED for both calls (WUNTRACED is the same bit).
WAIT_OPTIONS: Table = (
    ("WNOHANG", 0x00000001), ("WEXITED", 0x00000004), ("WSTOPPED", 0x00000002),
    ("WCONTINUED", 0x00000008), ("WNOWAIT", 0x01000000), ("__WCLONE", 0x80000000),
    ("__WALL", 0x40000000), ("__WNOTHREAD", 0x20000000),
)

# asm-generic/signal-defs.h
SIGPROCMASK_HOW: Table = (("SIG_BLOCK", 0), ("SIG_UNBLOCK", 1), ("SIG_SETMASK", 2))

# asm-generic/resource.h
RLIMIT_RESOURCES: Table = (
    ("RLIMIT_CPU", 0), ("RLIMIT_FSIZE", 1), ("RLIMIT_DATA", 2), ("RLIMIT_STACK", 3),
    ("RLIMIT_CORE", 4), ("RLIMIT_RSS", 5), ("RLIMIT_NPROC", 6), ("RLIMIT_NOFILE", 7),
    ("RLIMIT_MEMLOCK", 8), ("RLIMIT_AS", 9), ("RLIMIT_LOCKS", 10),
    ("RLIMIT_SIGPENDING", 11), ("RLIMIT_MSGQUEUE", 12), ("RLIMIT_NICE", 13),
    ("RLIMIT_RTPRIO", 14), ("RLIMIT_RTTIME", 15),
)

# linux/prctl.h (options up to Linux 6.18)
PRCTL_OPTIONS: Table = (
    ("PR_SET_PDEATHSIG", 1), ("PR_GET_PDEATHSIG", 2), ("PR_GET_DUMPABLE", 3),
    ("PR_SET_DUMPABLE", 4), ("PR_GET_UNALIGN", 5), ("PR_SET_UNALIGN", 6),
    ("PR_GET_KEEPCAPS", 7), ("PR_SET_KEEPCAPS", 8), ("PR_GET_FPEMU", 9),
    ("PR_SET_FPEMU", 10), ("PR_GET_FPEXC", 11), ("PR_SET_FPEXC", 12),
    ("PR_GET_TIMING", 13), ("PR_SET_TIMING", 14), ("PR_SET_NAME", 15), ("PR_GET_NAME", 16),
    ("PR_GET_ENDIAN", 19), ("PR_SET_ENDIAN", 20), ("PR_GET_SECCOMP", 21),
    ("PR_SET_SECCOMP", 22), ("PR_CAPBSET_READ", 23), ("PR_CAPBSET_DROP", 24),
    ("PR_GET_TSC", 25), ("PR_SET_TSC", 26), ("PR_GET_SECUREBITS", 27),
    ("PR_SET_SECUREBITS", 28), ("PR_SET_TIMERSLACK", 29), ("PR_GET_TIMERSLACK", 30),
    ("PR_TASK_PERF_EVENTS_DISABLE", 31), ("PR_TASK_PERF_EVENTS_ENABLE", 32),
    ("PR_MCE_KILL", 33), ("PR_MCE_KILL_GET", 34), ("PR_SET_MM", 35),
    ("PR_SET_CHILD_SUBREAPER", 36), ("PR_GET_CHILD_SUBREAPER", 37),
    ("PR_SET_NO_NEW_PRIVS", 38), ("PR_GET_NO_NEW_PRIVS", 39), ("PR_GET_TID_ADDRESS", 40),
    ("PR_SET_THP_DISABLE", 41), ("PR_GET_THP_DISABLE", 42),
    ("PR_MPX_ENABLE_MANAGEMENT", 43), ("PR_MPX_DISABLE_MANAGEMENT", 44),
    ("PR_SET_FP_MODE", 45), ("PR_GET_FP_MODE", 46), ("PR_CAP_AMBIENT", 47),
    ("PR_SVE_SET_VL", 50), ("PR_SVE_GET_VL", 51), ("PR_GET_SPECULATION_CTRL", 52),
    ("PR_SET_SPECULATION_CTRL", 53), ("PR_PAC_RESET_KEYS", 54),
    ("PR_SET_TAGGED_ADDR_CTRL", 55), ("PR_GET_TAGGED_ADDR_CTRL", 56),
    ("PR_SET_IO_FLUSHER", 57), ("PR_GET_IO_FLUSHER", 58),
    ("PR_SET_SYSCALL_USER_DISPATCH", 59), ("PR_PAC_SET_ENABLED_KEYS", 60),
    ("PR_PAC_GET_ENABLED_KEYS", 61), ("PR_SCHED_CORE", 62), ("PR_SME_SET_VL", 63),
    ("PR_SME_GET_VL", 64), ("PR_SET_MDWE", 65), ("PR_GET_MDWE", 66),
    ("PR_SET_MEMORY_MERGE", 67), ("PR_GET_MEMORY_MERGE", 68),
    ("PR_RISCV_V_SET_CONTROL", 69), ("PR_RISCV_V_GET_CONTROL", 70),
    ("PR_RISCV_SET_ICACHE_FLUSH_CTX", 71), ("PR_PPC_GET_DEXCR", 72),
    ("PR_PPC_SET_DEXCR", 73), ("PR_GET_SHADOW_STACK_STATUS", 74),
    ("PR_SET_SHADOW_STACK_STATUS", 75), ("PR_LOCK_SHADOW_STACK_STATUS", 76),
    ("PR_TIMER_CREATE_RESTORE_IDS", 77), ("PR_FUTEX_HASH", 78),
    ("PR_SET_VMA", 0x53564D41), ("PR_GET_AUXV", 0x41555856), ("PR_SET_PTRACER", 0x59616D61),
)

# arch/x86/include/uapi/asm/prctl.h (its ARCH_XCOMP_TILE* are feature numbers
# passed to ARCH_REQ_XCOMP_PERM, not codes)
ARCH_PRCTL_CODES: Table = (
    ("ARCH_SET_GS", 0x1001), ("ARCH_SET_FS", 0x1002), ("ARCH_GET_FS", 0x1003),
    ("ARCH_GET_GS", 0x1004), ("ARCH_GET_CPUID", 0x1011), ("ARCH_SET_CPUID", 0x1012),
    ("ARCH_GET_XCOMP_SUPP", 0x1021), ("ARCH_GET_XCOMP_PERM", 0x1022),
    ("ARCH_REQ_XCOMP_PERM", 0x1023), ("ARCH_GET_XCOMP_GUEST_PERM", 0x1024),
    ("ARCH_REQ_XCOMP_GUEST_PERM", 0x1025), ("ARCH_MAP_VDSO_X32", 0x2001),
    ("ARCH_MAP_VDSO_32", 0x2002), ("ARCH_MAP_VDSO_64", 0x2003),
    ("ARCH_GET_UNTAG_MASK", 0x4001), ("ARCH_ENABLE_TAGGED_ADDR", 0x4002),
    ("ARCH_GET_MAX_TAG_BITS", 0x4003), ("ARCH_FORCE_TAGGED_SVA", 0x4004),
    ("ARCH_SHSTK_ENABLE", 0x5001), ("ARCH_SHSTK_DISABLE", 0x5002),
    ("ARCH_SHSTK_LOCK", 0x5003), ("ARCH_SHSTK_UNLOCK", 0x5004),
    ("ARCH_SHSTK_STATUS", 0x5005),
)

# --------------------------------------------------------------------------- time, futex
# linux/time.h
CLOCK_IDS: Table = (
    ("CLOCK_REALTIME", 0), ("CLOCK_MONOTONIC", 1), ("CLOCK_PROCESS_CPUTIME_ID", 2),
    ("CLOCK_THREAD_CPUTIME_ID", 3), ("CLOCK_MONOTONIC_RAW", 4), ("CLOCK_REALTIME_COARSE", 5),
    ("CLOCK_MONOTONIC_COARSE", 6), ("CLOCK_BOOTTIME", 7), ("CLOCK_REALTIME_ALARM", 8),
    ("CLOCK_BOOTTIME_ALARM", 9), ("CLOCK_SGI_CYCLE", 10), ("CLOCK_TAI", 11),
)
_CLOCK_NAMES = _enum(CLOCK_IDS)
# Negative ids name a process's or thread's CPU clock, or a clock fd
# (include/linux/posix-timers.h: ~pid << 3 | per-thread bit | which).
_CPUCLOCK_WHICH = ("CPUCLOCK_PROF", "CPUCLOCK_VIRT", "CPUCLOCK_SCHED")


def _decode_clock_id(value: int, abi: int) -> str | None:
    clock = _s32(value)
    if clock >= 0:  # strace's printxval: an unknown id in hex, with its comment
        return _CLOCK_NAMES.get(clock) or f"{clock:#x} /* CLOCK_??? */"
    which = clock & 3
    if which == 3:
        return f"FD_TO_CLOCKID({~(clock >> 3)})"
    maker = "MAKE_THREAD_CPUCLOCK" if clock & 4 else "MAKE_PROCESS_CPUCLOCK"
    return f"{maker}({~(clock >> 3)}, {_CPUCLOCK_WHICH[which]})"


# linux/futex.h
FUTEX_COMMANDS: Table = (
    ("FUTEX_WAIT", 0), ("FUTEX_WAKE", 1), ("FUTEX_FD", 2), ("FUTEX_REQUEUE", 3),
    ("FUTEX_CMP_REQUEUE", 4), ("FUTEX_WAKE_OP", 5), ("FUTEX_LOCK_PI", 6),
    ("FUTEX_UNLOCK_PI", 7), ("FUTEX_TRYLOCK_PI", 8), ("FUTEX_WAIT_BITSET", 9),
    ("FUTEX_WAKE_BITSET", 10), ("FUTEX_WAIT_REQUEUE_PI", 11), ("FUTEX_CMP_REQUEUE_PI", 12),
    ("FUTEX_LOCK_PI2", 13),
)
_FUTEX_NAMES = _enum(FUTEX_COMMANDS)
_FUTEX_PRIVATE_FLAG = 128
_FUTEX_CLOCK_REALTIME = 256


def _decode_futex_op(value: int, abi: int) -> str:
    """``FUTEX_WAIT_BITSET_PRIVATE|FUTEX_CLOCK_REALTIME``, as strace writes it."""
    value &= _MASK32
    command = value & 0x7F
    name = _FUTEX_NAMES.get(command)
    text = hex(command) if name is None else name
    if value & _FUTEX_PRIVATE_FLAG:
        text = text + "_PRIVATE" if name is not None else f"FUTEX_PRIVATE_FLAG|{text}"
    if value & _FUTEX_CLOCK_REALTIME:
        text += "|FUTEX_CLOCK_REALTIME"
    rest = value & ~(0x7F | _FUTEX_PRIVATE_FLAG | _FUTEX_CLOCK_REALTIME)
    if rest:
        text += f"|{rest:#x}"
    return text


# --------------------------------------------------------------------------- events, mounts
# linux/eventpoll.h
EPOLL_CTL_OPS: Table = (("EPOLL_CTL_ADD", 1), ("EPOLL_CTL_DEL", 2), ("EPOLL_CTL_MOD", 3))

# linux/fs.h (include/uapi/linux/mount.h since 5.2): MS_*; the flags word is an
# unsigned long whose top 16 bits may hold the old magic MS_MGC_VAL.
MOUNT_FLAGS: Table = (
    ("MS_RDONLY", 1), ("MS_NOSUID", 2), ("MS_NODEV", 4), ("MS_NOEXEC", 8),
    ("MS_SYNCHRONOUS", 16), ("MS_REMOUNT", 32), ("MS_MANDLOCK", 64), ("MS_DIRSYNC", 128),
    ("MS_NOSYMFOLLOW", 256), ("MS_NOATIME", 1024), ("MS_NODIRATIME", 2048),
    ("MS_BIND", 4096), ("MS_MOVE", 8192), ("MS_REC", 16384), ("MS_SILENT", 32768),
    ("MS_POSIXACL", 1 << 16), ("MS_UNBINDABLE", 1 << 17), ("MS_PRIVATE", 1 << 18),
    ("MS_SLAVE", 1 << 19), ("MS_SHARED", 1 << 20), ("MS_RELATIME", 1 << 21),
    ("MS_KERNMOUNT", 1 << 22), ("MS_I_VERSION", 1 << 23), ("MS_STRICTATIME", 1 << 24),
    ("MS_LAZYTIME", 1 << 25), ("MS_SUBMOUNT", 1 << 26), ("MS_NOREMOTELOCK", 1 << 27),
    ("MS_NOSEC", 1 << 28), ("MS_BORN", 1 << 29), ("MS_ACTIVE", 1 << 30),
    ("MS_NOUSER", 1 << 31),
)
_MS_MGC_VAL = 0xC0ED0000
_MS_MGC_MSK = 0xFFFF0000


def _decode_mount_flags(value: int, abi: int) -> str:
    if value & _MS_MGC_MSK == _MS_MGC_VAL:
        rest = value & ~_MS_MGC_MSK
        return "MS_MGC_VAL" + ("|" + render_flags(MOUNT_FLAGS, rest) if rest else "")
    return render_flags(MOUNT_FLAGS, value)


# linux/fs.h (MNT_*) and include/linux/fs.h's UMOUNT_NOFOLLOW (glibc sys/mount.h)
UMOUNT_FLAGS: Table = (
    ("MNT_FORCE", 1), ("MNT_DETACH", 2), ("MNT_EXPIRE", 4), ("UMOUNT_NOFOLLOW", 8),
)

# --------------------------------------------------------------------------- sockets
# glibc bits/socket.h (the kernel's include/linux/socket.h is not uapi)
SOCKET_DOMAINS: Table = (
    ("AF_UNSPEC", 0), ("AF_UNIX", 1), ("AF_INET", 2), ("AF_AX25", 3), ("AF_IPX", 4),
    ("AF_APPLETALK", 5), ("AF_NETROM", 6), ("AF_BRIDGE", 7), ("AF_ATMPVC", 8),
    ("AF_X25", 9), ("AF_INET6", 10), ("AF_ROSE", 11), ("AF_DECnet", 12),
    ("AF_NETBEUI", 13), ("AF_SECURITY", 14), ("AF_KEY", 15), ("AF_NETLINK", 16),
    ("AF_PACKET", 17), ("AF_ASH", 18), ("AF_ECONET", 19), ("AF_ATMSVC", 20), ("AF_RDS", 21),
    ("AF_SNA", 22), ("AF_IRDA", 23), ("AF_PPPOX", 24), ("AF_WANPIPE", 25), ("AF_LLC", 26),
    ("AF_IB", 27), ("AF_MPLS", 28), ("AF_CAN", 29), ("AF_TIPC", 30), ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32), ("AF_RXRPC", 33), ("AF_ISDN", 34), ("AF_PHONET", 35),
    ("AF_IEEE802154", 36), ("AF_CAIF", 37), ("AF_ALG", 38), ("AF_NFC", 39), ("AF_VSOCK", 40),
    ("AF_KCM", 41), ("AF_QIPCRTR", 42), ("AF_SMC", 43), ("AF_XDP", 44), ("AF_MCTP", 45),
)
#: Address family number -> "AF_INET" (also for ``_structs``' sockaddr).
ADDRESS_FAMILIES = _enum(SOCKET_DOMAINS)

# include/linux/net.h enum sock_type (glibc bits/socket_type.h)
SOCKET_TYPES: Table = (
    ("SOCK_STREAM", 1), ("SOCK_DGRAM", 2), ("SOCK_RAW", 3), ("SOCK_RDM", 4),
    ("SOCK_SEQPACKET", 5), ("SOCK_DCCP", 6), ("SOCK_PACKET", 10),
)
SOCKET_TYPE_FLAGS: Table = (("SOCK_CLOEXEC", 0o2000000), ("SOCK_NONBLOCK", 0o4000))

# glibc bits/socket.h (MSG_SOCK_DEVMEM: include/linux/socket.h)
MSG_FLAGS: Table = (
    ("MSG_OOB", 0x01), ("MSG_PEEK", 0x02), ("MSG_DONTROUTE", 0x04), ("MSG_CTRUNC", 0x08),
    ("MSG_PROXY", 0x10), ("MSG_TRUNC", 0x20), ("MSG_DONTWAIT", 0x40), ("MSG_EOR", 0x80),
    ("MSG_WAITALL", 0x100), ("MSG_FIN", 0x200), ("MSG_SYN", 0x400), ("MSG_CONFIRM", 0x800),
    ("MSG_RST", 0x1000), ("MSG_ERRQUEUE", 0x2000), ("MSG_NOSIGNAL", 0x4000),
    ("MSG_MORE", 0x8000), ("MSG_WAITFORONE", 0x10000), ("MSG_BATCH", 0x40000),
    ("MSG_SOCK_DEVMEM", 0x2000000), ("MSG_ZEROCOPY", 0x4000000),
    ("MSG_FASTOPEN", 0x20000000), ("MSG_CMSG_CLOEXEC", 0x40000000),
)

# glibc sys/socket.h
SHUTDOWN_HOW: Table = (("SHUT_RD", 0), ("SHUT_WR", 1), ("SHUT_RDWR", 2))

# Levels as strace names them: SOL_TCP for IPPROTO_TCP, and so on (glibc
# bits/socket.h SOL_*, netinet/in.h IPPROTO_*).
SOCKOPT_LEVELS: Table = (
    ("SOL_IP", 0), ("SOL_SOCKET", 1), ("SOL_TCP", 6), ("SOL_UDP", 17), ("SOL_IPV6", 41),
    ("SOL_ICMPV6", 58), ("SOL_SCTP", 132), ("SOL_UDPLITE", 136), ("SOL_RAW", 255),
    ("SOL_DECNET", 261), ("SOL_X25", 262), ("SOL_PACKET", 263), ("SOL_ATM", 264),
    ("SOL_AAL", 265), ("SOL_IRDA", 266), ("SOL_NETBEUI", 267), ("SOL_LLC", 268),
    ("SOL_DCCP", 269), ("SOL_NETLINK", 270), ("SOL_TIPC", 271), ("SOL_RXRPC", 272),
    ("SOL_PPPOL2TP", 273), ("SOL_BLUETOOTH", 274), ("SOL_PNPIPE", 275), ("SOL_RDS", 276),
    ("SOL_IUCV", 277), ("SOL_CAIF", 278), ("SOL_ALG", 279), ("SOL_NFC", 280),
    ("SOL_KCM", 281), ("SOL_TLS", 282), ("SOL_XDP", 283), ("SOL_MPTCP", 284),
    ("SOL_MCTP", 285), ("SOL_SMC", 286), ("SOL_VSOCK", 287),
)
_SOL_IP, _SOL_SOCKET, _SOL_TCP, _SOL_UDP, _SOL_IPV6, _SOL_NETLINK = 0, 1, 6, 17, 41, 270

# asm-generic/socket.h (x86 uses the generic numbers)
SOCKET_OPTIONS: Table = (
    ("SO_DEBUG", 1), ("SO_REUSEADDR", 2), ("SO_TYPE", 3), ("SO_ERROR", 4),
    ("SO_DONTROUTE", 5), ("SO_BROADCAST", 6), ("SO_SNDBUF", 7), ("SO_RCVBUF", 8),
    ("SO_KEEPALIVE", 9), ("SO_OOBINLINE", 10), ("SO_NO_CHECK", 11), ("SO_PRIORITY", 12),
    ("SO_LINGER", 13), ("SO_BSDCOMPAT", 14), ("SO_REUSEPORT", 15), ("SO_PASSCRED", 16),
    ("SO_PEERCRED", 17), ("SO_RCVLOWAT", 18), ("SO_SNDLOWAT", 19),
    ("SO_RCVTIMEO_OLD", 20), ("SO_SNDTIMEO_OLD", 21), ("SO_SECURITY_AUTHENTICATION", 22),
    ("SO_SECURITY_ENCRYPTION_TRANSPORT", 23), ("SO_SECURITY_ENCRYPTION_NETWORK", 24),
    ("SO_BINDTODEVICE", 25), ("SO_ATTACH_FILTER", 26), ("SO_DETACH_FILTER", 27),
    ("SO_PEERNAME", 28), ("SO_TIMESTAMP_OLD", 29), ("SO_ACCEPTCONN", 30),
    ("SO_PEERSEC", 31), ("SO_SNDBUFFORCE", 32), ("SO_RCVBUFFORCE", 33), ("SO_PASSSEC", 34),
    ("SO_TIMESTAMPNS_OLD", 35), ("SO_MARK", 36), ("SO_TIMESTAMPING_OLD", 37),
    ("SO_PROTOCOL", 38), ("SO_DOMAIN", 39), ("SO_RXQ_OVFL", 40), ("SO_WIFI_STATUS", 41),
    ("SO_PEEK_OFF", 42), ("SO_NOFCS", 43), ("SO_LOCK_FILTER", 44),
    ("SO_SELECT_ERR_QUEUE", 45), ("SO_BUSY_POLL", 46), ("SO_MAX_PACING_RATE", 47),
    ("SO_BPF_EXTENSIONS", 48), ("SO_INCOMING_CPU", 49), ("SO_ATTACH_BPF", 50),
    ("SO_ATTACH_REUSEPORT_CBPF", 51), ("SO_ATTACH_REUSEPORT_EBPF", 52),
    ("SO_CNX_ADVICE", 53), ("SO_MEMINFO", 55), ("SO_INCOMING_NAPI_ID", 56),
    ("SO_COOKIE", 57), ("SO_PEERGROUPS", 59), ("SO_ZEROCOPY", 60), ("SO_TXTIME", 61),
    ("SO_BINDTOIFINDEX", 62), ("SO_TIMESTAMP_NEW", 63), ("SO_TIMESTAMPNS_NEW", 64),
    ("SO_TIMESTAMPING_NEW", 65), ("SO_RCVTIMEO_NEW", 66), ("SO_SNDTIMEO_NEW", 67),
    ("SO_DETACH_REUSEPORT_BPF", 68), ("SO_PREFER_BUSY_POLL", 69),
    ("SO_BUSY_POLL_BUDGET", 70), ("SO_NETNS_COOKIE", 71), ("SO_BUF_LOCK", 72),
    ("SO_RESERVE_MEM", 73), ("SO_TXREHASH", 74), ("SO_RCVMARK", 75), ("SO_PASSPIDFD", 76),
    ("SO_PEERPIDFD", 77),
)
# linux/in.h
IP_OPTIONS: Table = (
    ("IP_TOS", 1), ("IP_TTL", 2), ("IP_HDRINCL", 3), ("IP_OPTIONS", 4),
    ("IP_ROUTER_ALERT", 5), ("IP_RECVOPTS", 6), ("IP_RETOPTS", 7), ("IP_PKTINFO", 8),
    ("IP_PKTOPTIONS", 9), ("IP_MTU_DISCOVER", 10), ("IP_RECVERR", 11), ("IP_RECVTTL", 12),
    ("IP_RECVTOS", 13), ("IP_MTU", 14), ("IP_FREEBIND", 15), ("IP_IPSEC_POLICY", 16),
    ("IP_XFRM_POLICY", 17), ("IP_PASSSEC", 18), ("IP_TRANSPARENT", 19),
    ("IP_ORIGDSTADDR", 20), ("IP_MINTTL", 21), ("IP_NODEFRAG", 22), ("IP_CHECKSUM", 23),
    ("IP_BIND_ADDRESS_NO_PORT", 24), ("IP_RECVFRAGSIZE", 25), ("IP_RECVERR_RFC4884", 26),
    ("IP_MULTICAST_IF", 32), ("IP_MULTICAST_TTL", 33), ("IP_MULTICAST_LOOP", 34),
    ("IP_ADD_MEMBERSHIP", 35), ("IP_DROP_MEMBERSHIP", 36), ("IP_UNBLOCK_SOURCE", 37),
    ("IP_BLOCK_SOURCE", 38), ("IP_ADD_SOURCE_MEMBERSHIP", 39),
    ("IP_DROP_SOURCE_MEMBERSHIP", 40), ("IP_MSFILTER", 41), ("IP_MULTICAST_ALL", 49),
    ("IP_UNICAST_IF", 50), ("IP_LOCAL_PORT_RANGE", 51), ("IP_PROTOCOL", 52),
)
# linux/in6.h
IPV6_OPTIONS: Table = (
    ("IPV6_ADDRFORM", 1), ("IPV6_2292PKTINFO", 2), ("IPV6_2292HOPOPTS", 3),
    ("IPV6_2292DSTOPTS", 4), ("IPV6_2292RTHDR", 5), ("IPV6_2292PKTOPTIONS", 6),
    ("IPV6_CHECKSUM", 7), ("IPV6_2292HOPLIMIT", 8), ("IPV6_NEXTHOP", 9),
    ("IPV6_AUTHHDR", 10), ("IPV6_FLOWINFO", 11), ("IPV6_UNICAST_HOPS", 16),
    ("IPV6_MULTICAST_IF", 17), ("IPV6_MULTICAST_HOPS", 18), ("IPV6_MULTICAST_LOOP", 19),
    ("IPV6_ADD_MEMBERSHIP", 20), ("IPV6_DROP_MEMBERSHIP", 21), ("IPV6_ROUTER_ALERT", 22),
    ("IPV6_MTU_DISCOVER", 23), ("IPV6_MTU", 24), ("IPV6_RECVERR", 25), ("IPV6_V6ONLY", 26),
    ("IPV6_JOIN_ANYCAST", 27), ("IPV6_LEAVE_ANYCAST", 28), ("IPV6_MULTICAST_ALL", 29),
    ("IPV6_ROUTER_ALERT_ISOLATE", 30), ("IPV6_RECVERR_RFC4884", 31),
    ("IPV6_FLOWLABEL_MGR", 32), ("IPV6_FLOWINFO_SEND", 33), ("IPV6_IPSEC_POLICY", 34),
    ("IPV6_XFRM_POLICY", 35), ("IPV6_HDRINCL", 36), ("IPV6_RECVPKTINFO", 49),
    ("IPV6_PKTINFO", 50), ("IPV6_RECVHOPLIMIT", 51), ("IPV6_HOPLIMIT", 52),
    ("IPV6_RECVHOPOPTS", 53), ("IPV6_HOPOPTS", 54), ("IPV6_RTHDRDSTOPTS", 55),
    ("IPV6_RECVRTHDR", 56), ("IPV6_RTHDR", 57), ("IPV6_RECVDSTOPTS", 58),
    ("IPV6_DSTOPTS", 59), ("IPV6_RECVPATHMTU", 60), ("IPV6_PATHMTU", 61),
    ("IPV6_DONTFRAG", 62), ("IPV6_RECVTCLASS", 66), ("IPV6_TCLASS", 67),
    ("IPV6_AUTOFLOWLABEL", 70), ("IPV6_ADDR_PREFERENCES", 72), ("IPV6_MINHOPCOUNT", 73),
    ("IPV6_ORIGDSTADDR", 74), ("IPV6_TRANSPARENT", 75), ("IPV6_UNICAST_IF", 76),
    ("IPV6_RECVFRAGSIZE", 77), ("IPV6_FREEBIND", 78),
)
# linux/tcp.h
TCP_OPTIONS: Table = (
    ("TCP_NODELAY", 1), ("TCP_MAXSEG", 2), ("TCP_CORK", 3), ("TCP_KEEPIDLE", 4),
    ("TCP_KEEPINTVL", 5), ("TCP_KEEPCNT", 6), ("TCP_SYNCNT", 7), ("TCP_LINGER2", 8),
    ("TCP_DEFER_ACCEPT", 9), ("TCP_WINDOW_CLAMP", 10), ("TCP_INFO", 11),
    ("TCP_QUICKACK", 12), ("TCP_CONGESTION", 13), ("TCP_MD5SIG", 14),
    ("TCP_THIN_LINEAR_TIMEOUTS", 16), ("TCP_THIN_DUPACK", 17), ("TCP_USER_TIMEOUT", 18),
    ("TCP_REPAIR", 19), ("TCP_REPAIR_QUEUE", 20), ("TCP_QUEUE_SEQ", 21),
    ("TCP_REPAIR_OPTIONS", 22), ("TCP_FASTOPEN", 23), ("TCP_TIMESTAMP", 24),
    ("TCP_NOTSENT_LOWAT", 25), ("TCP_CC_INFO", 26), ("TCP_SAVE_SYN", 27),
    ("TCP_SAVED_SYN", 28), ("TCP_REPAIR_WINDOW", 29), ("TCP_FASTOPEN_CONNECT", 30),
    ("TCP_ULP", 31), ("TCP_MD5SIG_EXT", 32), ("TCP_FASTOPEN_KEY", 33),
    ("TCP_FASTOPEN_NO_COOKIE", 34), ("TCP_ZEROCOPY_RECEIVE", 35), ("TCP_INQ", 36),
    ("TCP_TX_DELAY", 37),
)
# linux/udp.h
UDP_OPTIONS: Table = (
    ("UDP_CORK", 1), ("UDP_ENCAP", 100), ("UDP_NO_CHECK6_TX", 101),
    ("UDP_NO_CHECK6_RX", 102), ("UDP_SEGMENT", 103), ("UDP_GRO", 104),
)
# linux/netlink.h
NETLINK_OPTIONS: Table = (
    ("NETLINK_ADD_MEMBERSHIP", 1), ("NETLINK_DROP_MEMBERSHIP", 2), ("NETLINK_PKTINFO", 3),
    ("NETLINK_BROADCAST_ERROR", 4), ("NETLINK_NO_ENOBUFS", 5), ("NETLINK_RX_RING", 6),
    ("NETLINK_TX_RING", 7), ("NETLINK_LISTEN_ALL_NSID", 8),
    ("NETLINK_LIST_MEMBERSHIPS", 9), ("NETLINK_CAP_ACK", 10), ("NETLINK_EXT_ACK", 11),
    ("NETLINK_GET_STRICT_CHK", 12),
)
_SOCKOPT_NAMES: Mapping[int, Mapping[int, str]] = MappingProxyType({
    _SOL_SOCKET: _enum(SOCKET_OPTIONS), _SOL_IP: _enum(IP_OPTIONS),
    _SOL_IPV6: _enum(IPV6_OPTIONS), _SOL_TCP: _enum(TCP_OPTIONS),
    _SOL_UDP: _enum(UDP_OPTIONS), _SOL_NETLINK: _enum(NETLINK_OPTIONS),
})


def decode_sockopt_name(level: int, name: int) -> str | None:
    """``SO_REUSEADDR`` for (SOL_SOCKET, 2), ``TCP_NODELAY`` for (SOL_TCP, 1); None if unknown."""
    names = _SOCKOPT_NAMES.get(_s32(level))
    return None if names is None else names.get(_s32(name))


# linux/net.h SYS_* (i386 socketcall)
_SOCKETCALL_NAMES: Mapping[int, str] = MappingProxyType(
    {call: "SYS_" + name.upper() for call, name in SOCKETCALLS.items()}
)

# --------------------------------------------------------------------------- signal sets


def decode_sigset(mask: int, signals: int = 64) -> str:
    """A signal mask as strace prints it: ``[INT TERM]``, or ``~[KILL STOP]`` when most are set.

    Bit n-1 is signal n; names lose their ``SIG`` (``RT_2`` is signal 34).
    ``signals`` is the set's width: 64 for sigset_t, 32 for i386's old_sigset_t.
    Bits past it are ignored.
    """
    mask &= (1 << signals) - 1
    complement = mask.bit_count() > signals // 2
    if complement:
        mask = ~mask & ((1 << signals) - 1)
    names = []
    while mask:
        low = mask & -mask
        number = low.bit_length()
        name = _SIGNAL_NAMES.get(number)
        names.append(name[3:] if name is not None else str(number))
        mask ^= low
    text = "[" + " ".join(names) + "]"
    return "~" + text if complement else text


# --------------------------------------------------------------------------- dispatch


def _decode_signal(value: int, abi: int) -> str | None:
    return _SIGNAL_NAMES.get(_s32(value))


def _decode_ioctl(value: int, abi: int) -> str:
    return decode_ioctl(value, abi)


def _decode_socketcall(value: int, abi: int) -> str | None:
    return _SOCKETCALL_NAMES.get(_s32(value))


# --------------------------------------------------------------------------- more kinds
# Orders are strace's (its xlat/*.in), which is what its output shows.

FADVISE_ADVICE: Table = (  # linux/fadvise.h (x86: 4 and 5 as in the generic header)
    ("POSIX_FADV_NORMAL", 0), ("POSIX_FADV_RANDOM", 1), ("POSIX_FADV_SEQUENTIAL", 2),
    ("POSIX_FADV_WILLNEED", 3), ("POSIX_FADV_DONTNEED", 4), ("POSIX_FADV_NOREUSE", 5),
)
GETRANDOM_FLAGS: Table = (("GRND_NONBLOCK", 1), ("GRND_RANDOM", 2), ("GRND_INSECURE", 4))
EPOLL_FLAGS: Table = (("EPOLL_CLOEXEC", 0o2000000),)
EVENTFD_FLAGS: Table = (("EFD_SEMAPHORE", 1), ("EFD_CLOEXEC", 0o2000000),
                        ("EFD_NONBLOCK", 0o4000))
SPLICE_FLAGS: Table = (  # linux/splice.h
    ("SPLICE_F_MOVE", 1), ("SPLICE_F_NONBLOCK", 2), ("SPLICE_F_MORE", 4), ("SPLICE_F_GIFT", 8),
)
IORING_SETUP_FLAGS: Table = (  # linux/io_uring.h (bits 14-17: Linux 6.5-6.13)
    ("IORING_SETUP_IOPOLL", 1 << 0), ("IORING_SETUP_SQPOLL", 1 << 1),
    ("IORING_SETUP_SQ_AFF", 1 << 2), ("IORING_SETUP_CQSIZE", 1 << 3),
    ("IORING_SETUP_CLAMP", 1 << 4), ("IORING_SETUP_ATTACH_WQ", 1 << 5),
    ("IORING_SETUP_R_DISABLED", 1 << 6), ("IORING_SETUP_SUBMIT_ALL", 1 << 7),
    ("IORING_SETUP_COOP_TASKRUN", 1 << 8), ("IORING_SETUP_TASKRUN_FLAG", 1 << 9),
    ("IORING_SETUP_SQE128", 1 << 10), ("IORING_SETUP_CQE32", 1 << 11),
    ("IORING_SETUP_SINGLE_ISSUER", 1 << 12), ("IORING_SETUP_DEFER_TASKRUN", 1 << 13),
    ("IORING_SETUP_NO_MMAP", 1 << 14), ("IORING_SETUP_REGISTERED_FD_ONLY", 1 << 15),
    ("IORING_SETUP_NO_SQARRAY", 1 << 16), ("IORING_SETUP_HYBRID_IOPOLL", 1 << 17),
)
IORING_FEATURES: Table = (  # linux/io_uring.h (bits 13-17: Linux 6.3-6.15)
    ("IORING_FEAT_SINGLE_MMAP", 1 << 0), ("IORING_FEAT_NODROP", 1 << 1),
    ("IORING_FEAT_SUBMIT_STABLE", 1 << 2), ("IORING_FEAT_RW_CUR_POS", 1 << 3),
    ("IORING_FEAT_CUR_PERSONALITY", 1 << 4), ("IORING_FEAT_FAST_POLL", 1 << 5),
    ("IORING_FEAT_POLL_32BITS", 1 << 6), ("IORING_FEAT_SQPOLL_NONFIXED", 1 << 7),
    ("IORING_FEAT_EXT_ARG", 1 << 8), ("IORING_FEAT_NATIVE_WORKERS", 1 << 9),
    ("IORING_FEAT_RSRC_TAGS", 1 << 10), ("IORING_FEAT_CQE_SKIP", 1 << 11),
    ("IORING_FEAT_LINKED_FILE", 1 << 12), ("IORING_FEAT_REG_REG_RING", 1 << 13),
    ("IORING_FEAT_RECVSEND_BUNDLE", 1 << 14), ("IORING_FEAT_MIN_TIMEOUT", 1 << 15),
    ("IORING_FEAT_RW_ATTR", 1 << 16), ("IORING_FEAT_NO_IOWAIT", 1 << 17),
)
WAITID_IDTYPES: Table = (  # linux/wait.h
    ("P_ALL", 0), ("P_PID", 1), ("P_PGID", 2), ("P_PIDFD", 3),
)
ITIMER_WHICH: Table = (("ITIMER_REAL", 0), ("ITIMER_VIRTUAL", 1), ("ITIMER_PROF", 2))
TIMER_FLAGS: Table = (("TIMER_ABSTIME", 1),)
FLOCK_OPS: Table = (("LOCK_SH", 1), ("LOCK_EX", 2), ("LOCK_NB", 4), ("LOCK_UN", 8))
XATTR_FLAGS: Table = (("XATTR_CREATE", 1), ("XATTR_REPLACE", 2))
RUSAGE_WHO: Table = (("RUSAGE_SELF", 0), ("RUSAGE_CHILDREN", -1), ("RUSAGE_THREAD", 1))
STATX_MASK: Table = (  # linux/stat.h
    ("STATX_ALL", 0xFFF), ("STATX_BASIC_STATS", 0x7FF), ("STATX_TYPE", 0x1),
    ("STATX_MODE", 0x2), ("STATX_NLINK", 0x4), ("STATX_UID", 0x8), ("STATX_GID", 0x10),
    ("STATX_ATIME", 0x20), ("STATX_MTIME", 0x40), ("STATX_CTIME", 0x80), ("STATX_INO", 0x100),
    ("STATX_SIZE", 0x200), ("STATX_BLOCKS", 0x400), ("STATX_BTIME", 0x800),
    ("STATX_MNT_ID", 0x1000), ("STATX_DIOALIGN", 0x2000), ("STATX_MNT_ID_UNIQUE", 0x4000),
    ("STATX_SUBVOL", 0x8000), ("STATX_WRITE_ATOMIC", 0x10000),
    ("STATX_DIO_READ_ALIGN", 0x20000),
)
INET_PROTOCOLS: Table = (  # netinet/in.h
    ("IPPROTO_IP", 0), ("IPPROTO_ICMP", 1), ("IPPROTO_IGMP", 2), ("IPPROTO_IPIP", 4),
    ("IPPROTO_TCP", 6), ("IPPROTO_EGP", 8), ("IPPROTO_PUP", 12), ("IPPROTO_UDP", 17),
    ("IPPROTO_IDP", 22), ("IPPROTO_TP", 29), ("IPPROTO_DCCP", 33), ("IPPROTO_IPV6", 41),
    ("IPPROTO_RSVP", 46), ("IPPROTO_GRE", 47), ("IPPROTO_ESP", 50), ("IPPROTO_AH", 51),
    ("IPPROTO_ICMPV6", 58), ("IPPROTO_MTP", 92), ("IPPROTO_BEETPH", 94),
    ("IPPROTO_ENCAP", 98), ("IPPROTO_PIM", 103), ("IPPROTO_COMP", 108), ("IPPROTO_L2TP", 115),
    ("IPPROTO_SCTP", 132), ("IPPROTO_MH", 135), ("IPPROTO_UDPLITE", 136),
    ("IPPROTO_MPLS", 137), ("IPPROTO_ETHERNET", 143), ("IPPROTO_RAW", 255),
    ("IPPROTO_MPTCP", 262),
)
_INET_DOMAINS = frozenset({2, 10})  # AF_INET, AF_INET6
_INET_PROTOCOL_NAMES = _enum(INET_PROTOCOLS)
_AF_NETLINK = 16
NETLINK_PROTOCOLS: Table = (  # linux/netlink.h
    ("NETLINK_ROUTE", 0), ("NETLINK_UNUSED", 1), ("NETLINK_USERSOCK", 2),
    ("NETLINK_FIREWALL", 3), ("NETLINK_SOCK_DIAG", 4), ("NETLINK_NFLOG", 5),
    ("NETLINK_XFRM", 6), ("NETLINK_SELINUX", 7), ("NETLINK_ISCSI", 8), ("NETLINK_AUDIT", 9),
    ("NETLINK_FIB_LOOKUP", 10), ("NETLINK_CONNECTOR", 11), ("NETLINK_NETFILTER", 12),
    ("NETLINK_IP6_FW", 13), ("NETLINK_DNRTMSG", 14), ("NETLINK_KOBJECT_UEVENT", 15),
    ("NETLINK_GENERIC", 16), ("NETLINK_SCSITRANSPORT", 18), ("NETLINK_ECRYPTFS", 19),
    ("NETLINK_RDMA", 20), ("NETLINK_CRYPTO", 21), ("NETLINK_SMC", 22),
)
_NETLINK_PROTOCOL_NAMES = _enum(NETLINK_PROTOCOLS)


def decode_socket_protocol(domain: int, protocol: int) -> str | None:
    """socket()'s protocol as strace prints it: IPPROTO_* for AF_INET/AF_INET6,
    NETLINK_* for AF_NETLINK, else None."""
    if domain & _MASK32 in _INET_DOMAINS:
        return _INET_PROTOCOL_NAMES.get(protocol & _MASK32)
    if domain & _MASK32 == _AF_NETLINK:
        return _NETLINK_PROTOCOL_NAMES.get(protocol & _MASK32)
    return None


def render_umask(value: int) -> str:
    """A umask as strace prints it: ``022``, ``0777``."""
    return _octal(value & 0o7777)


TIMERFD_FLAGS: Table = (("TFD_TIMER_ABSTIME", 1), ("TFD_TIMER_CANCEL_ON_SET", 2),
                        ("TFD_CLOEXEC", 0o2000000), ("TFD_NONBLOCK", 0o4000))
SIGNALFD_FLAGS: Table = (("SFD_CLOEXEC", 0o2000000), ("SFD_NONBLOCK", 0o4000))
INOTIFY_FLAGS: Table = (("IN_NONBLOCK", 0o4000), ("IN_CLOEXEC", 0o2000000))
MEMFD_FLAGS: Table = (("MFD_CLOEXEC", 1), ("MFD_ALLOW_SEALING", 2), ("MFD_HUGETLB", 4),
                      ("MFD_NOEXEC_SEAL", 8), ("MFD_EXEC", 0x10))
CLOSE_RANGE_FLAGS: Table = (("CLOSE_RANGE_UNSHARE", 2), ("CLOSE_RANGE_CLOEXEC", 4))
INOTIFY_MASK: Table = (  # linux/inotify.h
    ("IN_ACCESS", 0x1), ("IN_MODIFY", 0x2), ("IN_ATTRIB", 0x4), ("IN_CLOSE_WRITE", 0x8),
    ("IN_CLOSE_NOWRITE", 0x10), ("IN_OPEN", 0x20), ("IN_MOVED_FROM", 0x40),
    ("IN_MOVED_TO", 0x80), ("IN_CREATE", 0x100), ("IN_DELETE", 0x200),
    ("IN_DELETE_SELF", 0x400), ("IN_MOVE_SELF", 0x800), ("IN_UNMOUNT", 0x2000),
    ("IN_Q_OVERFLOW", 0x4000), ("IN_IGNORED", 0x8000), ("IN_ONLYDIR", 0x01000000),
    ("IN_DONT_FOLLOW", 0x02000000), ("IN_EXCL_UNLINK", 0x04000000),
    ("IN_MASK_CREATE", 0x10000000), ("IN_MASK_ADD", 0x20000000), ("IN_ISDIR", 0x40000000),
    ("IN_ONESHOT", 0x80000000),
)

# linux/ipc.h, linux/sem.h, linux/msg.h, linux/shm.h
IPC_FLAGS: Table = (("IPC_CREAT", 0o1000), ("IPC_EXCL", 0o2000), ("IPC_NOWAIT", 0o4000))
_IPC_COMMON: Table = (("IPC_RMID", 0), ("IPC_SET", 1), ("IPC_STAT", 2), ("IPC_INFO", 3))
_IPC_COMMANDS: Mapping[str, Mapping[int, str]] = MappingProxyType({
    "semctl": _enum((*_IPC_COMMON, ("GETPID", 11), ("GETVAL", 12), ("GETALL", 13),
                     ("GETNCNT", 14), ("GETZCNT", 15), ("SETVAL", 16), ("SETALL", 17),
                     ("SEM_STAT", 18), ("SEM_INFO", 19), ("SEM_STAT_ANY", 20))),
    "msgctl": _enum((*_IPC_COMMON, ("MSG_STAT", 11), ("MSG_INFO", 12), ("MSG_STAT_ANY", 13))),
    "shmctl": _enum((*_IPC_COMMON, ("SHM_LOCK", 11), ("SHM_UNLOCK", 12), ("SHM_STAT", 13),
                     ("SHM_INFO", 14), ("SHM_STAT_ANY", 15))),
})
_IPC_64 = 0x100


def _ipc_key(value: int, abi: int) -> str:
    value &= _MASK32
    return "IPC_PRIVATE" if value == 0 else hex(value)


def _ipc_flags(value: int, abi: int) -> str:
    """``IPC_CREAT|0600``: the flags, then the permission bits in octal."""
    value &= _MASK32
    flags = value & ~0o777
    mode = value & 0o777
    parts = [render_flags(IPC_FLAGS, flags)] if flags else []
    if mode or not parts:
        parts.append(_octal(mode))
    return "|".join(parts)


def _ipc_command(call: str) -> Decoder:
    names = _IPC_COMMANDS[call]

    def decode(value: int, abi: int) -> str | None:
        value &= _MASK32
        name = names.get(value & ~_IPC_64)
        if name is None:
            return None
        return f"IPC_64|{name}" if value & _IPC_64 else name  # strace's PRINTCTL order

    return decode


# sys/resource.h; linux/sched.h; linux/ioprio.h; asm-generic/mman-common.h
PRIO_WHICH: Table = (("PRIO_PROCESS", 0), ("PRIO_PGRP", 1), ("PRIO_USER", 2))
SCHED_POLICIES: Table = (
    ("SCHED_OTHER", 0), ("SCHED_FIFO", 1), ("SCHED_RR", 2), ("SCHED_BATCH", 3),
    ("SCHED_ISO", 4), ("SCHED_IDLE", 5), ("SCHED_DEADLINE", 6), ("SCHED_EXT", 7),
)
IOPRIO_WHICH: Table = (("IOPRIO_WHO_PROCESS", 1), ("IOPRIO_WHO_PGRP", 2),
                       ("IOPRIO_WHO_USER", 3))
IOPRIO_CLASSES: Table = (("IOPRIO_CLASS_NONE", 0), ("IOPRIO_CLASS_RT", 1),
                         ("IOPRIO_CLASS_BE", 2), ("IOPRIO_CLASS_IDLE", 3))
_IOPRIO_CLASS_SHIFT = 13
# in strace's order (its xlat/mctl_sync.in, xlat/ipc_msg_flags.in)
MSYNC_FLAGS: Table = (("MS_SYNC", 4), ("MS_ASYNC", 1), ("MS_INVALIDATE", 2))
MSGFLG: Table = (("MSG_NOERROR", 0o10000), ("MSG_EXCEPT", 0o20000), ("MSG_COPY", 0o40000),
                 ("IPC_NOWAIT", 0o4000))  # linux/msg.h
SHMAT_FLAGS: Table = (("SHM_RDONLY", 0o10000), ("SHM_RND", 0o20000), ("SHM_REMAP", 0o40000),
                      ("SHM_EXEC", 0o100000))  # linux/shm.h
#: linux/mempolicy.h (Linux 6.1 uapi, what strace 6.1 names)
MPOL_MODES: Table = (("MPOL_DEFAULT", 0), ("MPOL_PREFERRED", 1), ("MPOL_BIND", 2),
                     ("MPOL_INTERLEAVE", 3), ("MPOL_LOCAL", 4), ("MPOL_PREFERRED_MANY", 5))
MPOL_MODE_FLAGS: Table = (("MPOL_F_STATIC_NODES", 1 << 15), ("MPOL_F_RELATIVE_NODES", 1 << 14),
                          ("MPOL_F_NUMA_BALANCING", 1 << 13))
GET_MEMPOLICY_FLAGS: Table = (("MPOL_F_NODE", 1), ("MPOL_F_ADDR", 2),
                              ("MPOL_F_MEMS_ALLOWED", 4))
MBIND_FLAGS: Table = (("MPOL_MF_STRICT", 1), ("MPOL_MF_MOVE", 2), ("MPOL_MF_MOVE_ALL", 4))
#: linux/keyctl.h: the special key ids (key_serial_t) and keyctl's commands
KEY_SPECS: Table = (
    ("KEY_SPEC_THREAD_KEYRING", -1), ("KEY_SPEC_PROCESS_KEYRING", -2),
    ("KEY_SPEC_SESSION_KEYRING", -3), ("KEY_SPEC_USER_KEYRING", -4),
    ("KEY_SPEC_USER_SESSION_KEYRING", -5), ("KEY_SPEC_GROUP_KEYRING", -6),
    ("KEY_SPEC_REQKEY_AUTH_KEY", -7), ("KEY_SPEC_REQUESTOR_KEYRING", -8),
)
KEYCTL_COMMANDS: Table = tuple((f"KEYCTL_{name}", number) for number, name in enumerate((
    "GET_KEYRING_ID", "JOIN_SESSION_KEYRING", "UPDATE", "REVOKE", "CHOWN", "SETPERM",
    "DESCRIBE", "CLEAR", "LINK", "UNLINK", "SEARCH", "READ", "INSTANTIATE", "NEGATE",
    "SET_REQKEY_KEYRING", "SET_TIMEOUT", "ASSUME_AUTHORITY", "GET_SECURITY",
    "SESSION_TO_PARENT", "REJECT", "INSTANTIATE_IOV", "INVALIDATE", "GET_PERSISTENT",
    "DH_COMPUTE", "PKEY_QUERY", "PKEY_ENCRYPT", "PKEY_DECRYPT", "PKEY_SIGN", "PKEY_VERIFY",
    "RESTRICT_KEYRING", "MOVE", "CAPABILITIES", "WATCH_KEY")))
#: a key's permissions (linux/key.h), in strace's order: each group's bits, then its _ALL
KEY_PERMS: Table = tuple(
    (f"KEY_{who}_{what}", bits << shift)
    for who, shift in (("POS", 24), ("USR", 16), ("GRP", 8), ("OTH", 0))
    for what, bits in (("VIEW", 1), ("READ", 2), ("WRITE", 4), ("SEARCH", 8), ("LINK", 0x10),
                       ("SETATTR", 0x20), ("ALL", 0x3F)))
KEY_REQKEY_DEFAULTS: Table = (
    ("KEY_REQKEY_DEFL_NO_CHANGE", -1), ("KEY_REQKEY_DEFL_DEFAULT", 0),
    ("KEY_REQKEY_DEFL_THREAD_KEYRING", 1), ("KEY_REQKEY_DEFL_PROCESS_KEYRING", 2),
    ("KEY_REQKEY_DEFL_SESSION_KEYRING", 3), ("KEY_REQKEY_DEFL_USER_KEYRING", 4),
    ("KEY_REQKEY_DEFL_USER_SESSION_KEYRING", 5), ("KEY_REQKEY_DEFL_GROUP_KEYRING", 6),
    ("KEY_REQKEY_DEFL_REQUESTOR_KEYRING", 7),
)
KEY_REQKEY_NAMES: Mapping[int, str] = MappingProxyType(
    {value: name for name, value in KEY_REQKEY_DEFAULTS})
KEXEC_FILE_FLAGS: Table = (  # linux/kexec.h
    ("KEXEC_FILE_UNLOAD", 1), ("KEXEC_FILE_ON_CRASH", 2), ("KEXEC_FILE_NO_INITRAMFS", 4),
)
SECCOMP_OPS: Table = (  # linux/seccomp.h
    ("SECCOMP_SET_MODE_STRICT", 0), ("SECCOMP_SET_MODE_FILTER", 1),
    ("SECCOMP_GET_ACTION_AVAIL", 2), ("SECCOMP_GET_NOTIF_SIZES", 3),
)
SECCOMP_FILTER_FLAGS: Table = (  # linux/seccomp.h
    ("SECCOMP_FILTER_FLAG_TSYNC", 1), ("SECCOMP_FILTER_FLAG_LOG", 2),
    ("SECCOMP_FILTER_FLAG_SPEC_ALLOW", 4), ("SECCOMP_FILTER_FLAG_NEW_LISTENER", 8),
    ("SECCOMP_FILTER_FLAG_TSYNC_ESRCH", 16), ("SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV", 32),
)
MLOCK_FLAGS: Table = (("MLOCK_ONFAULT", 1),)  # linux/mman.h
MLOCKALL_FLAGS: Table = (("MCL_CURRENT", 1), ("MCL_FUTURE", 2), ("MCL_ONFAULT", 4))
BPF_COMMANDS: Table = (  # linux/bpf.h's enum bpf_cmd (BPF_PROG_RUN: BPF_PROG_TEST_RUN's alias)
    ("BPF_MAP_CREATE", 0), ("BPF_MAP_LOOKUP_ELEM", 1), ("BPF_MAP_UPDATE_ELEM", 2),
    ("BPF_MAP_DELETE_ELEM", 3), ("BPF_MAP_GET_NEXT_KEY", 4), ("BPF_PROG_LOAD", 5),
    ("BPF_OBJ_PIN", 6), ("BPF_OBJ_GET", 7), ("BPF_PROG_ATTACH", 8), ("BPF_PROG_DETACH", 9),
    ("BPF_PROG_TEST_RUN", 10), ("BPF_PROG_GET_NEXT_ID", 11), ("BPF_MAP_GET_NEXT_ID", 12),
    ("BPF_PROG_GET_FD_BY_ID", 13), ("BPF_MAP_GET_FD_BY_ID", 14),
    ("BPF_OBJ_GET_INFO_BY_FD", 15), ("BPF_PROG_QUERY", 16), ("BPF_RAW_TRACEPOINT_OPEN", 17),
    ("BPF_BTF_LOAD", 18), ("BPF_BTF_GET_FD_BY_ID", 19), ("BPF_TASK_FD_QUERY", 20),
    ("BPF_MAP_LOOKUP_AND_DELETE_ELEM", 21), ("BPF_MAP_FREEZE", 22), ("BPF_BTF_GET_NEXT_ID", 23),
    ("BPF_MAP_LOOKUP_BATCH", 24), ("BPF_MAP_LOOKUP_AND_DELETE_BATCH", 25),
    ("BPF_MAP_UPDATE_BATCH", 26), ("BPF_MAP_DELETE_BATCH", 27), ("BPF_LINK_CREATE", 28),
    ("BPF_LINK_UPDATE", 29), ("BPF_LINK_GET_FD_BY_ID", 30), ("BPF_LINK_GET_NEXT_ID", 31),
    ("BPF_ENABLE_STATS", 32), ("BPF_ITER_CREATE", 33), ("BPF_LINK_DETACH", 34),
    ("BPF_PROG_BIND_MAP", 35), ("BPF_TOKEN_CREATE", 36),
)
LANDLOCK_RULESET_FLAGS: Table = (  # linux/landlock.h
    ("LANDLOCK_CREATE_RULESET_VERSION", 1), ("LANDLOCK_CREATE_RULESET_ERRATA", 2),
)
PTRACE_REQUESTS: Table = (  # linux/ptrace.h, asm/ptrace-abi.h (x86)
    ("PTRACE_TRACEME", 0), ("PTRACE_PEEKTEXT", 1), ("PTRACE_PEEKDATA", 2),
    ("PTRACE_PEEKUSER", 3), ("PTRACE_POKETEXT", 4), ("PTRACE_POKEDATA", 5),
    ("PTRACE_POKEUSER", 6), ("PTRACE_CONT", 7), ("PTRACE_KILL", 8), ("PTRACE_SINGLESTEP", 9),
    ("PTRACE_GETREGS", 12), ("PTRACE_SETREGS", 13), ("PTRACE_GETFPREGS", 14),
    ("PTRACE_SETFPREGS", 15), ("PTRACE_ATTACH", 16), ("PTRACE_DETACH", 17),
    ("PTRACE_GETFPXREGS", 18), ("PTRACE_SETFPXREGS", 19), ("PTRACE_SYSCALL", 24),
    ("PTRACE_GET_THREAD_AREA", 25), ("PTRACE_SET_THREAD_AREA", 26), ("PTRACE_ARCH_PRCTL", 30),
    ("PTRACE_SYSEMU", 31), ("PTRACE_SYSEMU_SINGLESTEP", 32), ("PTRACE_SINGLEBLOCK", 33),
    ("PTRACE_SETOPTIONS", 0x4200), ("PTRACE_GETEVENTMSG", 0x4201),
    ("PTRACE_GETSIGINFO", 0x4202), ("PTRACE_SETSIGINFO", 0x4203), ("PTRACE_GETREGSET", 0x4204),
    ("PTRACE_SETREGSET", 0x4205), ("PTRACE_SEIZE", 0x4206), ("PTRACE_INTERRUPT", 0x4207),
    ("PTRACE_LISTEN", 0x4208), ("PTRACE_PEEKSIGINFO", 0x4209), ("PTRACE_GETSIGMASK", 0x420A),
    ("PTRACE_SETSIGMASK", 0x420B), ("PTRACE_SECCOMP_GET_FILTER", 0x420C),
    ("PTRACE_SECCOMP_GET_METADATA", 0x420D), ("PTRACE_GET_SYSCALL_INFO", 0x420E),
    ("PTRACE_GET_RSEQ_CONFIGURATION", 0x420F),
    ("PTRACE_SET_SYSCALL_USER_DISPATCH_CONFIG", 0x4210),
    ("PTRACE_GET_SYSCALL_USER_DISPATCH_CONFIG", 0x4211),
)
PTRACE_OPTIONS: Table = (  # PTRACE_O_*, linux/ptrace.h
    ("PTRACE_O_TRACESYSGOOD", 1), ("PTRACE_O_TRACEFORK", 2), ("PTRACE_O_TRACEVFORK", 4),
    ("PTRACE_O_TRACECLONE", 8), ("PTRACE_O_TRACEEXEC", 0x10), ("PTRACE_O_TRACEVFORKDONE", 0x20),
    ("PTRACE_O_TRACEEXIT", 0x40), ("PTRACE_O_TRACESECCOMP", 0x80),
    ("PTRACE_O_EXITKILL", 0x100000), ("PTRACE_O_SUSPEND_SECCOMP", 0x200000),
)
KCMP_TYPES: Table = (  # linux/kcmp.h
    ("KCMP_FILE", 0), ("KCMP_VM", 1), ("KCMP_FILES", 2), ("KCMP_FS", 3), ("KCMP_SIGHAND", 4),
    ("KCMP_IO", 5), ("KCMP_SYSVSEM", 6), ("KCMP_EPOLL_TFD", 7),
)
MEMBARRIER_COMMANDS: Table = (  # linux/membarrier.h
    ("MEMBARRIER_CMD_QUERY", 0), ("MEMBARRIER_CMD_GLOBAL", 1),
    ("MEMBARRIER_CMD_GLOBAL_EXPEDITED", 2), ("MEMBARRIER_CMD_REGISTER_GLOBAL_EXPEDITED", 4),
    ("MEMBARRIER_CMD_PRIVATE_EXPEDITED", 8), ("MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED", 16),
    ("MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE", 32),
    ("MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE", 64),
    ("MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ", 128),
    ("MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_RSEQ", 256),
    ("MEMBARRIER_CMD_GET_REGISTRATIONS", 512),
)
MEMBARRIER_FLAGS: Table = (("MEMBARRIER_CMD_FLAG_CPU", 1),)
PERSONALITY_TYPES: Table = (  # linux/personality.h: the low byte
    ("PER_LINUX", 0), ("PER_SVR4", 1), ("PER_SVR3", 2), ("PER_SCOSVR3", 3),
    ("PER_WYSEV386", 4), ("PER_ISCR4", 5), ("PER_BSD", 6), ("PER_XENIX", 7),
    ("PER_LINUX32", 8), ("PER_IRIX32", 9), ("PER_IRIXN32", 0xA), ("PER_IRIX64", 0xB),
    ("PER_RISCOS", 0xC), ("PER_SOLARIS", 0xD), ("PER_UW7", 0xE), ("PER_OSF4", 0xF),
    ("PER_HPUX", 0x10),
)
PERSONALITY_FLAGS: Table = (  # linux/personality.h
    ("UNAME26", 0x20000), ("ADDR_NO_RANDOMIZE", 0x40000), ("FDPIC_FUNCPTRS", 0x80000),
    ("MMAP_PAGE_ZERO", 0x100000), ("ADDR_COMPAT_LAYOUT", 0x200000),
    ("READ_IMPLIES_EXEC", 0x400000), ("ADDR_LIMIT_32BIT", 0x800000),
    ("SHORT_INODE", 0x1000000), ("WHOLE_SECONDS", 0x2000000), ("STICKY_TIMEOUTS", 0x4000000),
    ("ADDR_LIMIT_3GB", 0x8000000),
)
_PERSONALITY_TYPE_NAMES = _enum(PERSONALITY_TYPES)


def render_personality(value: int) -> str:
    """A persona as strace prints it: the type (``PER_LINUX``), then its flags
    (``PER_LINUX|ADDR_NO_RANDOMIZE``); 0xffffffff (the query) in hex."""
    value &= _MASK32
    if value == _MASK32:
        return hex(value)
    kind = value & 0xFF
    text = _PERSONALITY_TYPE_NAMES.get(kind) or f"{hex(kind)} /* PER_??? */"
    rest = value & ~0xFF
    return f"{text}|{render_flags(PERSONALITY_FLAGS, rest)}" if rest else text


FANOTIFY_CLASSES: Table = (  # linux/fanotify.h: fanotify_init's class, bits 2-3
    ("FAN_CLASS_NOTIF", 0), ("FAN_CLASS_CONTENT", 4), ("FAN_CLASS_PRE_CONTENT", 8),
)
FANOTIFY_INIT_FLAGS: Table = (  # linux/fanotify.h
    ("FAN_CLOEXEC", 1), ("FAN_NONBLOCK", 2), ("FAN_UNLIMITED_QUEUE", 0x10),
    ("FAN_UNLIMITED_MARKS", 0x20), ("FAN_ENABLE_AUDIT", 0x40), ("FAN_REPORT_PIDFD", 0x80),
    ("FAN_REPORT_TID", 0x100), ("FAN_REPORT_FID", 0x200), ("FAN_REPORT_DIR_FID", 0x400),
    ("FAN_REPORT_NAME", 0x800), ("FAN_REPORT_TARGET_FID", 0x1000),
)
FANOTIFY_MARK_FLAGS: Table = (  # linux/fanotify.h (FAN_MARK_INODE is 0)
    ("FAN_MARK_ADD", 1), ("FAN_MARK_REMOVE", 2), ("FAN_MARK_DONT_FOLLOW", 4),
    ("FAN_MARK_ONLYDIR", 8), ("FAN_MARK_MOUNT", 0x10), ("FAN_MARK_IGNORED_MASK", 0x20),
    ("FAN_MARK_IGNORED_SURV_MODIFY", 0x40), ("FAN_MARK_FLUSH", 0x80),
    ("FAN_MARK_FILESYSTEM", 0x100), ("FAN_MARK_EVICTABLE", 0x200), ("FAN_MARK_IGNORE", 0x400),
)
FANOTIFY_EVENTS: Table = (  # linux/fanotify.h, in strace's order (FAN_ONDIR first of the last)
    ("FAN_ACCESS", 1), ("FAN_MODIFY", 2), ("FAN_ATTRIB", 4), ("FAN_CLOSE_WRITE", 8),
    ("FAN_CLOSE_NOWRITE", 0x10), ("FAN_OPEN", 0x20), ("FAN_MOVED_FROM", 0x40),
    ("FAN_MOVED_TO", 0x80), ("FAN_CREATE", 0x100), ("FAN_DELETE", 0x200),
    ("FAN_DELETE_SELF", 0x400), ("FAN_MOVE_SELF", 0x800), ("FAN_OPEN_EXEC", 0x1000),
    ("FAN_Q_OVERFLOW", 0x4000), ("FAN_FS_ERROR", 0x8000), ("FAN_OPEN_PERM", 0x10000),
    ("FAN_ACCESS_PERM", 0x20000), ("FAN_OPEN_EXEC_PERM", 0x40000), ("FAN_RENAME", 0x10000000),
    ("FAN_ONDIR", 0x40000000), ("FAN_EVENT_ON_CHILD", 0x08000000),
)
_FANOTIFY_CLASS_NAMES = _enum(FANOTIFY_CLASSES)


def _fanotify_init_flags(value: int, abi: int) -> str:
    """fanotify_init's flags as strace prints them: the class first (``FAN_CLASS_NOTIF``
    for 0), then the flags; an unknown class ``0xc /* FAN_CLASS_??? */``."""
    value &= _MASK32
    kind = value & 0xC
    text = _FANOTIFY_CLASS_NAMES.get(kind) or f"{hex(kind)} /* FAN_CLASS_??? */"
    rest = value & ~0xC
    return f"{text}|{render_flags(FANOTIFY_INIT_FLAGS, rest)}" if rest else text


def _unknown_flags(table: Table, unknown: str, *, width32: bool = True) -> Decoder:
    """Flags as strace's printflags prints them (``render_flags_noting_unknown``): names,
    then the rest in hex; a value with no known bit ``0x80000000 /* FAN_MARK_??? */``."""

    def decode(value: int, abi: int) -> str | None:
        return render_flags_noting_unknown(table, value & _MASK32 if width32 else value,
                                           unknown)

    return decode


#: The register sets PTRACE_GETREGSET and PTRACE_SETREGSET name (elf.h's NT_*, strace's names).
NT_TYPES: Table = (
    ("NT_PRSTATUS", 1), ("NT_FPREGSET", 2), ("NT_PRPSINFO", 3), ("NT_AUXV", 6),
    ("NT_386_TLS", 0x200), ("NT_386_IOPERM", 0x201), ("NT_X86_XSTATE", 0x202),
    ("NT_SIGINFO", 0x53494749), ("NT_FILE", 0x46494C45), ("NT_PRXFPREG", 0x46E62B7F),
)
#: delete_module's flags: two open flags' bits, in strace's order (xlat/delete_module_flags.in)
DELETE_MODULE_FLAGS: Table = (("O_NONBLOCK", 0o4000), ("O_TRUNC", 0o1000))
_MPOL_MODE_NAMES = _enum(MPOL_MODES)
_MPOL_FLAG_BITS = (1 << 15) | (1 << 14) | (1 << 13)


def mpol_mode_name(value: int) -> str:
    """A NUMA memory policy mode as strace prints it: ``MPOL_BIND``,
    ``MPOL_BIND|MPOL_F_STATIC_NODES``, ``0x9 /* MPOL_??? */``."""
    value &= _MASK32
    mode, flags = value & ~_MPOL_FLAG_BITS, value & _MPOL_FLAG_BITS
    name = _MPOL_MODE_NAMES.get(mode)
    if not flags:
        return name if name is not None else f"{hex(value)} /* MPOL_??? */"
    if name is None:
        return render_flags(MPOL_MODE_FLAGS, value)
    return f"{name}|{render_flags(MPOL_MODE_FLAGS, flags)}"


_SCHED_POLICY_NAMES = _enum(SCHED_POLICIES)
_IOPRIO_CLASS_NAMES = _enum(IOPRIO_CLASSES)


def sched_policy_name(value: int) -> str | None:
    """A scheduling policy's name, or None. As strace, a policy with
    SCHED_RESET_ON_FORK or-ed in has none (it prints ``0x40000003 /* SCHED_??? */``)."""
    return _SCHED_POLICY_NAMES.get(value & _MASK32)


def _sched_policy(value: int, abi: int) -> str:
    name = sched_policy_name(value)
    return name if name is not None else f"{value & _MASK32:#x} /* SCHED_??? */"


def render_ioprio(value: int) -> str:
    """An I/O priority as strace prints it: ``IOPRIO_PRIO_VALUE(IOPRIO_CLASS_BE, 4)``."""
    value &= _MASK32
    klass, data = value >> _IOPRIO_CLASS_SHIFT, value & ((1 << _IOPRIO_CLASS_SHIFT) - 1)
    name = _IOPRIO_CLASS_NAMES.get(klass, f"{klass:#x} /* IOPRIO_CLASS_??? */")
    return f"IOPRIO_PRIO_VALUE({name}, {data})"


def _pipe_flags(value: int, abi: int) -> str:
    return render_flags(OPEN_FLAGS, value & _MASK32)


_DECODERS: dict[ArgKind, Decoder] = {
    ArgKind.FADVISE_ADVICE: _enum_decoder(FADVISE_ADVICE),
    ArgKind.GETRANDOM_FLAGS: _flags_decoder(GETRANDOM_FLAGS),
    ArgKind.EPOLL_FLAGS: _flags_decoder(EPOLL_FLAGS),
    ArgKind.EVENTFD_FLAGS: _flags_decoder(EVENTFD_FLAGS),
    ArgKind.SPLICE_FLAGS: _flags_decoder(SPLICE_FLAGS),
    ArgKind.WAITID_IDTYPE: _enum_decoder(WAITID_IDTYPES),
    ArgKind.ITIMER_WHICH: _enum_decoder(ITIMER_WHICH),
    ArgKind.TIMER_FLAGS: _flags_decoder(TIMER_FLAGS),
    ArgKind.FLOCK_OP: _flags_decoder(FLOCK_OPS),
    ArgKind.XATTR_FLAGS: _flags_decoder(XATTR_FLAGS),
    ArgKind.RUSAGE_WHO: _enum_decoder(RUSAGE_WHO, signed=True),
    ArgKind.STATX_MASK: _flags_decoder(STATX_MASK),
    ArgKind.PIPE_FLAGS: _pipe_flags,
    ArgKind.UMASK: lambda value, abi: render_umask(value),
    ArgKind.IPC_KEY: _ipc_key,
    ArgKind.TIMERFD_FLAGS: _flags_decoder(TIMERFD_FLAGS),
    ArgKind.SIGNALFD_FLAGS: _flags_decoder(SIGNALFD_FLAGS),
    ArgKind.INOTIFY_FLAGS: _flags_decoder(INOTIFY_FLAGS),
    ArgKind.MEMFD_FLAGS: _flags_decoder(MEMFD_FLAGS),
    ArgKind.CLOSE_RANGE_FLAGS: _flags_decoder(CLOSE_RANGE_FLAGS),
    ArgKind.INOTIFY_MASK: _flags_decoder(INOTIFY_MASK),
    ArgKind.IPC_FLAGS: _ipc_flags,
    ArgKind.OPEN_FLAGS: _field_flags_decoder(3, _OPEN_ACCESS, OPEN_FLAGS),
    ArgKind.MODE: _decode_mode,
    ArgKind.ACCESS_MODE: _flags_decoder(ACCESS_MODE, zero="F_OK"),
    ArgKind.DIRFD: _decode_dirfd,
    ArgKind.AT_FLAGS: _flags_decoder(AT_FLAGS),
    ArgKind.RENAME_FLAGS: _flags_decoder(RENAME_FLAGS),
    ArgKind.MOUNT_FLAGS: _decode_mount_flags,
    ArgKind.UMOUNT_FLAGS: _flags_decoder(UMOUNT_FLAGS),
    ArgKind.WHENCE: _enum_decoder(WHENCE),
    ArgKind.FCNTL_CMD: _decode_fcntl_cmd,
    ArgKind.IOCTL_REQUEST: _decode_ioctl,
    ArgKind.MMAP_PROT: _flags_decoder(MMAP_PROT, zero="PROT_NONE"),
    ArgKind.MMAP_FLAGS: _decode_mmap_flags,
    ArgKind.MREMAP_FLAGS: _flags_decoder(MREMAP_FLAGS),
    ArgKind.MADVISE_ADVICE: _enum_decoder(MADVISE_ADVICE),
    ArgKind.CLONE_FLAGS: _field_flags_decoder(
        _CSIGNAL, _SIGNAL_NAMES, CLONE_FLAGS, field_last=True
    ),
    ArgKind.WAIT_OPTIONS: _flags_decoder(WAIT_OPTIONS),
    ArgKind.SIGNAL: _decode_signal,
    ArgKind.SIGPROCMASK_HOW: _enum_decoder(SIGPROCMASK_HOW),
    ArgKind.CLOCK_ID: _decode_clock_id,
    ArgKind.FUTEX_OP: _decode_futex_op,
    ArgKind.PRCTL_OPTION: _enum_decoder(PRCTL_OPTIONS),
    ArgKind.ARCH_PRCTL_CODE: _enum_decoder(ARCH_PRCTL_CODES),
    ArgKind.EPOLL_CTL_OP: _enum_decoder(EPOLL_CTL_OPS),
    ArgKind.SOCKET_DOMAIN: _enum_decoder(SOCKET_DOMAINS),
    ArgKind.SOCKET_TYPE: _field_flags_decoder(0xF, _enum(SOCKET_TYPES), SOCKET_TYPE_FLAGS),
    ArgKind.SOCKOPT_LEVEL: _enum_decoder(SOCKOPT_LEVELS, signed=True),
    ArgKind.MSG_FLAGS: _flags_decoder(MSG_FLAGS),
    ArgKind.SHUTDOWN_HOW: _enum_decoder(SHUTDOWN_HOW),
    ArgKind.SOCKETCALL_CALL: _decode_socketcall,
    ArgKind.RLIMIT_RESOURCE: _enum_decoder(RLIMIT_RESOURCES),
    ArgKind.PRIO_WHICH: _enum_decoder(PRIO_WHICH),
    ArgKind.SCHED_POLICY: _sched_policy,
    ArgKind.IOPRIO_WHICH: _enum_decoder(IOPRIO_WHICH),
    ArgKind.IOPRIO: lambda value, abi: render_ioprio(value),
    ArgKind.MSYNC_FLAGS: _flags_decoder(MSYNC_FLAGS),
    ArgKind.MSGFLG: _flags_decoder(MSGFLG),
    ArgKind.SHMAT_FLAGS: _flags_decoder(SHMAT_FLAGS),
    ArgKind.MPOL_MODE: lambda value, abi: mpol_mode_name(value),
    ArgKind.GET_MEMPOLICY_FLAGS: _flags_decoder(GET_MEMPOLICY_FLAGS),
    ArgKind.MBIND_FLAGS: _flags_decoder(MBIND_FLAGS),
    ArgKind.DELETE_MODULE_FLAGS: _flags_decoder(DELETE_MODULE_FLAGS),
    ArgKind.KEY_SERIAL: _enum_decoder(KEY_SPECS, signed=True),
    ArgKind.KEXEC_FILE_FLAGS: _flags_decoder(KEXEC_FILE_FLAGS, width32=False),
    ArgKind.KEYCTL_CMD: _enum_decoder(KEYCTL_COMMANDS, signed=True),
    ArgKind.SECCOMP_OP: _enum_decoder(SECCOMP_OPS),
    ArgKind.SECCOMP_FLAGS: _flags_decoder(SECCOMP_FILTER_FLAGS),
    ArgKind.MLOCK_FLAGS: _flags_decoder(MLOCK_FLAGS),
    ArgKind.MLOCKALL_FLAGS: _flags_decoder(MLOCKALL_FLAGS),
    ArgKind.BPF_CMD: _enum_decoder(BPF_COMMANDS),
    ArgKind.LANDLOCK_RULESET_FLAGS: _flags_decoder(LANDLOCK_RULESET_FLAGS),
    ArgKind.PTRACE_REQUEST: _enum_decoder(PTRACE_REQUESTS),
    ArgKind.KCMP_TYPE: _enum_decoder(KCMP_TYPES),
    ArgKind.MEMBARRIER_CMD: _enum_decoder(MEMBARRIER_COMMANDS),
    ArgKind.MEMBARRIER_FLAGS: _flags_decoder(MEMBARRIER_FLAGS),
    ArgKind.PERSONALITY: lambda value, abi: render_personality(value),
    ArgKind.FANOTIFY_INIT_FLAGS: _fanotify_init_flags,
    ArgKind.FANOTIFY_MARK_FLAGS: _unknown_flags(FANOTIFY_MARK_FLAGS, "FAN_MARK_???"),
    ArgKind.FANOTIFY_MASK: _unknown_flags(FANOTIFY_EVENTS, "FAN_???", width32=False),
}

# Arguments whose meaning depends on another argument or on the call:
# decode_arguments consults these.
def _statx_flags(value: int, abi: int) -> str:
    """statx's flags as strace prints them: the sync type first (0 is AT_STATX_SYNC_AS_STAT)."""
    value &= _MASK32
    sync = {0: "AT_STATX_SYNC_AS_STAT", 0x2000: "AT_STATX_FORCE_SYNC",
            0x4000: "AT_STATX_DONT_SYNC"}.get(value & 0x6000, "0x6000")
    rest = value & ~0x6000
    return sync if not rest else f"{sync}|{render_flags(AT_FLAGS, rest)}"


_BY_CALL: dict[tuple[str, ArgKind], Decoder] = {
    ("statx", ArgKind.AT_FLAGS): _statx_flags,
    **{(call, ArgKind.IPC_CMD): _ipc_command(call) for call in _IPC_COMMANDS},
    ("faccessat2", ArgKind.AT_FLAGS): _flags_decoder(_AT_FLAGS_EACCESS),
}
_FCNTL_ARGUMENT: dict[int, Decoder] = {
    2: _flags_decoder(FD_FLAGS),  # F_SETFD
    4: _DECODERS[ArgKind.OPEN_FLAGS],  # F_SETFL
    10: _decode_signal,  # F_SETSIG
    1024: _enum_decoder(LOCK_TYPES),  # F_SETLEASE
    1026: _flags_decoder(NOTIFY_FLAGS),  # F_NOTIFY
    1033: _flags_decoder(SEALS),  # F_ADD_SEALS
}


def decoder_for(kind: ArgKind) -> Decoder | None:
    """The renderer for ``kind`` (call it as ``decoder(value, abi)``), or None if it has none.

    For a describer that binds the decoders of a signature once and reuses them.
    """
    return _DECODERS.get(kind)


def decode_argument(kind: ArgKind, value: int, abi: int) -> str | None:
    """``value`` of an argument of ``kind`` rendered symbolically, or None to print the number."""
    decoder = _DECODERS.get(kind)
    return None if decoder is None else decoder(value, abi)


class _Plan(NamedTuple):
    """How to decode one signature's arguments, worked out once per signature."""

    signature: Signature  # kept so the id() key stays this signature's
    decoders: tuple[Decoder | None, ...]
    level_index: int | None  # the SOCKOPT_LEVEL argument
    name_index: int | None  # the SOCKOPT_NAME it names
    fcntl_index: int | None  # the FCNTL_CMD whose next argument depends on it


_plans: dict[int, _Plan] = {}


def _plan(signature: Signature) -> _Plan:
    # Keyed by id(): hashing a signature (and its enum members) costs more
    # than decoding; signatures are long-lived constants.
    plan = _plans.get(id(signature))
    if plan is None or plan.signature is not signature:
        kinds = [arg.kind for arg in signature.args]
        decoders = tuple(_BY_CALL.get((signature.name, kind)) or _DECODERS.get(kind)
                         for kind in kinds)

        def index_of(kind: ArgKind) -> int | None:
            return kinds.index(kind) if kind in kinds else None

        plan = _Plan(signature, decoders, index_of(ArgKind.SOCKOPT_LEVEL),
                     index_of(ArgKind.SOCKOPT_NAME), index_of(ArgKind.FCNTL_CMD))
        if len(_plans) >= _CACHE_LIMIT:
            _plans.clear()
        _plans[id(signature)] = plan
    return plan


def decode_arguments(signature: Signature, values: Sequence[int], abi: int) -> list[str | None]:
    """Every argument of a call, as ``decode_argument`` renders it, with context applied.

    Context: a SOCKOPT_NAME is named by the call's SOCKOPT_LEVEL argument;
    fcntl's third argument by its command (F_SETFL: open flags, F_SETFD:
    FD_CLOEXEC, F_SETSIG: a signal, F_ADD_SEALS: seals, ...); faccessat2's
    0x200 is AT_EACCESS. One entry per argument of the
    signature (None where ``values`` is short or nothing applies).
    """
    plan = _plan(signature)
    count = min(len(values), len(plan.decoders))
    rendered: list[str | None] = [None] * len(plan.decoders)
    for index in range(count):
        decoder = plan.decoders[index]
        if decoder is not None:
            rendered[index] = decoder(values[index], abi)
    level, name = plan.level_index, plan.name_index
    if level is not None and name is not None and max(level, name) < count:
        rendered[name] = decode_sockopt_name(values[level], values[name])
    command = plan.fcntl_index
    if command is not None and command + 1 < count:
        argument_decoder = _FCNTL_ARGUMENT.get(values[command] & _MASK32)
        if argument_decoder is not None:
            rendered[command + 1] = argument_decoder(values[command + 1], abi)
    return rendered
