"""Run a question set through an answerer (in-process or over HTTP) and measure it."""

from __future__ import annotations

import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

from tqdm import tqdm

from eval import metrics
from eval.dataset import Question
from eval.metrics import Span

RETRIEVAL_K = 10
CLUTTER = Path(__file__).parent / "data" / "clutter.txt"
THRESHOLDS = Path(__file__).parent / "thresholds.toml"


class Answerer(Protocol):
    """What the evaluation needs from lexcite: answers, passages and the cleaned texts."""

    def ask(self, question: str, mode: str) -> dict[str, Any]: ...

    def search(self, query: str, k: int, mode: str) -> list[dict[str, Any]]: ...

    def texts(self) -> dict[str, str]: ...


class LocalAnswerer:
    """The in-process pipeline (service.engine.Engine)."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def ask(self, question: str, mode: str) -> dict[str, Any]:
        return asdict(self.engine.ask(question, mode=mode))

    def search(self, query: str, k: int, mode: str) -> list[dict[str, Any]]:
        return [asdict(p) for p in self.engine.search(query, k, mode=mode)]

    def texts(self) -> dict[str, str]:
        return dict(self.engine.state.generation.texts)


class HttpAnswerer:
    """A running lexcite server, through its public API (hybrid retrieval only)."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        import httpx

        self.client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout)

    def ask(self, question: str, mode: str) -> dict[str, Any]:
        response = self.client.post("/v1/ask", json={"question": question})
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def search(self, query: str, k: int, mode: str) -> list[dict[str, Any]]:
        response = self.client.get("/v1/search", params={"q": query, "k": k})
        response.raise_for_status()
        results: list[dict[str, Any]] = response.json()["results"]
        return results

    def texts(self) -> dict[str, str]:
        docs = self.client.get("/v1/documents").json()["documents"]
        return {d["id"]: self.client.get(f"/v1/documents/{d['id']}").json()["text"] for d in docs}


@dataclass(frozen=True, slots=True)
class Record:
    """One question's outcome under one retrieval mode."""

    question: Question
    mode: str
    answer: dict[str, Any]
    retrieved: list[Span]
    wall_ms: float


def load_clutter(path: Path = CLUTTER) -> list[str]:
    """Return the clutter strings that must never appear in a citation."""
    return [line.strip() for line in path.read_text("utf-8").splitlines() if line.strip()]


def collect(
    questions: Sequence[Question], answerer: Answerer, mode: str, progress: bool = True
) -> list[Record]:
    """Ask every question and retrieve passages for it; return the records."""
    records = []
    for q in tqdm(questions, desc=f"{mode:>7}", disable=not progress, leave=False):
        started = time.perf_counter()
        answer = answerer.ask(q.question, mode)
        wall = (time.perf_counter() - started) * 1000
        passages = answerer.search(q.question, RETRIEVAL_K, mode)
        spans = [(p["document_id"], int(p["start"]), int(p["end"])) for p in passages]
        records.append(Record(q, mode, answer, spans, wall))
    return records


def check(record: Record, texts: Mapping[str, str], clutter: Sequence[str]) -> dict[str, Any]:
    """Given one record, return its per-question measurements."""
    a, q = record.answer, record.question
    gold: list[Span] = [(g.document, g.start, g.end) for g in q.gold]
    citations = {c["n"]: c for c in a["citations"]}
    cited: list[Span] = [(c["document_id"], c["start"], c["end"]) for c in a["citations"]]
    hits = [any(metrics.overlaps(c, g) for g in gold) for c in cited]
    return {
        "id": q.id,
        "kind": q.kind,
        "answerable": q.answerable,
        "abstained": bool(a["abstained"]),
        "support": a.get("support"),
        "sentences_supported": [metrics.sentence_supported(s, citations) for s in a["sentences"]],
        "citations_exact": [metrics.citation_exact(c, texts) for c in a["citations"]],
        "citations_clutter": [metrics.has_clutter(c["text"], clutter) for c in a["citations"]],
        "gold_cited": bool(q.answerable and not a["abstained"] and any(hits)),
        "citation_precision": sum(hits) / len(hits) if hits else None,
        "citation_recall": (
            sum(any(metrics.overlaps(c, g) for c in cited) for g in gold) / len(gold)
            if gold
            else None
        ),
        "recall@1": metrics.recall_at_k(record.retrieved, gold, 1) if gold else None,
        "recall@5": metrics.recall_at_k(record.retrieved, gold, 5) if gold else None,
        "recall@10": metrics.recall_at_k(record.retrieved, gold, 10) if gold else None,
        "mrr": metrics.reciprocal_rank(record.retrieved, gold) if gold else None,
        "ndcg@10": metrics.ndcg_at_k(record.retrieved, gold, 10) if gold else None,
        "took_ms": float(a.get("took_ms", 0.0)),
        "wall_ms": record.wall_ms,
        "sources_disagree": bool(a.get("sources_disagree")),
        "question": q.question,
        "answer": a["answer"],
        "citations": a["citations"],
        "gold": [asdict(g) for g in q.gold],
    }


# The headline rates, in the order reports list them. Each is a mean over items that the
# questions contribute (see `items`): some over questions, some over sentences or citations.
RATES = (
    "sentence_support",
    "citation_exactness",
    "clutter_leakage",
    "gold_cited",
    "citation_precision",
    "citation_recall",
    "abstention_recall",
    "abstention_precision",
    "false_abstention",
    "disagreement_flagged",
    "false_disagreement",
    "recall@1",
    "recall@5",
    "recall@10",
    "mrr",
    "ndcg@10",
)


def items(row: Mapping[str, Any]) -> dict[str, list[float]]:
    """Given one question's measurements, return what it adds to each headline rate: the
    rate over a set of questions is the mean of all their items (eval/README.md)."""
    answerable, abstained = bool(row["answerable"]), bool(row["abstained"])
    answered = answerable and not abstained
    disagreement = row["kind"] == "disagreement"

    def one(value: Any, when: bool = True) -> list[float]:
        return [float(value)] if when and value is not None else []

    return {
        "sentence_support": [float(v) for v in row["sentences_supported"]],
        "citation_exactness": [float(v) for v in row["citations_exact"]],
        "clutter_leakage": [float(v) for v in row["citations_clutter"]],
        "gold_cited": one(row["gold_cited"], answerable),
        "citation_precision": one(row["citation_precision"], answerable),
        "citation_recall": one(row["citation_recall"], answerable),
        "abstention_recall": one(abstained, not answerable),
        "abstention_precision": one(not answerable, abstained),
        "false_abstention": one(abstained, answerable),
        "disagreement_flagged": one(row["sources_disagree"], answered and disagreement),
        "false_disagreement": one(row["sources_disagree"], answered and not disagreement),
        **{key: one(row[key], answerable) for key in ("recall@1", "recall@5", "recall@10")},
        "mrr": one(row["mrr"], answerable),
        "ndcg@10": one(row["ndcg@10"], answerable),
    }


def summarise(rows: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Given per-question measurements, return the headline figures with 95% CIs."""
    per_row = [items(r) for r in rows]
    summary: dict[str, Any] = {
        key: asdict(metrics.rate([v for contributed in per_row for v in contributed[key]]))
        for key in RATES
    }
    latencies = [r["wall_ms"] for r in rows]
    summary["latency_ms"] = {
        "p50": metrics.percentile(latencies, 50),
        "p95": metrics.percentile(latencies, 95),
        "n": len(latencies),
    }
    answerable = sum(bool(r["answerable"]) for r in rows)
    summary["questions"] = {
        "all": len(rows),
        "answerable": answerable,
        "unanswerable": len(rows) - answerable,
    }
    return summary


def correct(row: Mapping[str, Any]) -> bool:
    """Whether a question went right: gold cited when answerable, abstained when not."""
    return bool(row["gold_cited"] if row["answerable"] else row["abstained"])


def per_kind(rows: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, float]]:
    """Per question kind: how many, share answered right (gold cited or correctly abstained)."""
    out: dict[str, dict[str, float]] = {}
    for kind in sorted({r["kind"] for r in rows}):
        group = [r for r in rows if r["kind"] == kind]
        out[kind] = {"n": len(group), "correct": sum(map(correct, group)) / len(group)}
    return out


def gate(summary: Mapping[str, Any], path: Path = THRESHOLDS) -> list[str]:
    """Given a summary and a thresholds file, return the failed checks (empty: pass)."""
    rules = tomllib.loads(path.read_text("utf-8"))
    failures = []
    for key, bound in rules.get("min", {}).items():
        value = summary[key]["value"]
        if not value >= bound:
            failures.append(f"{key} = {value:.3f} is below the minimum {bound}")
    for key, bound in rules.get("max", {}).items():
        value = summary[key]["value"]
        if not value <= bound:
            failures.append(f"{key} = {value:.3f} is above the maximum {bound}")
    return failures
