"""Concurrent writers: two ingest processes on one data directory are serialised by the
lock, or the second is refused with `Busy` when its lock timeout is short; nothing is
lost or duplicated either way.

The first writer is held at a gate right after it has read the corpus (lock taken), so
the second surely arrives while the lock is held, however slow the machine.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from index import generation
from ingest.clean import Rules
from tests.reliability.helpers import (
    MODEL,
    add_document,
    assert_complete,
    expected_texts,
    note_text,
    start_child,
    tmp_folders,
)

# How long the second writer is left waiting on the lock before the first goes on.
WAIT_S = 0.5


def summary_of(out: str) -> dict[str, object]:
    summary: dict[str, object] = json.loads(out.strip().splitlines()[-1])
    return summary


def assert_serves(data: Path, texts: dict[str, str]) -> None:
    loaded = generation.load_best(data, MODEL)
    assert not loaded.degraded
    assert loaded.generation.texts == texts
    assert_complete(loaded.generation)
    assert tmp_folders(data) == []
    loaded.generation.db.close()


def test_a_second_writer_waits_and_builds_on_the_first(
    tmp_path: Path, corpus_copy: Path, rules: Rules
) -> None:
    data, gate = tmp_path / "data", tmp_path / "gate"
    add_document(corpus_copy, "note-a", note_text(1))
    first = start_child(corpus_copy, data, tmp_path / "first", hold_at="staging", gate=gate)
    first.wait_for("staging")  # it has read the corpus and holds the lock
    add_document(corpus_copy, "note-b", note_text(2))
    second = start_child(corpus_copy, data, tmp_path / "second")
    second.wait_for("started")
    time.sleep(WAIT_S)
    assert "locked" not in {phase for _, phase in second.phases()}  # it is waiting
    gate.touch()
    code_a, out_a, err_a = first.finish()
    code_b, out_b, err_b = second.finish()
    assert (code_a, code_b) == (0, 0), err_a + err_b

    a, b = summary_of(out_a), summary_of(out_b)
    assert a["published"] and b["published"]
    assert "note-a" in a["added"] and "note-b" not in a["added"]  # type: ignore[operator]
    # The second compared against the first's generation: it only added its own document.
    assert b["added"] == ["note-b"] and "note-a" in b["unchanged"]  # type: ignore[operator]
    # It took the lock only after the first had published and pruned.
    stamps_a = dict((phase, stamp) for stamp, phase in first.phases())
    stamps_b = dict((phase, stamp) for stamp, phase in second.phases())
    assert stamps_b["started"] < stamps_a["pruned"] < stamps_b["locked"]
    assert generation.current_name(data) == b["generation"]
    assert generation.candidates(data) == [b["generation"], a["generation"]]
    assert_serves(data, expected_texts(corpus_copy, rules))


@pytest.mark.slow
def test_two_writers_started_together_publish_once(
    tmp_path: Path, corpus_copy: Path, rules: Rules
) -> None:
    data = tmp_path / "data"
    children = [start_child(corpus_copy, data, tmp_path / f"w{n}", slow=0.01) for n in (1, 2)]
    results = [child.finish() for child in children]
    assert [code for code, _, _ in results] == [0, 0], [err for _, _, err in results]
    summaries = [summary_of(out) for _, out, _ in results]
    assert sorted(bool(s["published"]) for s in summaries) == [False, True]
    assert summaries[0]["generation"] == summaries[1]["generation"]
    assert len(generation.candidates(data)) == 1
    assert_serves(data, expected_texts(corpus_copy, rules))


def test_a_second_writer_with_a_short_timeout_is_refused_clearly(
    tmp_path: Path, corpus_copy: Path, rules: Rules
) -> None:
    data, gate = tmp_path / "data", tmp_path / "gate"
    first = start_child(corpus_copy, data, tmp_path / "first", hold_at="staging", gate=gate)
    first.wait_for("staging")
    add_document(corpus_copy, "note-late", note_text(3))
    second = start_child(corpus_copy, data, tmp_path / "second", lock_timeout=0.2)
    code_b, out_b, err_b = second.finish()
    assert first.process.poll() is None, "the first writer must still hold the lock"
    assert (code_b, out_b) == (1, "")
    assert err_b.startswith("Error: another ingest is writing to ")
    assert str(data) in err_b and "Try again." in err_b
    assert "Traceback" not in err_b
    gate.touch()
    code_a, out_a, err_a = first.finish()
    assert code_a == 0, err_a
    assert "note-late" not in summary_of(out_a)["added"]  # type: ignore[operator]
    # The refused writer left nothing behind; trying again picks up its document.
    assert tmp_folders(data) == []
    retry = start_child(corpus_copy, data, tmp_path / "retry")
    code, out, err = retry.finish()
    assert code == 0, err
    assert summary_of(out)["added"] == ["note-late"]
    assert_serves(data, expected_texts(corpus_copy, rules))
