"""Which records an output shows: kdump's ``-p``, ``-t`` and ``-u`` (OpenBSD's), as one predicate.

Guarantees: DROP records are always shown (nothing is lost silently);
``-p`` keeps records whose process *or* thread id is listed (FreeBSD's
meaning); ``-t`` keeps the record kinds of the given facilities; ``-u``
keeps only USER records whose label is listed (and DROP), whatever ``-t``
says. The predicate decides what is *shown*: it is the call layer's
``keep`` (``_calls.CallTracker``), which still takes every record, so a CALL
shows its path even when NAMI lines are filtered out, fd tables see every
process and call ids count every call. The call filters (``_select``) are
and-ed in by ``record_filter(options, selector.keep)``.

Does not: read anything or keep state.
"""

from __future__ import annotations

from collections.abc import Callable

from formats import Record, RecordKind

from ._options import Options

_DROP = int(RecordKind.DROP)
_USER = int(RecordKind.USER)

#: Records that name or symbolize others (probe definitions, memory maps): a
#: view that uses them takes them whatever the filter shows, as a probe or
#: sample that is shown needs them (the summary, Chrome, ``-t S``).
CONTEXT_KINDS = frozenset({int(RecordKind.PROBE_DEF), int(RecordKind.MMAP)})


Predicate = Callable[[Record], bool]


def record_filter(options: Options, selected: Predicate | None = None) -> Predicate | None:
    """The records ``-p``/``-t``/``-u`` keep; None when every record is kept.

    ``selected``: the call filters' verdict (``_select.Selector.keep``), and-ed in.
    """
    pids = options.pids
    kinds = options.kinds
    labels = options.user_labels
    if not pids and kinds is None and labels is None:
        return selected
    if selected is not None:
        base = record_filter(options)
        assert base is not None
        return lambda record: selected(record) and base(record)

    def keep(record: Record) -> bool:
        kind = record[0]
        if kind == _DROP:
            return True
        if pids and record[2] not in pids and record[3] not in pids:
            return False
        if labels is not None:
            return kind == _USER and record[6].label in labels  # type: ignore[union-attr]
        return kinds is None or kind in kinds

    return keep
