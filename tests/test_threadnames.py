"""ThreadNames: a thread's name at a time, from COMM and FORK records given out of order.

End to end (real programs renaming themselves on both CPUs) in test_perf_record.py and
test_sampling.py; here the orders the rings can hand records in, by hand.
"""

from __future__ import annotations

import time

from ktr._threadnames import FINAL, ThreadNames


def test_a_rename_names_records_by_their_time_whatever_order_it_came_in() -> None:
    names = ThreadNames()
    names.start(10, b"first")
    names.apply([(3_000, 10, b"third"), (2_000, 10, b"second")], [])
    assert [names.at(10, t) for t in (1_000, 2_000, 2_500, 3_000, 9_000)] == [
        b"first", b"second", b"second", b"third", b"third"]
    names.apply([(2_500, 10, b"between")], [])  # a later drain, an earlier rename
    assert names.at(10, 2_700) == b"between" and names.at(10, 3_100) == b"third"
    names.settle(FINAL)
    assert 10 not in names.changing and names.at(10, 1_000) == b"third"


def test_a_new_thread_has_its_creators_name_at_the_fork() -> None:
    names = ThreadNames()
    names.start(20, b"parent")
    names.start(21, b"stale")  # the control loop did not see the parent's rename
    # the parent's rename (one ring) and the fork after it (another ring)
    names.apply([(1_000, 20, b"renamed")], [(1_500, 21, 20)])
    assert names.at(21, 2_000) == b"renamed"
    names.apply([(3_000, 21, b"own")], [])
    assert (names.at(21, 2_000), names.at(21, 3_000)) == (b"renamed", b"own")


def test_a_fork_read_before_the_thread_is_announced_keeps_its_name() -> None:
    names = ThreadNames()
    names.start(30, b"parent")
    names.apply([(500, 30, b"renamed")], [(time.monotonic_ns(), 31, 30)])
    names.start(31, b"stale")
    assert names.latest(31) == b"renamed"


def test_a_reused_tid_starts_afresh() -> None:
    names = ThreadNames()
    names.start(40, b"old")
    names.apply([(time.monotonic_ns() + 10**9, 40, b"old2")], [])
    names.start(40, b"new")  # the former thread with that tid is gone
    assert names.at(40, FINAL - 1) == b"new" and 40 not in names.changing


def test_an_unwatched_creator_leaves_the_control_loops_name() -> None:
    names = ThreadNames()
    names.start(51, b"loop")
    names.apply([], [(1_000, 51, 50)])
    assert names.at(51, 2_000) == b"loop"
