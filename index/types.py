"""Shared types of the index stage."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
Ids = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Filters:
    """Metadata filters applied inside retrieval. `None` means no filter on that field."""

    document_ids: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    published_from: str | None = None
    published_to: str | None = None

    @property
    def active(self) -> bool:
        return any(
            v is not None
            for v in (self.document_ids, self.kinds, self.published_from, self.published_to)
        )


@dataclass(frozen=True, slots=True)
class Hit:
    """A retrieved chunk or sentence (by row in its table) with its fused score."""

    row: int
    score: float
    dense_rank: int | None = None
    lexical_rank: int | None = None
