"""The fixed, varied question list every measurement uses: eval/data/questions.jsonl
(English and Spanish, answerable and out-of-scope, short and long), in file order."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "eval" / "data" / "questions.jsonl"


def load(path: Path = DEFAULT, limit: int | None = None) -> list[str]:
    """Given a JSONL file with a "question" field per line, return the question texts."""
    questions = []
    for line in path.read_text("utf-8").splitlines():
        if line.strip():
            questions.append(str(json.loads(line)["question"]))
    return questions[:limit] if limit is not None else questions
