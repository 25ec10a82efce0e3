"""lexcite's retriever inside a real LangChain runnable pipeline."""

from __future__ import annotations

from pathlib import Path

from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda, RunnableParallel, RunnablePassthrough

from index.generation import load_best
from index.langchain import LexciteRetriever
from index.search import Searcher
from index.types import Filters
from tests.conftest import HashingEncoder


def _retriever(data_dir: Path, **kwargs: object) -> LexciteRetriever:
    encoder = HashingEncoder()
    generation = load_best(data_dir, encoder.name).generation
    return LexciteRetriever(searcher=Searcher(generation, encoder), **kwargs)  # type: ignore[arg-type]


def _cite(docs: list[Document]) -> str:
    return "\n".join(
        f"[{n}] {d.page_content} ({d.metadata['document_id']} "
        f"{d.metadata['start']}:{d.metadata['end']})"
        for n, d in enumerate(docs, 1)
    )


def test_documents_carry_exact_offsets(hashed_data_dir: Path) -> None:
    retriever = _retriever(hashed_data_dir, k=5)
    docs = retriever.invoke("four-week training in Charleston")
    texts = load_best(hashed_data_dir).generation.texts
    assert len(docs) == 5
    for d in docs:
        m = d.metadata
        assert texts[m["document_id"]][m["start"] : m["end"]] == d.page_content
        assert m["section"] and d.id


def test_retriever_runs_in_a_runnable_chain(hashed_data_dir: Path) -> None:
    retriever = _retriever(hashed_data_dir, k=3)
    chain = RunnableParallel(
        question=RunnablePassthrough(), context=retriever | RunnableLambda(_cite)
    )
    out = chain.invoke("What is a writ of mandamus?")
    assert out["question"] == "What is a writ of mandamus?"
    context = out["context"]
    assert context.startswith("[1] ") and "\n[3] " in context and "[4] " not in context
    batch = chain.batch(["mandamus", "racial profiling"])
    assert len(batch) == 2


def test_filters_apply_inside_the_retriever(hashed_data_dir: Path) -> None:
    only = frozenset({"officer-misconduct-287g-mandamus"})
    retriever = _retriever(hashed_data_dir, k=4, filters=Filters(document_ids=only))
    docs = retriever.invoke("mandamus oversight")
    assert len(docs) == 4
    assert {d.metadata["document_id"] for d in docs} == set(only)
