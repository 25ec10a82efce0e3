"""Evaluation questions: load JSONL or CSV, validate, and locate gold quotes as spans."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ingest.clean import normalise

KINDS = (
    "fact",
    "definition",
    "list",
    "date_number",
    "why",
    "paraphrase",
    "disagreement",
    "spanish",
    "out_of_scope",
    "clutter_trap",
)
SPLITS = ("dev", "test")
DEFAULT = Path(__file__).parent / "data" / "questions.jsonl"


class DatasetError(Exception):
    """The question set is malformed, or a gold quote is not in its document."""


@dataclass(frozen=True, slots=True)
class Gold:
    """A gold evidence span: `quote == document_text[start:end]` once located."""

    document: str
    quote: str
    start: int = -1
    end: int = -1


@dataclass(frozen=True, slots=True)
class Question:
    """One evaluation question."""

    id: str
    question: str
    kind: str
    lang: str
    answerable: bool
    gold: tuple[Gold, ...]
    split: str


def load(path: Path = DEFAULT) -> list[Question]:
    """Given a .jsonl or .csv file, return its validated questions."""
    try:
        if path.suffix.lower() == ".csv":
            with path.open(encoding="utf-8", newline="") as handle:
                rows: list[Mapping[str, Any]] = [_from_csv(r) for r in csv.DictReader(handle)]
        else:
            rows = [
                json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()
            ]
    except (OSError, ValueError) as err:
        raise DatasetError(f"{path}: cannot be read ({err})") from err
    questions = [_question(row, n) for n, row in enumerate(rows, 1)]
    ids = [q.id for q in questions]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: question ids are not unique")
    return questions


def _from_csv(row: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = dict(row)
    if row.get("gold"):
        out["gold"] = json.loads(row["gold"])
    elif row.get("gold_document"):
        out["gold"] = [{"document": row["gold_document"], "quote": row.get("gold_quote", "")}]
    else:
        out["gold"] = []
    out["answerable"] = str(row.get("answerable", "")).strip().lower() in {"1", "true", "yes"}
    out.setdefault("lang", "en")
    out.setdefault("split", "test")
    return out


def _question(row: Mapping[str, Any], n: int) -> Question:
    where = f"question {n} ({row.get('id', '?')})"
    for key in ("id", "question", "kind"):
        if not isinstance(row.get(key), str) or not row[key]:
            raise DatasetError(f"{where}: '{key}' is required")
    if row["kind"] not in KINDS:
        raise DatasetError(f"{where}: kind {row['kind']!r} is not one of {', '.join(KINDS)}")
    split = row.get("split", "test")
    if split not in SPLITS:
        raise DatasetError(f"{where}: split must be dev or test")
    gold = tuple(Gold(str(g["document"]), str(g["quote"])) for g in row.get("gold", []))
    answerable = bool(row.get("answerable", bool(gold)))
    if answerable != bool(gold):
        raise DatasetError(f"{where}: answerable questions need gold quotes, others none")
    return Question(
        row["id"], row["question"], row["kind"], str(row.get("lang", "en")), answerable, gold, split
    )


def locate(questions: Iterable[Question], texts: Mapping[str, str]) -> list[Question]:
    """Given questions and cleaned document texts, return them with gold offsets set."""
    located = []
    missing = []
    for q in questions:
        golds = []
        for g in q.gold:
            # Quotes are copied from the raw pages; clean them the way ingest cleans lines.
            quote = normalise(g.quote)
            start = texts.get(g.document, "").find(quote)
            if start < 0:
                missing.append(f"{q.id}: {g.document}: {quote[:60]!r}")
                continue
            golds.append(Gold(g.document, quote, start, start + len(quote)))
        located.append(
            Question(q.id, q.question, q.kind, q.lang, q.answerable, tuple(golds), q.split)
        )
    if missing:
        raise DatasetError("gold quotes not found in the cleaned texts:\n  " + "\n  ".join(missing))
    return located


def select(questions: Sequence[Question], split: str | None) -> list[Question]:
    """Return the questions of one split ("all" or None: every question)."""
    if split in (None, "all"):
        return list(questions)
    return [q for q in questions if q.split == split]
