"""The embedding model through ONNX Runtime: the only module that imports onnxruntime.

A local sentence-transformers folder holding a BERT-like transformer with mean or CLS
pooling is exported once with `torch.onnx.export` (pooling and L2 normalisation inside
the graph, as the folder's modules.json and 1_Pooling/config.json say), BERT's operators
fused by ONNX Runtime's transformer optimizer, to

    <cache_dir>/<model-name>-<sha256 of the weights, 16 hex>.onnx   the graph
    <cache_dir>/<model-name>-<sha256 of the weights, 16 hex>.json   its sha256, size, versions

and run by ONNX Runtime from then on. The vectors equal PyTorch's (cosine >= 0.9999, see
tests/index/test_onnx.py) at several times the speed on this 2-core machine (bench/README.md).
Only the export needs torch; loading a cached graph imports neither torch nor transformers.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort  # type: ignore[import-untyped]
from filelock import FileLock
from tokenizers import Tokenizer

from index.encoder import _model_name
from index.errors import ModelUnavailable
from index.generation import fsync, sha256_file
from index.types import Vectors

log = logging.getLogger("lexcite.index")

# Bump when the exported graph changes (inputs, pooling, opset): older caches re-export.
EXPORT_FORMAT = 1
# The TorchScript exporter's opset 17 has LayerNormalization, which ONNX Runtime fuses.
OPSET = 17
# Texts per run. Texts are sorted by length first, so a batch pads to a similar length.
# Embedding the seed corpus (409 texts) on this 2-core machine took 4.8-5.1 s in batches
# of 32 and 5.3-9.4 s in batches of 64 (A/B runs, machine shared with other work).
BATCH_SIZE = 32
# Transformers whose tokenizer.json and forward(input_ids, attention_mask[, token_type_ids])
# export as they are; anything else is left to sentence-transformers on PyTorch.
BERT_LIKE = frozenset({"bert", "roberta", "xlm-roberta", "distilbert", "mpnet", "electra"})
POOLING_MODES = {"pooling_mode_mean_tokens": "mean", "pooling_mode_cls_token": "cls"}
WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
EXPORT_LOCK_TIMEOUT_S = 600.0


def project_data_dir() -> Path:
    """The default LEXCITE_DATA_DIR: <project>/data of the checkout this code runs from
    (the same rule as service.settings, which index/ may not import)."""
    root = Path(__file__).resolve().parents[1]
    return (root if (root / "pyproject.toml").is_file() else Path.cwd()) / "data"


def default_cache_dir() -> Path:
    """Where exported graphs are kept when no cache folder is given: `models/` in the
    default data directory, next to the index generations."""
    return project_data_dir() / "models"


class NotExportable(ModelUnavailable):
    """The model is not a local sentence-transformers folder this module can export."""


@dataclass(frozen=True, slots=True)
class Spec:
    """What the export and the encoder need to know of a model folder."""

    folder: Path
    name: str
    weights: Path
    pooling: str
    max_seq_length: int
    dimension: int
    pad_id: int
    model_type: str
    heads: int
    hidden_size: int


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError) as err:
        raise NotExportable(f"{path.name}: unreadable ({err})") from err


def read_spec(model: str) -> Spec:
    """Given a model path, return its Spec; raise NotExportable for anything but a local
    sentence-transformers folder of Transformer + Pooling (mean or CLS) [+ Normalize]."""
    folder = Path(model)
    if not (folder / "modules.json").is_file():
        raise NotExportable(f"{model!r} is not a local sentence-transformers folder")
    kinds = [str(m.get("type", "")).rsplit(".", 1)[-1] for m in _read_json(folder / "modules.json")]
    if kinds not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise NotExportable(f"{model!r}: modules {kinds} are not Transformer, Pooling[, Normalize]")
    config = _read_json(folder / "config.json")
    if config.get("model_type") not in BERT_LIKE:
        raise NotExportable(f"{model!r}: model type {config.get('model_type')!r} is not BERT-like")
    pooling_dir = next(
        (
            folder / str(m.get("path"))
            for m in _read_json(folder / "modules.json")
            if m.get("idx") == 1
        ),
        folder / "1_Pooling",
    )
    pooling = _read_json(pooling_dir / "config.json")
    modes = [mode for key, mode in POOLING_MODES.items() if pooling.get(key)]
    others = [k for k, v in pooling.items() if k.startswith("pooling_mode_") and v]
    if len(modes) != 1 or len(others) != 1:
        raise NotExportable(f"{model!r}: pooling {others} is not exactly mean or CLS")
    weights = next((folder / w for w in WEIGHT_FILES if (folder / w).is_file()), None)
    if weights is None or not (folder / "tokenizer.json").is_file():
        raise NotExportable(f"{model!r}: no weights file or no tokenizer.json")
    st_config = folder / "sentence_bert_config.json"
    st = _read_json(st_config) if st_config.is_file() else {}
    max_length = st.get("max_seq_length") or config.get("max_position_embeddings", 512)
    dimension = int(pooling.get("word_embedding_dimension") or config.get("hidden_size") or 0)
    if dimension <= 0:
        raise NotExportable(f"{model!r}: no embedding dimension in its configuration")
    return Spec(
        folder=folder,
        name=_model_name(model),
        weights=weights,
        pooling=modes[0],
        max_seq_length=int(max_length),
        dimension=dimension,
        pad_id=int(config.get("pad_token_id") or 0),
        model_type=str(config["model_type"]),
        heads=int(config.get("num_attention_heads", 0)),
        hidden_size=int(config.get("hidden_size", 0)),
    )


def cache_paths(spec: Spec, cache_dir: Path) -> tuple[Path, Path]:
    """Return the graph and record paths of a model: named by model and weights hash."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", spec.name.rsplit("/", 1)[-1]).strip("-")
    stem = f"{slug}-{sha256_file(spec.weights)[:16]}"
    return cache_dir / f"{stem}.onnx", cache_dir / f"{stem}.json"


def cached_graph(spec: Spec, cache_dir: Path) -> Path:
    """Return a verified exported graph of the model, exporting it first if the cache has
    none or holds a corrupt or outdated one. Exports are serialised by a file lock, so
    processes starting together export once."""
    graph, record = cache_paths(spec, cache_dir)
    if _verified(graph, record):
        return graph
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        with FileLock(str(graph) + ".lock", timeout=EXPORT_LOCK_TIMEOUT_S):
            if not _verified(graph, record):  # another process may have just exported
                if graph.exists():
                    log.warning("cached ONNX graph %s is corrupt or outdated: re-exporting", graph)
                export(spec, graph, record)
    except OSError as err:
        raise ModelUnavailable(f"cannot write the ONNX cache in {cache_dir}: {err}") from err
    return graph


def _verified(graph: Path, record: Path) -> bool:
    """Whether the graph matches the size and checksum its record holds."""
    try:
        saved = json.loads(record.read_text("utf-8"))
        size = graph.stat().st_size
    except (OSError, ValueError):
        return False
    return (
        isinstance(saved, dict)
        and saved.get("format") == EXPORT_FORMAT
        # Fused graphs use ONNX Runtime's own operators: re-export after an upgrade.
        and saved.get("onnxruntime") == ort.__version__
        and saved.get("bytes") == size
        and saved.get("sha256") == sha256_file(graph)
    )


def export(spec: Spec, graph: Path, record: Path) -> None:
    """Export the model to `graph` and describe it in `record`, each written to a temporary
    file and renamed into place (a reader never sees half a file)."""
    import torch

    tmp_raw = graph.with_name(f".{graph.name}.raw-{os.getpid()}")
    tmp_graph = graph.with_name(f".{graph.name}.tmp-{os.getpid()}")
    tmp_record = record.with_name(f".{record.name}.tmp-{os.getpid()}")
    try:
        module, names = _pooled_module(spec)
        dummy = torch.ones((2, 8), dtype=torch.long)
        dynamic = {n: {0: "batch", 1: "tokens"} for n in names}
        with torch.no_grad(), warnings.catch_warnings():
            # The tracer warns about Python branches on shapes that do not vary here.
            warnings.simplefilter("ignore")
            torch.onnx.export(
                module,
                tuple(dummy for _ in names),
                str(tmp_raw),
                input_names=list(names),
                output_names=["embedding"],
                dynamic_axes={**dynamic, "embedding": {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        fused = _fuse(spec, tmp_raw, tmp_graph)
        fsync(tmp_graph)
        os.replace(tmp_graph, graph)
        description = {
            "format": EXPORT_FORMAT,
            "model": spec.name,
            "weights": {"file": spec.weights.name, "sha256": sha256_file(spec.weights)},
            "pooling": spec.pooling,
            "normalised": True,
            "inputs": list(names),
            "opset": OPSET,
            "fused": fused,
            "torch": torch.__version__,
            "onnxruntime": ort.__version__,
            "sha256": sha256_file(graph),
            "bytes": graph.stat().st_size,
        }
        tmp_record.write_text(json.dumps(description, indent=2, sort_keys=True), "utf-8")
        fsync(tmp_record)
        os.replace(tmp_record, record)
    except (RuntimeError, ValueError, TypeError, AttributeError) as err:
        raise ModelUnavailable(f"cannot export {spec.name!r} to ONNX: {err}") from err
    finally:
        for tmp in (tmp_raw, tmp_graph, tmp_record):
            tmp.unlink(missing_ok=True)


def _fuse(spec: Spec, raw: Path, out: Path) -> bool:
    """Write `raw` to `out` with ONNX Runtime's BERT fusions (embedding + LayerNorm,
    multi-head Attention, SkipLayerNorm, BiasGelu) for a BERT model; return whether fused.

    Measured on this machine: query encoding 3.8 ms instead of 6.6-7.3 ms, vectors within
    cosine 0.999999 of the unfused graph (bench/README.md). Other model types are copied
    unchanged: the fusions match BERT's graph patterns only.
    """
    if spec.model_type != "bert":
        os.replace(raw, out)
        return False
    from onnxruntime.transformers.optimizer import optimize_model  # type: ignore[import-untyped]

    optimized = optimize_model(
        str(raw),
        model_type="bert",
        num_heads=spec.heads,
        hidden_size=spec.hidden_size,
        opt_level=1,
    )
    optimized.save_model_to_file(str(out))
    return True


def _pooled_module(spec: Spec) -> tuple[Any, tuple[str, ...]]:
    """Return the transformer wrapped with pooling and normalisation, and its input names."""
    import inspect

    import torch
    import transformers

    transformers.logging.set_verbosity_error()  # type: ignore[no-untyped-call]
    transformers.logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    # Eager attention traces to plain MatMul/Softmax, which ONNX Runtime fuses; the SDPA
    # path branches on Python values the tracer can only freeze.
    model = transformers.AutoModel.from_pretrained(str(spec.folder), attn_implementation="eager")
    model.eval()
    accepted = inspect.signature(model.forward).parameters
    names = tuple(n for n in ("input_ids", "attention_mask", "token_type_ids") if n in accepted)

    class Pooled(torch.nn.Module):
        """sentence-transformers' Pooling and Normalize modules, as tensor operations."""

        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            feed = dict(zip(names, inputs, strict=True))
            tokens = self.model(**feed).last_hidden_state
            if spec.pooling == "cls":
                pooled = tokens[:, 0]
            else:
                mask = feed["attention_mask"].unsqueeze(-1).to(tokens.dtype)
                pooled = (tokens * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, p=2.0, dim=1)

    return Pooled(), names


def session_options(threads: int) -> Any:
    """ONNX Runtime options for a small shared CPU: all graph optimisations, `threads`
    intra-op threads, and no busy-waiting between runs (spinning threads would take the
    CPU from the requests and the other processes that share these two cores)."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return options


def default_threads() -> int:
    """The cores this process may use (a container's share, not the host's)."""
    return max(1, len(os.sched_getaffinity(0)))


class OnnxEncoder:
    """A sentence-transformers model run by ONNX Runtime; satisfies index.encoder.Encoder.

    Its name is the PyTorch encoder's, so generations built by either load with the other.
    One instance is safe to share between threads.
    """

    def __init__(
        self, model: str, cache_dir: Path | None = None, threads: int | None = None
    ) -> None:
        spec = read_spec(model)
        graph = cached_graph(spec, cache_dir or default_cache_dir())
        self.name = spec.name
        self.dimension = spec.dimension
        self.graph = graph
        self.max_seq_length = spec.max_seq_length
        try:
            self._session = ort.InferenceSession(
                str(graph),
                session_options(threads or default_threads()),
                providers=["CPUExecutionProvider"],
            )
        except Exception as err:  # onnxruntime raises its own untyped error classes
            raise ModelUnavailable(f"cannot load the ONNX graph {graph}: {err}") from err
        self._inputs = [i.name for i in self._session.get_inputs()]
        self._tokenizer = Tokenizer.from_file(str(spec.folder / "tokenizer.json"))
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_length=self.max_seq_length)
        self._pad_id = spec.pad_id

    def encode(self, texts: Sequence[str], progress: bool = False) -> Vectors:
        """Given texts, return their normalised embeddings as a (len(texts), dim) array."""
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        # Longest first, like sentence-transformers: a batch pads only to similar lengths.
        order = sorted(range(len(texts)), key=lambda i: -len(encodings[i].ids))
        for rows in _batches(order, progress):
            feed = _pad([encodings[i] for i in rows], self._inputs, self._pad_id)
            (vectors,) = self._session.run(["embedding"], feed)
            out[rows] = vectors
        return out


def _batches(order: list[int], progress: bool) -> Iterator[list[int]]:
    starts = range(0, len(order), BATCH_SIZE)
    if progress:
        from tqdm import tqdm

        starts = tqdm(starts, desc="Batches", unit="batch")
    for start in starts:
        yield order[start : start + BATCH_SIZE]


def _pad(
    encodings: Sequence[Any], inputs: Sequence[str], pad_id: int
) -> dict[str, npt.NDArray[np.int64]]:
    """Return the graph's inputs for tokenised texts, right-padded to the longest."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros_like(mask)
    for row, e in enumerate(encodings):
        n = len(e.ids)
        ids[row, :n] = e.ids
        mask[row, :n] = 1
        types[row, :n] = e.type_ids
    arrays = {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
    return {name: arrays[name] for name in inputs}
