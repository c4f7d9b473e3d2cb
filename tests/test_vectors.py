"""Golden vectors: the committed traces regenerate byte for byte, and ktrdump's
text and JSON Lines output (and, for damaged files, stderr and exit status)
equal the committed expected files.

To change an expected output on purpose: ``python tests/vectors/make_vectors.py
--update-expected`` and review the diff.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from ktrdump.cli import main

VECTORS = Path(__file__).resolve().parent / "vectors"
TRACES = sorted(path.name for path in VECTORS.glob("*.ktr"))


def _make_vectors() -> object:
    spec = importlib.util.spec_from_file_location("make_vectors", VECTORS / "make_vectors.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_vector_is_committed() -> None:
    assert TRACES == ["all_kinds.ktr", "all_kinds_big.ktr", "all_kinds_zstd.ktr", "appended.ktr",
                      "calls.ktr", "corrupt_middle.ktr", "damaged_header.ktr", "minor0.ktr",
                      "perf.ktr", "probes.ktr", "torn_tail.ktr"]
    for name, variants in _make_vectors().VARIANTS.items():  # type: ignore[attr-defined]
        for suffix, _options in variants:
            assert (VECTORS / (name.removesuffix(".ktr") + suffix)).exists(), suffix


def test_regenerating_gives_identical_bytes() -> None:
    generated = _make_vectors().vectors()  # type: ignore[attr-defined]
    assert sorted(generated) == TRACES
    for name, data in generated.items():
        committed = (VECTORS / name).read_bytes()
        if "zstd" in name and committed != data:
            # Another zstd release may compress the same records differently:
            # then the records, not the bytes, must be the same.
            assert _records(committed) == _records(data), f"{name} differs from the generator"
            continue
        assert committed == data, f"{name} differs from the generator"


def _records(data: bytes) -> list[object]:
    import io

    import ktrdump

    with ktrdump.open(io.BytesIO(data)) as reader:
        return [reader.header, *reader]


def _outputs() -> list[tuple[str, str, list[str]]]:
    variants = _make_vectors().VARIANTS  # type: ignore[attr-defined]
    cases = []
    for name in TRACES:
        for suffix, extra in [(".txt", []), (".jsonl", ["--json"]), *variants.get(name, [])]:
            cases.append((name, suffix, extra))
    return cases


@pytest.mark.parametrize(("name", "suffix", "extra"), _outputs())
def test_ktrdump_output_matches(
    name: str, suffix: str, extra: list[str],
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    stem = VECTORS / name.removesuffix(".ktr")
    monkeypatch.chdir(VECTORS)  # messages name the file as given
    status = main([*extra, name])
    out, err = capsys.readouterr()
    stderr_file = stem.with_suffix(".stderr")
    status_file = stem.with_suffix(".status")
    assert out == (VECTORS / (stem.name + suffix)).read_text()
    assert err == (stderr_file.read_text() if stderr_file.exists() else "")
    assert status == (int(status_file.read_text()) if status_file.exists() else 0)


def test_damaged_vectors_say_where() -> None:
    assert "at byte offset" in (VECTORS / "corrupt_middle.stderr").read_text()
    torn = (VECTORS / "torn_tail.stderr").read_text()
    assert "kept its first 16 of 30 records; the damage starts at byte offset 5356" in torn
    assert (VECTORS / "corrupt_middle.status").read_text() == "1\n"
