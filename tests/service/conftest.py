"""Fixtures of the HTTP tests: apps over a writable copy of the seed corpus and its index.

Fast tests serve an index built with the hashing test encoder (tests/conftest.py); tests
marked `model` share one app over an index built with the real model.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from index.encoder import Encoder
from index.generation import Generation
from service.app import create_app
from service.engine import Engine
from service.settings import Settings
from tests.conftest import CORPUS_DIR, HashingEncoder

TOKEN = "staff-token-for-tests-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
# With the hashing encoder, on-topic seed questions score above 0.6 and off-topic ones
# below 0.4 (the calibrated threshold belongs to the real model).
HASHED_THRESHOLD = 0.5


@dataclass(frozen=True)
class Dirs:
    corpus: Path
    data: Path


def make_settings(dirs: Dirs, **overrides: Any) -> Settings:
    """Settings for a test app: staff on, no rate limit, generous body and time limits."""
    values: dict[str, Any] = {
        "data_dir": dirs.data,
        "corpus_dir": dirs.corpus,
        "model": None,
        "staff_token": TOKEN,
        "cors_origins": (),
        "rate_limit_per_minute": 0,
        "max_body_bytes": 6 * 1024 * 1024,
        "request_timeout_s": 30.0,
    }
    return Settings(**{**values, **overrides})


@pytest.fixture
def dirs(tmp_path: Path, hashed_data_dir: Path) -> Dirs:
    """A writable copy of the seed corpus and of its index built with the test encoder."""
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    shutil.copytree(CORPUS_DIR, corpus)
    shutil.copytree(hashed_data_dir, data)
    return Dirs(corpus, data)


MakeClient = Callable[..., TestClient]


@pytest.fixture
def make_client(dirs: Dirs) -> Iterator[MakeClient]:
    """Return a factory of started test clients; keyword arguments override settings."""
    with ExitStack() as stack:

        def make(**overrides: Any) -> TestClient:
            settings = make_settings(dirs, **overrides)
            engine = Engine(dirs.data, HashingEncoder(), threshold=HASHED_THRESHOLD)
            client = TestClient(create_app(settings, engine), raise_server_exceptions=False)
            return stack.enter_context(client)

        yield make


@pytest.fixture
def client(make_client: MakeClient) -> TestClient:
    return make_client()


@pytest.fixture(scope="session")
def model_client(real_encoder: Encoder, model_generation: Generation) -> Iterator[TestClient]:
    """One app over the seed corpus indexed with the real model (read-only: no staff calls)."""
    data = model_generation.path.parents[1]
    dirs = Dirs(CORPUS_DIR, data)
    settings = make_settings(dirs, staff_token=None)
    with TestClient(create_app(settings, Engine(data, real_encoder))) as client:
        yield client


def check_answer(answer: dict[str, Any], texts: dict[str, str]) -> None:
    """Assert the grounding invariants of an /v1/ask answer against documents' texts."""
    citations = {c["n"]: c for c in answer["citations"]}
    for c in answer["citations"]:
        assert texts[c["document_id"]][c["start"] : c["end"]] == c["text"]
    for sentence in answer["sentences"]:
        assert sentence["citations"], sentence
        for n in sentence["citations"]:
            assert sentence["text"] in citations[n]["text"]
    if answer["abstained"]:
        assert answer["sentences"] == [] and answer["citations"] == []
    for c in answer["citations"]:
        assert f"[{c['n']}]" in answer["answer"]


def document_texts(client: TestClient) -> dict[str, str]:
    ids = [d["id"] for d in client.get("/v1/documents").json()["documents"]]
    return {i: client.get(f"/v1/documents/{i}").json()["text"] for i in ids}
