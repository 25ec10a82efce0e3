"""The peer behind HTTP: the smallest FastAPI + uvicorn app around similarity_search, built
the way lexcite's service is (a plain `def` handler in the threadpool, JSON in and out,
one uvicorn worker, info logging), so the HTTP ratios compare the pipelines and not the
servers. `python -m bench.peer_server --port P [--corpus DIR]`.

FastAPI lives in service/ for lexcite itself; this file is the peer's, not lexcite's.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, Field

from bench import peer
from bench.questions import ROOT


class AskIn(BaseModel):
    question: str = Field(min_length=1, max_length=2000)


class Passage(BaseModel):
    text: str
    source: str


class AskOut(BaseModel):
    question: str
    passages: list[Passage]
    took_ms: float


def create_app(corpus: Path) -> FastAPI:
    """Given the corpus folder, load the model, index the raw texts and return the app."""
    embeddings = peer.load_embeddings()
    store: Any = peer.ingest(peer.raw_texts(corpus), embeddings)
    app = FastAPI(title="LangChain peer")

    @app.get("/readyz")
    def ready() -> dict[str, bool]:
        return {"ready": True}

    @app.post("/v1/ask")
    def ask(body: AskIn) -> AskOut:
        started = time.perf_counter()
        passages = [Passage(**p) for p in peer.search(store, body.question)]
        took = (time.perf_counter() - started) * 1000
        return AskOut(question=body.question, passages=passages, took_ms=took)

    return app


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    p = argparse.ArgumentParser(prog="python -m bench.peer_server", description=__doc__)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = p.parse_args(argv)
    uvicorn.run(create_app(args.corpus), host="127.0.0.1", port=args.port, log_level="info")
    return 0


if __name__ == "__main__":
    sys.exit(main())
