"""ktrdump's options: one frozen value built from the command line (or by a caller).

Guarantees: an ``Options`` is immutable and complete; every stage of the
pipeline (reader, filter, describe, output) takes what it needs from it.
Does not: parse the command line (``cli``) or validate file names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OutputFormat = Literal["text", "json"]
Timestamps = Literal["none", "absolute", "relative", "elapsed"]

DEFAULT_INPUT = "ktr.out"
#: kdump's screen width: data dumps wrap to fit in it.
DEFAULT_WIDTH = 80


@dataclass(frozen=True)
class Options:
    input: str = DEFAULT_INPUT  # a path, or "-" for standard input
    output_format: OutputFormat = "text"
    hex_dump: bool = False  # -x: I/O data as a hex dump rather than escaped text
    timestamps: Timestamps = "none"  # -T absolute, -R since the previous record, -E since the first
    thread_ids: bool = False  # -H: show the thread id after the pid
    pids: frozenset[int] = frozenset()  # -p: only these processes (DROP records always shown)
    kinds: frozenset[int] | None = None  # -t: only these record kinds (DROP always shown)
    max_data: int | None = None  # -m: show at most this many bytes of I/O data (text only)
    width: int = DEFAULT_WIDTH
