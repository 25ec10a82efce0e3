"""index/transaction.py and build.change: one staff write is one transaction.

In-process and fast: a write that fails before publishing is undone; the leftovers of a
kill before and after the commit point (made here by running the steps up to there) are
undone or finished by the next `settle`, and a generation built from an undone write is
removed. tests/reliability/test_staff_crash.py kills a real server instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from index import build, generation, transaction
from index.types import Vectors
from ingest.clean import Rules
from ingest.corpus import Change, load_manifest, plan_remove, plan_store, read_corpus
from ingest.errors import ManifestError
from ingest.types import Meta
from tests.conftest import HashingEncoder

MODEL = "test-hashing-encoder"
NOTE = Meta(id="note-a", file="", title="Note A")
TEXT = b"Note A\n\nA writ of mandamus compels an agency to act on a petition.\n"


def texts(corpus: Path, rules: Rules) -> dict[str, str]:
    return {m.id: d.text for m, d, _ in read_corpus(corpus, rules) if d is not None}


def served(data: Path) -> dict[str, str]:
    loaded = generation.load_best(data, MODEL)
    try:
        return dict(loaded.generation.texts)
    finally:
        loaded.generation.db.close()


@pytest.fixture
def corpus_and_data(tmp_path: Path, corpus_copy: Path, rules: Rules) -> tuple[Path, Path]:
    data = tmp_path / "data"
    assert build.ingest(corpus_copy, data, HashingEncoder(), rules).published
    return corpus_copy, data


def add(corpus: Path) -> Change | None:
    return plan_store(corpus, NOTE, ".txt", TEXT)


def test_a_write_is_published_and_committed_together(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    summary = build.change(corpus, data, HashingEncoder(), rules, add)
    assert summary.published and summary.added == ("note-a",)
    assert texts(corpus, rules) == served(data)
    assert "note-a" in served(data)
    assert not any((corpus / transaction.STAGING).iterdir())
    manifest = generation.read_manifest(generation.generations_dir(data) / summary.generation)
    assert isinstance(manifest["transaction"], str)
    again = build.change(corpus, data, HashingEncoder(), rules, add)
    assert not again.published and again.unchanged  # identical: nothing is staged


class FailingEncoder(HashingEncoder):
    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        raise RuntimeError("the model went away")


def test_a_write_whose_ingest_fails_is_rolled_back(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    manifest = (corpus / "manifest.toml").read_bytes()
    with pytest.raises(RuntimeError):
        build.change(corpus, data, FailingEncoder(), rules, add)
    assert (corpus / "manifest.toml").read_bytes() == manifest
    assert not (corpus / "documents" / "note-a.txt").exists()
    assert not any((corpus / transaction.STAGING).iterdir())
    assert texts(corpus, rules) == served(data)


def test_a_plan_that_refuses_changes_nothing(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data

    def refuse(_corpus: Path) -> Change:
        raise ManifestError("no")

    with pytest.raises(ManifestError):
        build.change(corpus, data, HashingEncoder(), rules, refuse)
    assert not (corpus / transaction.STAGING).exists()


def stage_and_publish(corpus: Path, data: Path, rules: Rules, change: Change) -> str:
    """Run a write up to its commit point (published, corpus untouched): a kill there."""
    prepared = transaction.prepare(corpus, change)
    with build.lock(data):
        summary = build._ingest_locked(
            corpus,
            data,
            HashingEncoder(),
            rules,
            False,
            False,
            0.0,
            staged=prepared.staged,
            tx=prepared.id,
        )
    assert summary.published
    return summary.generation


def test_a_write_killed_after_publishing_is_finished_by_the_next_ingest(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    change = add(corpus)
    assert change is not None
    stage_and_publish(corpus, data, rules, change)
    assert "note-a" in served(data) and "note-a" not in texts(corpus, rules)  # torn
    summary = build.ingest(corpus, data, HashingEncoder(), rules)
    assert not summary.published  # the corpus now matches what is served
    assert summary.settled == (
        "finished the interrupted write of note-a (the index already served it)",
    )
    assert texts(corpus, rules) == served(data)


def test_a_write_killed_before_publishing_is_undone_with_its_orphan_generation(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    old = generation.current_name(data)
    assert old is not None
    change = add(corpus)
    assert change is not None
    orphan = stage_and_publish(corpus, data, rules, change)
    generation.point(data, old)  # as if killed between the rename and CURRENT
    assert build.recover(corpus, data) == [
        "undid the interrupted write of note-a (the index never served it)"
    ]
    assert not (generation.generations_dir(data) / orphan).exists()
    assert texts(corpus, rules) == served(data)
    assert "note-a" not in texts(corpus, rules)
    retried = build.change(corpus, data, HashingEncoder(), rules, add)
    assert retried.added == ("note-a",)


def test_a_delete_killed_after_publishing_is_finished(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    build.change(corpus, data, HashingEncoder(), rules, add)
    stage_and_publish(corpus, data, rules, plan_remove(corpus, "note-a"))
    assert any(m.id == "note-a" for m in load_manifest(corpus))
    build.recover(corpus, data)
    assert all(m.id != "note-a" for m in load_manifest(corpus))
    assert not (corpus / "documents" / "note-a.txt").exists()
    assert texts(corpus, rules) == served(data)


def test_a_folder_killed_while_staging_is_discarded(
    corpus_and_data: tuple[Path, Path], rules: Rules
) -> None:
    corpus, data = corpus_and_data
    half = corpus / transaction.STAGING / "0123456789abcdef" / "files" / "documents"
    half.mkdir(parents=True)
    (half / "note-a.txt").write_bytes(TEXT)  # no journal yet: nothing was prepared
    assert build.recover(corpus, data) == []
    assert not any((corpus / transaction.STAGING).iterdir())


def test_files_no_entry_lists_are_reported(corpus_and_data: tuple[Path, Path]) -> None:
    corpus, data = corpus_and_data
    (corpus / "documents" / "stray.txt").write_text("Left by hand.")
    assert build.recover(corpus, data) == [
        "documents/stray.txt is in the corpus folder but no manifest entry lists it"
    ]
    with pytest.raises(ManifestError, match="no manifest entry lists it"):
        plan_store(corpus, Meta(id="stray", file="", title="Stray"), ".txt", b"New text.")
