"""``ktr record -P`` takes a C++ function by its demangled name (tester finding F8).

Names are shown demangled everywhere (``formats.demangle``), but ``-P`` took only the
name the binary spells (``_ZN2ns3fooEi``): ``-P './prog:ns::foo(int)'`` was refused
("unknown type 'int'") and a glob over demangled names (``'./prog:ns::*'``) matched
nothing. Now a spec's name matches demangled names too, whole or without the parameter
list (where it must name one function: overloads are one line of error), and a glob
matches them, besides the raw names. Oracle: binutils' ``nm`` and ``nm -C`` on a
g++-built program (which raw name is which demangled one).
"""

from __future__ import annotations

import fnmatch
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM_CC = r"""
namespace ns {
__attribute__((noinline)) int foo(int x) { return x + 1; }
__attribute__((noinline)) double foo(double x) { return x * 2; }
__attribute__((noinline)) int bar(int x) { return x * 3; }
struct A { __attribute__((noinline)) int get() const { return v; } int v = 4; };
}
__attribute__((noinline)) int plain(int x) { return x - 1; }
int main(int argc, char **) {
  ns::A a;
  volatile int r = ns::foo(argc + 6) + (int)ns::foo(1.5) + ns::bar(argc) + a.get()
                   + plain(argc);
  return r == 0;
}
"""


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The binary, and its functions' demangled names (``nm -C``) -> raw (``nm``)."""
    compiler = shutil.which("g++")
    if compiler is None or shutil.which("nm") is None or shutil.which("c++filt") is None:
        pytest.skip("g++ or binutils (nm, c++filt) not installed")
    directory = tmp_path_factory.mktemp("cxxprobe")
    (directory / "p.cc").write_text(PROGRAM_CC)
    binary = directory / "prog"
    subprocess.run([compiler, "-O1", "-o", str(binary), str(directory / "p.cc")],
                   check=True, capture_output=True, timeout=120)

    def functions(*flags: str) -> dict[str, str]:
        out = subprocess.run(["nm", "--defined-only", *flags, str(binary)], check=True,
                             capture_output=True, text=True, timeout=30).stdout
        return {parts[0]: parts[2] for parts in (line.split(maxsplit=2)
                                                  for line in out.splitlines())
                if len(parts) == 3 and parts[1] in "TtWw"}

    raw, shown = functions(), functions("-C")
    names = {shown[address]: raw[address] for address in raw}
    assert names["ns::foo(int)"] == "_ZN2ns3fooEi"  # (the oracle's own sanity)
    return binary, names


def _record(binary: Path, tmp_path: Path, *specs: str) -> subprocess.CompletedProcess[str]:
    probes = [item for spec in specs for item in ("-P", spec)]
    return subprocess.run([KTR, "record", "-q", "-t", "f", "-o", str(tmp_path / "t.ktr"),
                           *probes, "--", str(binary)], capture_output=True, text=True,
                          timeout=60, cwd=binary.parent)


def _probed(tmp_path: Path) -> tuple[set[str], list[dict[str, object]]]:
    """The raw names the PDEF records define, and the PROBE records."""
    done = subprocess.run([KTRDUMP, "--no-demangle", "--json", "-t", "f",
                           str(tmp_path / "t.ktr")], capture_output=True, text=True,
                          timeout=60, check=True)
    records = [json.loads(line) for line in done.stdout.splitlines()]
    return ({str(r["function"]) for r in records if r["type"] == "PDEF"},
            [r for r in records if r["type"] == "PROBE"])


def test_a_demangled_name_with_its_parameters_probes_that_overload(
        program: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    binary, names = program
    done = _record(binary, tmp_path, f"{binary}:ns::foo(int)(i32)")
    assert done.returncode == 0, done.stderr
    defined, hits = _probed(tmp_path)
    assert defined == {names["ns::foo(int)"]}
    assert [hit["args"] for hit in hits] == [[7]]  # foo(argc + 6), argc 1


@pytest.mark.parametrize("pattern", ["ns::*", "ns::foo(*)", "*::get() const"])
def test_a_glob_matches_demangled_names_as_nm_c_shows_them(
        program: tuple[Path, dict[str, str]], tmp_path: Path, pattern: str) -> None:
    binary, names = program
    expected = {raw for shown, raw in names.items() if fnmatch.fnmatchcase(shown, pattern)}
    assert expected  # (not vacuous)
    done = _record(binary, tmp_path, f"./prog:{pattern}")
    assert done.returncode == 0, done.stderr
    assert _probed(tmp_path)[0] == expected


def test_a_name_without_parameters_takes_its_one_function_and_raw_names_still_work(
        program: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    binary, names = program
    done = _record(binary, tmp_path, "./prog:ns::bar", f"./prog:{names['ns::foo(double)']}",
                   "./prog:plain")
    assert done.returncode == 0, done.stderr
    assert _probed(tmp_path)[0] == {names["ns::bar(int)"], names["ns::foo(double)"],
                                    "_Z5plaini"}


@pytest.mark.parametrize(("spec", "words"), [
    ("./prog:ns::foo", ["'ns::foo' names 2 functions", "ns::foo(double), ns::foo(int)"]),
    ("./prog:ns::nothere(int)", ["no function named 'ns::nothere(int)'"]),
    ("./prog:ns::foo(long)", ["no function named 'ns::foo(long)'"]),
])
def test_an_ambiguous_or_unknown_name_is_one_line(
        program: tuple[Path, dict[str, str]], tmp_path: Path, spec: str,
        words: list[str]) -> None:
    binary, _ = program
    done = _record(binary, tmp_path, spec)
    assert done.returncode == 1
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(word in done.stderr for word in words), done.stderr
    assert not (tmp_path / "t.ktr").exists()


@pytest.mark.parametrize("pattern", ["ns::*", "ns::foo"])
def test_list_probes_takes_demangled_names_as_p_does(
        program: tuple[Path, dict[str, str]], pattern: str) -> None:
    """``--list-probes MODULE GLOB`` lists the functions ``-P`` would match by their
    demangled names (a name without its parameters: every overload); it said "no
    function matches". Each line: the raw name, then (fifth column) ``nm -C``'s."""
    binary, names = program
    done = subprocess.run([KTR, "record", "--list-probes", str(binary), pattern],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    listed = {line.split("\t")[0].split(":", 1)[1]: line.split("\t")[4]
              for line in done.stdout.splitlines()}
    expected = {raw: shown for shown, raw in names.items()
                if fnmatch.fnmatchcase(shown, pattern) or shown.startswith(pattern + "(")}
    assert expected and listed == expected
