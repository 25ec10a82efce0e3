"""The lexical index: BM25 over chunk text and section headings, kept by Tantivy.

Tantivy (the Rust engine behind Quickwit) scores Okapi BM25 (k1 = 1.2, b = 0.75, as in
Robertson & Zaragoza 2009) and stops early with block-max WAND, so a query costs what its
top hits cost, not what every matching chunk costs. SQLite's FTS5, which lexcite used
before, ranks every match: at a million synthetic chunks an OR query matched two thirds of
them and took about a second, where Tantivy takes milliseconds (bench/results/README.md).

The index is a folder of a generation (`lexical/`), written once by `build` and only read
afterwards. Each chunk is one document: its row (the row of the vector files) and the
text the dense index embeds for it (index.build.chunk_input: its section heading, then
its text), stemmed with Tantivy's English analyzer. One field rather than a heading
field and a text field: on the dev split the lexical ranking was as good or better (MRR
0.61 against 0.58) and each query walks half the posting lists.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import tantivy

# Words too common to rank on; the short English list of Lucene's StandardAnalyzer, plus
# the question words visitors start with.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with what which who whom how does do can i my me "
    "we you your".split()
)
ANALYZER = "en_stem"
# Memory the writer may fill before it writes a segment: one segment up to about a million
# chunks, so queries need not merge the results of several.
WRITER_HEAP_BYTES = 1 << 30
# Lock files Tantivy leaves beside the index: empty, and not part of its content.
LOCK_SUFFIX = ".lock"
# Words whose chunk frequency an open index remembers.
FREQUENCY_CACHE = 1 << 16
_TOKEN = re.compile(r"\w+")
# What the "en_stem" analyzer does (Tantivy's registered English analyzer: simple
# tokenizer, words over 40 bytes out, lower-cased, Snowball English stemmer), with the stop
# words out: the analysis the composer compares question and sentence words with.
_ANALYZER = (
    tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
    .filter(tantivy.Filter.remove_long(40))
    .filter(tantivy.Filter.lowercase())
    .filter(tantivy.Filter.custom_stopword(sorted(STOPWORDS)))
    .filter(tantivy.Filter.stemmer("english"))
    .build()
)


def schema() -> tantivy.Schema:
    builder = tantivy.SchemaBuilder()
    builder.add_integer_field("row", stored=False, indexed=True, fast=True)
    builder.add_text_field("text", stored=False, tokenizer_name=ANALYZER)
    return builder.build()


def terms(query: str) -> list[str]:
    """Given a normalised query, return its distinct searchable words, in order."""
    words = [t for t in _TOKEN.findall(query.casefold()) if t not in STOPWORDS]
    return list(dict.fromkeys(words))


def stems(text: str) -> list[str]:
    """Given text, return its words as the index keeps them: lower-cased and stemmed
    ("Supervision", "supervises" -> "supervis"), stop words and stray letters ("g" of
    "287(g)", "t" of "don't") out, in order."""
    return [t for t in _ANALYZER.analyze(text) if len(t) > 1 or t.isdigit()]


def build(folder: Path, texts: Iterable[str]) -> int:
    """Write the index of the chunks' texts, in row order, to a new `folder`; return how
    many were written. The folder must not exist (a generation is built once)."""
    folder.mkdir()
    index = tantivy.Index(schema(), path=str(folder))
    writer = index.writer(heap_size=WRITER_HEAP_BYTES, num_threads=1)
    count = 0
    for row, text in enumerate(texts):
        writer.add_document(tantivy.Document(row=row, text=text))
        count += 1
    writer.commit()
    writer.wait_merging_threads()
    return count


def files(folder: Path) -> list[Path]:
    """Return the index's content files (not its lock files), sorted."""
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix != LOCK_SUFFIX)


class LexicalIndex:
    """A built lexical index, opened for reading; safe to share between threads."""

    def __init__(self, folder: Path) -> None:
        self._index = tantivy.Index.open(str(folder))
        self._schema = self._index.schema
        self._searcher = self._index.searcher()
        self._frequency = functools.lru_cache(maxsize=FREQUENCY_CACHE)(self.matching)

    @property
    def size(self) -> int:
        return int(self._searcher.num_docs)

    def _query(self, words: list[str]) -> tantivy.Query:
        # Each word quoted: the parser reads it as a plain term, whatever it is (a user
        # cannot write query syntax), and the field's analyzer stems it.
        return self._index.parse_query(" ".join(f'"{w}"' for w in words), ["text"])

    def matching(self, query: str) -> int:
        """Return how many chunks contain at least one of the query's words."""
        words = terms(query)
        if not words:
            return 0
        found = self._searcher.search(self._query(words), 1, count=True)
        return int(found.count)  # type: ignore[attr-defined]  # missing from tantivy's stub

    def rarity(self, text: str) -> dict[str, float]:
        """Given text, return each of its stems with its BM25 idf over the chunks.

        Lucene's non-negative form, log(1 + (N - n + 0.5) / (n + 0.5)) (Robertson &
        Zaragoza 2009 give the original): a word in every chunk weighs little, a word in
        none weighs most. The composer weighs a question's words by it.
        """
        n = self.size
        out = {}
        for stem in dict.fromkeys(stems(text)):
            df = int(self._searcher.doc_freq("text", stem))
            out[stem] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        return out

    def ranking_terms(self, query: str) -> list[str]:
        """Return the query's words that rank: those in at most half of the chunks, or all
        of them when every one is in more.

        Okapi BM25's idf, log((N - n + 0.5) / (n + 0.5)) (Robertson & Zaragoza 2009), is
        zero or less for a word in more than half of the N chunks: such a word says
        nothing about which chunk is relevant. Tantivy uses Lucene's always-positive
        variant, log(1 + ...), which lets "287(g)" in a 287(g) corpus outweigh the word
        that matters; leaving such words out restores the original weighting (SQLite
        FTS5's, which lexcite used before). Frequencies are cached per word.
        """
        words = terms(query)
        half = self.size / 2
        rare = [w for w in words if self._frequency(w) <= half]
        return rare or words

    def search(
        self, query: str, k: int, allowed: Sequence[int] | None = None
    ) -> list[tuple[int, float]]:
        """Given a normalised query, return up to k (chunk row, BM25 score) pairs, best
        first (ties by row); with `allowed`, only those rows are searched."""
        if k <= 0 or (allowed is not None and len(allowed) == 0):
            return []
        words = self.ranking_terms(query)
        if not words:
            return []
        parsed = self._query(words)
        if allowed is not None:
            only = tantivy.Query.term_set_query(self._schema, "row", [int(r) for r in allowed])
            parsed = tantivy.Query.boolean_query(
                [
                    (tantivy.Occur.Must, parsed),
                    (tantivy.Occur.Must, tantivy.Query.const_score_query(only, 0.0)),
                ]
            )
        # No count: counting every match would visit every match, which early termination
        # (block-max WAND) exists to avoid.
        hits = self._searcher.search(parsed, k, count=False).hits
        rows = self._searcher.fast_field_values("row", [address for _, address in hits])
        pairs = [
            (int(row), float(score))
            for (score, _), row in zip(hits, rows, strict=True)
            if isinstance(row, int)
        ]
        return sorted(pairs, key=lambda pair: (-pair[1], pair[0]))
