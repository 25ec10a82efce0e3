"""Corruption: damage to the current generation or its pointer is survived, never a crash.

tests/index/test_generation.py flips the middle bit of each file and cuts 100 bytes off
its end; here every file type is truncated to several lengths and has random bytes
overwritten at seeded random places, and the Engine must answer from the fallback.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from index import build, generation
from index.errors import CorruptIndex
from ingest.clean import Rules
from service import engine as engine_module
from service.engine import Engine
from tests.conftest import ROOT, HashingEncoder
from tests.reliability.helpers import (
    MODEL,
    assert_complete,
    folder,
    texts_of,
)

SEED = 287
PLACES = 4  # damaged places per file type and kind of damage
DAMAGED = (*generation.FILES, f"{generation.LEXICAL}/meta.json", "manifest.json")
QUESTIONS = ("What is a writ of mandamus?", "What does the 287(g) task force model allow?")


def damages(data: bytes, kind: str, rng: random.Random) -> list[bytes]:
    """Return damaged copies of `data`: truncated to several lengths, or with one byte
    XORed with a random non-zero mask at random places."""
    if kind == "truncate":
        lengths = [0, len(data) // 2, len(data) - 1, rng.randrange(1, len(data) - 1)]
        return [data[:n] for n in lengths[:PLACES]]
    out = []
    for _ in range(PLACES):
        at = rng.randrange(len(data))
        damaged = bytearray(data)
        damaged[at] ^= rng.randrange(1, 256)
        out.append(bytes(damaged))
    return out


def assert_engine_answers_from(engine: Engine, name: str, texts: dict[str, str]) -> int:
    """Ask and search; every citation must quote generation `name`. Return the citations."""
    cited = 0
    for question in QUESTIONS:
        answer = engine.ask(question)
        assert answer.index_version == name
        for c in answer.citations:
            assert texts[c.document_id][c.start : c.end] == c.text
            cited += 1
        for p in engine.search(question, k=5):
            assert texts[p.document_id][p.start : p.end] == p.text
    return cited


@pytest.mark.parametrize("kind", ["truncate", "flip"])
@pytest.mark.parametrize("file", DAMAGED)
def test_damage_to_the_current_generation_falls_back_and_the_engine_serves_it(
    two_generations: tuple[Path, str, str], file: str, kind: str
) -> None:
    data, old, current = two_generations
    old_texts, current_texts = texts_of(data, old), texts_of(data, current)
    path = folder(data, current) / file
    original = path.read_bytes()
    rng = random.Random(f"{SEED}-{file}-{kind}")
    harmless = 0
    for damaged in damages(original, kind, rng):
        path.write_bytes(damaged)
        loaded = generation.load_best(data, MODEL)  # never raises
        gen = loaded.generation
        if gen.name == current:
            # Only a manifest field the loader does not verify ("created", "versions",
            # "counts", ...) can be hit without notice; every data file is then intact.
            assert file == "manifest.json" and not loaded.degraded
            assert gen.texts == current_texts
            harmless += 1
        else:
            assert (gen.name, loaded.degraded) == (old, True)
            assert len(loaded.problems) == 1 and loaded.problems[0].startswith(current)
            if file != "manifest.json":
                assert f"{current}/{file}: " in loaded.problems[0]
            assert gen.texts == old_texts
        assert_complete(gen)
        gen.db.close()
        engine = Engine(data, HashingEncoder(), threshold=0.0)
        assert engine.state.loaded.degraded == (gen.name == old)
        assert assert_engine_answers_from(engine, gen.name, gen.texts) > 0
        engine.state.generation.db.close()
    path.write_bytes(original)
    if file != "manifest.json":
        assert harmless == 0
    print(f"\ncorruption summary: {file} {kind}: {PLACES} damaged copies, {harmless} harmless")


@pytest.mark.parametrize("file", DAMAGED)
def test_with_no_good_generation_loading_is_a_clear_corrupt_index_error(
    two_generations: tuple[Path, str, str], file: str
) -> None:
    data, old, current = two_generations
    for name in (old, current):
        path = folder(data, name) / file
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CorruptIndex, match=r"^no loadable generation: ") as caught:
        generation.load_best(data, MODEL)
    message = str(caught.value)
    for name in (old, current):  # names each generation and what is wrong with it
        assert f"{name}/{file}: missing or truncated" in message or (
            file == "manifest.json" and f"{name}: manifest unreadable" in message
        )
    assert "Traceback" not in message
    with pytest.raises(CorruptIndex, match=r"^no loadable generation: "):
        Engine(data, HashingEncoder())


def test_a_current_pointer_naming_no_generation_serves_the_newest(
    two_generations: tuple[Path, str, str],
) -> None:
    data, _old, current = two_generations
    for garbage in ("", "\n", "no-such-generation\n", current[:-1] + "\n"):
        (data / generation.CURRENT).write_text(garbage)
        loaded = generation.load_best(data, MODEL)
        assert loaded.generation.name == current  # the newest complete one
        loaded.generation.db.close()


def test_a_current_pointer_with_a_flipped_high_bit_is_survived(
    two_generations: tuple[Path, str, str], corpus_copy: Path, rules: Rules
) -> None:
    data, _old, current = two_generations
    pointer = data / generation.CURRENT
    damaged = bytearray(pointer.read_bytes())
    damaged[3] ^= 0x80
    pointer.write_bytes(bytes(damaged))
    loaded = generation.load_best(data, MODEL)
    assert loaded.generation.name == current
    Engine(data, HashingEncoder())
    build.ingest(corpus_copy, data, HashingEncoder(), rules)  # the repair path runs too


def test_an_ingest_repairs_a_current_pointer_that_names_no_generation(
    tmp_path: Path, corpus_copy: Path, rules: Rules
) -> None:
    data = tmp_path / "data"
    first = build.ingest(corpus_copy, data, HashingEncoder(), rules)
    (data / generation.CURRENT).write_text("20990101T000000000000Z-00000000\n")
    summary = build.ingest(corpus_copy, data, HashingEncoder(), rules)
    assert summary.generation == first.generation
    assert generation.current_name(data) == first.generation


def test_a_degraded_engine_does_not_reload_while_current_is_unchanged(
    two_generations: tuple[Path, str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data, old, current = two_generations
    path = folder(data, current) / "meta.sqlite"
    path.write_bytes(path.read_bytes()[:-1])
    engine = Engine(data, HashingEncoder(), threshold=0.0)
    assert (engine.state.generation.name, engine.state.loaded.degraded) == (old, True)
    loads = []
    real = generation.load_best

    def counted(*args: object, **kwargs: object) -> generation.Loaded:
        loads.append(1)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(generation, "load_best", counted)
    monkeypatch.setattr(engine_module, "RELOAD_CHECK_S", 0.0)
    for _ in range(10):
        assert engine.ask(QUESTIONS[0]).index_version == old
    assert loads == []  # nothing changed on disk: nothing to reload


SERVE_THEN_TRUNCATE = """
import os, sys
from pathlib import Path
from service.engine import Engine
from tests.conftest import HashingEncoder
from index import generation

data = Path(sys.argv[1])
engine = Engine(data, HashingEncoder(), threshold=0.0)
assert engine.ask("What is a writ of mandamus?").citations
path = generation.generations_dir(data) / engine.state.generation.name / "sentences.npy"
os.truncate(path, 128)  # as `cp` restoring a backup over the file would, for a moment
engine.ask("What is a writ of mandamus?")
print("still serving")
"""


def test_a_served_vector_file_truncated_in_place_does_not_kill_the_server(
    two_generations: tuple[Path, str, str],
) -> None:
    data, _old, _current = two_generations
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", SERVE_THEN_TRUNCATE, str(data)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != -signal.SIGBUS, "the server died of SIGBUS"
    assert done.returncode == 0 and "still serving" in done.stdout, done.stderr
