"""Index generations: self-describing directories, published atomically, verified on load.

Layout of a data directory (LEXCITE_DATA_DIR):

    CURRENT                     name of the generation readers should use
    generations/<name>/         manifest.json, meta.sqlite, {chunks,sentences}.{npy,faiss},
                                lexical/ (the Tantivy index, index/lexical.py)
    generations/.tmp-*          a generation being built (removed at start-up if abandoned)
    .lock                       held by the one ingest that may write at a time

A generation is written under a temporary name, flushed to disk, renamed into place and
only then named in CURRENT (written to a temporary file and renamed over the old one), so
a reader sees either the old generation or the complete new one, whatever a crash cuts.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from index import lexical, store, vectors
from index.errors import CorruptIndex, IndexMismatch, NoIndex
from index.lexical import LexicalIndex
from index.types import Vectors
from index.vectors import VectorIndex
from ingest.types import Chunk, Sentence

# 3: the lexical index moved from SQLite FTS5 to Tantivy (lexical/); 4: one lexical field.
FORMAT = 4
CURRENT = "CURRENT"
GENERATIONS = "generations"
TMP_PREFIX = ".tmp-"
FILES = ("meta.sqlite", "chunks.npy", "sentences.npy", "chunks.faiss", "sentences.faiss")
LEXICAL = "lexical"
# Older generations kept as fallbacks for a corrupt current one.
KEEP = 3


@dataclass(frozen=True, slots=True)
class Generation:
    """A loaded, verified generation: everything a search needs, in memory or mmapped."""

    name: str
    path: Path
    manifest: dict[str, Any]
    db: sqlite3.Connection
    chunk_index: VectorIndex
    sentence_index: VectorIndex
    lexical: LexicalIndex
    chunk_vectors: Vectors
    sentence_vectors: Vectors
    sentences: list[Sentence]
    chunks: list[Chunk]
    chunk_spans: list[tuple[int, int]]
    sentence_chunk: list[int]
    documents: dict[str, store.DocumentRow] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)

    @property
    def model(self) -> str:
        return str(self.manifest["model"]["name"])


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def generations_dir(data_dir: Path) -> Path:
    return data_dir / GENERATIONS


def new_name(corpus_hash: str) -> str:
    """Return a sortable, unique generation name: UTC time to the microsecond + corpus hash."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{corpus_hash[:8]}"


@contextlib.contextmanager
def staging(data_dir: Path, name: str) -> Iterator[Path]:
    """Yield a temporary folder to build a generation in; remove it if the build fails."""
    tmp = generations_dir(data_dir) / f"{TMP_PREFIX}{name}"
    tmp.mkdir(parents=True)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def content_files(folder: Path) -> list[str]:
    """Return the paths, relative to a generation folder, of the files its manifest lists:
    FILES, then every file of the lexical index."""
    index_files = lexical.files(folder / LEXICAL) if (folder / LEXICAL).is_dir() else []
    return [*FILES, *(f"{LEXICAL}/{p.name}" for p in index_files)]


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Add checksums of the generation's files to the manifest and write it; return it."""
    manifest = {
        **manifest,
        "format": FORMAT,
        "files": {
            name: {"sha256": sha256_file(folder / name), "bytes": (folder / name).stat().st_size}
            for name in content_files(folder)
        },
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    return manifest


def publish(data_dir: Path, tmp: Path, name: str) -> Path:
    """Move a finished generation into place and make it current, crash-safely."""
    for path in tmp.rglob("*"):
        fsync(path)
    final = generations_dir(data_dir) / name
    os.replace(tmp, final)
    fsync(generations_dir(data_dir))
    point(data_dir, name)
    return final


def point(data_dir: Path, name: str) -> None:
    """Make `name` the current generation: write CURRENT.tmp, flush it, rename it over."""
    pointer = data_dir / f"{CURRENT}.tmp"
    pointer.write_text(name + "\n")
    fsync(pointer)
    os.replace(pointer, data_dir / CURRENT)
    fsync(data_dir)


def fsync(path: Path) -> None:
    """Flush a file's or a folder's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def current_name(data_dir: Path) -> str | None:
    """Return the name of the current generation, or None when none was published."""
    try:
        name = (data_dir / CURRENT).read_text("utf-8").strip()
    except (OSError, UnicodeDecodeError):
        return None  # missing or damaged: readers fall back to the newest good generation
    return name or None


def candidates(data_dir: Path) -> list[str]:
    """Return published generation names: the current one first, then newest to oldest."""
    folder = generations_dir(data_dir)
    names = (
        sorted(
            (p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            reverse=True,
        )
        if folder.is_dir()
        else []
    )
    current = current_name(data_dir)
    if current in names:
        names.remove(current)
        names.insert(0, current)
    return names


def read_manifest(path: Path) -> dict[str, Any]:
    """Return a generation's manifest; raise CorruptIndex when it is missing or unreadable."""
    try:
        manifest: dict[str, Any] = json.loads((path / "manifest.json").read_text())
    except (OSError, ValueError) as err:
        raise CorruptIndex(f"{path.name}: manifest unreadable ({err})") from err
    if not isinstance(manifest, dict) or not isinstance(manifest.get("model"), dict):
        raise CorruptIndex(f"{path.name}: manifest is malformed")
    if manifest.get("format") != FORMAT:
        raise IndexMismatch(f"{path.name}: format {manifest.get('format')}, expected {FORMAT}")
    return manifest


def verify(path: Path, manifest: dict[str, Any]) -> None:
    """Raise CorruptIndex unless every file matches its size and checksum in the manifest."""
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise CorruptIndex(f"{path.name}: manifest lists no files")
    # Only plain file names under lexical/: a tampered manifest cannot point elsewhere.
    listed = [n for n in files if isinstance(n, str) and re.fullmatch(rf"{LEXICAL}/[\w.-]+", n)]
    if f"{LEXICAL}/meta.json" not in listed:
        raise CorruptIndex(f"{path.name}: manifest lists no lexical index")
    for name in (*FILES, *listed):
        expected = files.get(name, {})
        file = path / name
        if not file.is_file() or file.stat().st_size != expected.get("bytes"):
            raise CorruptIndex(f"{path.name}/{name}: missing or truncated")
        if sha256_file(file) != expected.get("sha256"):
            raise CorruptIndex(f"{path.name}/{name}: checksum mismatch")


def load(path: Path, model: str | None = None) -> Generation:
    """Given a generation folder, verify and load it; `model` must match if given."""
    manifest = read_manifest(path)
    if model is not None and manifest["model"]["name"] != model:
        raise IndexMismatch(
            f"{path.name} was built with {manifest['model']['name']!r}, "
            f"but the configured model is {model!r}: run `lexcite ingest --rebuild`"
        )
    verify(path, manifest)
    db = store.connect(path / "meta.sqlite")
    spans = store.load_chunk_spans(db)
    sentence_chunk = [0] * (spans[-1][1] + 1 if spans else 0)
    for chunk_row, (first, last) in enumerate(spans):
        sentence_chunk[first : last + 1] = [chunk_row] * (last - first + 1)
    return Generation(
        name=path.name,
        path=path,
        manifest=manifest,
        db=db,
        chunk_index=vectors.load(path / "chunks.faiss"),
        sentence_index=vectors.load(path / "sentences.faiss"),
        lexical=LexicalIndex(path / LEXICAL),
        # Read into memory, not mmapped: a served file truncated in place (a backup restored
        # with cp) would otherwise kill the process with SIGBUS instead of raising.
        chunk_vectors=np.load(path / "chunks.npy"),
        sentence_vectors=np.load(path / "sentences.npy"),
        sentences=store.load_sentences(db),
        chunks=store.load_chunks(db),
        chunk_spans=spans,
        sentence_chunk=sentence_chunk,
        documents={d.id: d for d in store.documents(db)},
        texts=store.document_texts(db),
    )


@dataclass(frozen=True, slots=True)
class Loaded:
    """The generation that will be served, and whether a newer one had to be passed over."""

    generation: Generation
    degraded: bool
    problems: tuple[str, ...]


def load_best(data_dir: Path, model: str | None = None) -> Loaded:
    """Load the current generation, or the newest good one when the current is corrupt."""
    problems: list[str] = []
    pointer = data_dir / CURRENT
    if pointer.exists() and current_name(data_dir) not in candidates(data_dir):
        problems.append(f"{CURRENT} is unreadable or names no published generation")
    for name in candidates(data_dir):
        try:
            generation = load(generations_dir(data_dir) / name, model)
        except (
            CorruptIndex,
            IndexMismatch,
            sqlite3.Error,
            RuntimeError,
            ValueError,
            KeyError,
            TypeError,
        ) as err:
            problems.append(str(err))
            continue
        return Loaded(generation, degraded=bool(problems), problems=tuple(problems))
    if problems:
        raise CorruptIndex("no loadable generation: " + "; ".join(problems))
    raise NoIndex(f"no index in {data_dir}: run `lexcite ingest` first")


def remove_abandoned(data_dir: Path) -> list[str]:
    """Remove temporary folders left by builds that died; call only while holding the lock."""
    folder = generations_dir(data_dir)
    removed = []
    if folder.is_dir():
        for path in folder.iterdir():
            if path.name.startswith(TMP_PREFIX):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path.name)
    stale = data_dir / f"{CURRENT}.tmp"
    if stale.exists():
        stale.unlink()
    return removed


def prune(data_dir: Path, keep: int = KEEP) -> None:
    """Remove all but the `keep` newest generations (never the current one)."""
    names = candidates(data_dir)
    current = current_name(data_dir)
    for name in names[keep:]:
        if name != current:
            shutil.rmtree(generations_dir(data_dir) / name, ignore_errors=True)
