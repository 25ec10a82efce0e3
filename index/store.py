"""Metadata in SQLite: the only module that speaks SQL.

Tables: `documents`, `sentences` and `chunks` (row ids 0..n-1, which are also the rows
of the vector files and of the lexical index, index/lexical.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index.types import Filters
from ingest.types import Chunk, Document, Sentence

SCHEMA = """
CREATE TABLE documents (
    id TEXT PRIMARY KEY, title TEXT NOT NULL, publisher TEXT, kind TEXT, published TEXT,
    retrieved TEXT, url TEXT, licence TEXT, file TEXT NOT NULL, sha256 TEXT NOT NULL,
    text TEXT NOT NULL, chunks INTEGER NOT NULL, sentences INTEGER NOT NULL,
    dropped TEXT NOT NULL
);
CREATE TABLE sentences (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, document_id TEXT NOT NULL,
    section TEXT NOT NULL, kind TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL,
    text TEXT NOT NULL, chunk_row INTEGER NOT NULL
);
CREATE TABLE chunks (
    row INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, document_id TEXT NOT NULL,
    section TEXT NOT NULL, start INTEGER NOT NULL, "end" INTEGER NOT NULL, text TEXT NOT NULL,
    first_sentence INTEGER NOT NULL, last_sentence INTEGER NOT NULL
);
CREATE INDEX chunks_document ON chunks(document_id);
CREATE INDEX sentences_document ON sentences(document_id);
"""


@dataclass(frozen=True, slots=True)
class DocumentRow:
    """A document's metadata as stored (without its text)."""

    id: str
    title: str
    publisher: str | None
    kind: str | None
    published: str | None
    retrieved: str | None
    url: str | None
    licence: str | None
    file: str
    sha256: str
    chunks: int
    sentences: int


_DOC_FIELDS = (
    "id, title, publisher, kind, published, retrieved, url, licence, file, sha256, "
    "chunks, sentences"
)


def create(path: Path, documents: Sequence[Document]) -> tuple[list[Sentence], list[Chunk]]:
    """Write a new database of the documents; return sentences and chunks in row order."""
    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        sentences: list[Sentence] = []
        chunks: list[Chunk] = []
        for doc in documents:
            m = doc.meta
            dropped = json.dumps([[d.line, d.reason, d.text] for d in doc.dropped])
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    m.id,
                    m.title,
                    m.publisher,
                    m.kind,
                    m.published,
                    m.retrieved,
                    m.url,
                    m.licence,
                    m.file,
                    doc.sha256,
                    doc.text,
                    len(doc.chunks),
                    len(doc.sentences),
                    dropped,
                ),
            )
            row_of = {}
            for s in doc.sentences:
                row_of[s.id] = len(sentences)
                sentences.append(s)
            for c in doc.chunks:
                rows = [row_of[i] for i in c.sentence_ids]
                db.execute(
                    "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
                    (
                        len(chunks),
                        c.id,
                        c.document_id,
                        c.section,
                        c.start,
                        c.end,
                        c.text,
                        rows[0],
                        rows[-1],
                    ),
                )
                db.executemany(
                    "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            r,
                            s.id,
                            s.document_id,
                            s.section,
                            s.kind.value,
                            s.start,
                            s.end,
                            s.text,
                            len(chunks),
                        )
                        for r, s in ((r, sentences[r]) for r in rows)
                    ],
                )
                chunks.append(c)
        db.commit()
    finally:
        db.close()
    return sentences, chunks


def connect(path: Path) -> sqlite3.Connection:
    """Open a generation's database read-only; safe to share between threads for reading."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    db.execute("PRAGMA query_only = ON")
    return db


def filtered_chunk_rows(db: sqlite3.Connection, filters: Filters) -> list[int]:
    """Given metadata filters, return the rows of the chunks that pass them."""
    sql, params = "SELECT c.row FROM chunks c JOIN documents d ON d.id = c.document_id WHERE 1", []
    if filters.document_ids is not None:
        sql += " AND d.id IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(filters.document_ids)))
    if filters.kinds is not None:
        sql += " AND d.kind IN (SELECT value FROM json_each(?))"
        params.append(json.dumps(sorted(filters.kinds)))
    if filters.published_from is not None:
        sql += " AND d.published >= ?"
        params.append(filters.published_from)
    if filters.published_to is not None:
        sql += " AND d.published <= ?"
        params.append(filters.published_to)
    return [int(r) for (r,) in db.execute(sql + " ORDER BY c.row", params)]


def documents(db: sqlite3.Connection) -> list[DocumentRow]:
    """Return every document's metadata, ordered by id."""
    # _DOC_FIELDS is a constant of this module, never user input.
    rows = db.execute(f"SELECT {_DOC_FIELDS} FROM documents ORDER BY id")  # noqa: S608
    return [DocumentRow(*r) for r in rows]


def document_text(db: sqlite3.Connection, document_id: str) -> str | None:
    """Return a document's cleaned text, or None when there is no such document."""
    row = db.execute("SELECT text FROM documents WHERE id = ?", (document_id,)).fetchone()
    return None if row is None else str(row[0])


def document_texts(db: sqlite3.Connection) -> dict[str, str]:
    """Return every document's cleaned text by id."""
    return {str(i): str(t) for i, t in db.execute("SELECT id, text FROM documents")}


def dropped(db: sqlite3.Connection, document_id: str) -> list[tuple[int, str, str]]:
    """Return what cleaning dropped from a document: (line, reason, text) triples."""
    row = db.execute("SELECT dropped FROM documents WHERE id = ?", (document_id,)).fetchone()
    return [] if row is None else [tuple(d) for d in json.loads(row[0])]


def load_sentences(db: sqlite3.Connection) -> list[Sentence]:
    """Return every sentence in row order."""
    from ingest.types import LineKind

    rows = db.execute(
        'SELECT id, document_id, section, kind, start, "end", text FROM sentences ORDER BY row'
    )
    return [Sentence(i, d, sec, LineKind(k), s, e, t) for i, d, sec, k, s, e, t in rows]


def load_chunk_spans(db: sqlite3.Connection) -> list[tuple[int, int]]:
    """Return, per chunk row, the (first, last) sentence rows it holds."""
    rows = db.execute("SELECT first_sentence, last_sentence FROM chunks ORDER BY row")
    return [(int(a), int(b)) for a, b in rows]


def load_chunks(db: sqlite3.Connection) -> list[Chunk]:
    """Return every chunk in row order (sentence ids are filled from the sentences table)."""
    ids_by_chunk: dict[int, list[str]] = {}
    for chunk_row, sid in db.execute("SELECT chunk_row, id FROM sentences ORDER BY row"):
        ids_by_chunk.setdefault(int(chunk_row), []).append(str(sid))
    rows = db.execute(
        'SELECT row, id, document_id, section, start, "end", text FROM chunks ORDER BY row'
    )
    return [
        Chunk(i, d, sec, s, e, t, tuple(ids_by_chunk.get(int(r), ())))
        for r, i, d, sec, s, e, t in rows
    ]
