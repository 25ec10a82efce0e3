"""A state-machine property test of ingest: documents are added, changed, retitled and
deleted at random, and after every ingest the published generation is exactly what the
model (a dict of id -> raw text) says it should be, down to each cleaned text."""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from index import build, generation
from ingest.clean import Rules, load_rules
from ingest.corpus import ingest_document
from ingest.errors import BadDocument
from ingest.read import parse
from ingest.types import Document, Meta
from tests.conftest import HashingEncoder
from tests.reliability.helpers import MODEL, assert_complete, expected_texts

RULES = load_rules()
VOCABULARY = (
    "court agency writ mandamus petition delay officer county sheriff federal judge "
    "program agreement detainer hearing duty remedy record notice filing statute police "
    "community trust risk review order decision immigration enforcement training"
).split()
SMALL = "the a of to and in for by".split()

words = st.lists(st.sampled_from(VOCABULARY + SMALL), min_size=3, max_size=12)


@st.composite
def sentences(draw: st.DrawFn) -> str:
    body = draw(words)
    end = draw(st.sampled_from([".", ".", ".", "?", "!"]))
    return " ".join(body).capitalize() + end


@st.composite
def documents(draw: st.DrawFn) -> str:
    """A short English-like Markdown document: headings, paragraphs and bullets."""
    lines: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["heading", "paragraph", "paragraph", "bullets"]))
        if kind == "heading":
            lines.append("## " + " ".join(draw(words)).title())
        elif kind == "paragraph":
            lines.append(" ".join(draw(st.lists(sentences(), min_size=1, max_size=3))))
        else:
            marker = draw(st.sampled_from(["-", "*", "1."]))
            items = draw(st.lists(sentences(), min_size=1, max_size=4))
            lines.extend(f"{marker} {item}" for item in items)
        lines.append("")
    # Always one sentence, so no generated document is empty after cleaning.
    lines.append(draw(sentences()))
    return "\n".join(lines) + "\n"


titles = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=4).map(
    lambda ws: " ".join(ws).title()
)


class IngestMachine(RuleBasedStateMachine):
    """The corpus on disk and the model of what an ingest must publish from it."""

    # Counted across examples for the summary line: rules run, ingests, publishes.
    counts: ClassVar[Counter[str]] = Counter()

    def __init__(self) -> None:
        super().__init__()
        self.counts["examples"] += 1
        self.root = Path(tempfile.mkdtemp(prefix="lexcite-state-"))
        self.corpus = self.root / "corpus"
        (self.corpus / "documents").mkdir(parents=True)
        self.data = self.root / "data"
        self.encoder = HashingEncoder()
        self.model: dict[str, tuple[str, str]] = {}  # id -> (title, raw text)
        self.published: dict[str, tuple[str, str]] = {}  # id -> (sha256, title) served
        self.current: str | None = None
        self.next_id = 0

    def teardown(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)

    # --- the corpus, written from the model -------------------------------------------

    def meta(self, doc_id: str) -> Meta:
        return Meta(id=doc_id, file=f"documents/{doc_id}.md", title=self.model[doc_id][0])

    def write_corpus(self) -> None:
        blocks = []
        for doc_id, (title, text) in self.model.items():
            (self.corpus / "documents" / f"{doc_id}.md").write_text(text, encoding="utf-8")
            blocks.append(
                f'[[documents]]\nid = "{doc_id}"\nfile = "documents/{doc_id}.md"\n'
                f'title = "{title}"\n'
            )
        (self.corpus / "manifest.toml").write_text("\n".join(blocks), encoding="utf-8")

    def expected(self) -> dict[str, Document]:
        """What ingest_document makes of each modelled document (bad ones are skipped)."""
        out = {}
        for doc_id, (_title, text) in self.model.items():
            try:
                out[doc_id] = ingest_document(
                    self.meta(doc_id), parse(f"{doc_id}.md", text.encode()), RULES
                )
            except BadDocument:
                continue
        return out

    # --- ingest and its invariants ----------------------------------------------------

    def ingest(self) -> None:
        self.write_corpus()
        expected = self.expected()
        now = {i: (d.sha256, d.meta.title) for i, d in expected.items()}
        before = self.published
        summary = build.ingest(self.corpus, self.data, self.encoder, RULES)
        self.counts["ingests"] += 1
        self.counts["published"] += summary.published
        self.counts["skipped documents"] += len(summary.problems)
        assert summary.added == tuple(sorted(set(now) - set(before)))
        assert summary.removed == tuple(sorted(set(before) - set(now)))
        assert summary.changed == tuple(
            sorted(i for i in now if i in before and now[i] != before[i])
        )
        assert summary.unchanged == tuple(
            sorted(i for i in now if i in before and now[i] == before[i])
        )
        assert sorted(p.document for p in summary.problems) == sorted(set(self.model) - set(now))
        assert summary.published == (now != before)
        if not summary.published:
            assert summary.generation == self.current
        assert generation.current_name(self.data) == summary.generation
        self.current, self.published = summary.generation, now

        loaded = generation.load_best(self.data, MODEL)
        gen = loaded.generation
        try:
            assert gen.name == summary.generation and not loaded.degraded
            assert set(gen.documents) == set(expected)
            for doc_id, doc in expected.items():
                assert gen.texts[doc_id] == doc.text
                assert gen.documents[doc_id].sha256 == doc.sha256
                assert [s.id for s in gen.sentences if s.document_id == doc_id] == [
                    s.id for s in doc.sentences
                ]
                assert [c.id for c in gen.chunks if c.document_id == doc_id] == [
                    c.id for c in doc.chunks
                ]
            assert_complete(gen)  # no duplicate ids, offsets round-trip
        finally:
            gen.db.close()

    @initialize(texts=st.lists(documents(), min_size=1, max_size=3), title=titles)
    def first_documents(self, texts: list[str], title: str) -> None:
        self.counts["first_documents"] += 1
        for text in texts:
            self.model[self.new_id()] = (title, text)
        self.ingest()

    def new_id(self) -> str:
        self.next_id += 1
        return f"doc-{self.next_id}"

    # --- rules ------------------------------------------------------------------------

    @rule(text=documents(), title=titles)
    def add(self, text: str, title: str) -> None:
        self.counts["add"] += 1
        self.model[self.new_id()] = (title, text)
        self.ingest()

    @rule(data=st.data(), text=documents())
    def change(self, data: st.DataObject, text: str) -> None:
        self.counts["change"] += 1
        doc_id = data.draw(st.sampled_from(sorted(self.model)), label="changed")
        self.model[doc_id] = (self.model[doc_id][0], text)
        self.ingest()

    @rule(data=st.data(), title=titles)
    def retitle(self, data: st.DataObject, title: str) -> None:
        self.counts["retitle"] += 1
        doc_id = data.draw(st.sampled_from(sorted(self.model)), label="retitled")
        self.model[doc_id] = (title, self.model[doc_id][1])
        self.ingest()

    @precondition(lambda self: len(self.model) >= 2)
    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        self.counts["delete"] += 1
        doc_id = data.draw(st.sampled_from(sorted(self.model)), label="deleted")
        del self.model[doc_id]
        (self.corpus / "documents" / f"{doc_id}.md").unlink()
        self.ingest()

    @rule()
    def reingest_unchanged(self) -> None:
        self.counts["reingest_unchanged"] += 1
        current = self.current
        names = generation.candidates(self.data)
        self.ingest()
        assert self.current == current  # nothing changed: nothing published
        assert generation.candidates(self.data) == names

    @invariant()
    def no_leftovers(self) -> None:
        gens = generation.generations_dir(self.data)
        if gens.is_dir():
            assert not [p for p in gens.iterdir() if p.name.startswith(generation.TMP_PREFIX)]


@pytest.mark.parametrize(
    "examples",
    [pytest.param(5, id="5-examples"), pytest.param(25, id="25-examples", marks=pytest.mark.slow)],
)
def test_ingest_matches_the_model_after_every_change(examples: int) -> None:
    IngestMachine.counts.clear()
    run_state_machine_as_test(
        IngestMachine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=8,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
    print(f"\nstate machine summary: {dict(IngestMachine.counts)}")


def test_every_publish_is_accounted_for_in_the_summary(
    corpus_copy: Path, data_dir: Path, rules: Rules
) -> None:
    """The machine above never varies aliases; this is its summary invariant for them."""
    build.ingest(corpus_copy, data_dir, HashingEncoder(), rules)
    texts = expected_texts(corpus_copy, rules)
    manifest = corpus_copy / "manifest.toml"
    text = manifest.read_text("utf-8")
    alias = 'aliases = ["287(g) Agreement Explained: Can a Writ of Mandamus Stop'
    assert text.count(alias) == 1
    manifest.write_text(text.replace(alias, 'aliases = ["An alias no page repeats", ' + alias[11:]))
    assert expected_texts(corpus_copy, rules) == texts  # no cleaned text changes
    summary = build.ingest(corpus_copy, data_dir, HashingEncoder(), rules)
    assert not summary.published or summary.added or summary.changed or summary.removed
