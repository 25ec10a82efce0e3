"""Synthetic lexcite corpora of any size, for bench/scale.py.

- Text: each chunk is 2-5 seed sentences (lexcite's own segmentation of corpus/) drawn at
  random, up to ingest.chunk.MAX_CHARS characters, under a seed section heading; about a
  third of their words of four letters or more are replaced by words drawn Zipf-wise from
  a 50,000-word vocabulary (the seed words plus pseudo-words recombined from their
  syllables), so terms spread over the corpus as in real text. Seed terms ("287(g)",
  "mandamus") stay far more frequent than in a real million-chunk legal corpus.
- Vectors: embedding a million chunks on 2 cores would take hours, so the first
  `sample` chunks are embedded for real and every further vector is a normalised random
  mixture of three real ones plus a little noise.
- Storage: the metadata database is written with the schema of index.store and the
  lexical index by index.lexical; every chunk is stored as one sentence (its whole text).

Everything is drawn from one seeded stream: the first k chunks are the same for every size.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from index import generation, lexical, store
from index.encoder import Encoder
from index.types import Vectors
from ingest.chunk import MAX_CHARS

SEED = 20261122
VOCABULARY = 50_000
# Share of long words replaced, and the Zipf exponent of the replacements (Zipf's law for
# English word frequencies has an exponent close to 1; Piantadosi 2014).
REPLACE_SHARE = 0.35
ZIPF_EXPONENT = 1.07
CHUNKS_PER_DOCUMENT = 100
# Mixture noise: small against a unit vector, so a derived vector stays near its parents.
NOISE = 0.15
_WORD = re.compile(r"[A-Za-z]{4,}")
_SYLLABLE = re.compile(r"[^aeiouy]*[aeiouy]+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Seed:
    """What synthetic chunks are recombined from."""

    sentences: list[str]
    sections: list[str]
    words: list[str]


def read_seed(corpus_dir: Path) -> Seed:
    """Given the corpus folder, return its sentences and section headings as lexcite
    segments them, and its words of four letters or more (by frequency)."""
    from ingest.clean import load_rules
    from ingest.corpus import read_corpus

    docs = [d for _, d, _ in read_corpus(corpus_dir, load_rules()) if d is not None]
    sentences = [s.text for d in docs for s in d.sentences if len(s.text) >= 20]
    sections = sorted({s.section for d in docs for s in d.sentences})
    counts: dict[str, int] = {}
    for text in sentences:
        for word in _WORD.findall(text.lower()):
            counts[word] = counts.get(word, 0) + 1
    words = sorted(counts, key=lambda w: (-counts[w], w))
    return Seed(sentences, sections, words)


def vocabulary(seed: Seed, size: int, rng: np.random.Generator) -> list[str]:
    """Return `size` distinct words: the seed's, then pseudo-words of 2-4 seed syllables."""
    syllables = sorted({s.lower() for w in seed.words for s in _SYLLABLE.findall(w)})
    words = list(dict.fromkeys(seed.words))
    seen = set(words)
    while len(words) < size:
        parts = rng.integers(0, len(syllables), int(rng.integers(2, 5)))
        word = "".join(syllables[int(i)] for i in parts)
        if len(word) >= 4 and word not in seen:
            seen.add(word)
            words.append(word)
    return words[:size]


def zipf_weights(size: int) -> npt.NDArray[np.float64]:
    ranks = np.arange(1, size + 1, dtype=np.float64)
    weights = 1.0 / ranks**ZIPF_EXPONENT
    return np.asarray(weights / weights.sum(), dtype=np.float64)


def synthetic_chunks(seed: Seed, n: int) -> Iterator[tuple[str, str]]:
    """Yield n (section, text) chunks, the same ones for every n (one seeded stream)."""
    rng = np.random.default_rng(SEED)
    words = vocabulary(seed, VOCABULARY, rng)
    weights = zipf_weights(len(words))
    # Split every seed sentence once into text between long words and the long words.
    parts = [_WORD.split(s) for s in seed.sentences]
    longs = [_WORD.findall(s) for s in seed.sentences]
    block = 4096
    for start in range(0, n, block):
        count = min(block, n - start)
        picks = rng.integers(0, len(seed.sentences), (count, 5))
        lengths = rng.integers(2, 6, count)
        sections = rng.integers(0, len(seed.sections), count)
        draws = iter(rng.choice(len(words), size=count * 120, p=weights).tolist())
        coins = iter((rng.random(count * 120) < REPLACE_SHARE).tolist())
        for row in range(count):
            sentences: list[str] = []
            size = 0
            for pick in picks[row, : lengths[row]].tolist():
                between, long_words = parts[pick], longs[pick]
                out = [between[0]]
                for word, after in zip(long_words, between[1:], strict=True):
                    if next(coins, False):
                        word = words[next(draws, 0)]
                    out.append(word)
                    out.append(after)
                sentence = "".join(out)
                if sentences and size + 1 + len(sentence) > MAX_CHARS:
                    break
                sentences.append(sentence)
                size += len(sentence) + 1
            yield seed.sections[int(sections[row])], " ".join(sentences)[: MAX_CHARS * 2]


def chunk_text(section: str, text: str) -> str:
    """What lexcite embeds and indexes for a chunk (index.build.chunk_input)."""
    return f"{section}\n{text}"


def _id(kind: str, row: int) -> str:
    return hashlib.sha256(f"{kind}:{row}".encode()).hexdigest()[:32]


def write_database(path: Path, seed: Seed, n: int, sample: int) -> tuple[list[str], float]:
    """Write the metadata database of n synthetic chunks (schema of index.store) and, beside
    it, their lexical index (index.lexical); return the embedding inputs of the first
    `sample` chunks and the seconds the lexical index took to build."""
    db = sqlite3.connect(path)
    sample_inputs: list[str] = []
    try:
        db.executescript(store.SCHEMA)
        chunks = synthetic_chunks(seed, n)
        for first in range(0, n, CHUNKS_PER_DOCUMENT):
            doc_id = f"synthetic-{first // CHUNKS_PER_DOCUMENT:06d}"
            rows, texts, offset = [], [], 0
            for row in range(first, min(n, first + CHUNKS_PER_DOCUMENT)):
                section, text = next(chunks)
                if row < sample:
                    sample_inputs.append(chunk_text(section, text))
                rows.append((row, section, offset, offset + len(text), text))
                texts.append(text)
                offset += len(text) + 1
            body = "\n".join(texts)
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    doc_id,
                    f"Synthetic document {first // CHUNKS_PER_DOCUMENT}",
                    "bench",
                    "synthetic",
                    "2025-01-01",
                    None,
                    None,
                    None,
                    f"{doc_id}.txt",
                    hashlib.sha256(body.encode()).hexdigest(),
                    body,
                    len(rows),
                    len(rows),
                    "[]",
                ),
            )
            db.executemany(
                "INSERT INTO chunks VALUES (?,?,?,?,?,?,?,?,?)",
                [(r, _id("c", r), doc_id, sec, s, e, t, r, r) for r, sec, s, e, t in rows],
            )
            db.executemany(
                "INSERT INTO sentences VALUES (?,?,?,?,?,?,?,?,?)",
                [
                    (r, _id("s", r), doc_id, sec, "paragraph", s, e, t, r)
                    for r, sec, s, e, t in rows
                ],
            )
        db.commit()
        began = time.perf_counter()
        stored = db.execute("SELECT section, text FROM chunks ORDER BY row")
        lexical.build(path.parent / generation.LEXICAL, (chunk_text(a, b) for a, b in stored))
        lexical_s = time.perf_counter() - began
    finally:
        db.close()
    return sample_inputs, lexical_s


def sample_vectors(inputs: Sequence[str], encoder: Encoder, cache: Path | None) -> Vectors:
    """Embed the sample for real, or read it from `cache` (keyed by the sample's texts)."""
    key = hashlib.sha256("\x00".join(inputs).encode()).hexdigest()[:16]
    path = None if cache is None else cache / f"sample-{len(inputs)}-{key}.npy"
    if path is not None and path.is_file():
        return np.asarray(np.load(path), dtype=np.float32)
    embedded = encoder.encode(inputs)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, embedded)
    return embedded


def mixed_vectors(real: Vectors, n: int) -> Vectors:
    """Return n unit vectors: the real ones first, then normalised random mixtures of three
    real vectors (Dirichlet(1, 1, 1) weights) plus Gaussian noise of norm about NOISE."""
    rng = np.random.default_rng(SEED + 1)
    dim = real.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    head = min(n, len(real))
    out[:head] = real[:head]
    block = 65_536
    for start in range(head, n, block):
        count = min(block, n - start)
        parents = rng.integers(0, len(real), (count, 3))
        weights = rng.dirichlet((1.0, 1.0, 1.0), count).astype(np.float32)
        mix = np.einsum("nk,nkd->nd", weights, real[parents])
        mix += rng.standard_normal((count, dim), dtype=np.float32) * np.float32(
            NOISE / np.sqrt(dim)
        )
        mix /= np.linalg.norm(mix, axis=1, keepdims=True)
        out[start : start + count] = mix
    return out
