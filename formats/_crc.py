"""CRC-32 algebra: the checksum of a slice from checksums of prefixes.

A reader resynchronising past damage checks the payload checksum of every
candidate batch header; computing each one afresh costs the payload's length,
so crafted overlapping headers would cost headers x size. With prefix
checksums ``P(x) = crc32(data[o:x])`` kept at a few points, the checksum of
``data[s:e]`` is ``P(e) ^ shift(P(s), e - s)``: ``shift`` is zlib's
``crc32_combine`` with an empty second part, logarithmic in the length.

Guarantees: ``crc32_shift`` equals zlib's ``crc32_combine(crc, 0, length)`` for
every input (zlib's own through ctypes when the C library is loadable, the
same algorithm in Python otherwise); ``slice_crc32`` is exact.

Does not: read data or keep state.
"""

from __future__ import annotations

from collections.abc import Callable

_POLY = 0xEDB88320  # CRC-32 (ISO-HDLC), reflected


def _multiply(a: int, b: int) -> int:
    """a(x) * b(x) modulo the CRC polynomial (reflected bit order), as zlib's multmodp."""
    m = 1 << 31
    product = 0
    while True:
        if a & m:
            product ^= b
            if (a & (m - 1)) == 0:
                return product
        m >>= 1
        b = (b >> 1) ^ _POLY if b & 1 else b >> 1


# x^(2^k) modulo the polynomial, k = 0..31 (zlib's x2n_table).
_X2N: list[int] = []
_p = 1 << 30  # x^1
for _ in range(32):
    _X2N.append(_p)
    _p = _multiply(_p, _p)


def _shift_python(crc: int, length: int) -> int:
    # x^(8 * length): the bytes of length zero bits pushed through the register.
    power = 1 << 31  # x^0
    k = 3
    n = length
    while n:
        if n & 1:
            power = _multiply(_X2N[k & 31], power)
        n >>= 1
        k += 1
    return _multiply(power, crc) if crc else 0


def _load_zlib_shift() -> Callable[[int, int], int] | None:
    import ctypes  # here: only a reader resynchronising past damage needs zlib's shift
    import ctypes.util

    # The usual soname first: find_library runs ldconfig in a subprocess,
    # a cost every start of the recorder would pay.
    try:
        combine = ctypes.CDLL("libz.so.1").crc32_combine
    except (OSError, AttributeError):
        name = ctypes.util.find_library("z")
        if name is None:
            return None
        try:
            combine = ctypes.CDLL(name).crc32_combine
        except (OSError, AttributeError):
            return None
    combine.restype = ctypes.c_ulong
    combine.argtypes = [ctypes.c_ulong, ctypes.c_ulong, ctypes.c_long]

    def shift(crc: int, length: int) -> int:
        return int(combine(crc, 0, length)) & 0xFFFFFFFF

    return shift


def _first_shift(crc: int, length: int) -> int:
    """Load zlib's at the first use, not at import: ``find_library`` runs
    ``ldconfig``, which every program importing ``formats`` would pay for, and
    only a reader resynchronising past damage needs a shift."""
    global _shift
    _shift = _load_zlib_shift() or _shift_python
    return _shift(crc, length)


_shift: Callable[[int, int], int] = _first_shift


def crc32_shift(crc: int, length: int) -> int:
    """``crc32(A + B)`` for ``crc = crc32(A)`` and any ``B`` of ``length`` bytes whose CRC is 0."""
    return _shift(crc, length)


def slice_crc32(prefix_at_start: int, prefix_at_end: int, length: int) -> int:
    """``crc32(data[s:e])`` from ``crc32(data[o:s])``, ``crc32(data[o:e])`` and ``e - s``."""
    return prefix_at_end ^ _shift(prefix_at_start, length)
