"""Both commands' --help: every option says its default, every facility letter is explained."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

import formats
import ktr
import ktrdump
from ktr import _options as record_options
from ktrdump import cli as dump_cli


def _parsers() -> list[argparse.ArgumentParser]:
    return [record_options._build_parser(), dump_cli._parser()]


def _has_default(action: argparse.Action) -> bool:
    if action.default in (None, False, argparse.SUPPRESS) or action.default == []:
        return False
    return not isinstance(action, argparse._StoreTrueAction | argparse._StoreFalseAction)


@pytest.mark.parametrize("parser", _parsers(), ids=["ktr record", "ktrdump"])
def test_every_option_with_a_default_says_it(parser: argparse.ArgumentParser) -> None:
    checked = 0
    for action in parser._actions:
        assert action.help, f"{action.option_strings or action.dest} has no help"
        if isinstance(action, argparse._StoreConstAction):
            continue
        if _has_default(action) or action.dest in ("expression", "facilities", "max_data",
                                                   "output_format", "columns", "files"):
            assert "default" in action.help, f"{action.option_strings or action.dest}"
            checked += 1
    assert checked >= 5


def test_every_facility_letter_is_explained() -> None:
    assert set(formats.FACILITY_HELP) == set(formats.FACILITY_KINDS)
    record_help = record_options._build_parser().format_help()
    dump_help = dump_cli._parser().format_help()
    for letter, text in formats.FACILITY_HELP.items():
        assert f"  {letter}  {text}" in record_help
        assert f"  {letter}  {text}" in dump_help


@pytest.mark.parametrize("module, version", [("ktr", ktr.__version__),
                                             ("ktrdump", ktrdump.__version__)])
def test_python_m_and_version(module: str, version: str) -> None:
    done = subprocess.run([sys.executable, "-m", module, "--version"], capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{module} {version}"
    helped = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True,
                            text=True, timeout=60, check=False)
    assert helped.returncode == 0 and "usage:" in helped.stdout


def test_ktr_without_arguments_is_a_usage_error_listing_every_record_option() -> None:
    """As argparse's usage errors: on stderr, status 2; every ``ktr record``
    option, those of the perf sources too."""
    from ktr._options import _build_parser

    done = subprocess.run([sys.executable, "-m", "ktr"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    actions = [action.option_strings for action in _build_parser()._actions
               if action.option_strings]
    named = {option for strings in actions for option in strings}
    assert {"-F", "-P", "--list-probes", "--list-counters", "--stack-bytes"} <= named
    shown = set(done.stderr.replace("[", " ").replace("]", " ").replace("|", " ").split())
    missing = [strings for strings in actions if not set(strings) & shown]
    assert missing == [], done.stderr
    assert "ktr record --help" in done.stderr


def test_ktrdump_description_names_every_output() -> None:
    """``ktrdump --help`` says what each ``--format`` writes, and the summary."""
    done = subprocess.run([sys.executable, "-m", "ktrdump", "--help"], capture_output=True,
                          text=True, timeout=60, check=True)
    description = done.stdout.split("\n\n")[1]
    listed = [line.split()[0] for line in description.splitlines()[1:]]
    assert listed == list(dump_cli._parser()._option_string_actions["--format"].choices or ())
    assert "--summary" in done.stdout.split("\n\n")[2]
    for words in ("JSON Lines", "strace", "Chrome Trace Event", "flame graphs", "Parquet"):
        assert words in description
