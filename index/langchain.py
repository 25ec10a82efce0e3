"""LangChain interop: lexcite's hybrid retrieval as a langchain-core BaseRetriever.

The only module that imports langchain_core. Each Document carries where its text stands,
so a chain built on it can still cite to the character:
`metadata["document_id"]`, `["section"]`, `["start"]`, `["end"]` with
`document_text[start:end] == page_content`.
"""

from __future__ import annotations

from dataclasses import asdict

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from index.search import Mode, Searcher
from index.types import Filters


class LexciteRetriever(BaseRetriever):
    """Given a query, return lexcite's best passages as LangChain Documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 4
    filters: Filters | None = None
    mode: Mode = "hybrid"

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.searcher.search(query, self.k, self.filters, self.mode)
        return [
            Document(
                page_content=p.text,
                id=p.chunk_id,
                metadata={k: v for k, v in asdict(p).items() if k != "text"},
            )
            for p in passages
        ]
