"""Build and publish a generation from the corpus, embedding only what is new."""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from importlib import metadata
from pathlib import Path

import numpy as np
from filelock import FileLock, Timeout

from index import generation, lexical, store, transaction, vectors
from index.encoder import Encoder
from index.errors import Busy, IndexStageError, NoIndex
from index.types import Vectors
from ingest.clean import Rules
from ingest.corpus import Change, Problem, Staged, read_corpus
from ingest.types import Chunk, Document

# How long a second ingest waits for the first before giving up with a clear message.
LOCK_TIMEOUT_S = 120.0


@dataclass(frozen=True, slots=True)
class Summary:
    """What an ingest did."""

    generation: str
    published: bool
    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]
    unchanged: tuple[str, ...]
    problems: tuple[Problem, ...]
    embedded: int
    reused: int
    seconds: float
    counts: dict[str, int] = field(default_factory=dict)
    # What settling interrupted staff writes did first (index/transaction.py).
    settled: tuple[str, ...] = ()


def corpus_hash(documents: Sequence[Document], model: str) -> str:
    """Return a hash of everything a generation is built from: texts, metadata and model."""
    digest = hashlib.sha256(model.encode())
    for doc in sorted(documents, key=lambda d: d.id):
        # The same fingerprint that decides "changed": a manifest edit that changes
        # neither the cleaned text nor a stored field (an alias) publishes nothing.
        fingerprint = _fingerprint(doc.sha256, asdict(doc.meta))
        digest.update(json.dumps([doc.id, *fingerprint], sort_keys=True).encode())
    return digest.hexdigest()


def chunk_input(chunk: Chunk) -> str:
    """The text embedded for a chunk: its section heading gives the passage its topic."""
    return f"{chunk.section}\n{chunk.text}"


def lock(data_dir: Path, timeout: float = LOCK_TIMEOUT_S) -> FileLock:
    """Return the data directory's writer lock (not yet acquired)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return FileLock(data_dir / ".lock", timeout=timeout)


def ingest(
    corpus_dir: Path,
    data_dir: Path,
    encoder: Encoder,
    rules: Rules,
    *,
    progress: bool = False,
    rebuild: bool = False,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> Summary:
    """Given the corpus and a data directory, publish a generation if anything changed.

    First, staff writes a kill interrupted are finished or undone (index/transaction.py),
    so what is published is the corpus with each write whole or not at all."""
    started = time.perf_counter()
    with _locked(data_dir, lock_timeout):
        settled = transaction.settle(corpus_dir, data_dir).report()
        summary = _ingest_locked(corpus_dir, data_dir, encoder, rules, progress, rebuild, started)
        return replace(summary, settled=tuple(settled))


def change(
    corpus_dir: Path,
    data_dir: Path,
    encoder: Encoder,
    rules: Rules,
    plan: Callable[[Path], Change | None],
    *,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> Summary:
    """Make one staff write as one transaction over the corpus and the index.

    Under the writer lock: settle what an earlier kill left, plan the change on the corpus
    as it now is (`plan` may raise to refuse it), stage it, build and publish a generation
    from the staged view, and only then move the staged files into the corpus. A failure
    before publishing rolls the write back; a kill anywhere is settled by the next call.
    """
    started = time.perf_counter()
    with _locked(data_dir, lock_timeout):
        settled = tuple(transaction.settle(corpus_dir, data_dir).report())
        planned = plan(corpus_dir)
        if planned is None:
            summary = _ingest_locked(corpus_dir, data_dir, encoder, rules, False, False, started)
            return replace(summary, settled=settled)
        prepared = transaction.prepare(corpus_dir, planned)
        try:
            summary = _ingest_locked(
                corpus_dir,
                data_dir,
                encoder,
                rules,
                False,
                False,
                started,
                staged=prepared.staged,
                tx=prepared.id,
            )
        except BaseException:
            transaction.abandon(corpus_dir, data_dir, prepared)
            raise
        # Published (or nothing to publish: the index is the same either way).
        transaction.commit(corpus_dir, prepared.folder)
        return replace(summary, settled=settled)


def recover(corpus_dir: Path, data_dir: Path, lock_timeout: float = LOCK_TIMEOUT_S) -> list[str]:
    """Settle staff writes a kill interrupted (if any were staged); return what was done."""
    if not (corpus_dir / transaction.STAGING).is_dir():
        return transaction.Settled(unlisted=transaction.unlisted(corpus_dir)).report()
    with _locked(data_dir, lock_timeout):
        return transaction.settle(corpus_dir, data_dir).report()


@contextlib.contextmanager
def _locked(data_dir: Path, lock_timeout: float) -> Iterator[None]:
    try:
        with lock(data_dir, lock_timeout):
            yield
    except Timeout as err:
        raise Busy(
            f"another ingest is writing to {data_dir}; waited {lock_timeout:.0f} s. Try again."
        ) from err


def _ingest_locked(
    corpus_dir: Path,
    data_dir: Path,
    encoder: Encoder,
    rules: Rules,
    progress: bool,
    rebuild: bool,
    started: float,
    staged: Staged | None = None,
    tx: str | None = None,
) -> Summary:
    generation.remove_abandoned(data_dir)
    documents: list[Document] = []
    problems: list[Problem] = []
    for _meta, doc, problem in read_corpus(corpus_dir, rules, staged):
        if doc is not None:
            documents.append(doc)
        if problem is not None:
            problems.append(problem)
    loaded = None if rebuild else _previous(data_dir, encoder.name)
    previous = None if loaded is None else loaded.generation
    before = (
        {}
        if previous is None
        else {d.id: _fingerprint(d.sha256, asdict(d)) for d in previous.documents.values()}
    )
    now = {d.id: _fingerprint(d.sha256, asdict(d.meta)) for d in documents}
    added = tuple(sorted(i for i in now if i not in before))
    removed = tuple(sorted(i for i in before if i not in now))
    changed = tuple(sorted(i for i in now if i in before and before[i] != now[i]))
    unchanged = tuple(sorted(i for i in now if i in before and i not in changed))
    chash = corpus_hash(documents, encoder.name)

    def summary(name: str, published: bool, embedded: int, reused: int) -> Summary:
        return Summary(
            name,
            published,
            added,
            changed,
            removed,
            unchanged,
            tuple(problems),
            embedded,
            reused,
            time.perf_counter() - started,
            {
                "documents": len(documents),
                "sentences": sum(len(d.sentences) for d in documents),
                "chunks": sum(len(d.chunks) for d in documents),
            },
        )

    if previous is not None and previous.manifest.get("corpus_hash") == chash:
        if generation.current_name(data_dir) != previous.name:
            # CURRENT names a corrupt or missing generation, or a build died between
            # renaming its folder and naming it: point at the good one that matches.
            generation.point(data_dir, previous.name)
        return summary(previous.name, False, 0, 0)
    if not documents:
        raise IndexStageError("no document could be ingested; nothing was published")

    name = generation.new_name(chash)
    with generation.staging(data_dir, name) as tmp:
        sentences, chunks = store.create(tmp / "meta.sqlite", documents)
        lexical.build(tmp / generation.LEXICAL, (chunk_input(c) for c in chunks))
        cache = _vector_cache(previous)
        s_vecs, s_new = _vectors(
            [s.id for s in sentences],
            [s.text for s in sentences],
            cache,
            encoder,
            progress,
            "sentences",
        )
        c_vecs, c_new = _vectors(
            [c.id for c in chunks],
            [chunk_input(c) for c in chunks],
            cache,
            encoder,
            progress,
            "chunks",
        )
        np.save(tmp / "sentences.npy", s_vecs)
        np.save(tmp / "chunks.npy", c_vecs)
        index = vectors.build(c_vecs)
        vectors.save(index, tmp / "chunks.faiss")
        vectors.save(vectors.build(s_vecs), tmp / "sentences.faiss")
        embedded = s_new + c_new
        reused = len(sentences) + len(chunks) - embedded
        generation.write_manifest(
            tmp,
            {
                "name": name,
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "model": {"name": encoder.name, "dimension": encoder.dimension},
                "corpus_hash": chash,
                "counts": {
                    "documents": len(documents),
                    "sentences": len(sentences),
                    "chunks": len(chunks),
                },
                "vector_index": index.kind,
                "versions": _versions(),
                "build": {"embedded": embedded, "reused": reused},
                # The staff write this generation commits (index/transaction.py).
                **({} if tx is None else {"transaction": tx}),
            },
        )
        generation.publish(data_dir, tmp, name)
    generation.prune(data_dir)
    return summary(name, True, embedded, reused)


def _previous(data_dir: Path, model: str) -> generation.Loaded | None:
    try:
        return generation.load_best(data_dir, model)
    except NoIndex:
        return None
    except IndexStageError:
        return None  # nothing usable to reuse: everything is embedded afresh


_COMPARED = ("title", "publisher", "kind", "published", "retrieved", "url", "licence", "file")


def _fingerprint(sha256: str, fields: dict[str, object]) -> tuple[object, ...]:
    """What makes a document "changed": its cleaned text or any stored metadata field."""
    return (sha256, *(fields.get(k) for k in _COMPARED))


def _vector_cache(previous: generation.Generation | None) -> dict[str, Vectors]:
    """Map content ids of the previous generation to their vectors (ids embed their input)."""
    if previous is None:
        return {}
    cache: dict[str, Vectors] = {}
    for row, sentence in enumerate(previous.sentences):
        cache[sentence.id] = previous.sentence_vectors[row]
    for row, chunk in enumerate(previous.chunks):
        cache[chunk.id] = previous.chunk_vectors[row]
    return cache


def _vectors(
    ids: Sequence[str],
    texts: Sequence[str],
    cache: dict[str, Vectors],
    encoder: Encoder,
    progress: bool,
    label: str,
) -> tuple[Vectors, int]:
    """Return vectors for the texts, embedding only ids not in the cache; and how many."""
    out = np.zeros((len(ids), encoder.dimension), dtype=np.float32)
    missing = [i for i, key in enumerate(ids) if key not in cache]
    for i, key in enumerate(ids):
        if key in cache:
            out[i] = cache[key]
    if missing:
        if progress:
            print(f"Embedding {len(missing)} {label}...")
        out[missing] = encoder.encode([texts[i] for i in missing], progress=progress)
    return out, len(missing)


def _versions() -> dict[str, str]:
    names = (
        "lexcite",
        "faiss-cpu",
        "numpy",
        "sentence-transformers",
        "torch",
        "onnxruntime",
        "tantivy",
    )
    found = {}
    for name in names:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found
