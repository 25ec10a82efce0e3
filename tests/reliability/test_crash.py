"""Crash safety: a real ingest in a child process SIGKILLed at every step of a build.

After each kill, `load_best` serves a complete generation (the old one or the whole new
one, never a mix), every acknowledged document is in it, no id is duplicated, and the
next ingest clears the leftovers and publishes. tests/index/test_build.py fakes the
leftovers of a kill; here a real process dies at exact steps (fast) and at random
moments (slow).
"""

from __future__ import annotations

import random
import shutil
import signal
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from index import build, generation
from index.errors import NoIndex
from ingest.clean import Rules
from tests.conftest import CORPUS_DIR, HashingEncoder
from tests.reliability.helpers import (
    MODEL,
    add_document,
    assert_complete,
    edit_document,
    expected_texts,
    folder,
    note_text,
    start_child,
    texts_of,
    tmp_folders,
)

KILLED = -signal.SIGKILL
# Where a kill right after each phase mark leaves the data directory (ingest_entry.py).
STAGES = {
    "started": "1 before the lock",
    "locked": "2 reading the corpus",
    "staging": "3 building in .tmp-*",
    "encoding": "3 building in .tmp-*",
    "manifest": "4 syncing the new files",
    "renamed": "5 generation in place, CURRENT old",
    "pointer-written": "6 CURRENT.tmp written",
    "current": "7 CURRENT switched",
    "pruning": "8 pruning old generations",
    "pruned": "9 pruned, returning",
}
# From this stage on, CURRENT must name the new generation.
SWITCHED = "7"


def stage(phases: list[tuple[float, str]]) -> str:
    """The stage the last marked phase puts a build in ("synced" marks stay in a stage)."""
    reached = "0 not started"
    for _stamp, phase in phases:
        reached = STAGES.get(phase, reached)
    return reached


@dataclass
class AfterKill:
    """What a reader found after a kill."""

    served: str  # "old", "new" or "none"
    current_changed: bool
    strays: int  # .tmp-* folders and CURRENT.tmp left behind


def check_after_kill(
    data: Path, acknowledged: dict[str, str] | None, target: dict[str, str], old: str | None
) -> AfterKill:
    """Given what was acknowledged (None: nothing yet) and what the killed ingest was
    building, check that readers get one complete generation and lose nothing."""
    strays = len(tmp_folders(data)) + (data / f"{generation.CURRENT}.tmp").exists()
    current = generation.current_name(data)
    try:
        loaded = generation.load_best(data, MODEL)
    except NoIndex:
        assert acknowledged is None, "an acknowledged generation is gone"
        return AfterKill("none", current != old, strays)
    try:
        gen = loaded.generation
        assert not loaded.degraded, loaded.problems  # a kill never corrupts what is served
        assert_complete(gen)
        served = "old" if gen.texts == acknowledged else "new"
        assert gen.texts in (acknowledged, target), "a generation that is neither old nor new"
        if acknowledged is not None:
            assert set(acknowledged) <= set(gen.texts), "an acknowledged document is missing"
        if current is not None:
            assert gen.name == current
        return AfterKill(served, current != old, strays)
    finally:
        loaded.generation.db.close()


def recover(data: Path, corpus: Path, rules: Rules, target: dict[str, str]) -> build.Summary:
    """Run the next ingest in-process and check that it cleaned up and serves the target."""
    summary = build.ingest(corpus, data, HashingEncoder(), rules)
    assert tmp_folders(data) == []
    assert not (data / f"{generation.CURRENT}.tmp").exists()
    loaded = generation.load_best(data, MODEL)
    try:
        assert not loaded.degraded
        assert loaded.generation.texts == target
        assert_complete(loaded.generation)
    finally:
        loaded.generation.db.close()
    return summary


# --- a kill right after each step (fast) ----------------------------------------------


@pytest.fixture(scope="module")
def three_generations(tmp_path_factory: pytest.TempPathFactory, rules: Rules) -> Path:
    """A corpus and data dir with three generations, so the next publish prunes one."""
    root = tmp_path_factory.mktemp("three-generations")
    corpus = root / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    data = root / "data"
    assert build.ingest(corpus, data, HashingEncoder(), rules).published
    edit_document(corpus, 1)
    assert build.ingest(corpus, data, HashingEncoder(), rules).published
    add_document(corpus, "note-1", note_text(1))
    assert build.ingest(corpus, data, HashingEncoder(), rules).published
    return root


# The steps whose leftovers differ most run by default; the rest with the slow tests.
DEFAULT_STEPS = ("encoding", "renamed", "pointer-written", "current", "pruning")


def steps(names: list[str]) -> list[object]:
    return [pytest.param(n, marks=() if n in DEFAULT_STEPS else pytest.mark.slow) for n in names]


@pytest.mark.parametrize("die_at", steps([*STAGES, "synced"]))
def test_a_rebuild_killed_after_each_step_loses_nothing(
    three_generations: Path, tmp_path: Path, rules: Rules, die_at: str
) -> None:
    shutil.copytree(three_generations, tmp_path, dirs_exist_ok=True)
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    old = generation.current_name(data)
    assert old is not None
    acknowledged = texts_of(data, old)
    edit_document(corpus, 2)
    target = expected_texts(corpus, rules)
    assert target != acknowledged

    child = start_child(corpus, data, tmp_path / "phases", die_at=die_at)
    code, _out, err = child.finish()
    assert code == KILLED, err
    after = check_after_kill(data, acknowledged, target, old)

    switched = stage(child.phases()) >= SWITCHED
    assert after.current_changed == switched
    assert after.served == ("new" if switched else "old")
    if die_at in ("staging", "encoding", "manifest", "synced", "pointer-written"):
        assert after.strays == 1  # the .tmp-* folder, or CURRENT.tmp
    if die_at == "pruning":  # one old generation is half deleted; readers never pick it
        assert any(_incomplete(folder(data, n)) for n in _names(data))

    summary = recover(data, corpus, rules, target)
    assert summary.published == (not switched)
    assert generation.current_name(data) == summary.generation


def _names(data: Path) -> list[str]:
    return [p.name for p in generation.generations_dir(data).iterdir() if p.is_dir()]


def _incomplete(path: Path) -> bool:
    return any(not (path / name).exists() for name in (*generation.FILES, "manifest.json"))


@pytest.mark.parametrize("die_at", steps(["locked", "encoding", "current"]))
def test_a_first_build_killed_after_a_step_loses_nothing(
    tmp_path: Path, corpus_copy: Path, rules: Rules, die_at: str
) -> None:
    data = tmp_path / "data"
    target = expected_texts(corpus_copy, rules)
    child = start_child(corpus_copy, data, tmp_path / "phases", die_at=die_at)
    code, _out, err = child.finish()
    assert code == KILLED, err
    after = check_after_kill(data, None, target, None)
    assert after.served == ("new" if die_at == "current" else "none")
    summary = recover(data, corpus_copy, rules, target)
    assert generation.current_name(data) == summary.generation


@pytest.mark.parametrize("die_at", steps(["renamed", "pointer-written"]))
def test_an_ingest_after_a_first_build_killed_before_current_writes_current(
    tmp_path: Path, corpus_copy: Path, rules: Rules, die_at: str
) -> None:
    data = tmp_path / "data"
    target = expected_texts(corpus_copy, rules)
    child = start_child(corpus_copy, data, tmp_path / "phases", die_at=die_at)
    assert child.finish()[0] == KILLED
    after = check_after_kill(data, None, target, None)
    assert after.served == "new"  # the orphan folder is complete and readers find it
    summary = recover(data, corpus_copy, rules, target)  # cleans up and serves the target...
    assert generation.current_name(data) == summary.generation  # ...but CURRENT stays unset


# --- kills at random moments (slow) ---------------------------------------------------

KILLS = 24
MAX_RUNS = 45
# Seconds the child sleeps at each step: widens publish (~10 fsyncs and 2 renames) from
# microseconds to ~0.4 s, so random kills land there as well as in reading and encoding.
SLOW_S = 0.03
SEED = 20261122
# Delays reach this far past the calibrated duration of a run.
OVERSHOOT = 1.1
SCENARIOS = ("first build", "rebuild after an edit", "adding a document")


@pytest.mark.slow
def test_random_sigkills_never_lose_an_acknowledged_document(
    tmp_path: Path, corpus_copy: Path, rules: Rules
) -> None:
    rng = random.Random(SEED)
    # Stratified, seeded delays: one per equal slice of the run (and a little past its
    # calibrated end, since runs vary), shuffled, so kills cover the whole run evenly.
    strata = [(k + rng.random()) / KILLS * OVERSHOOT for k in range(KILLS)]
    rng.shuffle(strata)
    started = time.perf_counter()
    durations = _calibrate(tmp_path / "calibration", rules)
    stages: Counter[str] = Counter()
    served: Counter[str] = Counter()
    switched: Counter[bool] = Counter()
    kills = completed = strays = unset = 0
    acknowledged: dict[str, str] | None = None
    data = tmp_path / "data-0"
    run = 0
    while (kills < KILLS or run % 3) and run < MAX_RUNS:
        scenario = SCENARIOS[run % 3]
        if scenario == "first build":
            data, acknowledged = tmp_path / f"data-{run}", None
        elif scenario == "rebuild after an edit":
            edit_document(corpus_copy, run)
        else:
            add_document(corpus_copy, f"note-{run}", note_text(run))
        old = generation.current_name(data) if data.exists() else None
        target = expected_texts(corpus_copy, rules)
        child = start_child(corpus_copy, data, tmp_path / f"phases-{run}", slow=SLOW_S)
        began = child.wait_for("started")
        delay = strata[run % len(strata)] * durations[scenario]
        time.sleep(max(0.0, began + delay - time.monotonic()))
        child.process.send_signal(signal.SIGKILL)
        code, _out, err = child.finish()
        if code == 0:  # it finished first: what it published is acknowledged
            completed += 1
            acknowledged = target
        else:
            assert code == KILLED, err
            kills += 1
            reached = stage(child.phases())
            stages[reached] += 1
            after = check_after_kill(data, acknowledged, target, old)
            served[after.served] += 1
            switched[after.current_changed] += 1
            strays += after.strays
            # A mark follows its step, so a kill may land after a step and before its mark.
            if reached >= SWITCHED:
                assert after.current_changed and after.served == "new"
            elif reached < "6":  # CURRENT is replaced only after the pointer-written mark
                assert not after.current_changed
            if not after.current_changed and old is not None:
                assert after.served == "old"
        summary = recover(data, corpus_copy, rules, target)
        acknowledged = target
        if generation.current_name(data) is None:
            unset += 1  # the known bug: see test_an_ingest_after_a_first_build_killed_...
        else:
            assert generation.current_name(data) == summary.generation
        run += 1
    seconds = time.perf_counter() - started
    print(
        f"\ncrash summary: {run} runs, {kills} SIGKILLs, {completed} finished first, "
        f"{strays} leftovers cleaned, CURRENT switched by {switched[True]} kills, "
        f"CURRENT left unset by {unset} recoveries; "
        f"served after kill {dict(served)}; stages {dict(sorted(stages.items()))}; "
        f"{seconds:.1f} s"
    )
    assert kills >= 20


def _calibrate(root: Path, rules: Rules) -> dict[str, float]:
    """Time one unkilled child per scenario (from its `started` mark to `done`)."""
    corpus = root / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    data = root / "data"
    out = {}
    for n, scenario in enumerate(SCENARIOS):
        if scenario == "rebuild after an edit":
            edit_document(corpus, 1000 + n)
        elif scenario == "adding a document":
            add_document(corpus, "calibration-note", note_text(1000 + n))
        child = start_child(corpus, data, root / f"phases-{n}", slow=SLOW_S)
        code, _out, err = child.finish()
        assert code == 0, err
        stamps = dict((phase, stamp) for stamp, phase in child.phases())
        out[scenario] = stamps["done"] - stamps["started"]
    return out
