"""Crash safety of staff writes over HTTP: the server SIGKILLed during uploads and deletes.

A real server (tests/reliability/serve_entry.py) takes `POST /v1/documents` and `DELETE
/v1/documents/{id}` and is killed at exact steps (fast) or at seeded random moments
(slow). After each restart (whose start-up settles what the kill left) the corpus and the
index served agree: the texts `read_corpus` makes of the corpus equal those of the served
generation, `GET /v1/documents/{id}` answers 200 exactly when the manifest lists the id,
nothing is left in `corpus/.staging`, no document file is unlisted, and the retried
request answers the status that fits what the kill left: `added` 201 or `unchanged`,
`changed` or `unchanged`, `removed` or 404.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from index import build, generation, transaction
from ingest.clean import Rules
from ingest.corpus import load_manifest
from tests.conftest import CORPUS_DIR, HashingEncoder
from tests.reliability.helpers import (
    MODEL,
    Server,
    assert_complete,
    expected_texts,
    note_text,
    start_server,
)
from tests.reliability.serve_entry import STAFF_TOKEN

AUTH = {"Authorization": f"Bearer {STAFF_TOKEN}"}
KILLED = -signal.SIGKILL


@dataclass(frozen=True)
class Write:
    """One staff request: an upload (text given) or a delete (text None)."""

    document_id: str
    text: str | None = None

    def send(self, url: str) -> httpx.Response:
        if self.text is None:
            return httpx.delete(f"{url}/v1/documents/{self.document_id}", headers=AUTH, timeout=60)
        body = {"id": self.document_id, "title": f"Note {self.document_id}", "text": self.text}
        return httpx.post(f"{url}/v1/documents", json=body, headers=AUTH, timeout=60)


@pytest.fixture
def root(tmp_path: Path, rules: Rules) -> Path:
    shutil.copytree(CORPUS_DIR, tmp_path / "corpus")
    assert build.ingest(tmp_path / "corpus", tmp_path / "data", HashingEncoder(), rules).published
    return tmp_path


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    """The servers a test started; any still running at teardown is killed."""
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.kill()


def check_agreement(root: Path, server: Server, rules: Rules) -> dict[str, str]:
    """Corpus and served index agree, and nothing is left over; return the corpus texts."""
    corpus = root / "corpus"
    assert not (corpus / transaction.STAGING).exists() or not any(
        (corpus / transaction.STAGING).iterdir()
    ), "a staged write was left"
    assert transaction.unlisted(corpus) == ()
    texts = expected_texts(corpus, rules)
    loaded = generation.load_best(root / "data", MODEL)
    try:
        assert not loaded.degraded, loaded.problems
        assert_complete(loaded.generation)
        assert loaded.generation.texts == texts, "the corpus and the index disagree"
    finally:
        loaded.generation.db.close()
    listed = {m.id for m in load_manifest(corpus)}
    served = {d["id"] for d in httpx.get(server.url + "/v1/documents").json()["documents"]}
    assert served == listed
    return texts


def check_retry(
    write: Write, retried: tuple[int, str], before: dict[str, str], after: dict[str, str]
) -> None:
    """The retry answered what fits the corpus it found (`before`) and left (`after`)."""
    present = write.document_id in before
    if write.text is None:
        assert retried == ((200, "removed") if present else (404, "not_found"))
    elif not present:
        assert retried == (201, "added")
    elif before[write.document_id] == after[write.document_id]:
        assert retried == (200, "unchanged")  # the killed write had been committed
    else:
        assert retried == (200, "changed")  # it had been rolled back
    assert (write.document_id in after) == (write.text is not None)


def outcome(response: httpx.Response) -> tuple[int, str]:
    body = response.json()
    return response.status_code, body["status"] if "status" in body else body["error"]["code"]


# --- a kill right after each step (fast, the rest slow) ---------------------------------

STEPS = ("staged", "encoding", "renamed", "current", "pruned", "committing", "committed")
FAST = {("upload", "current"), ("delete", "staged")}


def exact(kind: str, step: str) -> object:
    marks = () if (kind, step) in FAST else pytest.mark.slow
    return pytest.param(kind, step, marks=marks, id=f"{kind}-{step}")


@pytest.mark.server
@pytest.mark.parametrize(
    ("kind", "step"),
    # A delete embeds nothing new (every vector is reused): it never reaches "encoding".
    [exact(k, s) for k in ("upload", "delete") for s in STEPS if (k, s) != ("delete", "encoding")],
)
def test_a_staff_write_killed_after_each_step_is_whole_or_absent(
    root: Path, rules: Rules, servers: list[Server], kind: str, step: str
) -> None:
    note = Write("note-x", note_text(1))
    if kind == "delete":
        server = start_server(root, 0, started=servers)
        assert outcome(note.send(server.url)) == (201, "added")
        server.kill()
    before = expected_texts(root / "corpus", rules)
    write = note if kind == "upload" else Write("note-x")
    server = start_server(root, 1, die_at=step, started=servers)
    with pytest.raises(httpx.TransportError):
        write.send(server.url)  # the server dies with the request unanswered
    assert server.process.wait(30) == KILLED
    after = start_server(root, 2, started=servers)
    texts = check_agreement(root, after, rules)
    published = step in ("current", "pruned", "committing", "committed")
    assert texts != before if published else texts == before
    retried = outcome(write.send(after.url))
    check_retry(write, retried, texts, check_agreement(root, after, rules))


# --- kills at seeded random moments (slow) ----------------------------------------------

KILLS = 22
SLOW_S = 0.02
SEED = 20261203
OVERSHOOT = 1.1


@dataclass
class Tally:
    kills: int = 0
    answered: int = 0
    present_after: Counter[str] = field(default_factory=Counter)
    retries: Counter[str] = field(default_factory=Counter)
    phases: Counter[str] = field(default_factory=Counter)


def send_into(write: Write, url: str, answers: list[httpx.Response]) -> None:
    """Send a write, keeping its answer if the server gave one before it died."""
    with contextlib.suppress(httpx.TransportError):
        answers.append(write.send(url))


@pytest.mark.slow
@pytest.mark.server
def test_random_sigkills_during_staff_writes_leave_corpus_and_index_agreeing(
    root: Path, rules: Rules, servers: list[Server]
) -> None:
    rng = random.Random(SEED)
    started = time.perf_counter()
    n = 0
    server = start_server(root, n, slow=SLOW_S, started=servers)
    # Calibrate: one unkilled upload and delete, timed from the request to the answer.
    began = time.monotonic()
    assert outcome(Write("calibration", note_text(0)).send(server.url))[0] == 201
    assert outcome(Write("calibration").send(server.url)) == (200, "removed")
    duration = (time.monotonic() - began) / 2
    strata = [(k + rng.random()) / KILLS * OVERSHOOT for k in range(KILLS)]
    rng.shuffle(strata)
    tally = Tally()
    notes: list[str] = []
    for k in range(KILLS):
        if notes and k % 3 == 2:
            write = Write(notes[rng.randrange(len(notes))])  # delete
        elif notes and k % 3 == 1:
            write = Write(rng.choice(notes), note_text(1000 + k))  # replace
        else:
            write = Write(f"note-{k}", note_text(k))  # add
        answer: list[httpx.Response] = []
        thread = threading.Thread(target=send_into, args=(write, server.url, answer))
        thread.start()
        time.sleep(strata[k] * duration)
        server.kill()
        thread.join(30)
        tally.kills += 1
        tally.answered += bool(answer)
        reached = server.phases()
        tally.phases[reached[-1] if reached else "none"] += 1
        n += 1
        server = start_server(root, n, slow=SLOW_S, started=servers)
        texts = check_agreement(root, server, rules)
        present = write.document_id in texts
        tally.present_after[f"{'upload' if write.text else 'delete'} {present}"] += 1
        retried = outcome(write.send(server.url))
        check_retry(write, retried, texts, check_agreement(root, server, rules))
        tally.retries[f"{retried[0]} {retried[1]}"] += 1
        if write.text is not None and write.document_id not in notes:
            notes.append(write.document_id)
        elif write.text is None:
            notes.remove(write.document_id)
    server.kill()
    print(
        f"\nstaff crash summary: {tally.kills} SIGKILLs over HTTP ({tally.answered} answered "
        f"first), last phase {dict(tally.phases)}, after restart {dict(tally.present_after)}, "
        f"retries {dict(tally.retries)}; {time.perf_counter() - started:.1f} s"
    )
    assert tally.kills >= 20
