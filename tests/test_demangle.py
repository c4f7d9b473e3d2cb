"""C++ names shown demangled (tester finding F7), raw with ``ktrdump --no-demangle``.

A g++-built program burns CPU in a namespaced function (``ns::burn(int)``) and in a
template's method (``ns::W<long>::go(int)``), each for ~150 ms of its thread's CPU
(its own clock: the sample count does not depend on the load); ``ns::burn`` is
probed (``-P`` with its mangled name). The oracle is binutils' ``nm`` (the names
the binary spells) and ``nm -C`` (the names c++filt's library prints), matched by
address. The recording takes well under a second.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from formats.demangle import Demangler

BIN = Path(sys.executable).parent
KTR = str(BIN / "ktr")
KTRDUMP = str(BIN / "ktrdump")

PROGRAM_CC = r"""
#include <cstdlib>
#include <ctime>
static volatile unsigned long sink;
static long cpu_ns() {
    timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec * 1000000000L + t.tv_nsec;
}
namespace ns {
__attribute__((noinline)) long burn(int ms) {
    long end = cpu_ns() + ms * 1000000L;
    while (cpu_ns() < end)
        for (int k = 0; k < 200000; k++) sink += k;
    return 0;
}
template <class T> struct W {
    __attribute__((noinline)) T go(int ms) {
        long end = cpu_ns() + ms * 1000000L;
        while (cpu_ns() < end)
            for (int k = 0; k < 200000; k++) sink += k;
        return 1;
    }
};
}
int main(int argc, char **argv) {
    int ms = argc > 1 ? atoi(argv[1]) : 150;
    ns::W<long> w;
    return (int)(ns::burn(ms) + w.go(ms)) == 7;
}
"""

RAW_BURN = "_ZN2ns4burnEi"
RAW_GO = "_ZN2ns1WIlE2goEi"


def _symbols(binary: Path, *flags: str) -> dict[str, str]:
    """address -> name of the binary's defined functions, as ``nm FLAGS`` prints them."""
    out = subprocess.run(["nm", "--defined-only", *flags, str(binary)], check=True,
                         capture_output=True, text=True, timeout=30).stdout
    found = {}
    for line in out.splitlines():
        parts = line.split(maxsplit=2)
        if len(parts) == 3 and parts[1] in "TtWw":
            found[parts[0]] = parts[2]
    return found


@pytest.fixture(scope="module")
def program(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """The binary and its names: raw (as ``nm``) -> demangled (as ``nm -C``)."""
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("no C++ compiler (g++)")
    if shutil.which("nm") is None or shutil.which("c++filt") is None:
        pytest.skip("binutils (nm, c++filt) not installed")
    directory = tmp_path_factory.mktemp("demangle")
    source = directory / "cpx.cc"
    source.write_text(PROGRAM_CC)
    binary = directory / "cpx"
    subprocess.run([compiler, "-O1", "-g", "-o", str(binary), str(source)], check=True,
                   capture_output=True, timeout=120)
    raw = _symbols(binary)
    shown = _symbols(binary, "-C")
    names = {raw[address]: shown[address] for address in raw}
    assert names[RAW_BURN] != RAW_BURN and names[RAW_GO] != RAW_GO
    return binary, names


@pytest.fixture(scope="module")
def trace(program: tuple[Path, dict[str, str]],
          tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary, _ = program
    output = tmp_path_factory.mktemp("demangle-trace") / "cpx.ktr"
    subprocess.run([KTR, "record", "-q", "-F", "999", "-P", f"{binary}:{RAW_BURN}",
                    "-o", str(output), "--", str(binary)],
                   check=True, capture_output=True, timeout=60)
    return output


def _dump(trace: Path, *arguments: str) -> str:
    result = subprocess.run([KTRDUMP, *arguments, str(trace)], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def test_views_show_demangled_names(program: tuple[Path, dict[str, str]],
                                    trace: Path) -> None:
    _, names = program
    burn, go = names[RAW_BURN], names[RAW_GO]
    assert (burn, go) == ("ns::burn(int)", "ns::W<long>::go(int)")  # what c++filt prints
    folded = _dump(trace, "--format", "folded")
    leaves = {line.rsplit(" ", 1)[0].split(";")[-1] for line in folded.splitlines()}
    assert {burn, go} <= leaves, folded
    assert RAW_BURN not in folded and RAW_GO not in folded
    summary = _dump(trace, "--summary")
    profile_names = {line.split(None, 4)[4] for line in summary.splitlines()
                     if line[:7].strip().replace(".", "").isdigit() and len(line.split()) >= 5}
    assert {burn, go} <= profile_names, summary
    text = _dump(trace)
    samples = [line for line in text.splitlines() if " SAMPLE " in line]
    assert any(f"cpu {cpu} {burn}+" in line for line in samples for cpu in range(64))
    assert any(f" PROBE  cpx:{burn}:entry(" in line for line in text.splitlines()), text
    calls = _dump(trace, "--format", "calls")
    assert "cpx:ns::burn(" in calls, calls
    for output in (summary, text, calls):
        assert RAW_BURN not in output and RAW_GO not in output


def test_calls_view_shows_the_arguments_in_place_of_the_parameter_list(
        program: tuple[Path, dict[str, str]], trace: Path) -> None:
    """As uftrace shows a C++ call: ``ns::burn(150)``, not ``ns::burn(int)(150)`` (150:
    the program's default argument; the name: nm -C's without its parameter list)."""
    _, names = program
    called = names[RAW_BURN].split("(")[0]
    calls = [line for line in _dump(trace, "--format", "calls").splitlines() if "| " in line]
    assert [line.split("| ", 1)[1].strip() for line in calls] == [f"cpx:{called}(150);"], calls
    raw = _dump(trace, "--no-demangle", "--format", "calls")
    assert f"cpx:{RAW_BURN}(150);" in raw, raw


def test_no_demangle_keeps_raw_names(program: tuple[Path, dict[str, str]],
                                     trace: Path) -> None:
    _, names = program
    folded = _dump(trace, "--no-demangle", "--format", "folded")
    leaves = {line.rsplit(" ", 1)[0].split(";")[-1] for line in folded.splitlines()}
    assert {RAW_BURN, RAW_GO} <= leaves, folded
    assert names[RAW_BURN] not in folded and names[RAW_GO] not in folded
    text = _dump(trace, "--no-demangle")
    assert f" PROBE  cpx:{RAW_BURN}:entry(" in text
    assert names[RAW_BURN] not in text


def test_runs_in_one_process_each_show_their_own_names(
        program: tuple[Path, dict[str, str]], trace: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Demangling is the run's, not the process's: a module's symbols read (and kept,
    shared by build id) in a demangling run show raw in a --no-demangle run of the same
    process, and demangled again in the next run."""
    from ktrdump.cli import main

    _, names = program
    burn, go = names[RAW_BURN], names[RAW_GO]

    def dump(*arguments: str) -> tuple[set[str], str]:
        assert main([*arguments, "--format", "folded", str(trace)]) == 0
        folded = capsys.readouterr().out
        assert main([*arguments, str(trace)]) == 0
        text = capsys.readouterr().out
        return {line.rsplit(" ", 1)[0].split(";")[-1] for line in folded.splitlines()}, text

    for _ in range(2):
        leaves, text = dump()
        assert {burn, go} <= leaves and not {RAW_BURN, RAW_GO} & leaves, leaves
        assert f" PROBE  cpx:{burn}:entry(" in text and RAW_BURN not in text
        leaves, text = dump("--no-demangle")
        assert {RAW_BURN, RAW_GO} <= leaves and not {burn, go} & leaves, leaves
        assert f" PROBE  cpx:{RAW_BURN}:entry(" in text and burn not in text


def test_demangler_without_cplusfilt_keeps_names() -> None:
    missing = Demangler(program="ktr-no-such-c++filt")
    assert missing.demangle(RAW_BURN) == RAW_BURN
    broken = Demangler(program="false")  # exits at once: answers nothing
    assert broken.demangle(RAW_GO) == RAW_GO
    assert broken.demangle(RAW_BURN) == RAW_BURN
    broken.close()


def test_demangler_asks_once_and_skips_c_names() -> None:
    if shutil.which("c++filt") is None:
        pytest.skip("binutils (c++filt) not installed")
    demangler = Demangler()
    try:
        assert demangler.demangle("main") == "main"
        assert demangler._process is None  # a C name starts nothing
        assert demangler.demangle(RAW_BURN) == "ns::burn(int)"
        process = demangler._process
        assert demangler.demangle(RAW_GO) == "ns::W<long>::go(int)"
        assert demangler.demangle(RAW_BURN) == "ns::burn(int)"
        assert demangler._process is process  # one process for every name
        assert demangler.demangle("_Zbad\nname") == "_Zbad\nname"  # never sent
        assert demangler.demangle("_Z3foov") == "foo()"  # still in step after it
    finally:
        demangler.close()


def test_list_probes_shows_demangled_beside_raw(program: tuple[Path, dict[str, str]]) -> None:
    binary, names = program
    proc = subprocess.run([KTR, "record", "--list-probes", str(binary), "_ZN2ns*"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("\t")[0]: line.split("\t") for line in proc.stdout.splitlines()}
    for raw in (RAW_BURN, RAW_GO):
        row = rows[f"cpx:{raw}"]  # the name -P takes, first
        assert len(row) == 5 and row[4] == names[raw], row
    proc = subprocess.run([KTR, "record", "--list-probes", str(binary), "main"],
                          capture_output=True, text=True, timeout=60)
    assert proc.stdout.startswith("cpx:main\t") and proc.stdout.count("\t") == 2
