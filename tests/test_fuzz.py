"""The fuzz harness itself: deterministic, re-frames correctly, and catches what it should."""

from __future__ import annotations

import contextlib
import io
import random
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import ktrdump

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from fuzz import mutate, run


def test_parse_and_build_are_inverse_on_every_seed() -> None:
    seeds = run.load_seeds()
    assert len(seeds) >= 5
    for seed in seeds:
        data = mutate.build(seed)
        again = mutate.parse(data)
        assert again.batches == seed.batches
        with ktrdump.open(io.BytesIO(data)) as trace:
            count = sum(1 for _ in trace)
            assert trace.skipped_batches == 0
        assert count == sum(map(len, seed.batches))


def test_mutations_are_deterministic_and_reach_the_decoders() -> None:
    seeds = run.load_seeds()
    # one realistic seed, by name (a seed added to the corpus does not change it)
    seed = mutate.parse((Path(__file__).parent / "vectors" / "calls.ktr").read_bytes())
    first = [mutate.mutate(seed, random.Random(i), seeds) for i in range(40)]
    second = [mutate.mutate(seed, random.Random(i), seeds) for i in range(40)]
    assert first == second
    decoded = 0
    for data in first:
        try:
            with ktrdump.open(io.BytesIO(data)) as trace:
                decoded += sum(1 for _ in trace)
        except ktrdump.errors.KtrdumpError:
            pass
    assert decoded > 40 * 30  # most mutated records still decode (checksums are right)


def test_a_crash_is_saved_as_a_finding(tmp_path: Path) -> None:
    from ktrdump import cli
    original = cli.run

    def broken(options: object, stdout: object, stderr: object) -> int:
        if getattr(options, "output_format", None) == "strace":
            raise IndexError("planted")
        return original(options, stdout, stderr)  # type: ignore[arg-type]

    cli.run = broken  # the worker is forked from here: it inherits the planted bug
    try:
        runner = run.Runner(tmp_path, 1024, 200, 20.0)
        try:
            found = runner.run_one((Path(__file__).parent / "vectors" / "calls.ktr").read_bytes())
        finally:
            runner.close()
    finally:
        cli.run = original
    assert {f.target for f in found} == {"view.strace", "view.strace-fds", "view.salvage-strace"}
    assert all(f.signature.startswith("IndexError@") for f in found)
    assert len(list(tmp_path.glob("*.ktr"))) == 1  # one distinct finding, saved once


def test_fuzz_findings_stay_fixed(tmp_path: Path) -> None:
    """Every input the fuzzer found a fault with (``tests/crafted/fuzz_*.ktr``), through
    every target: only documented errors. (The first three: ``--summary`` decoded the
    payloads of raw batches for its profile and probe tables without catching
    ``PayloadError`` -- a checksum-valid batch may hold a malformed payload.)"""
    from fuzz.targets import DOCUMENTED_ERRORS, make_targets
    path = tmp_path / "input.ktr"
    found = sorted((Path(__file__).parent / "crafted").glob("fuzz_*.ktr"))
    assert len(found) >= 3
    _replay(found, path, make_targets(str(path)), DOCUMENTED_ERRORS)


def test_elf_fuzz_findings_stay_fixed(tmp_path: Path) -> None:
    """Every ELF input the fuzzer found a fault with (``tests/crafted/fuzz_elf_*.so``),
    through every ELF target: only ElfError. (A compressed .debug_info whose sh_size said
    528 GB: pyelftools allocated it before reading; a DW_AT_sibling pointing backwards:
    pyelftools iterated the same children forever.)"""
    from formats import dwarf_args
    from fuzz.targets import ELF_DOCUMENTED_ERRORS, make_elf_targets

    path = tmp_path / "input.so"
    found = sorted((Path(__file__).parent / "crafted").glob("fuzz_elf_*.so"))
    assert len(found) >= 2

    def forget_and_check() -> None:
        dwarf_args.clear_cache()
        assert dwarf_args.signature(str(path), "add", 0) is None  # damaged: the defaults

    _replay(found, path, make_elf_targets(str(path)), ELF_DOCUMENTED_ERRORS,
            after_each=forget_and_check)


def _replay(found: list[Path], path: Path, targets: dict[str, Callable[[str, bytes], None]],
            documented: tuple[type[BaseException], ...],
            after_each: Callable[[], None] = lambda: None) -> None:
    """Each finding written to ``path`` and run through every target: only the
    ``documented`` errors may escape."""
    for finding in found:
        data = finding.read_bytes()
        path.write_bytes(data)
        for name, target in targets.items():
            try:
                target(str(path), data)
            except documented:
                pass
            except Exception as error:
                raise AssertionError(f"{finding.name} in {name}: {error!r}") from error
        after_each()


def test_elf_mutations_are_deterministic_and_reach_the_readers() -> None:
    """ELF inputs: the same seed gives the same inputs, and most still open as images
    with symbols (the structure-aware mutations damage one field, not the whole file)."""
    from formats.elf import ElfError, ElfImage
    from fuzz import mutate_elf

    seeds = run.load_elf_seeds()
    assert len(seeds) >= 5 and any(seed[4] == 1 for seed in seeds)  # ELF32 among them
    assert {(seed[4], seed[5]) for seed in seeds} == {(1, 1), (2, 1), (1, 2), (2, 2)}  # BE
    first = [mutate_elf.mutate(seeds[i % len(seeds)], random.Random(i), seeds)
             for i in range(60)]
    second = [mutate_elf.mutate(seeds[i % len(seeds)], random.Random(i), seeds)
              for i in range(60)]
    assert first == second
    assert sum(data not in seeds for data in first) > 50  # (a field may be set to itself)
    opened = 0
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "input.so"
        for data in first:
            path.write_bytes(data)
            with contextlib.suppress(ElfError):
                opened += bool(ElfImage(str(path), debug_root=directory).functions)
    assert 20 < opened < 60


def test_an_elf_crash_is_saved_as_a_finding(tmp_path: Path) -> None:
    """A fault planted in the ELF reader is reported for the ELF targets and saved once
    as a ``.elf`` input; trace inputs never reach the ELF targets."""
    from formats import elf

    original = elf._function_symbols

    def broken(*arguments: object) -> object:
        raise RuntimeError("planted")  # not a parse error: escapes as a bug would

    elf._function_symbols = broken  # type: ignore[assignment]  # the worker inherits it
    try:
        runner = run.Runner(tmp_path, 1024, 200, 20.0)
        try:
            seed = (run.ELF_SEED_DIR / "lib64.so").read_bytes()
            found = runner.run_one(seed, "elf")
            traced = runner.run_one(
                (Path(__file__).parent / "vectors" / "calls.ktr").read_bytes())
        finally:
            runner.close()
    finally:
        elf._function_symbols = original
    assert {f.target for f in found} == {"elf.image", "elf.open_image", "elf.dwarf_args"}
    assert all(f.signature.startswith("RuntimeError@") for f in found)
    assert traced == []
    assert len(list(tmp_path.glob("*.elf"))) == 1
