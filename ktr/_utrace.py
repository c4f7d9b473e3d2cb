"""``ktr.utrace``: let a traced program write its own USER records (ktrace's utrace).

The convention, usable from any language: call syscall number 0x6b7472
("ktr") with three arguments — a pointer to a NUL-terminated label (at most
255 bytes are kept), a pointer to the data, and the data's length (at most
64 KiB are kept). Under ``ktr record`` (facility ``u``) the recorder turns the
call into a USER record; without a tracer the kernel fails it with ENOSYS and
nothing else happens. In C::

    #include <sys/syscall.h>
    #include <unistd.h>
    #define KTR_UTRACE 0x6b7472
    syscall(KTR_UTRACE, "phase", "start", 5);   /* returns -1, errno ENOSYS */

The return value does not say whether the record was written.

Guarantees: never raises for a missing tracer; safe to call from any thread.
"""

from __future__ import annotations

import ctypes

#: The syscall number ``ktr.utrace`` calls ("ktr" in ASCII): far past any real
#: syscall on every ABI, so untraced it fails with ENOSYS and traced it becomes
#: a USER record.
UTRACE_SYSCALL = 0x6B7472

# The C library through the process's own symbol table (dlopen(NULL)), not
# ctypes.util.find_library: that runs ldconfig in a subprocess, and every
# ``import ktr`` (the recorder's start-up among them) would pay for it.
_libc = ctypes.CDLL(None, use_errno=True)
_syscall = _libc.syscall
_syscall.restype = ctypes.c_long
_syscall.argtypes = [ctypes.c_long, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]


def utrace(label: str | bytes, data: bytes | str = b"") -> None:
    """Write a USER record with ``label`` and ``data`` if the process is being recorded."""
    label_bytes = label.encode() if isinstance(label, str) else label
    data_bytes = data.encode() if isinstance(data, str) else data
    _syscall(UTRACE_SYSCALL, label_bytes.replace(b"\0", b""), data_bytes, len(data_bytes))
