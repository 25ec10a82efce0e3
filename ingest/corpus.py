"""The corpus: its manifest, and turning each listed file into an ingested Document."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import tomli_w

from ingest.chunk import chunk
from ingest.clean import Rules, clean
from ingest.errors import BadDocument, ManifestError
from ingest.read import SUFFIXES, read
from ingest.segment import segment
from ingest.types import Document, Meta, RawLine

MANIFEST = "manifest.toml"
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
_FIELDS = frozenset(Meta.__dataclass_fields__)


@dataclass(frozen=True, slots=True)
class Problem:
    """A document that was skipped, and why."""

    document: str
    message: str


def ingest_document(meta: Meta, raw: Sequence[RawLine], rules: Rules) -> Document:
    """Given a document's metadata and raw lines, return it cleaned, segmented and chunked."""
    cleaned = clean(raw, rules, meta.title, meta.aliases)
    if not cleaned.text:
        raise BadDocument(f"{meta.file}: nothing is left after cleaning")
    sentences = segment(cleaned, meta.id, meta.title)
    if not sentences:
        raise BadDocument(f"{meta.file}: no sentences found after cleaning")
    sha = hashlib.sha256(cleaned.text.encode("utf-8")).hexdigest()
    chunks = chunk(sentences, cleaned.text)
    return Document(meta, sha, cleaned.text, tuple(sentences), tuple(chunks), cleaned.dropped)


def load_manifest(corpus_dir: Path) -> list[Meta]:
    """Given the corpus folder, return the validated entries of its manifest."""
    path = corpus_dir / MANIFEST
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except FileNotFoundError as err:
        raise ManifestError(f"no manifest at {path}") from err
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ManifestError(f"{path}: not valid TOML ({err})") from err
    entries = data.get("documents", [])
    if not isinstance(entries, list):
        raise ManifestError(f"{path}: [[documents]] must be a list of tables")
    metas = [_meta(entry, n, corpus_dir) for n, entry in enumerate(entries, 1)]
    ids = [m.id for m in metas]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise ManifestError(f"{path}: duplicate document ids: {', '.join(duplicates)}")
    return metas


def _meta(entry: Any, n: int, corpus_dir: Path) -> Meta:
    where = f"{MANIFEST} entry {n}"
    if not isinstance(entry, dict):
        raise ManifestError(f"{where}: must be a table")
    unknown = set(entry) - _FIELDS
    if unknown:
        raise ManifestError(f"{where}: unknown fields {sorted(unknown)}")
    for key in ("id", "file", "title"):
        if not isinstance(entry.get(key), str) or not entry[key].strip():
            raise ManifestError(f"{where}: '{key}' is required")
    check_id(entry["id"], where)
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ManifestError(f"{where}: aliases must be a list of strings")
    return Meta(**{**entry, "aliases": tuple(aliases)})


def check_id(document_id: str, where: str = "document") -> None:
    """Raise ManifestError unless an id is a lower-case slug (it names files and URLs)."""
    if not _ID.match(document_id):
        raise ManifestError(f"{where}: id {document_id!r} must be a lower-case slug (a-z, 0-9, -)")


def resolve_file(corpus_dir: Path, name: str) -> Path:
    """Given a manifest file entry, return its path; refuse paths that leave the corpus."""
    root = corpus_dir.resolve()
    path = (root / name).resolve()
    if not path.is_relative_to(root):
        raise ManifestError(f"{name!r} points outside the corpus folder")
    return path


def read_corpus(
    corpus_dir: Path, rules: Rules
) -> Iterator[tuple[Meta, Document | None, Problem | None]]:
    """Given the corpus folder, yield each listed document ingested, or the problem with it."""
    for meta in load_manifest(corpus_dir):
        try:
            path = resolve_file(corpus_dir, meta.file)
            if not path.is_file():
                raise BadDocument(f"{meta.file}: listed in the manifest but not found")
            yield meta, ingest_document(meta, read(path), rules), None
        except (BadDocument, ManifestError) as err:
            yield meta, None, Problem(meta.id, str(err))


def add_to_corpus(corpus_dir: Path, source: Path, meta: Meta) -> Meta:
    """Copy a file into the corpus and list it in the manifest; return the stored entry."""
    if source.suffix.lower() not in SUFFIXES:
        raise BadDocument(
            f"{source.name}: unsupported file type; use {', '.join(sorted(SUFFIXES))}"
        )
    check_id(meta.id)
    existing = load_manifest(corpus_dir)
    if any(m.id == meta.id for m in existing):
        raise ManifestError(f"a document with id {meta.id!r} is already listed")
    target = corpus_dir / "documents" / f"{meta.id}{source.suffix.lower()}"
    if target.exists():
        raise ManifestError(f"{target} already exists")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    stored = Meta(**{**asdict(meta), "file": target.relative_to(corpus_dir).as_posix()})
    entry = {k: v for k, v in asdict(stored).items() if v not in (None, ())}
    entry["aliases"] = list(stored.aliases) if stored.aliases else None
    entry = {k: v for k, v in entry.items() if v is not None}
    # A [[documents]] header of its own: tomli_w would write a short entry as an inline
    # array, which would land inside the previous table.
    block = "[[documents]]\n" + tomli_w.dumps(entry)
    path = corpus_dir / MANIFEST
    _write_atomically(path, path.read_text("utf-8").rstrip("\n") + "\n\n" + block)
    return stored


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)
