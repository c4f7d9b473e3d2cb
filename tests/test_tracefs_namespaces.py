"""Stale uprobe groups are judged only in the pid namespace their owner pid belongs to,
and an owner pid a later process reuses is gone.

tracefs is one per kernel and every container on it sees it; a recorder pid
from another container's pid namespace means nothing here (it may name no
process, or another one). A group named with another namespace, whose pid is
dead here, must survive ``clean_stale_groups``; one of this namespace whose
owner is gone is removed. Real uprobes on /bin/true in the real tracefs.
"""

from __future__ import annotations

import contextlib
import subprocess

import pytest

from ktr._procfs import pid_namespace, start_ticks
from ktr._tracefs import (
    TracefsError,
    UprobeDefinition,
    UprobeGroup,
    clean_stale_groups,
    find_tracefs,
    group_namespace,
    list_uprobe_events,
)

TARGET = "/bin/true"


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_a_group_of_another_pid_namespace_is_never_taken_as_stale() -> None:
    try:
        root = find_tracefs()
    except TracefsError as error:
        pytest.skip(f"no tracefs: {error}")
    here = pid_namespace()
    assert here is not None
    dead = _dead_pid()
    probe = UprobeDefinition("hfix_ns", TARGET, 0x1000, False)
    ours = UprobeGroup(root, owner_pid=dead)
    theirs = UprobeGroup(root, owner_pid=dead)
    # The same dead pid, taken in another container's pid namespace.
    theirs.name = f"ktr_{dead}_{here + 1}_{theirs.name.rsplit('_', 1)[1]}"
    try:
        ours.define([probe])
        theirs.define([probe])
        assert group_namespace(ours.name) == here
        cleaned = clean_stale_groups(root)
        groups = {line.split()[0].split(":", 1)[1].split("/")[0]
                  for line in list_uprobe_events(root)}
        assert ours.name in cleaned and ours.name not in groups
        assert theirs.name not in cleaned and theirs.name in groups
    finally:
        for group in (ours, theirs):
            with contextlib.suppress(Exception):
                group.close()


def test_an_owner_pid_reused_by_a_later_process_is_taken_as_gone() -> None:
    try:
        root = find_tracefs()
    except TracefsError as error:
        pytest.skip(f"no tracefs: {error}")
    live = subprocess.Popen(["sleep", "60"])
    probe = UprobeDefinition("hfix_reuse", TARGET, 0x1000, False)
    owner = UprobeGroup(root, owner_pid=live.pid)  # named with its real start time
    reused = UprobeGroup(root, owner_pid=live.pid)
    pid, namespace, started, token = reused.name.removeprefix("ktr_").split("_")
    assert int(started) == start_ticks(live.pid) and int(namespace) == pid_namespace()
    # The same pid, as a recorder that started earlier and died would have named it.
    reused.name = f"ktr_{pid}_{namespace}_{int(started) - 1}_{token}"
    try:
        owner.define([probe])
        reused.define([probe])
        cleaned = clean_stale_groups(root)
        groups = {line.split()[0].split(":", 1)[1].split("/")[0]
                  for line in list_uprobe_events(root)}
        assert reused.name in cleaned and reused.name not in groups
        assert owner.name not in cleaned and owner.name in groups
    finally:
        for group in (owner, reused):
            with contextlib.suppress(Exception):
                group.close()
        live.kill()
        live.wait()
