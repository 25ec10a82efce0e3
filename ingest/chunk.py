"""Group sentences into retrieval chunks: whole sentences, never across a section."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ingest.segment import content_id
from ingest.types import Chunk, Sentence

# all-MiniLM-L6-v2 reads at most 256 word pieces (about 1,000 characters of English);
# 600 characters keeps a chunk, with its section title, inside that window.
MAX_CHARS = 600


def chunk(sentences: Sequence[Sentence], text: str, max_chars: int = MAX_CHARS) -> list[Chunk]:
    """Given a document's sentences and its cleaned text, return its chunks in order."""
    groups: list[list[Sentence]] = []
    for sentence in sentences:
        current = groups[-1] if groups else None
        if (
            current
            and current[0].section == sentence.section
            and sentence.end - current[0].start <= max_chars
        ):
            current.append(sentence)
        else:
            groups.append([sentence])
    chunks: list[Chunk] = []
    seen: Counter[str] = Counter()
    for group in groups:
        first, last = group[0], group[-1]
        body = text[first.start : last.end]
        seen[body] += 1
        cid = content_id(first.document_id, first.section, body, str(seen[body]))
        ids = tuple(s.id for s in group)
        chunks.append(
            Chunk(cid, first.document_id, first.section, first.start, last.end, body, ids)
        )
    return chunks
