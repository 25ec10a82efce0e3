"""The corpus: its manifest, and turning each listed file into an ingested Document."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
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
# Pages link to a document's url: only web addresses, never javascript: or data: URLs.
_WEB_URL = re.compile(r"^https?://[^\s<>\"']+$", re.IGNORECASE)
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
    check_url(entry.get("url"), where)
    aliases = entry.get("aliases", [])
    if not isinstance(aliases, list) or not all(isinstance(a, str) for a in aliases):
        raise ManifestError(f"{where}: aliases must be a list of strings")
    return Meta(**{**entry, "aliases": tuple(aliases)})


def check_id(document_id: str, where: str = "document") -> None:
    """Raise ManifestError unless an id is a lower-case slug (it names files and URLs)."""
    if not _ID.match(document_id):
        raise ManifestError(f"{where}: id {document_id!r} must be a lower-case slug (a-z, 0-9, -)")


def check_url(url: object, where: str = "document") -> None:
    """Raise ManifestError unless a url is absent or a plain http(s) address."""
    if url is not None and not (isinstance(url, str) and _WEB_URL.match(url)):
        raise ManifestError(f"{where}: url must be an http:// or https:// address")


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
    check_id(meta.id)
    suffix = source.suffix.lower()
    if suffix not in SUFFIXES:
        kinds = ", ".join(sorted(SUFFIXES))
        raise BadDocument(f"{source.name}: unsupported file type; use {kinds}")
    if any(m.id == meta.id for m in load_manifest(corpus_dir)):
        raise ManifestError(f"a document with id {meta.id!r} is already listed")
    store_document(corpus_dir, meta, suffix, source.read_bytes())
    return next(m for m in load_manifest(corpus_dir) if m.id == meta.id)


# Edits of the manifest go one [[documents]] table at a time and keep the rest verbatim,
# so staff comments and formatting survive.
_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*documents[ \t]*\]\]", re.MULTILINE)


def store_document(corpus_dir: Path, meta: Meta, suffix: str, data: bytes) -> None:
    """Add a document to the corpus, or replace the one with its id; identical: no change."""
    check_id(meta.id)
    check_url(meta.url)
    old = next((m for m in load_manifest(corpus_dir) if m.id == meta.id), None)
    name = f"documents/{meta.id}{suffix}"
    if old is not None and Path(old.file).suffix.lower() == suffix:
        name = old.file
    # Aliases are cleaning hints kept in the manifest; the API does not send them.
    new = replace(meta, file=name, aliases=() if old is None else old.aliases)
    target = resolve_file(corpus_dir, name)
    old_path = None if old is None else resolve_file(corpus_dir, old.file)
    if target != old_path and target.exists():
        raise ManifestError(f"{name} already exists in the corpus")
    if target.is_file() and target.read_bytes() == data and new == old:
        return
    if not (target.is_file() and target.read_bytes() == data):
        write_atomically(target, data)
    try:
        if new != old:
            _set_entry(corpus_dir, meta.id, new)
    except BaseException:
        if old_path is None:
            target.unlink(missing_ok=True)
        raise
    if old_path is not None and old_path != target:
        old_path.unlink(missing_ok=True)


def remove_document(corpus_dir: Path, document_id: str) -> None:
    """Remove a document's manifest entry, then its file (unless another entry uses it)."""
    metas = load_manifest(corpus_dir)
    meta = next(m for m in metas if m.id == document_id)
    _set_entry(corpus_dir, document_id, None)
    if all(m.file != meta.file for m in metas if m.id != document_id):
        resolve_file(corpus_dir, meta.file).unlink(missing_ok=True)


def _set_entry(corpus_dir: Path, document_id: str, entry: Meta | None) -> None:
    """Add, replace or (given None) remove the [[documents]] table of one document."""
    path = corpus_dir / MANIFEST
    text = path.read_text("utf-8")
    starts = [m.start() for m in _TABLE.finditer(text)]
    blocks = list(zip(starts, [*starts[1:], len(text)], strict=True))
    hits = [(a, b) for a, b in blocks if _block_id(text[a:b]) == document_id]
    block = "" if entry is None else _entry_toml(entry)
    if len(hits) == 1:
        a, b = hits[0]
        edited = text[:a] + (block + "\n" if block else "") + text[b:]
    elif not hits and entry is not None:
        edited = text.rstrip("\n") + "\n\n" + block
    else:
        raise ManifestError(f"cannot find the one manifest entry of {document_id!r} to edit")
    expected = set(_ids(text)) - {document_id} | ({document_id} if entry else set())
    if sorted(_ids(edited)) != sorted(expected):
        raise ManifestError(f"editing the manifest entry of {document_id!r} would damage it")
    write_atomically(path, (edited.rstrip("\n") + "\n").encode("utf-8"))


def _ids(manifest: str) -> list[str]:
    return [str(d.get("id")) for d in tomllib.loads(manifest).get("documents", [])]


def _block_id(block: str) -> str | None:
    try:
        tables = tomllib.loads(block).get("documents")
    except tomllib.TOMLDecodeError:
        return None
    if isinstance(tables, list) and len(tables) == 1 and isinstance(tables[0], dict):
        found = tables[0].get("id")
        return found if isinstance(found, str) else None
    return None


def _entry_toml(meta: Meta) -> str:
    """A document's manifest table: always `[[documents]]`, never an inline table."""
    entry: dict[str, object] = {k: v for k, v in asdict(meta).items() if v not in (None, ())}
    if meta.aliases:
        entry["aliases"] = list(meta.aliases)
    return "[[documents]]\n" + tomli_w.dumps(entry)


def write_atomically(path: Path, data: bytes) -> None:
    """Write bytes to a path through a flushed temporary sibling and os.replace, so a
    reader or a crash never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
