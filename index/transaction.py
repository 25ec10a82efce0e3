"""One staff write as one transaction over the corpus and the index.

A write is staged in the corpus folder before anything visible changes:

    corpus/.staging/<id>/files/<name>   the new or rewritten document, under its manifest name
    corpus/.staging/<id>/manifest.toml  the manifest as the write leaves it
    corpus/.staging/<id>/journal.json   written last: the write is prepared

The index is then built from the staged view and published with the transaction's id in
its manifest (`"transaction"`). Publishing is the commit point: once the served generation
carries the id, the staged files are moved into place (commit); before, they are thrown
away (roll back). Both are idempotent, so a kill at any moment, during them too, leaves a
state the next `settle` finishes: the corpus and the index served agree, with the whole
write or none of it. Every step runs under the data directory's writer lock.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index import generation
from index.errors import CorruptIndex, IndexStageError
from ingest.corpus import MANIFEST, Change, Staged, load_manifest, resolve_file, write_atomically
from ingest.errors import IngestError

STAGING = ".staging"
JOURNAL = "journal.json"


@dataclass(frozen=True, slots=True)
class Prepared:
    """A staged write: its id and folder, and the corpus as it will leave it."""

    id: str
    folder: Path
    staged: Staged


@dataclass(frozen=True, slots=True)
class Settled:
    """What settling the corpus found and did, as lines for a log or the CLI."""

    committed: tuple[str, ...] = ()
    rolled_back: tuple[str, ...] = ()
    unlisted: tuple[str, ...] = ()

    def report(self) -> list[str]:
        lines = [
            f"finished the interrupted write of {d} (the index already served it)"
            for d in self.committed
        ]
        lines += [
            f"undid the interrupted write of {d} (the index never served it)"
            for d in self.rolled_back
        ]
        lines += [
            f"{name} is in the corpus folder but no manifest entry lists it"
            for name in self.unlisted
        ]
        return lines


def prepare(corpus_dir: Path, change: Change) -> Prepared:
    """Stage a change: its files and manifest first, the journal last; nothing visible moves."""
    tx = uuid.uuid4().hex[:16]
    folder = corpus_dir / STAGING / tx
    files: dict[str, Path] = {}
    if change.write is not None:
        name, data = change.write
        resolve_file(corpus_dir, name)  # refuses names that leave the corpus
        files[name] = folder / "files" / name
        write_atomically(files[name], data)
    write_atomically(folder / MANIFEST, change.manifest.encode("utf-8"))
    journal = {
        "id": tx,
        "document": change.document_id,
        "write": sorted(files),
        "remove": list(change.remove),
    }
    write_atomically(folder / JOURNAL, json.dumps(journal, indent=1).encode("utf-8"))
    generation.fsync(folder.parent)
    return Prepared(tx, folder, Staged(change.manifest, files))


def commit(corpus_dir: Path, folder: Path) -> None:
    """Make a staged write visible in the corpus: move its files and manifest into place,
    remove what it removes, then the staging folder. Safe to repeat after a kill."""
    journal = _journal(folder)
    if journal is None:
        raise IndexStageError(f"{folder.name}: the staged write has no journal")
    for name in journal["write"]:
        staged = folder / "files" / name
        if staged.exists():  # else it was moved by the commit a kill interrupted
            target = resolve_file(corpus_dir, name)
            os.replace(staged, target)
            generation.fsync(target.parent)
    if (folder / MANIFEST).exists():
        os.replace(folder / MANIFEST, corpus_dir / MANIFEST)
        generation.fsync(corpus_dir)
    listed = {m.file for m in load_manifest(corpus_dir)}
    for name in journal["remove"]:
        if name not in listed:
            resolve_file(corpus_dir, name).unlink(missing_ok=True)
    _discard(folder)


def roll_back(data_dir: Path, folder: Path) -> None:
    """Throw a staged write away, with any generation built from it that is not served."""
    journal = _journal(folder)
    if journal is not None:
        for name in _tagged(data_dir, journal["id"]):
            if name != _served(data_dir):
                # Renamed first, so that a kill leaves a .tmp-* that the next ingest removes.
                gens = generation.generations_dir(data_dir)
                doomed = gens / f"{generation.TMP_PREFIX}{name}"
                os.replace(gens / name, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
    _discard(folder)


def settle(corpus_dir: Path, data_dir: Path) -> Settled:
    """Finish or undo every staged write a kill left, so that the corpus agrees with the
    index served; report files no manifest entry lists. Call only holding the lock."""
    committed: list[str] = []
    rolled_back: list[str] = []
    staging = corpus_dir / STAGING
    for folder in sorted(staging.iterdir()) if staging.is_dir() else []:
        journal = _journal(folder)
        if journal is None:  # killed while staging: nothing was published from it
            _discard(folder)
        elif _served_transaction(data_dir) == journal["id"]:
            commit(corpus_dir, folder)
            committed.append(str(journal["document"]))
        else:
            roll_back(data_dir, folder)
            rolled_back.append(str(journal["document"]))
    return Settled(tuple(committed), tuple(rolled_back), unlisted(corpus_dir))


def abandon(corpus_dir: Path, data_dir: Path, prepared: Prepared) -> None:
    """After the ingest of a staged write failed: commit it if the index serves it all the
    same (it failed after publishing, e.g. while pruning), else roll it back."""
    served = _served_transaction(data_dir)
    if served == prepared.id:
        commit(corpus_dir, prepared.folder)
    else:
        roll_back(data_dir, prepared.folder)


def unlisted(corpus_dir: Path) -> tuple[str, ...]:
    """Files under documents/ that no manifest entry lists (not hidden ones)."""
    folder = corpus_dir / "documents"
    if not folder.is_dir():
        return ()
    try:
        listed = {resolve_file(corpus_dir, m.file) for m in load_manifest(corpus_dir)}
    except IngestError:
        return ()
    return tuple(
        f"documents/{p.name}"
        for p in sorted(folder.iterdir())
        if p.is_file() and not p.name.startswith(".") and p.resolve() not in listed
    )


def _journal(folder: Path) -> dict[str, Any] | None:
    try:
        journal = json.loads((folder / JOURNAL).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return journal if isinstance(journal, dict) and "id" in journal else None


def _discard(folder: Path) -> None:
    (folder / JOURNAL).unlink(missing_ok=True)  # first: a half-removed folder is no write
    shutil.rmtree(folder, ignore_errors=True)


def _served(data_dir: Path) -> str | None:
    """The generation readers load first (CURRENT, else the newest)."""
    names = generation.candidates(data_dir)
    return names[0] if names else None


def _served_transaction(data_dir: Path) -> str | None:
    name = _served(data_dir)
    if name is None:
        return None
    try:
        manifest = generation.read_manifest(generation.generations_dir(data_dir) / name)
    except (CorruptIndex, IndexStageError):
        return None
    tx = manifest.get("transaction")
    return tx if isinstance(tx, str) else None


def _tagged(data_dir: Path, tx: str) -> list[str]:
    """Published generations built from the staged write `tx`."""
    found = []
    for name in generation.candidates(data_dir):
        try:
            manifest = generation.read_manifest(generation.generations_dir(data_dir) / name)
        except (CorruptIndex, IndexStageError):
            continue
        if manifest.get("transaction") == tx:
            found.append(name)
    return found
