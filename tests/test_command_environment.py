"""The started command gets ktr's environment as ktr was given it, under any locale.

Under a C or POSIX locale (cron, systemd, ``env -i``, a container without LANG) the
interpreter's start-up sets LC_CTYPE=C.UTF-8 in its own environment (PEP 538's locale
coercion), and the command ``ktr record`` started inherited it: ``env`` printed a
variable the user never set, and the program's locale changed. Oracle: ``env`` run
without ktr, with the same environment; and the ENV records of the trace.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

KTR = [sys.executable, "-m", "ktr"]
KTRDUMP = [sys.executable, "-m", "ktrdump"]
ENV = "/usr/bin/env"


@pytest.mark.parametrize("locale", [None, "C", "POSIX", "C.UTF-8"])
def test_the_command_inherits_the_environment_unchanged(tmp_path: Path,
                                                        locale: str | None) -> None:
    environment = {"PATH": os.environ.get("PATH", os.defpath), "KTR_TEST_MARK": "1"}
    if locale is not None:
        environment["LC_CTYPE"] = locale
    untraced = subprocess.run([ENV], env=environment, capture_output=True, check=True)
    out = tmp_path / "env.ktr"
    traced = subprocess.run([*KTR, "record", "-q", "-t", "+v", "-o", str(out), "--", ENV],
                            env=environment, capture_output=True, timeout=60)
    assert traced.returncode == 0, traced.stderr
    assert traced.stdout.splitlines() == untraced.stdout.splitlines()
    dump = subprocess.run([*KTRDUMP, "--json", "-t", "v", str(out)], capture_output=True,
                          text=True, check=True)
    recorded = [variable for line in dump.stdout.splitlines()
                for variable in json.loads(line).get("env", ())]
    assert sorted(recorded) == sorted(untraced.stdout.decode().splitlines())
