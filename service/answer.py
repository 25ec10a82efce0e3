"""The answer composer: pick the few source sentences that answer a question, verbatim.

Pure code over retrieved passages: nothing here does I/O. A sentence is chosen for
relevance to the question (embedding similarity and shared terms), for fitting the
question's type, and for adding something the chosen ones do not already say.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.lexical import stems
from index.store import DocumentRow
from index.types import Vectors
from ingest.types import LineKind, Sentence
from service.disagreement import asked_terms, find_disagreement, jaccard
from service.questions import (
    defined_term,
    fits,
    gives_figure,
    leans_on_context,
    question_type,
    sentence_stems,
    terms,
)
from service.types import Answer, AnswerSentence, Candidate, Citation, Scored

# Weights of a sentence's ranking score and the margins of `select`: the best of a seeded
# random search over a small grid on the dev split of eval/data (share of answerable
# questions whose answer cites a gold span), `python -m eval.tune`; the test split was not
# used. See eval/README.md.
W_DENSE = 0.4
W_TERMS = 0.2
W_PASSAGE = 0.1
W_CONTEXT = 0.6
LEAD_IN_PENALTY = 0.4
ASKED_SHARE = 0.9
# The sentence after one of the text's own questions inherits that question's match only
# when the question is the visitor's (at least this similar): a looser one asks something
# else, and its answer has not earned the match. Dev cites gold as often with this rule as
# without it (cross-validated 0.671 against 0.669).
ASKED_MIN = 0.7
TYPE_BONUS = 0.15
QUESTION_PENALTY = 0.25
SHORT_PENALTY = 0.0
FILLER_PENALTY = 0.05
NEW_SOURCE_BONUS = 0.03
# A further sentence is added while it scores within this margin of the best one.
MARGIN = 0.10
LIST_MARGIN = 0.30
MAX_SENTENCES = 3
MAX_LIST_SENTENCES = 5
# Two sentences sharing more than this share of their terms say the same thing.
DUPLICATE_JACCARD = 0.6


def question_weights(question: str, rarity: Mapping[str, float] | None) -> Mapping[str, float]:
    """The weight of each of the question's stems: its rarity when given, else 1 each."""
    return rarity if rarity is not None else dict.fromkeys(stems(question), 1.0)


def coverage(wanted: Mapping[str, float], sentence: Sentence) -> float:
    """Given the question's stems with their weights, return the weighted share of them
    that the sentence or its section heading has (0 when the question has none)."""
    total = sum(wanted.values())
    if total <= 0:
        return 0.0
    have = sentence_stems(sentence.text, sentence.section)
    return sum(weight for stem, weight in wanted.items() if stem in have) / total


def candidates(
    sentences: Sequence[Sentence],
    sentence_vectors: Vectors,
    chunk_vectors: Vectors,
    chunk_of: Sequence[int],
    chunk_spans: Sequence[tuple[int, int]],
    passage_rows: Sequence[int],
    sentence_rows: Sequence[int],
    query_vector: Vectors,
) -> list[Candidate]:
    """Given retrieved chunk rows (best first) and directly retrieved sentence rows,
    return the sentences of both as candidates (each once, at its best passage rank)."""
    rank_of: dict[int, int] = {}
    for rank, chunk_row in enumerate(passage_rows):
        first, last = chunk_spans[chunk_row]
        for row in range(first, last + 1):
            rank_of.setdefault(row, rank)
    for row in sentence_rows:
        rank_of.setdefault(int(row), len(passage_rows))
    # The text's own questions are answered by the sentence that follows them, and a
    # lead-in ("Here's why:") by the list items after it.
    for row, rank in list(rank_of.items()):
        for follower in _followers(sentences, row):
            rank_of.setdefault(follower, rank)
    if not rank_of:
        return []
    rows = list(rank_of)
    index = np.asarray(rows, dtype=np.int64)
    dense = np.asarray(sentence_vectors[index] @ query_vector, dtype=np.float32)
    chunks = np.asarray([chunk_of[r] for r in rows], dtype=np.int64)
    context = np.asarray(chunk_vectors[chunks] @ query_vector, dtype=np.float32)
    asked = [_asked(sentences, sentence_vectors, row, query_vector) for row in rows]
    return [
        Candidate(row, sentences[row], float(d), rank_of[row], float(c), a)
        for row, d, c, a in zip(rows, dense, context, asked, strict=True)
    ]


def _followers(sentences: Sequence[Sentence], row: int) -> list[int]:
    """The rows that answer sentence `row`: the next one after a question, the list items
    after a lead-in ending with ":" (at most MAX_LIST_SENTENCES + 3)."""
    this = sentences[row]
    if this.text.endswith("?"):
        return [row + 1] if _same_place(sentences, row, row + 1) else []
    if not this.text.endswith(":"):
        return []
    out: list[int] = []
    nxt = row + 1
    while (
        _same_place(sentences, row, nxt)
        and sentences[nxt].kind == LineKind.ITEM
        and len(out) < MAX_LIST_SENTENCES + 3
    ):
        out.append(nxt)
        nxt += 1
    return out


def _same_place(sentences: Sequence[Sentence], a: int, b: int) -> bool:
    if not 0 <= b < len(sentences):
        return False
    x, y = sentences[a], sentences[b]
    return x.document_id == y.document_id and x.section == y.section


def _introducer(sentences: Sequence[Sentence], row: int) -> int | None:
    """The question or lead-in sentence that `row` answers, if any."""
    if row > 0 and _same_place(sentences, row, row - 1) and sentences[row - 1].text.endswith("?"):
        return row - 1
    if sentences[row].kind != LineKind.ITEM:
        return None
    back = row - 1
    while _same_place(sentences, row, back) and sentences[back].kind == LineKind.ITEM:
        back -= 1
    if _same_place(sentences, row, back) and sentences[back].text.endswith(":"):
        return back
    return None


def _asked(
    sentences: Sequence[Sentence], vectors: Vectors, row: int, query_vector: Vectors
) -> float:
    """Similarity of the question or lead-in that `row` answers, or 0."""
    intro = _introducer(sentences, row)
    return 0.0 if intro is None else float(vectors[intro] @ query_vector)


@dataclass(frozen=True, slots=True)
class Weights:
    """How a candidate sentence's score is made (see the constants above)."""

    dense: float = W_DENSE
    terms: float = W_TERMS
    passage: float = W_PASSAGE
    context: float = W_CONTEXT
    type_bonus: float = TYPE_BONUS
    question: float = QUESTION_PENALTY
    short: float = SHORT_PENALTY
    filler: float = FILLER_PENALTY
    lead_in: float = LEAD_IN_PENALTY
    margin: float = MARGIN
    list_margin: float = LIST_MARGIN


def score(
    question: str,
    qtype: str,
    pool: Sequence[Candidate],
    weights: Weights | None = None,
    rarity: Mapping[str, float] | None = None,
) -> list[Scored]:
    """Given the question and candidates, return them scored, best first.

    `rarity` weighs the question's stems (index.lexical.LexicalIndex.rarity: BM25's idf),
    so that sharing "supervise" counts for more than sharing "287(g)" in a 287(g) corpus;
    without it every stem weighs the same.
    """
    w = weights or Weights()
    wanted = question_weights(question, rarity)
    term = defined_term(question) if qtype == "definition" else frozenset()
    scored = []
    for c in pool:
        text = c.sentence.text
        have = terms(text)
        covered = coverage(wanted, c.sentence)
        # A sentence answering the text's own question inherits that question's match, when
        # the text asks what the visitor asked.
        own = max(c.dense, ASKED_SHARE * c.asked) if c.asked >= ASKED_MIN else c.dense
        dense = (1 - w.context) * own + w.context * max(c.context, own)
        value = w.dense * dense + w.terms * covered + w.passage / (1 + c.passage_rank)
        value += w.type_bonus * fits(qtype, c.sentence, term)
        if text.endswith("?"):
            value -= w.question
        if len(text.split()) < 6:
            value -= w.short
        if leans_on_context(text):
            value -= w.filler
        if text.endswith(":"):
            value -= w.lead_in
        scored.append(Scored(c, value, covered, have))
    return sorted(scored, key=lambda s: (-s.score, s.candidate.row))


def relevance(pool: Sequence[Candidate]) -> float:
    """How close the sources come to the question: the mean of the best sentence's and the
    best chunk's similarity to it. Abstention compares this with the calibrated threshold.

    Purely semantic on purpose: shared words make an out-of-scope question ("the filing
    fee for an H-1B petition") look covered when a source merely mentions petitions.
    On the dev split this separated answerable from unanswerable questions better than
    the ranking score (abstention recall 0.72 against 0.39 at <= 5% false abstention).
    """
    if not pool:
        return 0.0
    return 0.5 * max(c.dense for c in pool) + 0.5 * max(c.context for c in pool)


def select(scored: Sequence[Scored], qtype: str, weights: Weights | None = None) -> list[Scored]:
    """Given scored candidates (best first), return the sentences of the answer."""
    w = weights or Weights()
    if not scored:
        return []
    best = scored[0]
    chosen = [best]
    limit = MAX_LIST_SENTENCES if qtype == "list" else MAX_SENTENCES
    seen_ids = {best.candidate.sentence.id}
    for s in scored[1:]:
        if len(chosen) >= limit:
            break
        if s.candidate.sentence.id in seen_ids:
            continue
        same_list = (
            qtype == "list"
            and s.candidate.sentence.kind == LineKind.ITEM
            and s.candidate.sentence.section == best.candidate.sentence.section
            and s.candidate.sentence.document_id == best.candidate.sentence.document_id
        )
        new_source = all(
            c.candidate.sentence.document_id != s.candidate.sentence.document_id for c in chosen
        )
        margin = w.list_margin if same_list else w.margin
        value = s.score + (NEW_SOURCE_BONUS if new_source else 0.0)
        if value < best.score - margin:
            continue
        if any(jaccard(s.terms, c.terms) > DUPLICATE_JACCARD for c in chosen):
            continue
        chosen.append(s)
        seen_ids.add(s.candidate.sentence.id)
    return chosen


def compose(
    question: str,
    search_question: str,
    pool: Sequence[Candidate],
    documents: Mapping[str, DocumentRow],
    threshold: float,
    notice: str,
    language: str,
    urgent: bool,
    index_version: str,
    not_covered: str,
    rarity: Mapping[str, float] | None = None,
    weights: Weights | None = None,
) -> Answer:
    """Given a question and candidate sentences, return a cited answer or an abstention.

    It abstains when the sources are not close enough to the question ("not_covered"), or
    when the question asks how many or how much and no chosen sentence gives the figure
    ("number_not_covered": the sources talk about it but do not give the number). `rarity`
    weighs the question's stems (see `score`); `weights` other than the defaults are for
    tuning them (eval/tune.py).
    """
    qtype = question_type(search_question)
    wanted = question_weights(search_question, rarity)
    scored = score(search_question, qtype, pool, weights, wanted)
    support = relevance(pool)
    chosen = select(scored, qtype, weights) if support >= threshold else []
    reason = None
    if not chosen:
        reason = "not_covered"
    elif not gives_figure(search_question, [s.candidate.sentence.text for s in chosen]):
        reason = "number_not_covered"
    if reason is not None:
        return Answer(
            question,
            not_covered,
            True,
            reason,
            (),
            (),
            False,
            notice,
            language,
            urgent,
            index_version,
            0.0,
            support,
        )
    clash = find_disagreement(chosen, scored, threshold, asked_terms(search_question, wanted))
    if clash is not None and clash[1] not in chosen:
        chosen = (
            [*chosen[: MAX_SENTENCES - 1], clash[1]]
            if len(chosen) >= MAX_SENTENCES
            else [*chosen, clash[1]]
        )
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    for s in chosen:
        sentence = s.candidate.sentence
        doc = documents[sentence.document_id]
        n = len(citations) + 1
        citations.append(
            Citation(
                n,
                sentence.document_id,
                doc.title,
                doc.publisher,
                doc.url,
                doc.kind,
                doc.published,
                sentence.section,
                sentence.text,
                sentence.start,
                sentence.end,
                round(s.score, 4),
            )
        )
        sentences.append(AnswerSentence(sentence.text, (n,)))
    text = " ".join(f"{s.text} [{s.citations[0]}]" for s in sentences)
    return Answer(
        question,
        text,
        False,
        None,
        tuple(sentences),
        tuple(citations),
        clash is not None,
        notice,
        language,
        urgent,
        index_version,
        0.0,
        support,
    )
