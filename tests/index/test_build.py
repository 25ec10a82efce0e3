"""index/build.py: incremental ingest (counted by the test encoder) and crash safety."""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import pytest

from index import build, generation
from index.generation import Generation
from index.types import Vectors
from ingest.clean import Rules
from ingest.corpus import read_corpus
from ingest.types import Document
from tests.conftest import HashingEncoder

MODEL = "test-hashing-encoder"
TRUST = "community-trust-287g-mandamus"
TRUST_FILE = "002_5265ddcdfc20e992.txt"


def documents(corpus: Path, rules: Rules) -> dict[str, Document]:
    return {m.id: d for m, d, _ in read_corpus(corpus, rules) if d is not None}


def unit_count(docs: dict[str, Document]) -> int:
    return sum(len(d.sentences) + len(d.chunks) for d in docs.values())


def content_ids(doc: Document) -> set[str]:
    return {s.id for s in doc.sentences} | {c.id for c in doc.chunks}


def current(data: Path) -> Generation:
    return generation.load_best(data, MODEL).generation


def edit_document(corpus: Path) -> None:
    path = corpus / "documents" / TRUST_FILE
    text = path.read_text("utf-8")
    assert text.count("Probably not.") == 1
    path.write_text(text.replace("Probably not.", "Probably never."), encoding="utf-8")


def generation_dirs(data: Path) -> list[Path]:
    return sorted(p for p in generation.generations_dir(data).iterdir() if p.is_dir())


def assert_no_duplicate_ids(gen: Generation) -> None:
    sentence_ids = [s.id for s in gen.sentences]
    chunk_ids = [c.id for c in gen.chunks]
    assert len(set(sentence_ids)) == len(sentence_ids)
    assert len(set(chunk_ids)) == len(chunk_ids)


# --- incremental ingest ---------------------------------------------------------------


def test_first_ingest_embeds_everything(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    docs = documents(corpus_copy, rules)
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert summary.added == tuple(sorted(docs))
    assert summary.changed == summary.removed == summary.unchanged == summary.problems == ()
    assert summary.embedded == encoder.encoded == unit_count(docs)
    assert summary.reused == 0
    assert summary.counts == {
        "documents": 5,
        "sentences": sum(len(d.sentences) for d in docs.values()),
        "chunks": sum(len(d.chunks) for d in docs.values()),
    }
    assert generation.current_name(data_dir) == summary.generation
    assert_no_duplicate_ids(current(data_dir))


def test_reingesting_an_unchanged_corpus_embeds_and_publishes_nothing(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    before = encoder.encoded
    again = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert encoder.encoded == before
    assert not again.published
    assert (again.embedded, again.reused) == (0, 0)
    assert again.generation == first.generation
    assert again.unchanged == first.added
    assert again.added == again.changed == again.removed == ()
    assert generation.current_name(data_dir) == first.generation
    assert len(generation_dirs(data_dir)) == 1


def test_editing_one_document_reembeds_only_its_new_pieces(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    old = documents(corpus_copy, rules)
    build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    new = documents(corpus_copy, rules)
    fresh = content_ids(new[TRUST]) - content_ids(old[TRUST])
    assert len(fresh) == 2  # the edited sentence and the chunk holding it
    before = encoder.encoded
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert summary.changed == (TRUST,)
    assert summary.added == summary.removed == ()
    assert len(summary.unchanged) == 4
    assert encoder.encoded - before == summary.embedded == len(fresh)
    assert summary.reused == unit_count(new) - len(fresh)
    gen = current(data_dir)
    assert_no_duplicate_ids(gen)
    assert "Probably never." in gen.texts[TRUST]


def test_reused_vectors_are_the_ones_a_fresh_build_computes(
    corpus_copy: Path, tmp_path: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    incremental = tmp_path / "incremental"
    build.ingest(corpus_copy, incremental, encoder, rules)
    edit_document(corpus_copy)
    build.ingest(corpus_copy, incremental, encoder, rules)
    fresh = tmp_path / "fresh"
    build.ingest(corpus_copy, fresh, HashingEncoder(), rules)
    a, b = current(incremental), current(fresh)
    assert [c.id for c in a.chunks] == [c.id for c in b.chunks]
    assert (a.chunk_vectors == b.chunk_vectors).all()
    assert (a.sentence_vectors == b.sentence_vectors).all()


def test_adding_a_document_is_reported_as_added(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    (corpus_copy / "documents" / "new.txt").write_text(
        "A writ of mandamus compels an agency to act. Courts grant it rarely.\n"
    )
    with (corpus_copy / "manifest.toml").open("a") as handle:
        handle.write('\n[[documents]]\nid = "new-doc"\nfile = "documents/new.txt"\ntitle = "New"\n')
    before = encoder.encoded
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.added == ("new-doc",)
    assert summary.changed == summary.removed == ()
    assert encoder.encoded - before == summary.embedded == 3  # two sentences, one chunk
    gen = current(data_dir)
    assert "new-doc" in gen.documents
    assert_no_duplicate_ids(gen)


def remove_from_manifest(corpus: Path, doc_id: str) -> None:
    manifest = corpus / "manifest.toml"
    blocks = manifest.read_text("utf-8").split("[[documents]]")
    kept = [b for b in blocks if f'id = "{doc_id}"' not in b]
    assert len(kept) == len(blocks) - 1
    manifest.write_text("[[documents]]".join(kept), encoding="utf-8")


def test_removing_a_document_drops_its_chunks(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    remove_from_manifest(corpus_copy, TRUST)
    before = encoder.encoded
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert summary.removed == (TRUST,)
    assert summary.added == summary.changed == ()
    assert encoder.encoded == before
    gen = current(data_dir)
    assert TRUST not in gen.documents
    assert TRUST not in gen.texts
    assert all(c.document_id != TRUST for c in gen.chunks)
    assert all(s.document_id != TRUST for s in gen.sentences)
    assert gen.chunk_index.size == len(gen.chunks)
    assert_no_duplicate_ids(gen)


def test_a_changed_title_counts_as_changed(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    manifest = corpus_copy / "manifest.toml"
    text = manifest.read_text("utf-8")
    old_title = 'title = "Understanding the 287(g) Task Force Model in Immigration Enforcement"'
    assert text.count(old_title) == 1
    manifest.write_text(text.replace(old_title, 'title = "The 287(g) Task Force Model"'))
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert summary.changed == ("visaverge-287g-task-force-model",)
    assert current(data_dir).documents["visaverge-287g-task-force-model"].title == (
        "The 287(g) Task Force Model"
    )


def test_a_changed_licence_counts_as_changed_and_embeds_nothing(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    manifest = corpus_copy / "manifest.toml"
    text = manifest.read_text("utf-8")
    manifest.write_text(text.replace("(article by Robert Pyne)", "(article by R. Pyne)"))
    before = encoder.encoded
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.changed == ("visaverge-287g-task-force-model",)
    assert summary.published and summary.embedded == 0
    assert encoder.encoded == before


def test_rebuild_embeds_everything_again(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    summary = build.ingest(corpus_copy, data_dir, encoder, rules, rebuild=True)
    assert summary.published
    assert summary.embedded == first.embedded
    assert encoder.encoded == 2 * first.embedded


def test_another_model_reembeds_everything(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    other = HashingEncoder(name="another-test-encoder", dimension=32)
    summary = build.ingest(corpus_copy, data_dir, other, rules)
    assert summary.published
    assert other.encoded == summary.embedded == encoder.encoded
    assert generation.load_best(data_dir, "another-test-encoder").generation.model == (
        "another-test-encoder"
    )


def test_bad_documents_are_skipped_and_reported(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    (corpus_copy / "documents" / "bad.txt").write_bytes(b"\x00\x01binary")
    with (corpus_copy / "manifest.toml").open("a") as handle:
        handle.write('\n[[documents]]\nid = "bad"\nfile = "documents/bad.txt"\ntitle = "Bad"\n')
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert [p.document for p in summary.problems] == ["bad"]
    assert "NUL bytes" in summary.problems[0].message
    assert "bad" not in current(data_dir).documents


def test_nothing_ingestible_publishes_nothing(
    tmp_path: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    from index.errors import NoIndex

    corpus = tmp_path / "corpus"
    (corpus / "documents").mkdir(parents=True)
    (corpus / "documents" / "a.txt").write_text("")
    (corpus / "manifest.toml").write_text(
        '[[documents]]\nid = "a"\nfile = "documents/a.txt"\ntitle = "A"\n'
    )
    with pytest.raises(Exception, match="nothing was published"):
        build.ingest(corpus, data_dir, encoder, rules)
    with pytest.raises(NoIndex):
        generation.load_best(data_dir)


def test_no_generation_ever_holds_duplicate_ids(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    build.ingest(corpus_copy, data_dir, encoder, rules)
    remove_from_manifest(corpus_copy, "task-force-model-mandamus")
    build.ingest(corpus_copy, data_dir, encoder, rules)
    dirs = generation_dirs(data_dir)
    assert len(dirs) == 3
    for path in dirs:
        assert_no_duplicate_ids(generation.load(path, MODEL))


# --- crash safety ---------------------------------------------------------------------


class FailingEncoder(HashingEncoder):
    """Encodes the first batch (the sentences), then fails like a model running out of memory."""

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        if self.calls >= 1:
            self.calls += 1
            raise MemoryError("out of memory in the middle of a build")
        return super().encode(texts, progress)


def assert_serving(data: Path, name: str) -> None:
    loaded = generation.load_best(data, MODEL)
    assert loaded.generation.name == name
    assert not loaded.degraded
    assert loaded.generation.chunk_index.size == len(loaded.generation.chunks)


def tmp_folders(data: Path) -> list[str]:
    return [
        p.name
        for p in generation.generations_dir(data).iterdir()
        if p.name.startswith(generation.TMP_PREFIX)
    ]


def test_an_encoder_failing_midway_leaves_the_previous_generation(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    failing = FailingEncoder()
    with pytest.raises(MemoryError):
        build.ingest(corpus_copy, data_dir, failing, rules)
    assert failing.calls == 2  # it did fail after the first batch
    assert_serving(data_dir, first.generation)
    assert tmp_folders(data_dir) == []
    assert len(generation_dirs(data_dir)) == 1
    # The next ingest publishes normally.
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published and summary.changed == (TRUST,)
    assert_serving(data_dir, summary.generation)


def test_a_failing_publish_leaves_the_previous_generation(
    corpus_copy: Path,
    data_dir: Path,
    encoder: HashingEncoder,
    rules: Rules,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)

    def broken_publish(*args: object) -> Path:
        raise OSError("disk full")

    with monkeypatch.context() as patch:
        patch.setattr(generation, "publish", broken_publish)
        with pytest.raises(OSError, match="disk full"):
            build.ingest(corpus_copy, data_dir, encoder, rules)
    assert_serving(data_dir, first.generation)
    assert tmp_folders(data_dir) == []
    assert build.ingest(corpus_copy, data_dir, encoder, rules).published


def test_a_crash_before_current_is_updated_leaves_the_previous_generation(
    corpus_copy: Path,
    data_dir: Path,
    encoder: HashingEncoder,
    rules: Rules,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    real_replace = os.replace

    def replace(src: object, dst: object) -> None:
        if Path(str(dst)).name == generation.CURRENT:
            raise OSError("power cut")
        real_replace(src, dst)  # type: ignore[arg-type]

    with monkeypatch.context() as patch:
        patch.setattr(generation.os, "replace", replace)
        with pytest.raises(OSError, match="power cut"):
            build.ingest(corpus_copy, data_dir, encoder, rules)
    # The new folder was moved into place, but readers still get the old generation.
    assert (data_dir / f"{generation.CURRENT}.tmp").exists()
    assert_serving(data_dir, first.generation)
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published
    assert not (data_dir / f"{generation.CURRENT}.tmp").exists()
    assert_serving(data_dir, summary.generation)


def test_leftovers_of_a_killed_build_are_removed_by_the_next_ingest(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    # A build killed with SIGKILL cannot clean up after itself: fake what it leaves.
    leftover = generation.generations_dir(data_dir) / f"{generation.TMP_PREFIX}killed"
    leftover.mkdir()
    shutil.copy(generation.generations_dir(data_dir) / first.generation / "meta.sqlite", leftover)
    (data_dir / f"{generation.CURRENT}.tmp").write_text("half-written")
    assert_serving(data_dir, first.generation)  # readers ignore the leftovers
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert not summary.published  # nothing changed...
    assert tmp_folders(data_dir) == []  # ...but the leftovers are gone
    assert not (data_dir / f"{generation.CURRENT}.tmp").exists()


def test_ingest_after_corruption_falls_back_and_republishes(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    second = build.ingest(corpus_copy, data_dir, encoder, rules)
    sqlite = generation.generations_dir(data_dir) / second.generation / "meta.sqlite"
    data = bytearray(sqlite.read_bytes())
    data[len(data) // 2] ^= 0x01
    sqlite.write_bytes(bytes(data))
    loaded = generation.load_best(data_dir, MODEL)
    assert (loaded.generation.name, loaded.degraded) == (first.generation, True)
    # Re-ingest reuses the good generation's vectors and publishes a sound one.
    before = encoder.encoded
    summary = build.ingest(corpus_copy, data_dir, encoder, rules)
    assert summary.published and summary.changed == (TRUST,)
    assert encoder.encoded - before == 2
    assert_serving(data_dir, summary.generation)


def test_ingest_repairs_a_corrupt_current_even_when_the_fallback_matches_the_corpus(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    path = corpus_copy / "documents" / TRUST_FILE
    original = path.read_text("utf-8")
    first = build.ingest(corpus_copy, data_dir, encoder, rules)
    edit_document(corpus_copy)
    second = build.ingest(corpus_copy, data_dir, encoder, rules)
    sqlite = generation.generations_dir(data_dir) / second.generation / "meta.sqlite"
    data = bytearray(sqlite.read_bytes())
    data[len(data) // 2] ^= 0x01
    sqlite.write_bytes(bytes(data))
    path.write_text(original, encoding="utf-8")  # the corpus is the first one again
    build.ingest(corpus_copy, data_dir, encoder, rules)
    loaded = generation.load_best(data_dir, MODEL)
    assert loaded.generation.texts == current_texts(first.generation, data_dir)
    assert not loaded.degraded


def current_texts(name: str, data: Path) -> dict[str, str]:
    return generation.load(generation.generations_dir(data) / name, MODEL).texts


def test_a_second_ingest_waits_for_the_lock(
    corpus_copy: Path, data_dir: Path, encoder: HashingEncoder, rules: Rules
) -> None:
    from index.errors import Busy

    with build.lock(data_dir), pytest.raises(Busy, match="another ingest is writing"):
        build.ingest(corpus_copy, data_dir, encoder, rules, lock_timeout=0.05)
