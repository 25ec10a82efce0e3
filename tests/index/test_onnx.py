"""index/onnx.py: the ONNX Runtime encoder gives PyTorch's vectors; its export is cached.

The folder checks are fast; the tests that export and run the real model are marked
`model` and compare against sentence-transformers on PyTorch, the reference.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

# onnxruntime is optional at run time (load_encoder falls back to PyTorch without it).
pytest.importorskip("onnxruntime")

from index import onnx
from index.encoder import (
    Encoder,
    SentenceTransformerEncoder,
    bundled_model_path,
    load_encoder,
)
from index.onnx import NotExportable, OnnxEncoder
from index.types import Vectors
from ingest.types import Document

QUESTIONS = Path(__file__).resolve().parents[2] / "eval" / "data" / "questions.jsonl"


# --- which folders are exported (no model run) ------------------------------------------


def test_the_bundled_model_is_exportable() -> None:
    spec = onnx.read_spec(str(bundled_model_path()))
    assert spec.name == "sentence-transformers/all-MiniLM-L6-v2"
    assert (spec.pooling, spec.max_seq_length, spec.dimension) == ("mean", 256, 384)
    assert spec.weights.name == "model.safetensors"


def copy_of_bundled(tmp_path: Path) -> Path:
    """A copy of the bundled model folder without its weights (enough for read_spec)."""
    folder = tmp_path / "model"
    shutil.copytree(bundled_model_path(), folder, ignore=shutil.ignore_patterns("*.safetensors"))
    (folder / "model.safetensors").write_bytes(b"not weights")
    return folder


@pytest.mark.parametrize(
    ("file", "change"),
    [
        (
            "1_Pooling/config.json",
            {"pooling_mode_mean_tokens": False, "pooling_mode_max_tokens": True},
        ),
        ("config.json", {"model_type": "t5"}),
    ],
)
def test_other_models_are_not_exportable(
    tmp_path: Path, file: str, change: dict[str, object]
) -> None:
    folder = copy_of_bundled(tmp_path)
    path = folder / file
    path.write_text(json.dumps({**json.loads(path.read_text()), **change}))
    with pytest.raises(NotExportable):
        onnx.read_spec(str(folder))


def test_a_hub_name_is_not_exportable() -> None:
    with pytest.raises(NotExportable):
        onnx.read_spec("sentence-transformers/all-MiniLM-L6-v2")


def test_the_cache_file_is_named_by_model_and_weights(tmp_path: Path) -> None:
    folder = copy_of_bundled(tmp_path)
    graph, record = onnx.cache_paths(onnx.read_spec(str(folder)), tmp_path / "cache")
    digest = onnx.sha256_file(folder / "model.safetensors")[:16]
    assert graph.name == f"model-{digest}.onnx"
    assert record.name == f"model-{digest}.json"


# --- the real model: ONNX against PyTorch -------------------------------------------------


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("onnx-cache")


@pytest.fixture(scope="module")
def onnx_encoder(cache_dir: Path) -> OnnxEncoder:
    return OnnxEncoder(str(bundled_model_path()), cache_dir)


@pytest.fixture(scope="module")
def torch_encoder() -> SentenceTransformerEncoder:
    return SentenceTransformerEncoder(str(bundled_model_path()))


def varied_texts(documents: dict[str, Document]) -> list[str]:
    """About 50 texts: questions, corpus sentences and chunks, long, unicode and odd ones."""
    sentences = [s.text for d in documents.values() for s in d.sentences]
    chunks = [c.text for d in documents.values() for c in d.chunks]
    whole = next(iter(documents.values())).text
    texts = [
        "What is a 287(g) agreement?",
        "¿Qué es un acuerdo 287(g) y cómo me afecta?",
        "Qu'est-ce qu'un mandamus ? Les délais de l'USCIS — «trop longs».",
        "移民局 287(g) 协议是什么？",
        "Ünïcödé ﬁligatures, Ｆｕｌｌｗｉｄｔｈ and emoji 🙂⚖️",
        "x",
        "",
        "   leading and trailing spaces   ",
        "287g 287-g 287 (g) section 287(g) of the INA, 8 U.S.C. § 1357(g)",
        whole[:4000],  # far over 256 word pieces: truncated alike
        " ".join(sentences[:40]),  # likewise
        "mandamus " * 300,
    ]
    texts += sentences[::12][:22] + chunks[::5][:18]
    return texts


def cosines(a: Vectors, b: Vectors) -> Vectors:
    return np.asarray((a * b).sum(axis=1), dtype=np.float32)


@pytest.mark.model
def test_onnx_vectors_equal_pytorch_vectors(
    onnx_encoder: OnnxEncoder,
    torch_encoder: SentenceTransformerEncoder,
    real_documents: dict[str, Document],
) -> None:
    texts = varied_texts(real_documents)
    assert len(texts) >= 50
    assert max(len(t) for t in texts) > 2000
    ours, reference = onnx_encoder.encode(texts), torch_encoder.encode(texts)
    assert ours.shape == reference.shape == (len(texts), 384)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    worst = cosines(ours, reference)
    assert worst.min() >= 0.9999, [(texts[i][:40], worst[i]) for i in np.argsort(worst)[:3]]
    # One text alone gives the same vector as in a batch padded to a longer text.
    alone = onnx_encoder.encode([texts[0]])
    assert float(cosines(alone, ours[:1])[0]) >= 0.99999


@pytest.mark.model
def test_top_ten_neighbours_are_those_of_pytorch(
    onnx_encoder: OnnxEncoder,
    torch_encoder: SentenceTransformerEncoder,
    real_documents: dict[str, Document],
) -> None:
    sentences = [s.text for d in real_documents.values() for s in d.sentences]
    lines = QUESTIONS.read_text("utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines[::8]][:20]
    assert len(questions) == 20

    def neighbours(encoder: Encoder) -> list[list[int]]:
        scores = encoder.encode(questions) @ encoder.encode(sentences).T
        return [list(np.argsort(-row, kind="stable")[:10]) for row in scores]

    assert neighbours(onnx_encoder) == neighbours(torch_encoder)


@pytest.mark.model
def test_the_name_and_dimension_are_pytorch_s(
    onnx_encoder: OnnxEncoder, torch_encoder: SentenceTransformerEncoder
) -> None:
    # Generations record the encoder's name: either backend must load the other's.
    assert (onnx_encoder.name, onnx_encoder.dimension) == (
        torch_encoder.name,
        torch_encoder.dimension,
    )
    assert onnx_encoder.encode([]).shape == (0, 384)


@pytest.mark.model
def test_load_encoder_picks_onnx_for_a_local_folder(cache_dir: Path) -> None:
    assert isinstance(load_encoder(None, cache_dir), OnnxEncoder)


@pytest.mark.model
def test_the_export_is_cached(onnx_encoder: OnnxEncoder, cache_dir: Path) -> None:
    graph = onnx_encoder.graph
    before = graph.stat().st_mtime_ns
    again = OnnxEncoder(str(bundled_model_path()), cache_dir)
    assert again.graph == graph
    assert graph.stat().st_mtime_ns == before  # not exported again
    assert sorted(p.suffix for p in cache_dir.iterdir() if not p.name.endswith(".lock")) == [
        ".json",
        ".onnx",
    ]


@pytest.mark.model
def test_a_corrupt_cached_graph_is_exported_again(
    tmp_path: Path, onnx_encoder: OnnxEncoder
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(onnx_encoder.graph, cache / onnx_encoder.graph.name)
    shutil.copy(onnx_encoder.graph.with_suffix(".json"), cache / f"{onnx_encoder.graph.stem}.json")
    graph = cache / onnx_encoder.graph.name
    # Same size, a few bytes flipped in the middle: only the checksum can tell.
    with graph.open("r+b") as handle:
        handle.seek(graph.stat().st_size // 2)
        handle.write(b"\xff" * 64)
    os.utime(graph, ns=(0, 0))
    reloaded = OnnxEncoder(str(bundled_model_path()), cache)
    assert reloaded.graph == graph
    assert graph.stat().st_mtime_ns != 0  # re-exported
    assert onnx.sha256_file(graph) == json.loads(graph.with_suffix(".json").read_text())["sha256"]
    text = ["What is a 287(g) agreement?"]
    assert float(cosines(reloaded.encode(text), onnx_encoder.encode(text))[0]) >= 0.99999
