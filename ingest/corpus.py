"""The corpus: its manifest, and turning each listed file into an ingested Document."""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
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
_DATE = re.compile(r"^\d{4}(-\d{2}){0,2}$")
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


def load_manifest(corpus_dir: Path, text: str | None = None) -> list[Meta]:
    """Given the corpus folder (and optionally the text its manifest is to have), return
    the validated entries of its manifest."""
    path = corpus_dir / MANIFEST
    try:
        data = tomllib.loads(path.read_text("utf-8") if text is None else text)
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


@dataclass(frozen=True, slots=True)
class Staged:
    """The corpus as a staged change will leave it: the new manifest text, and where each
    new or rewritten file is waiting (by its name in the manifest)."""

    manifest: str
    files: Mapping[str, Path] = field(default_factory=dict)


def read_corpus(
    corpus_dir: Path, rules: Rules, staged: Staged | None = None
) -> Iterator[tuple[Meta, Document | None, Problem | None]]:
    """Given the corpus folder (seen through a staged change, if any), yield each listed
    document ingested, or the problem with it."""
    manifest = None if staged is None else staged.manifest
    waiting = {} if staged is None else staged.files
    for meta in load_manifest(corpus_dir, manifest):
        try:
            path = waiting.get(meta.file) or resolve_file(corpus_dir, meta.file)
            if not path.is_file():
                raise BadDocument(f"{meta.file}: listed in the manifest but not found")
            yield meta, ingest_document(meta, read(path), rules), None
        except (BadDocument, ManifestError) as err:
            yield meta, None, Problem(meta.id, str(err))


def add_to_corpus(corpus_dir: Path, source: Path, meta: Meta) -> Meta:
    """Copy a file into the corpus and list it in the manifest; return the stored entry."""
    apply_change(corpus_dir, plan_add(corpus_dir, source, meta))
    return next(m for m in load_manifest(corpus_dir) if m.id == meta.id)


def plan_add(corpus_dir: Path, source: Path, meta: Meta) -> Change | None:
    """Plan copying a file into the corpus under a new id (`lexcite add`)."""
    check_id(meta.id)
    suffix = source.suffix.lower()
    if suffix not in SUFFIXES:
        kinds = ", ".join(sorted(SUFFIXES))
        raise BadDocument(f"{source.name}: unsupported file type; use {kinds}")
    if any(m.id == meta.id for m in load_manifest(corpus_dir)):
        raise ManifestError(f"a document with id {meta.id!r} is already listed")
    return plan_store(corpus_dir, meta, suffix, source.read_bytes())


# Edits of the manifest go one [[documents]] table at a time and keep the rest verbatim,
# so staff comments and formatting survive.
_TABLE = re.compile(r"^[ \t]*\[\[[ \t]*documents[ \t]*\]\]", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Change:
    """One staff write, planned but not made: the manifest text it leaves, the file it
    writes (name in the corpus and bytes), and the files it removes once it is made."""

    document_id: str
    manifest: str
    write: tuple[str, bytes] | None
    remove: tuple[str, ...]


def plan_store(corpus_dir: Path, meta: Meta, suffix: str, data: bytes) -> Change | None:
    """Plan adding a document, or replacing the one with its id; None when nothing changes."""
    check_id(meta.id)
    check_url(meta.url)
    check_date(meta.published)
    old = next((m for m in load_manifest(corpus_dir) if m.id == meta.id), None)
    name = f"documents/{meta.id}{suffix}"
    if old is not None and Path(old.file).suffix.lower() == suffix:
        name = old.file
    # Aliases are cleaning hints kept in the manifest; the API does not send them.
    new = replace(meta, file=name, aliases=() if old is None else old.aliases)
    target = resolve_file(corpus_dir, name)
    old_path = None if old is None else resolve_file(corpus_dir, old.file)
    if target != old_path and target.exists():
        raise ManifestError(
            f"{name} already exists in the corpus but no manifest entry lists it; "
            "an operator must list or remove it"
        )
    same_bytes = target.is_file() and target.read_bytes() == data
    if same_bytes and new == old:
        return None
    manifest = _edited(corpus_dir, meta.id, new) if new != old else _manifest_text(corpus_dir)
    removed = (old.file,) if old is not None and old_path != target else ()
    return Change(meta.id, manifest, None if same_bytes else (name, data), removed)


def plan_remove(corpus_dir: Path, document_id: str) -> Change:
    """Plan removing a document's manifest entry and its file (unless another entry uses it)."""
    metas = load_manifest(corpus_dir)
    meta = next(m for m in metas if m.id == document_id)
    shared = any(m.file == meta.file for m in metas if m.id != document_id)
    return Change(
        document_id, _edited(corpus_dir, document_id, None), None, () if shared else (meta.file,)
    )


def apply_change(corpus_dir: Path, change: Change | None) -> None:
    """Make a planned change in the corpus at once (no index involved: `lexcite add
    --no-ingest` and tests; staff writes go through index.build.change)."""
    if change is None:
        return
    if change.write is not None:
        write_atomically(resolve_file(corpus_dir, change.write[0]), change.write[1])
    write_atomically(corpus_dir / MANIFEST, change.manifest.encode("utf-8"))
    for name in change.remove:
        resolve_file(corpus_dir, name).unlink(missing_ok=True)


def store_document(corpus_dir: Path, meta: Meta, suffix: str, data: bytes) -> None:
    """Add a document to the corpus, or replace the one with its id; identical: no change."""
    apply_change(corpus_dir, plan_store(corpus_dir, meta, suffix, data))


def remove_document(corpus_dir: Path, document_id: str) -> None:
    """Remove a document's manifest entry, then its file (unless another entry uses it)."""
    apply_change(corpus_dir, plan_remove(corpus_dir, document_id))


def check_date(date: object, where: str = "document") -> None:
    """Raise ManifestError unless a date is absent or a real YYYY, YYYY-MM or YYYY-MM-DD."""
    if date is not None and not (isinstance(date, str) and real_date(date)):
        raise ManifestError(f"{where}: published must be a real date (YYYY, YYYY-MM or YYYY-MM-DD)")


def real_date(text: str) -> bool:
    """Whether text is YYYY, YYYY-MM or YYYY-MM-DD naming a day that exists (2024-02-29, not
    2024-02-30 or 2024-13-45)."""
    if not _DATE.match(text):
        return False
    parts = [int(p) for p in text.split("-")]
    try:
        datetime.date(parts[0], *(parts[1:] + [1] * (3 - len(parts))))
    except ValueError:
        return False
    return True


def _manifest_text(corpus_dir: Path) -> str:
    return (corpus_dir / MANIFEST).read_text("utf-8")


def _edited(corpus_dir: Path, document_id: str, entry: Meta | None) -> str:
    """Return the manifest with the [[documents]] table of one document added, replaced or
    (given None) removed, every other byte kept."""
    text = _manifest_text(corpus_dir)
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
    return edited.rstrip("\n") + "\n"


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
