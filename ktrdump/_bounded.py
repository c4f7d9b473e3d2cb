"""Bounded dicts for ktrdump's caches and per-thread state.

A trace chooses its own keys (pids, tids, syscall numbers, errnos, command
names), so any dict keyed by them grows with the trace unless bounded;
a crafted file can make every record a new key.

- ``Cache``: a memo of values that can be computed again; emptied when it
  reaches its limit (cheaper than LRU bookkeeping on every hit, and a trace
  that fits is never affected).
- ``Table``: state per thread or process (a call in progress, a name last
  seen); at most ``limit`` entries, the oldest-inserted goes first when a new
  key comes (``evicted`` counts them). Real traces never reach the limit;
  past it, the output degrades (a RET without its CALL, a name shown again)
  instead of memory growing.

Guarantees: ``len()`` never exceeds ``limit``; reads cost what a dict's cost.
Only ``d[key] = value`` is bounded: callers do not use ``setdefault`` or
``update`` on these.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")

#: Default size of a cache (values recomputed after it is emptied).
CACHE_LIMIT = 4096
#: Default size of a per-thread or per-process table.
TABLE_LIMIT = 1 << 16


class Cache(dict[K, V]):
    __slots__ = ("limit",)

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        super().__init__()
        self.limit = limit

    def __setitem__(self, key: K, value: V) -> None:
        if len(self) >= self.limit and key not in self:
            self.clear()
        dict.__setitem__(self, key, value)


class Table(OrderedDict[K, V]):
    def __init__(self, limit: int = TABLE_LIMIT) -> None:
        super().__init__()
        self.limit = limit
        self.evicted = 0

    def __setitem__(self, key: K, value: V) -> None:
        if len(self) >= self.limit and key not in self:
            self.popitem(last=False)
            self.evicted += 1
        OrderedDict.__setitem__(self, key, value)
