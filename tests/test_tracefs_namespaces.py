"""Stale uprobe groups are judged only in the pid namespace their owner pid belongs to.

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

from ktr._procfs import pid_namespace
from ktr._tracefs import (
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
    except Exception as error:
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
