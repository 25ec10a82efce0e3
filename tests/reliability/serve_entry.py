"""The HTTP service in a child process, for the staff-write crash tests.

    python -m tests.reliability.serve_entry CORPUS DATA PHASES PORT

Serves `service.app.create_app` with uvicorn on 127.0.0.1:PORT over DATA (which must hold
a generation) with the test `HashingEncoder`, staff token `STAFF_TOKEN`, no rate limit and
no timeout. The edges of `index.generation` are marked and slowed as in ingest_entry.py
(same environment switches), and so are those of `index.transaction`: `staged` (the
journal is written), `committing` (per file moved into the corpus) and `committed`.
Startup runs the Runtime's recovery, as `lexcite serve` does.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from index import transaction
from ingest.corpus import Change
from service.engine import Engine
from service.settings import Settings
from tests.reliability.ingest_entry import Phases, SlowEncoder, instrument

STAFF_TOKEN = "crash-test-staff-token-0123456789"


class _Os:
    """`os` as index.transaction sees it, with `replace` (a file into the corpus) marked."""

    def __init__(self, phases: Phases) -> None:
        self._phases = phases

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def replace(self, src: Any, dst: Any) -> None:
        self._phases.pause()
        os.replace(src, dst)
        self._phases.mark("committing")


def instrument_transaction(phases: Phases) -> None:
    prepare = transaction.prepare
    commit = transaction.commit

    def marked_prepare(corpus_dir: Path, change: Change) -> transaction.Prepared:
        prepared = prepare(corpus_dir, change)
        phases.mark("staged")
        phases.pause()
        return prepared

    def marked_commit(corpus_dir: Path, folder: Path) -> None:
        commit(corpus_dir, folder)
        phases.mark("committed")

    transaction.prepare = marked_prepare
    transaction.commit = marked_commit
    transaction.os = _Os(phases)  # type: ignore[attr-defined,assignment]


def main(argv: Sequence[str]) -> int:
    import uvicorn

    from service.app import create_app

    corpus, data, phase_file = (Path(a) for a in argv[:3])
    port = int(argv[3])
    phases = Phases(
        phase_file,
        float(os.environ.get("LEXCITE_TEST_SLOW_S", "0")),
        os.environ.get("LEXCITE_TEST_DIE_AT", ""),
        os.environ.get("LEXCITE_TEST_HOLD_AT", ""),
        os.environ.get("LEXCITE_TEST_GATE", ""),
    )
    instrument(phases)
    instrument_transaction(phases)
    settings = Settings(
        data_dir=data,
        corpus_dir=corpus,
        model=None,
        staff_token=STAFF_TOKEN,
        cors_origins=(),
        rate_limit_per_minute=0,
        max_body_bytes=6 * 1024 * 1024,
        request_timeout_s=0,
        max_in_flight=0,
    )
    engine = Engine(data, SlowEncoder(phases))
    phases.mark("started")
    uvicorn.run(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
