"""Helpers of the reliability tests: corpus edits, child ingests and generation checks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from index import generation
from index.generation import Generation
from ingest.clean import Rules
from ingest.corpus import read_corpus
from tests.conftest import ROOT

MODEL = "test-hashing-encoder"
SEED_FILES = (
    "000_6e906c20eb6c7492.txt",
    "001_d76b8289b8cb6d5a.txt",
    "002_5265ddcdfc20e992.txt",
    "003_e3f56a01d4d577ea.txt",
    "004_87fd694fdfc2fd8c.txt",
)


# --- the corpus -----------------------------------------------------------------------


def expected_texts(corpus: Path, rules: Rules) -> dict[str, str]:
    """Given a corpus, return the cleaned text of each document an ingest would publish."""
    return {m.id: d.text for m, d, _ in read_corpus(corpus, rules) if d is not None}


def edit_document(corpus: Path, n: int) -> None:
    """Add a sentence (unique to `n`) after the first line of one of the seed documents
    (not at the end: a page footer there would swallow it)."""
    path = corpus / "documents" / SEED_FILES[n % len(SEED_FILES)]
    first, rest = path.read_text("utf-8").split("\n", 1)
    sentence = f"Revision {n} says a court may order the agency to decide within {n} days."
    path.write_text(f"{first}\n\n{sentence}\n{rest}", encoding="utf-8")


def add_document(corpus: Path, doc_id: str, text: str, title: str | None = None) -> None:
    """Write a .txt document into the corpus and list it in the manifest."""
    (corpus / "documents" / f"{doc_id}.txt").write_text(text, encoding="utf-8")
    with (corpus / "manifest.toml").open("a", encoding="utf-8") as handle:
        handle.write(
            f'\n[[documents]]\nid = "{doc_id}"\nfile = "documents/{doc_id}.txt"\n'
            f'title = "{title or "Note " + doc_id}"\n'
        )


def remove_document(corpus: Path, doc_id: str) -> None:
    """Remove a document's manifest entry and its file."""
    manifest = corpus / "manifest.toml"
    blocks = manifest.read_text("utf-8").split("[[documents]]")
    kept = [b for b in blocks if f'id = "{doc_id}"' not in b]
    assert len(kept) == len(blocks) - 1, doc_id
    manifest.write_text("[[documents]]".join(kept), encoding="utf-8")
    (corpus / "documents" / f"{doc_id}.txt").unlink(missing_ok=True)


def note_text(n: int) -> str:
    """A small document of its own for `n`: a heading, a paragraph and two bullets."""
    return (
        f"Mandamus note {n}\n\n"
        f"A writ of mandamus in matter {n} asks a federal court to compel an agency to act. "
        f"The petition in matter {n} says the delay was unreasonable.\n\n"
        f"• The agency must owe a clear duty in matter {n}.\n"
        f"• No other adequate remedy exists for matter {n}.\n"
    )


# --- generations ----------------------------------------------------------------------


def folder(data: Path, name: str) -> Path:
    return generation.generations_dir(data) / name


def tmp_folders(data: Path) -> list[str]:
    gens = generation.generations_dir(data)
    if not gens.is_dir():
        return []
    return sorted(p.name for p in gens.iterdir() if p.name.startswith(generation.TMP_PREFIX))


def texts_of(data: Path, name: str) -> dict[str, str]:
    """Load one generation by name and return its documents' cleaned texts."""
    gen = generation.load(folder(data, name), MODEL)
    try:
        return dict(gen.texts)
    finally:
        gen.db.close()


def assert_complete(gen: Generation) -> None:
    """A generation is whole: counts, indexes and vectors agree with its rows, ids are
    unique, and every sentence and chunk is its document's text[start:end]."""
    sentence_ids = [s.id for s in gen.sentences]
    chunk_ids = [c.id for c in gen.chunks]
    assert len(set(sentence_ids)) == len(sentence_ids), "duplicate sentence ids"
    assert len(set(chunk_ids)) == len(chunk_ids), "duplicate chunk ids"
    counts = gen.manifest["counts"]
    assert counts == {
        "documents": len(gen.documents),
        "sentences": len(gen.sentences),
        "chunks": len(gen.chunks),
    }
    assert gen.sentence_index.size == len(gen.sentences) == len(gen.sentence_vectors)
    assert gen.chunk_index.size == len(gen.chunks) == len(gen.chunk_vectors)
    assert set(gen.texts) == set(gen.documents)
    for s in gen.sentences:
        assert gen.texts[s.document_id][s.start : s.end] == s.text
    for c in gen.chunks:
        assert gen.texts[c.document_id][c.start : c.end] == c.text


# --- child ingests --------------------------------------------------------------------


@dataclass
class Child:
    """An ingest running in a child process (tests/reliability/ingest_entry.py)."""

    process: subprocess.Popen[str]
    phase_file: Path

    def phases(self) -> list[tuple[float, str]]:
        """The phases reached so far, with their time.monotonic() stamps."""
        try:
            lines = self.phase_file.read_text().splitlines()
        except FileNotFoundError:
            return []
        out = []
        for line in lines:
            stamp, _, phase = line.partition(" ")
            out.append((float(stamp), phase))
        return out

    def wait_for(self, phase: str, timeout: float = 30.0) -> float:
        """Wait until the child reaches `phase`; return its time stamp."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for stamp, reached in self.phases():
                if reached == phase:
                    return stamp
            if self.process.poll() is not None:
                raise AssertionError(f"child exited ({self.process.returncode}) before {phase}")
            time.sleep(0.002)
        raise AssertionError(f"child did not reach {phase} in {timeout} s")

    def finish(self, timeout: float = 60.0) -> tuple[int, str, str]:
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out, err


def start_child(
    corpus: Path,
    data: Path,
    phase_file: Path,
    *,
    slow: float = 0.0,
    die_at: str = "",
    hold_at: str = "",
    gate: Path | None = None,
    lock_timeout: float | None = None,
) -> Child:
    """Start a real ingest of `corpus` into `data` in a child process (the options are
    described in tests/reliability/ingest_entry.py)."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "LEXCITE_TEST_SLOW_S": str(slow),
        "LEXCITE_TEST_DIE_AT": die_at,
        "LEXCITE_TEST_HOLD_AT": hold_at,
        "LEXCITE_TEST_GATE": "" if gate is None else str(gate),
    }
    if lock_timeout is not None:
        env["LEXCITE_TEST_LOCK_TIMEOUT_S"] = str(lock_timeout)
    args = (corpus, data, phase_file)
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.reliability.ingest_entry", *map(str, args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    return Child(process, phase_file)


# --- servers (tests/reliability/serve_entry.py) ----------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    """One serve_entry child and where it listens."""

    process: subprocess.Popen[bytes]
    url: str
    phase_file: Path

    def phases(self) -> list[str]:
        try:
            return [line.partition(" ")[2] for line in self.phase_file.read_text().splitlines()]
        except FileNotFoundError:
            return []

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(30)


def start_server(
    root: Path,
    n: int,
    *,
    slow: float = 0.0,
    die_at: str = "",
    started: list[Server] | None = None,
) -> Server:
    """Start serve_entry over root/corpus and root/data and wait until it is ready; add it
    to `started` (which a fixture kills at teardown, so no failure leaves a server)."""
    port = free_port()
    phase_file = root / f"phases-{n}"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("LEXCITE_")},
        "PYTHONPATH": str(ROOT),
        "LEXCITE_TEST_SLOW_S": str(slow),
        "LEXCITE_TEST_DIE_AT": die_at,
    }
    args = [root / "corpus", root / "data", phase_file, port]
    with open(root / f"serve-{n}.log", "wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.reliability.serve_entry", *map(str, args)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
    server = Server(process, f"http://127.0.0.1:{port}", phase_file)
    if started is not None:
        started.append(server)
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, (root / f"serve-{n}.log").read_text()
        assert time.monotonic() < deadline, "the server did not become ready"
        try:
            if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        time.sleep(0.05)
