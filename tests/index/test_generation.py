"""index/generation.py: self-describing generations, verified on load, with fallback."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from index import generation
from index.errors import CorruptIndex, IndexMismatch, NoIndex

MODEL = "test-hashing-encoder"


def flip_bit(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    at = len(data) // 2 if offset is None else offset
    data[at] ^= 0x01
    path.write_bytes(bytes(data))


def folder(data: Path, name: str) -> Path:
    return generation.generations_dir(data) / name


# --- layout ---------------------------------------------------------------------------


def test_a_generation_describes_itself(two_generations: tuple[Path, str, str]) -> None:
    data, _old, current = two_generations
    path = folder(data, current)
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == generation.FORMAT
    assert manifest["model"] == {"name": MODEL, "dimension": 64}
    assert manifest["counts"]["documents"] == 5
    assert manifest["vector_index"] == "flat"
    assert len(manifest["corpus_hash"]) == 64
    assert current.endswith(manifest["corpus_hash"][:8])
    for name in generation.FILES:
        assert manifest["files"][name]["sha256"] == generation.sha256_file(path / name)
        assert manifest["files"][name]["bytes"] == (path / name).stat().st_size
    assert (data / generation.CURRENT).read_text() == current + "\n"


def test_load_gives_consistent_rows(two_generations: tuple[Path, str, str]) -> None:
    data, _old, current = two_generations
    gen = generation.load(folder(data, current), MODEL)
    counts = gen.manifest["counts"]
    assert len(gen.sentences) == counts["sentences"] == gen.sentence_vectors.shape[0]
    assert len(gen.chunks) == counts["chunks"] == gen.chunk_vectors.shape[0]
    assert gen.chunk_index.size == len(gen.chunks)
    assert gen.chunk_vectors.shape[1] == 64
    assert gen.model == MODEL
    for chunk, (first, last) in zip(gen.chunks, gen.chunk_spans, strict=True):
        assert chunk.sentence_ids == tuple(s.id for s in gen.sentences[first : last + 1])
        assert gen.texts[chunk.document_id][chunk.start : chunk.end] == chunk.text
    for s in gen.sentences:
        assert gen.texts[s.document_id][s.start : s.end] == s.text
    norms = np.linalg.norm(np.asarray(gen.chunk_vectors), axis=1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)


def test_candidates_put_the_current_generation_first(
    two_generations: tuple[Path, str, str],
) -> None:
    data, old, current = two_generations
    assert generation.candidates(data) == [current, old]
    (data / generation.CURRENT).write_text(old + "\n")
    assert generation.candidates(data) == [old, current]
    assert generation.load_best(data, MODEL).generation.name == old


# --- corruption and fallback ----------------------------------------------------------


@pytest.mark.parametrize("name", generation.FILES)
def test_a_truncated_file_is_detected_and_the_previous_generation_served(
    two_generations: tuple[Path, str, str], name: str
) -> None:
    data, old, current = two_generations
    path = folder(data, current) / name
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CorruptIndex, match=f"{current}/{name}: missing or truncated"):
        generation.load(folder(data, current))
    loaded = generation.load_best(data, MODEL)
    assert loaded.generation.name == old
    assert loaded.degraded is True
    assert any(name in p for p in loaded.problems)


@pytest.mark.parametrize("name", generation.FILES)
def test_a_flipped_bit_is_detected_and_the_previous_generation_served(
    two_generations: tuple[Path, str, str], name: str
) -> None:
    data, old, current = two_generations
    flip_bit(folder(data, current) / name)
    with pytest.raises(CorruptIndex, match=f"{current}/{name}: checksum mismatch"):
        generation.load(folder(data, current))
    loaded = generation.load_best(data, MODEL)
    assert (loaded.generation.name, loaded.degraded) == (old, True)
    # The fallback is fully usable.
    assert loaded.generation.chunk_index.size == len(loaded.generation.chunks)


def test_a_missing_file_is_detected(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    (folder(data, current) / "chunks.faiss").unlink()
    loaded = generation.load_best(data, MODEL)
    assert (loaded.generation.name, loaded.degraded) == (old, True)


def test_an_unreadable_manifest_is_detected(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    manifest = folder(data, current) / "manifest.json"
    manifest.write_bytes(manifest.read_bytes()[:50])
    with pytest.raises(CorruptIndex, match="manifest unreadable"):
        generation.load(folder(data, current))
    assert generation.load_best(data, MODEL).generation.name == old


def test_a_bit_flip_in_a_manifest_key_falls_back(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    manifest = folder(data, current) / "manifest.json"
    flip_bit(manifest, manifest.read_bytes().index(b'"files"') + 1)
    json.loads(manifest.read_text())  # still valid JSON
    loaded = generation.load_best(data, MODEL)
    assert (loaded.generation.name, loaded.degraded) == (old, True)


def flip_key(manifest: dict[str, Any], path: tuple[str, ...]) -> None:
    """Rename the key at `path` as one flipped bit in its first letter would."""
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    parent[chr(ord(key[0]) ^ 0x01) + key[1:]] = parent.pop(key)


@pytest.mark.parametrize(
    ("path", "matters"),
    [
        pytest.param(("format",), True, id="format"),
        pytest.param(("files",), True, id="files"),
        pytest.param(("files", "chunks.npy"), True, id="files.chunks.npy"),
        pytest.param(("files", "meta.sqlite", "bytes"), True, id="files.meta.sqlite.bytes"),
        pytest.param(("files", "sentences.npy", "sha256"), True, id="files.sentences.npy.sha256"),
        pytest.param(("model",), True, id="model"),
        pytest.param(("model", "name"), True, id="model.name"),
        pytest.param(("model", "dimension"), False, id="model.dimension"),
        pytest.param(("corpus_hash",), False, id="corpus_hash"),
        pytest.param(("counts",), False, id="counts"),
        pytest.param(("name",), False, id="name"),
    ],
)
def test_a_bit_flip_in_any_manifest_key_is_survived(
    two_generations: tuple[Path, str, str], path: tuple[str, ...], matters: bool
) -> None:
    data, old, current = two_generations
    manifest_path = folder(data, current) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    flip_key(manifest, path)
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True))
    loaded = generation.load_best(data, MODEL)
    if matters:
        assert (loaded.generation.name, loaded.degraded) == (old, True)
    else:
        assert (loaded.generation.name, loaded.degraded) == (current, False)


@pytest.mark.slow
def test_every_single_bit_flip_in_the_manifest_is_survived(
    two_generations: tuple[Path, str, str],
) -> None:
    data, old, current = two_generations
    manifest_path = folder(data, current) / "manifest.json"
    original = manifest_path.read_bytes()
    crashes = []
    for position in range(len(original)):
        flipped = bytearray(original)
        flipped[position] ^= 0x01
        manifest_path.write_bytes(bytes(flipped))
        try:
            loaded = generation.load_best(data, MODEL)
        except Exception as err:  # any exception escaping load_best is the failure
            crashes.append((position, type(err).__name__))
            continue
        loaded.generation.db.close()
        assert loaded.generation.name in (current, old)
    assert crashes == []


def test_no_good_generation_is_an_error(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    for name in (old, current):
        flip_bit(folder(data, name) / "meta.sqlite")
    with pytest.raises(CorruptIndex, match="no loadable generation"):
        generation.load_best(data, MODEL)


def test_no_index_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(NoIndex, match="run `lexcite ingest` first"):
        generation.load_best(tmp_path / "nothing-here")


def test_another_model_is_a_mismatch(two_generations: tuple[Path, str, str]) -> None:
    data, _old, current = two_generations
    with pytest.raises(IndexMismatch, match="lexcite ingest --rebuild"):
        generation.load(folder(data, current), "another-model")
    with pytest.raises(CorruptIndex, match="no loadable generation"):
        generation.load_best(data, "another-model")


def test_another_format_is_a_mismatch(two_generations: tuple[Path, str, str]) -> None:
    data, _old, current = two_generations
    path = folder(data, current) / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps({**manifest, "format": generation.FORMAT + 1}))
    expected = f"format {generation.FORMAT + 1}, expected {generation.FORMAT}"
    with pytest.raises(IndexMismatch, match=expected):
        generation.load(folder(data, current))


# --- housekeeping ---------------------------------------------------------------------


def test_remove_abandoned_clears_temporary_folders(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    tmp = generation.generations_dir(data) / f"{generation.TMP_PREFIX}20990101T000000Z-dead"
    tmp.mkdir()
    (tmp / "meta.sqlite").write_bytes(b"half written")
    (data / f"{generation.CURRENT}.tmp").write_text("half")
    assert generation.remove_abandoned(data) == [tmp.name]
    assert not tmp.exists()
    assert not (data / f"{generation.CURRENT}.tmp").exists()
    assert generation.candidates(data) == [current, old]


def test_staging_removes_its_folder_when_the_build_fails(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), generation.staging(tmp_path, "gen") as tmp:
        (tmp / "meta.sqlite").write_text("partial")
        raise RuntimeError("boom")
    assert list(generation.generations_dir(tmp_path).iterdir()) == []


def test_prune_keeps_the_newest_and_the_current(two_generations: tuple[Path, str, str]) -> None:
    data, old, current = two_generations
    gens = generation.generations_dir(data)
    extra = [f"2000010{i}T000000000000Z-oldoldol" for i in range(1, 4)]
    for name in extra:
        shutil.copytree(gens / old, gens / name)
    (data / generation.CURRENT).write_text(extra[0] + "\n")  # the oldest is current
    generation.prune(data, keep=2)
    assert sorted(p.name for p in gens.iterdir()) == sorted([extra[0], current])
