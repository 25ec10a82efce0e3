"""ingest/corpus.py: the manifest, bad files skipped with a reason, stable ids."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ingest.clean import Rules
from ingest.corpus import (
    Problem,
    add_to_corpus,
    ingest_document,
    load_manifest,
    read_corpus,
    resolve_file,
)
from ingest.errors import BadDocument, IngestError, ManifestError
from ingest.read import MAX_BYTES
from ingest.types import Document, Meta, RawLine
from tests.conftest import CORPUS_DIR

SEED_IDS = [
    "task-force-model-mandamus",
    "287g-agreement-writ-of-mandamus",
    "community-trust-287g-mandamus",
    "visaverge-287g-task-force-model",
    "officer-misconduct-287g-mandamus",
]


def ingest_all(corpus: Path, rules: Rules) -> tuple[dict[str, Document], list[Problem]]:
    docs: dict[str, Document] = {}
    problems: list[Problem] = []
    for meta, doc, problem in read_corpus(corpus, rules):
        if doc is not None:
            docs[meta.id] = doc
        if problem is not None:
            problems.append(problem)
    return docs, problems


def append_entry(corpus: Path, doc_id: str, file: str, title: str = "A Title") -> None:
    with (corpus / "manifest.toml").open("a", encoding="utf-8") as handle:
        handle.write(f'\n[[documents]]\nid = "{doc_id}"\nfile = "{file}"\ntitle = "{title}"\n')


def ids(doc: Document) -> tuple[list[str], list[str]]:
    return [s.id for s in doc.sentences], [c.id for c in doc.chunks]


# --- the manifest ---------------------------------------------------------------------


def test_seed_manifest() -> None:
    metas = load_manifest(CORPUS_DIR)
    assert [m.id for m in metas] == SEED_IDS
    assert all(m.title and m.file.startswith("documents/") for m in metas)
    assert metas[0].aliases == (
        "Task Force Model: The Most Dangerous 287(g) Tool\u2014and When Mandamus Can Help",
    )


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        ("[[documents]]\nid = 'x'\nfile = 'a.txt'\n", "entry 1: 'title' is required"),
        ("[[documents]]\nid = 'x'\nfile = 'a.txt'\ntitle = ' '\n", "'title' is required"),
        ("[[documents]]\nid = 'Not A Slug'\nfile = 'a.txt'\ntitle = 'T'\n", "lower-case slug"),
        ("[[documents]]\nid = 'x'\nfile = 'a.txt'\ntitle = 'T'\nauthor = 'me'\n", "unknown fields"),
        ("[[documents]]\nid = 'x'\nfile = 'a.txt'\ntitle = 'T'\naliases = 'A'\n", "aliases must"),
        ("documents = 3\n", "must be a list of tables"),
        ("documents = [3]\n", "entry 1: must be a table"),
        ("[[documents]\nid = 'x'\n", "not valid TOML"),
        (
            "[[documents]]\nid = 'x'\nfile = 'a.txt'\ntitle = 'T'\n"
            "[[documents]]\nid = 'x'\nfile = 'b.txt'\ntitle = 'U'\n",
            "duplicate document ids: x",
        ),
    ],
)
def test_malformed_manifests_are_refused(tmp_path: Path, manifest: str, message: str) -> None:
    (tmp_path / "manifest.toml").write_text(manifest, encoding="utf-8")
    with pytest.raises(ManifestError, match=message.replace("(", r"\(")):
        load_manifest(tmp_path)


def test_missing_manifest(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no manifest at"):
        load_manifest(tmp_path)


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "documents/../../x.txt"])
def test_paths_outside_the_corpus_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ManifestError, match="points outside the corpus folder"):
        resolve_file(tmp_path, name)


def test_symlinks_out_of_the_corpus_are_refused(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("Outside text.")
    (corpus / "link.txt").symlink_to(secret)
    with pytest.raises(ManifestError, match="outside the corpus"):
        resolve_file(corpus, "link.txt")


def test_a_traversal_entry_is_skipped_and_the_rest_still_ingests(
    corpus_copy: Path, rules: Rules
) -> None:
    append_entry(corpus_copy, "passwd", "../../etc/passwd")
    docs, problems = ingest_all(corpus_copy, rules)
    assert sorted(docs) == sorted(SEED_IDS)
    assert [p.document for p in problems] == ["passwd"]
    assert "outside the corpus" in problems[0].message


# --- bad files are skipped, the rest ingests -------------------------------------------


def write_bytes(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def write_huge(path: Path, _data: bytes) -> None:
    with path.open("wb") as handle:  # sparse: costs no disk space
        handle.truncate(MAX_BYTES + 1)


@pytest.mark.parametrize(
    ("file", "data", "write", "message"),
    [
        ("binary.txt", b"\x00\x01\x02binary", write_bytes, "looks binary (contains NUL bytes)"),
        ("empty.txt", b"", write_bytes, "the file is empty"),
        ("blank.txt", b"  \n\n\t \n", write_bytes, "the file is empty"),
        ("latin1.txt", "Señor, the writ.".encode("latin-1"), write_bytes, "not valid UTF-8"),
        ("huge.txt", b"", write_huge, "over the 5,242,880-byte limit"),
        ("notes.docx", b"Some text.", write_bytes, "unsupported file type '.docx'"),
        ("clutter.txt", b"Promotional Banner\nArchives\n", write_bytes, "nothing is left"),
        ("invisible.txt", "\u200b\u200d\ufeff\n".encode(), write_bytes, "nothing is left"),
        ("headings.md", b"# Just A Heading\n## Another Heading\n", write_bytes, "no sentences"),
    ],
)
def test_bad_files_become_problems_and_the_rest_ingests(
    corpus_copy: Path, rules: Rules, file: str, data: bytes, write: object, message: str
) -> None:
    assert callable(write)
    write(corpus_copy / "documents" / file, data)
    append_entry(corpus_copy, "bad-file", f"documents/{file}")
    docs, problems = ingest_all(corpus_copy, rules)
    assert sorted(docs) == sorted(SEED_IDS)
    assert len(problems) == 1
    assert problems[0].document == "bad-file"
    assert file in problems[0].message
    assert message in problems[0].message


def test_a_listed_file_that_is_missing_is_a_problem(corpus_copy: Path, rules: Rules) -> None:
    append_entry(corpus_copy, "ghost", "documents/ghost.txt")
    docs, problems = ingest_all(corpus_copy, rules)
    assert sorted(docs) == sorted(SEED_IDS)
    assert problems == [
        Problem("ghost", "documents/ghost.txt: listed in the manifest but not found")
    ]


def test_markdown_and_html_documents_ingest(corpus_copy: Path, rules: Rules) -> None:
    (corpus_copy / "documents" / "notes.md").write_text(
        "# Notes on Mandamus\n\nA writ compels a duty.\n\n## Limits\n\n- It needs a clear duty.\n"
    )
    (corpus_copy / "documents" / "page.html").write_text(
        "<html><body><h2>Detainers</h2><p>ICE may issue a detainer.</p></body></html>"
    )
    append_entry(corpus_copy, "notes", "documents/notes.md", "Mandamus Notes Collection")
    append_entry(corpus_copy, "page", "documents/page.html", "A Page")
    docs, problems = ingest_all(corpus_copy, rules)
    assert problems == []
    notes = {s.text: s for s in docs["notes"].sentences}
    assert notes["A writ compels a duty."].section == "Notes on Mandamus"
    assert notes["It needs a clear duty."].section == "Limits"
    assert [s.text for s in docs["page"].sentences] == ["ICE may issue a detainer."]


# --- documents and ids ----------------------------------------------------------------


def test_ingest_document_hashes_the_cleaned_text(rules: Rules) -> None:
    meta = Meta(id="d", file="d.txt", title="T")
    doc = ingest_document(meta, [RawLine(1, "Mandamus compels. Courts decide.")], rules)
    assert doc.sha256 == hashlib.sha256(doc.text.encode()).hexdigest()
    assert doc.id == "d"
    with pytest.raises(BadDocument, match=r"d\.txt: nothing is left after cleaning"):
        ingest_document(meta, [RawLine(1, "Promotional Banner")], rules)


def test_two_ingests_give_identical_ids(rules: Rules, real_documents: dict[str, Document]) -> None:
    again, problems = ingest_all(CORPUS_DIR, rules)
    assert problems == []
    for doc_id, doc in real_documents.items():
        assert ids(again[doc_id]) == ids(doc)


def test_editing_one_document_changes_only_its_ids(
    corpus_copy: Path, rules: Rules, real_documents: dict[str, Document]
) -> None:
    path = corpus_copy / "documents" / "002_5265ddcdfc20e992.txt"
    text = path.read_text("utf-8")
    assert text.count("Probably not.") == 1
    path.write_text(text.replace("Probably not.", "Probably never."), encoding="utf-8")
    edited, _ = ingest_all(corpus_copy, rules)
    for doc_id, doc in real_documents.items():
        if doc_id == "community-trust-287g-mandamus":
            old_s, old_c = ids(doc)
            new_s, new_c = ids(edited[doc_id])
            # Only the edited sentence and the chunk holding it get new ids.
            assert len(set(new_s) - set(old_s)) == 1
            assert len(set(new_c) - set(old_c)) == 1
        else:
            assert ids(edited[doc_id]) == ids(doc)


# --- add_to_corpus --------------------------------------------------------------------


def source_file(tmp_path: Path) -> Path:
    path = tmp_path / "incoming.txt"
    path.write_text("A writ of mandamus compels an agency to act.\n", encoding="utf-8")
    return path


def test_add_to_corpus_copies_and_lists_the_file(corpus_copy: Path, tmp_path: Path) -> None:
    meta = Meta(
        id="new-doc",
        file="",
        title="A New Document",
        publisher="A Publisher",
        licence="Held for retrieval and quoted in short cited excerpts only.",
    )
    stored = add_to_corpus(corpus_copy, source_file(tmp_path), meta)
    assert stored.file == "documents/new-doc.txt"
    assert (corpus_copy / stored.file).read_text() == source_file(tmp_path).read_text()
    assert load_manifest(corpus_copy)[-1] == stored


def test_add_to_corpus_with_only_the_required_fields(corpus_copy: Path, tmp_path: Path) -> None:
    meta = Meta(id="new-doc", file="", title="A New Document")
    stored = add_to_corpus(corpus_copy, source_file(tmp_path), meta)
    assert load_manifest(corpus_copy)[-1] == stored


def test_add_to_corpus_refuses_duplicates_and_unsupported_files(
    corpus_copy: Path, tmp_path: Path
) -> None:
    with pytest.raises(ManifestError, match="already listed"):
        add_to_corpus(corpus_copy, source_file(tmp_path), Meta(SEED_IDS[0], "", "T"))
    odd = tmp_path / "x.docx"
    odd.write_text("Some text.")
    with pytest.raises(BadDocument, match="unsupported file type"):
        add_to_corpus(corpus_copy, odd, Meta("x", "", "T"))


def test_add_to_corpus_refuses_an_invalid_id(corpus_copy: Path, tmp_path: Path) -> None:
    meta = Meta(id="../../escaped", file="", title="Escaped")
    try:
        with pytest.raises(IngestError):
            add_to_corpus(corpus_copy, source_file(tmp_path), meta)
    finally:
        escaped = tmp_path / "escaped.txt"
        was_written = escaped.exists()
        escaped.unlink(missing_ok=True)
    assert not was_written
