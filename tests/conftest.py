"""Shared fixtures: the seed corpus, a counting test encoder and indexes built from them.

Fast tests use `HashingEncoder` (no model); tests that need real embeddings are marked
`model` and share the one session-scoped `real_encoder`.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest

from index import build, generation
from index.encoder import Encoder
from index.generation import Generation
from index.types import Vectors
from ingest import segment
from ingest.clean import Rules, load_rules
from ingest.corpus import read_corpus
from ingest.types import Document

ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = ROOT / "corpus"
FIXTURES = Path(__file__).resolve().parent / "fixtures"

_WORD = re.compile(r"\w+")


class HashingEncoder:
    """A deterministic stand-in for the embedding model that counts what it encodes.

    Each text becomes a hashed bag of its lower-cased word tokens (blake2b, so the
    vectors do not depend on PYTHONHASHSEED), L2-normalised, as float32.
    """

    def __init__(self, name: str = "test-hashing-encoder", dimension: int = 64) -> None:
        self.name = name
        self.dimension = dimension
        self.encoded = 0  # texts encoded so far
        self.calls = 0  # calls to encode()

    def vector(self, text: str) -> Vectors:
        """Given one text, return its normalised hashed bag-of-words vector."""
        out = np.zeros(self.dimension, dtype=np.float32)
        for token in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(token.encode("utf-8"), digest_size=8).digest()
            out[int.from_bytes(digest[:4], "little") % self.dimension] += 1.0
        norm = float(np.linalg.norm(out))
        if norm == 0.0:
            out[0] = 1.0  # a text without words still gets a unit vector
            return out
        return out / np.float32(norm)

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        self.calls += 1
        self.encoded += len(texts)
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return np.stack([self.vector(t) for t in texts]).astype(np.float32)


# A type checker verifies here that HashingEncoder satisfies the Encoder protocol.
_PROTOCOL_CHECK: Encoder = HashingEncoder()


def clutter_strings() -> list[str]:
    """Return the seed clutter listed in tests/fixtures/clutter.txt."""
    lines = (FIXTURES / "clutter.txt").read_text("utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


@contextlib.contextmanager
def memoised_splitting() -> Iterator[None]:
    """Memoise `segment.split_sentences` (pysbd, ~0.6 s per corpus ingest) while the
    context is open. The function is pure, so a cache changes nothing but speed; packages
    that ingest many times (index, reliability, security) turn it on for themselves."""
    original = segment.split_sentences

    @functools.cache
    def cached(text: str) -> tuple[tuple[int, int], ...]:
        return tuple(original(text))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(segment, "split_sentences", cached)
        yield


@pytest.fixture(scope="session")
def rules() -> Rules:
    return load_rules()


@pytest.fixture
def encoder() -> HashingEncoder:
    """A fresh counting test encoder."""
    return HashingEncoder()


@pytest.fixture(scope="session")
def real_documents(rules: Rules) -> dict[str, Document]:
    """The seed corpus, ingested once (read-only: do not modify)."""
    docs: dict[str, Document] = {}
    for meta, doc, problem in read_corpus(CORPUS_DIR, rules):
        assert problem is None, problem
        assert doc is not None
        docs[meta.id] = doc
    return docs


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the seed corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, target)
    return target


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture(scope="session")
def hashed_data_dir(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Path:
    """A data directory holding the seed corpus indexed with the test encoder (read-only)."""
    data = tmp_path_factory.mktemp("hashed") / "data"
    summary = build.ingest(CORPUS_DIR, data, HashingEncoder(), rules)
    assert summary.published
    return data


@pytest.fixture(scope="session")
def hashed_generation(hashed_data_dir: Path) -> Generation:
    return generation.load_best(hashed_data_dir, "test-hashing-encoder").generation


@pytest.fixture(scope="session")
def real_encoder() -> Encoder:
    """The bundled all-MiniLM-L6-v2, loaded once per session (tests using it: mark `model`)."""
    from index.encoder import load_encoder

    return load_encoder(None)


@pytest.fixture(scope="session")
def model_generation(
    tmp_path_factory: pytest.TempPathFactory, real_encoder: Encoder, rules: Rules
) -> Generation:
    """The seed corpus indexed with the real model, once per session."""
    data = tmp_path_factory.mktemp("model") / "data"
    build.ingest(CORPUS_DIR, data, real_encoder, rules)
    return generation.load_best(data, real_encoder.name).generation


@pytest.fixture
def clean_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """Point LEXCITE_DATA_DIR at an empty folder and re-read settings; yield that folder."""
    from service.settings import get_settings

    data = tmp_path / "empty-data"
    monkeypatch.setenv("LEXCITE_DATA_DIR", str(data))
    monkeypatch.setenv("LEXCITE_CORPUS_DIR", str(CORPUS_DIR))
    monkeypatch.delenv("LEXCITE_STAFF_TOKEN", raising=False)
    monkeypatch.delenv("LEXCITE_MODEL", raising=False)
    get_settings.cache_clear()
    yield data
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def two_generations_template(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Path:
    """A data dir holding two published generations of the seed corpus (read-only)."""
    root = tmp_path_factory.mktemp("two-generations")
    corpus = root / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    data = root / "data"
    assert build.ingest(corpus, data, HashingEncoder(), rules).published
    doc = corpus / "documents" / "000_6e906c20eb6c7492.txt"
    doc.write_text(doc.read_text("utf-8") + "\nA sentence added later.\n", encoding="utf-8")
    assert build.ingest(corpus, data, HashingEncoder(), rules).published
    return data


@pytest.fixture
def two_generations(tmp_path: Path, two_generations_template: Path) -> tuple[Path, str, str]:
    """A writable copy of `two_generations_template`: (data dir, old name, current name)."""
    data = tmp_path / "data"
    shutil.copytree(two_generations_template, data)
    current = generation.current_name(data)
    assert current is not None
    names = generation.candidates(data)
    assert len(names) == 2 and names[0] == current
    return data, names[1], current
