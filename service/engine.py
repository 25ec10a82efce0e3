"""The engine: the current index generation, the encoder, and the two things users ask of
them (search and answers). Swaps to a newly published generation without a restart."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

from index import generation as generations
from index.encoder import Encoder
from index.generation import Generation, Loaded
from index.search import Mode, Passage, Searcher, normalise_query
from index.types import Filters
from service import answer as composer
from service import language, safety
from service.types import Answer, Candidate

DEFAULT_K = 6
# Sentences retrieved directly by similarity, besides those of the retrieved chunks.
SENTENCE_CANDIDATES = 20
# How often a request may look at CURRENT for a newly published generation.
RELOAD_CHECK_S = 0.5


def default_threshold() -> float:
    """Return the abstention threshold calibrated on the dev split (calibration.json)."""
    data = json.loads(resources.files("service").joinpath("calibration.json").read_text())
    return float(data["abstain_below"])


@dataclass(frozen=True, slots=True)
class State:
    """One generation and its searcher; a request keeps the state it started with."""

    loaded: Loaded
    searcher: Searcher
    covered: dict[str, str]  # the abstention text in each language, naming its documents

    @property
    def generation(self) -> Generation:
        return self.loaded.generation


@dataclass(frozen=True, slots=True)
class Evidence:
    """What an answer is composed from: the question as searched, its language, the
    candidate sentences, the weights of its words, and the state they came from."""

    state: State
    question: str
    query: str
    language: str
    pool: list[Candidate]
    rarity: dict[str, float]
    timings_ms: dict[str, float]


class Engine:
    """Answers and searches over the current generation of a data directory."""

    def __init__(self, data_dir: Path, encoder: Encoder, threshold: float | None = None) -> None:
        self.data_dir = data_dir
        self.encoder = encoder
        self.threshold = default_threshold() if threshold is None else threshold
        self._lock = threading.Lock()
        self._checked = 0.0
        self._pointer: str | None = None
        self._state = self._load()

    def _load(self) -> State:
        # Remember what CURRENT said: a degraded engine serves a fallback whose name
        # differs from CURRENT, and must not reload until CURRENT itself changes.
        self._pointer = generations.current_name(self.data_dir)
        loaded = generations.load_best(self.data_dir, self.encoder.name)
        titles = sorted(d.title for d in loaded.generation.documents.values())
        return State(loaded, Searcher(loaded.generation, self.encoder), safety.covered(titles))

    @property
    def state(self) -> State:
        """The state to serve a request with, switching to a new generation if one appeared."""
        now = time.monotonic()
        if now - self._checked >= RELOAD_CHECK_S:
            self._checked = now
            name = generations.current_name(self.data_dir)
            if name is not None and name != self._pointer:
                self.reload()
        return self._state

    def reload(self) -> None:
        """Load the current generation and serve it from the next request on."""
        with self._lock:
            state = self._load()
            # Assigning a reference is atomic: requests in flight keep the old state.
            self._state = state

    def warm_up(self) -> None:
        """Answer one English and one Spanish question, so the first visitor does not pay
        for lazy loads (the language detector, the model's first call)."""
        self.ask("What is a writ of mandamus?")
        self.ask("¿Qué es un mandamus?")

    def search(
        self, query: str, k: int = 5, filters: Filters | None = None, mode: Mode = "hybrid"
    ) -> list[Passage]:
        """Given a query, return the best passages."""
        return self.state.searcher.search(query, k, filters, mode)

    def evidence(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> Evidence:
        """Given a question, return what its answer is composed from."""
        started = time.perf_counter()
        state = self.state
        gen = state.generation
        lang = language.detect(question)
        searched = language.expand_spanish(question) if lang == "es" else question
        query = normalise_query(searched)
        prepared = time.perf_counter()
        found = state.searcher.retrieve(
            query, k or DEFAULT_K, filters, mode, sentences=SENTENCE_CANDIDATES
        )
        retrieved = time.perf_counter()
        pool = composer.candidates(
            gen.sentences,
            gen.sentence_vectors,
            gen.chunk_vectors,
            gen.sentence_chunk,
            gen.chunk_spans,
            [p.row for p in found.passages],
            found.sentence_rows,
            found.vector,
        )
        rarity = gen.lexical.rarity(query)
        done = time.perf_counter()
        # The lexical search runs while the query is embedded: "retrieve" is the rest of
        # the retrieval, after the embedding.
        timings = {
            "encode": found.encode_ms,
            "retrieve": (retrieved - prepared) * 1000 - found.encode_ms,
            "compose": ((done - retrieved) + (prepared - started)) * 1000,
        }
        return Evidence(state, question, query, lang, pool, rarity, timings)

    def ask(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        mode: Mode = "hybrid",
    ) -> Answer:
        """Given a question, return a cited answer or an abstention."""
        started = time.perf_counter()
        found = self.evidence(question, k, filters, mode)
        composing = time.perf_counter()
        result = self.compose(found)
        done = time.perf_counter()
        timings = dict(found.timings_ms)
        timings["compose"] += (done - composing) * 1000
        return replace(result, took_ms=(done - started) * 1000, timings_ms=timings)

    def compose(self, found: Evidence, weights: composer.Weights | None = None) -> Answer:
        """Given a question's evidence, return its cited answer or abstention (`weights`
        other than the defaults are for tuning them: eval/tune.py)."""
        gen = found.state.generation
        urgent = safety.is_urgent(found.question)
        return composer.compose(
            question=found.question,
            search_question=found.query,
            pool=found.pool,
            documents=gen.documents,
            threshold=self.threshold,
            notice=safety.notice(found.language, urgent),
            language=found.language,
            urgent=urgent,
            index_version=gen.name,
            not_covered=found.state.covered.get(found.language, found.state.covered["en"]),
            rarity=found.rarity,
            weights=weights,
        )
