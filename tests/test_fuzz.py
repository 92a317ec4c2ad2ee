"""Every fuzz target holds its invariant on its seed corpus and on generated inputs."""

from __future__ import annotations

import importlib.util
import random
from collections.abc import Callable
from pathlib import Path

import pytest

FUZZ_DIR = Path(__file__).parent.parent / "fuzz"
TARGETS = sorted(FUZZ_DIR.glob("fuzz_*.py"))


def _load(path: Path) -> Callable[[bytes], None]:
    spec = importlib.util.spec_from_file_location(f"_fuzz_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    target: Callable[[bytes], None] = module.TestOneInput
    return target


def _mutations(seeds: list[bytes], rng: random.Random, count: int) -> list[bytes]:
    out = []
    for _ in range(count):
        data = bytearray(rng.choice(seeds) if seeds else b"")
        for _ in range(rng.randint(1, 8)):
            choice = rng.random()
            position = rng.randint(0, len(data))
            if choice < 0.4 or not data:
                data[position:position] = bytes([rng.randrange(256)])
            elif choice < 0.7:
                del data[min(position, len(data) - 1)]
            elif choice < 0.9:
                data[min(position, len(data) - 1)] = rng.randrange(256)
            else:
                data[position:position] = rng.choice(b'{}[]",:\\\r\n0-e').to_bytes(1, "big")
        out.append(bytes(data))
    return out


def test_every_target_has_a_seed_corpus() -> None:
    assert {p.stem.removeprefix("fuzz_") for p in TARGETS} >= {"jsonrpc", "sse", "http"}
    for target in TARGETS:
        corpus = FUZZ_DIR / "corpus" / target.stem.removeprefix("fuzz_")
        assert corpus.is_dir(), corpus
        assert any(corpus.iterdir()), corpus


@pytest.mark.parametrize("target", TARGETS, ids=[t.stem for t in TARGETS])
def test_target_holds_its_invariant(target: Path) -> None:
    run = _load(target)
    corpus = FUZZ_DIR / "corpus" / target.stem.removeprefix("fuzz_")
    seeds = [p.read_bytes() for p in sorted(corpus.iterdir()) if p.is_file()]
    rng = random.Random(target.stem)
    inputs = [*seeds, b"", b"\x00", b"\xff" * 3]
    inputs += [rng.randbytes(rng.randint(0, 64)) for _ in range(200)]
    inputs += _mutations(seeds, rng, 400)
    for data in inputs:
        run(data)  # any exception but the target's accepted ones fails the test
