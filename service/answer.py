"""The answer composer: pick the few source sentences that answer a question, verbatim.

Pure code over retrieved passages: nothing here does I/O. A sentence is chosen for
relevance to the question (embedding similarity and shared terms), for fitting the
question's type, and for adding something the chosen ones do not already say.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from index.lexical import STOPWORDS, stems
from index.store import DocumentRow
from index.types import Vectors
from ingest.types import LineKind, Sentence
from service.types import Answer, AnswerSentence, Citation

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
# A text's own question is the visitor's when at least this similar: below it, "What does
# this mean for families?" would let its answer ("For many immigrant families, it means
# living in a state of constant anxiety.") answer "What is the Task Force Model?". Dev
# cites gold as often with it as without (cross-validated 0.671 against 0.669).
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
# Sentences from different sources must be at least this similar to be compared for
# disagreement (same topic).
DISAGREE_SIMILARITY = 0.45

_TERM = re.compile(r"[a-z0-9]+(?:\([a-z]\))?")
_FILLER = re.compile(
    r"^(?:imagine|think of|think about|let’s|let's|sounds|so,|well,|now,|here’s|here's|ever |"
    r"to understand )",
    re.IGNORECASE,
)
# Sentences that lean on the one before them ("That’s basically what ... is.").
_REFERENTIAL = re.compile(r"^(?:that’s|that's|this is|these|those|it’s|it's|they|such)\b", re.I)
_NUMBER = re.compile(r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozen)\b", re.I)
# A section of a statute ("287(g)") names a law; it states no quantity.
_SECTION = re.compile(r"\b\d+\([a-z]\)", re.IGNORECASE)
# Questions that ask for a count or an amount. ("How long" and "how often" are left out:
# "Legal battles can drag on" answers "How long does mandamus take?" without a number.)
_QUANTITY = re.compile(r"\bhow (?:many|much)\b", re.IGNORECASE)
# What "how many" counts: the next words ("how many [police agencies]").
_COUNTED = re.compile(r"\bhow many\s+(\S+(?:\s+\S+)?)", re.IGNORECASE)
_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d|january|february|march|april|may|june|july|august|september|"
    r"october|november|december)\b",
    re.IGNORECASE,
)
# The term a definition question asks about: "What is [a 287(g) agreement]?", "Define
# [mandamus] for ...", "What does [full-scale indemnification] mean ...".
_DEFINED = re.compile(
    r"\b(?:what(?:'s|’s| is| are)(?: meant by)?|define|what does|meaning of)\s+"
    r"(?:an?\s+|the\s+)?(.+?)(?:\s+(?:mean|means|for|in|to|under|when|if)\b|\?|$)",
    re.IGNORECASE,
)
# A longer "term" is a question of its own, not a term.
DEFINED_WORDS = 4
# A sentence that defines a term names it among its first words ("The 287(g) Agreement
# allows ..."), not in passing ("A writ of mandamus ... under 287(g) Agreements").
SUBJECT_WORDS = 8
_CAUSE = re.compile(r"\b(?:because|due to|since|leads? to|leading to|risk|fear|so that)\b", re.I)
_NEGATION = re.compile(
    r"\b(?:not|never|cannot|can’t|can't|won’t|won't|isn’t|isn't|no|limited|reluctant)\b", re.I
)
# BM25's idf (Lucene's form) of a word in half of the chunks: the words that rank are above.
_RANKS = math.log(2)
# Words that mean the same action when sources are compared for disagreement.
_SAME_ACTION = {"halt": "stop", "halting": "stop", "stopping": "stop", "stops": "stop"}

QUESTION_TYPES = ("when", "how_many", "who", "definition", "why", "list", "other")


@dataclass(frozen=True, slots=True)
class Candidate:
    """A sentence from a retrieved passage, with its similarity to the question.

    `context` is the similarity of the sentence's chunk (section heading included): a
    list item such as "Supervision: ICE oversees ..." means little without its section.
    `asked` is the similarity of the question the text asks just before this sentence
    ("But why does this misconduct happen? Often, it's due to ..."), or 0.
    """

    row: int
    sentence: Sentence
    dense: float
    passage_rank: int
    context: float = 0.0
    asked: float = 0.0


@dataclass(frozen=True, slots=True)
class Scored:
    """A candidate with its composite score and the terms it has."""

    candidate: Candidate
    score: float
    coverage: float
    terms: frozenset[str]


@functools.lru_cache(maxsize=1 << 16)
def _stems(text: str, section: str) -> frozenset[str]:
    """The stems of a sentence and of its section heading (cached, like `terms`)."""
    return frozenset(stems(text)) | frozenset(stems(section))


def coverage(wanted: Mapping[str, float], sentence: Sentence) -> float:
    """Given the question's stems with their weights, return the weighted share of them
    that the sentence or its section heading has (0 when the question has none)."""
    total = sum(wanted.values())
    if total <= 0:
        return 0.0
    have = _stems(sentence.text, sentence.section)
    return sum(weight for stem, weight in wanted.items() if stem in have) / total


@functools.lru_cache(maxsize=1 << 16)
def terms(text: str) -> frozenset[str]:
    """Given text, return its content terms: lower-cased, stop words out, plural -s off.
    Cached: the same source sentences come back as candidates for many questions."""
    out = set()
    for token in _TERM.findall(text.casefold()):
        if token in STOPWORDS or len(token) < 2:
            continue
        if len(token) > 4 and token.endswith("s") and not token.endswith("ss"):
            token = token[:-1]
        out.add(token)
    return frozenset(out)


def defined_term(question: str) -> frozenset[str]:
    """Given a question, return the stems of the term it asks to define (empty if none)."""
    found = _DEFINED.search(question)
    term = frozenset(stems(found.group(1))) if found else frozenset()
    return term if len(term) <= DEFINED_WORDS else frozenset()


def question_type(question: str) -> str:
    """Given an (English) question, return its type, one of QUESTION_TYPES."""
    q = question.casefold()
    # "When" asks for a time at the start of a question ("When did ...?", "Since when
    # ..."), not as a conjunction ("What do courts do when complaints ...?").
    if re.search(r"^\W*(?:since )?when\b|\b(?:what|which) (?:year|date|month)\b", q):
        return "when"
    if re.search(r"\bhow (?:many|much|long|often)\b", q):
        return "how_many"
    if re.search(r"^\s*who\b|\bwho (?:is|are|was|were)\b", q):
        return "who"
    if re.search(r"\bwhy\b|\breason", q):
        return "why"
    if re.search(
        r"\b(?:list|examples?|ways?|options|alternatives|types|kinds|steps|what are the|"
        r"which (?:states|agencies|groups)|consequences|risks|concerns|gaps|limitations)\b",
        q,
    ):
        return "list"
    if re.search(r"\b(?:what is|what's|what are|define|meaning of|what does .+ mean)\b", q):
        return "definition"
    return "other"


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
    wanted = rarity if rarity is not None else dict.fromkeys(stems(question), 1.0)
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
        value += w.type_bonus * _fits(qtype, c.sentence, term)
        if text.endswith("?"):
            value -= w.question
        if len(text.split()) < 6:
            value -= w.short
        if _FILLER.match(text) or _REFERENTIAL.match(text):
            value -= w.filler
        if text.endswith(":"):
            value -= w.lead_in
        scored.append(Scored(c, value, covered, have))
    return sorted(scored, key=lambda s: (-s.score, s.candidate.row))


def _fits(qtype: str, sentence: Sentence, term: frozenset[str] = frozenset()) -> float:
    """1 when the sentence has what the question's type asks for (a date, a number, a
    cause, a list item, the defined term as its subject), else 0."""
    text = sentence.text
    match qtype:
        case "when":
            return 1.0 if _DATE.search(text) else 0.0
        case "how_many":
            return 1.0 if states_number(text) else 0.0
        case "definition":
            # "That’s basically what the 287(g) Agreement is." names the term but its
            # subject is "that": it defines nothing on its own.
            if not term or _REFERENTIAL.match(text) or _FILLER.match(text):
                return 0.0
            return 1.0 if term <= frozenset(stems(" ".join(text.split()[:SUBJECT_WORDS]))) else 0.0
        case "why":
            return 1.0 if _CAUSE.search(text) else 0.0
        case "list":
            return 1.0 if sentence.kind == LineKind.ITEM else 0.0
    return 0.0


def states_number(text: str) -> bool:
    """Whether a text states a number (a section of a statute such as "287(g)" is none)."""
    return _NUMBER.search(_SECTION.sub("", text)) is not None


def gives_figure(question: str, chosen: Sequence[Scored]) -> bool:
    """Whether the chosen sentences give the figure a "how many" or "how much" question
    asks for: a number, and for "how many X" in a sentence that names X ("15 agencies",
    not "every two years" for "How many minutes ...?"). True for other questions."""
    if not _QUANTITY.search(question):
        return True
    counted = _COUNTED.search(question)
    unit = frozenset(stems(counted.group(1))) if counted else frozenset()
    return any(
        states_number(s.candidate.sentence.text)
        and (not unit or unit & _stems(s.candidate.sentence.text, ""))
        for s in chosen
    )


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
        if any(_jaccard(s.terms, c.terms) > DUPLICATE_JACCARD for c in chosen):
            continue
        chosen.append(s)
        seen_ids.add(s.candidate.sentence.id)
    return chosen


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


@functools.lru_cache(maxsize=1 << 16)
def _polarity(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """Return (terms said under a negation, terms said plainly) of a sentence (cached, like
    `terms`)."""
    tokens = [_SAME_ACTION.get(t, t) for t in _TERM.findall(text.casefold())]
    negated: set[str] = set()
    plain: set[str] = set()
    scope = 0
    for token in tokens:
        if _NEGATION.fullmatch(token) or token in {"t"}:
            scope = 3  # a negation governs the next few content words ("not to stop action")
            continue
        if token in STOPWORDS:
            continue
        (negated if scope > 0 else plain).add(token)
        scope = max(0, scope - 1)
    return frozenset(negated), frozenset(plain)


def asked_terms(question: str, rarity: Mapping[str, float]) -> frozenset[str]:
    """The question's words (as `_polarity` reads them) that say what it is about: those
    whose stem is in at most half of the chunks (BM25 idf above log 2, the words that
    rank, see index.lexical.LexicalIndex.ranking_terms)."""
    words = {_SAME_ACTION.get(t, t) for t in _TERM.findall(question.casefold())}
    return frozenset(w for w in words if any(rarity.get(s, 0.0) > _RANKS for s in stems(w)))


def find_disagreement(
    chosen: Sequence[Scored], pool: Sequence[Scored], threshold: float, asked: frozenset[str]
) -> tuple[Scored, Scored] | None:
    """Return a chosen sentence and a relevant one from another source that contradicts it.

    Two sentences disagree when one says under a negation a word of the question (`asked`)
    that the other says plainly ("limited in stopping ... enforcement" against "can halt
    ... enforcement" for "Can mandamus stop 287(g) enforcement?") and both are about the
    question (each above the abstention threshold). A clash on a word the question does
    not ask about, or on one nearly every source uses ("287(g)"), is no disagreement
    about the answer: on dev such clashes flagged 8 of 43 answers that had none.
    """
    relevant = [s for s in pool if 0.5 * (s.candidate.dense + s.candidate.context) >= threshold]
    for a in chosen:
        neg_a, pos_a = _polarity(a.candidate.sentence.text)
        for b in relevant:
            if b.candidate.sentence.document_id == a.candidate.sentence.document_id:
                continue
            neg_b, pos_b = _polarity(b.candidate.sentence.text)
            clash = ((neg_a & pos_b) | (neg_b & pos_a)) & asked
            if clash and _jaccard(a.terms, b.terms) >= 0.05 and len(a.terms & b.terms) >= 2:
                return a, b
    return None


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
    scored = score(search_question, qtype, pool, weights, rarity)
    support = relevance(pool)
    chosen = select(scored, qtype, weights) if support >= threshold else []
    reason = (
        "not_covered"
        if not chosen
        else "number_not_covered"
        if not gives_figure(search_question, chosen)
        else None
    )
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
    wanted = rarity if rarity is not None else dict.fromkeys(stems(search_question), 1.0)
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
