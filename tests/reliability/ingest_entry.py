"""A real ingest in a child process, for the crash and concurrent-writer tests.

    python -m tests.reliability.ingest_entry CORPUS DATA PHASES

Runs `index.build.ingest` with the test `HashingEncoder` (no model load), appends each
phase it reaches to the PHASES file as `<time.monotonic()> <phase>` lines, and on success
prints the summary as one JSON line. A known error prints `Error: ...` and exits 1, as
the CLI does. Environment:

- `LEXCITE_TEST_SLOW_S`: seconds to sleep at each step (encoder batch, fsync, rename,
  pruned file), so a kill at a random moment can land in every phase, publish included.
- `LEXCITE_TEST_DIE_AT`: a phase; the process SIGKILLs itself right after reaching it,
  for crash points chosen exactly.
- `LEXCITE_TEST_HOLD_AT` and `LEXCITE_TEST_GATE`: on reaching that phase, wait (at most
  HOLD_LIMIT_S) until the gate file exists, so a test decides when a lock holder goes on.
- `LEXCITE_TEST_LOCK_TIMEOUT_S`: the writer lock timeout (default: build.LOCK_TIMEOUT_S).

Phases, in order: started, locked, staging, encoding (per batch), manifest, synced (per
fsync), renamed (the generation folder is in place, CURRENT still old), pointer-written
(CURRENT.tmp is on disk), current (CURRENT names the new generation), pruning (per removed
file), pruned, done. Only the module's own edges are wrapped; the build logic runs as is.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from index import build, generation
from index.errors import IndexStageError
from index.types import Vectors
from ingest.clean import load_rules
from ingest.errors import IngestError
from tests.conftest import HashingEncoder

# The real encoder's batch size (index/encoder.py): one sleep per batch it would run.
BATCH = 64
# A held child gives up waiting for its gate after this long, so no test can hang on it.
HOLD_LIMIT_S = 60.0


class Phases:
    """Appends phase lines with one unbuffered write each, so a SIGKILL never tears one."""

    def __init__(self, path: Path, slow: float, die_at: str, hold_at: str, gate: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self.slow = slow
        self.die_at = die_at
        self.hold_at = hold_at
        self.gate = Path(gate) if gate else None

    def mark(self, phase: str) -> None:
        os.write(self._fd, f"{time.monotonic():.6f} {phase}\n".encode())
        if phase == self.die_at:
            os.kill(os.getpid(), signal.SIGKILL)
        if phase == self.hold_at and self.gate is not None:
            deadline = time.monotonic() + HOLD_LIMIT_S
            while not self.gate.exists() and time.monotonic() < deadline:
                time.sleep(0.005)

    def pause(self) -> None:
        if self.slow:
            time.sleep(self.slow)


class SlowEncoder(HashingEncoder):
    """The test encoder, encoding in batches like the real one, pausing after each."""

    def __init__(self, phases: Phases) -> None:
        super().__init__()
        self._phases = phases

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        parts = []
        for first in range(0, max(len(texts), 1), BATCH):
            self._phases.mark("encoding")
            self._phases.pause()
            parts.append(super().encode(texts[first : first + BATCH], progress))
        return parts[0] if len(parts) == 1 else _stack(parts)


def _stack(parts: list[Vectors]) -> Vectors:
    import numpy as np

    return np.concatenate(parts).astype(np.float32)


class _Os:
    """`os` as index.generation sees it, with `replace` marked: the two renames of publish."""

    def __init__(self, phases: Phases) -> None:
        self._phases = phases

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)

    def replace(self, src: Any, dst: Any) -> None:
        self._phases.pause()
        os.replace(src, dst)
        self._phases.mark("current" if Path(dst).name == generation.CURRENT else "renamed")
        self._phases.pause()


class _Shutil:
    """`shutil` as index.generation sees it: a prune removes the entries of a generation
    (files, and the lexical index's folder) one by one, pausing."""

    def __init__(self, phases: Phases) -> None:
        self._phases = phases

    def __getattr__(self, name: str) -> Any:
        return getattr(shutil, name)

    def rmtree(self, path: Any, ignore_errors: bool = False) -> None:
        folder = Path(path)
        if not folder.name.startswith(generation.TMP_PREFIX):
            for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
                if entry.is_dir():
                    shutil.rmtree(entry)
                else:
                    entry.unlink(missing_ok=True)
                self._phases.mark("pruning")
                self._phases.pause()
        shutil.rmtree(folder, ignore_errors=ignore_errors)


def instrument(phases: Phases) -> None:
    """Wrap the edges of index.generation so each step is marked (and slowed)."""
    remove_abandoned = generation.remove_abandoned
    staging = generation.staging
    write_manifest = generation.write_manifest
    fsync = generation.fsync
    prune = generation.prune

    def marked_remove_abandoned(data_dir: Path) -> list[str]:
        phases.mark("locked")  # build calls it first thing under the lock
        return remove_abandoned(data_dir)

    @contextlib.contextmanager
    def marked_staging(data_dir: Path, name: str) -> Iterator[Path]:
        with staging(data_dir, name) as tmp:
            phases.mark("staging")  # the .tmp-* folder exists from here on
            yield tmp

    def marked_write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
        written = write_manifest(folder, manifest)
        phases.mark("manifest")
        return written

    def marked_fsync(path: Path) -> None:
        phases.pause()
        fsync(path)
        phases.mark("pointer-written" if path.name == f"{generation.CURRENT}.tmp" else "synced")

    def marked_prune(data_dir: Path, keep: int = generation.KEEP) -> None:
        prune(data_dir, keep)
        phases.mark("pruned")

    generation.remove_abandoned = marked_remove_abandoned
    generation.staging = marked_staging
    generation.write_manifest = marked_write_manifest
    generation.fsync = marked_fsync
    generation.prune = marked_prune
    generation.os = _Os(phases)  # type: ignore[attr-defined,assignment]
    generation.shutil = _Shutil(phases)  # type: ignore[attr-defined,assignment]


def main(argv: Sequence[str]) -> int:
    corpus, data, phase_file = (Path(a) for a in argv)
    phases = Phases(
        phase_file,
        float(os.environ.get("LEXCITE_TEST_SLOW_S", "0")),
        os.environ.get("LEXCITE_TEST_DIE_AT", ""),
        os.environ.get("LEXCITE_TEST_HOLD_AT", ""),
        os.environ.get("LEXCITE_TEST_GATE", ""),
    )
    instrument(phases)
    timeout = float(os.environ.get("LEXCITE_TEST_LOCK_TIMEOUT_S", build.LOCK_TIMEOUT_S))
    phases.mark("started")
    try:
        summary = build.ingest(
            corpus, data, SlowEncoder(phases), load_rules(), lock_timeout=timeout
        )
    except (IndexStageError, IngestError) as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    phases.mark("done")
    out = asdict(summary)
    out["problems"] = [asdict(p) for p in summary.problems]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
