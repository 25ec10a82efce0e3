"""The bundled corpus is cleaned and segmented exactly as when the evaluation's gold quotes
and offsets were written (eval/data/questions.jsonl): a change to reading, cleaning or
sentence splitting that moves one offset of `corpus/documents/` fails here.

`tests/fixtures/corpus_segmentation.json` holds, per document, the SHA-256 of its cleaned
text and of its sentence list (id, section, kind, start, end, text), recorded before the
long-line guard of `ingest.segment` was added. Regenerate it only on purpose:
`python -m tests.ingest.test_bundled_corpus > tests/fixtures/corpus_segmentation.json`.
"""

from __future__ import annotations

import hashlib
import json

from ingest.clean import load_rules
from ingest.corpus import read_corpus
from ingest.types import Document
from tests.conftest import CORPUS_DIR, FIXTURES

RECORDED = FIXTURES / "corpus_segmentation.json"


def fingerprints(documents: list[Document]) -> dict[str, dict[str, object]]:
    """Given ingested documents, return each one's text and sentence-list hashes."""
    out: dict[str, dict[str, object]] = {}
    for doc in documents:
        rows = [[s.id, s.section, s.kind.value, s.start, s.end, s.text] for s in doc.sentences]
        out[doc.id] = {
            "text_sha256": hashlib.sha256(doc.text.encode("utf-8")).hexdigest(),
            "sentences_sha256": hashlib.sha256(json.dumps(rows).encode("utf-8")).hexdigest(),
            "sentences": len(rows),
            "characters": len(doc.text),
        }
    return out


def bundled() -> list[Document]:
    docs = []
    for _meta, doc, problem in read_corpus(CORPUS_DIR, load_rules()):
        assert problem is None and doc is not None, problem
        docs.append(doc)
    return docs


def test_the_bundled_corpus_is_segmented_as_recorded() -> None:
    recorded = json.loads(RECORDED.read_text("utf-8"))
    assert fingerprints(bundled()) == recorded


if __name__ == "__main__":
    print(json.dumps(fingerprints(bundled()), indent=2, sort_keys=True))
