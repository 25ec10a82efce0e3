"""bench/: the whole suite at tiny sizes produces well-formed results (no timing claims).

Marked `slow`: it loads both encoders and the peer, starts three servers and builds a
1,000-chunk synthetic index (a few minutes on 2 cores).
"""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from bench import chart, report, stats
from bench.load import check_loopback
from bench.suite import main

SYSTEMS = ("peer", "lexcite-onnx", "lexcite-torch")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not math.isnan(value) and value >= 0


def test_percentiles_are_observed_values() -> None:
    samples = [0.004, 0.001, 0.003, 0.002]
    assert stats.percentile([x * 1000 for x in samples], 50) == 2.0
    assert stats.percentile([1.0, 2.0, 3.0], 99) == 3.0
    assert math.isnan(stats.percentile([], 50))
    assert stats.summary(samples)["n"] == 4


def test_the_load_generator_only_targets_loopback() -> None:
    check_loopback("127.0.0.1")
    check_loopback("::1")
    for host in ("10.0.0.1", "192.168.1.2", "8.8.8.8"):
        with pytest.raises(ValueError, match="loopback"):
            check_loopback(host)


def test_an_empty_result_still_renders() -> None:
    assert "## Targets" in report.markdown({})
    assert all(t["met"] is None for t in report.targets({}))
    ET.fromstring(chart.svg(report.ratios({})))


@pytest.mark.slow
def test_the_quick_suite_writes_well_formed_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    argv = ["--quick", "--out", str(out), "--work", str(tmp_path / "work"), "--scale", "1000"]
    assert main(argv) == 0

    results = json.loads((out / "results.json").read_text())
    assert results["machine"]["cores"] >= 1
    assert results["machine"]["packages"]["onnxruntime"]
    assert "error" not in results["export"], results["export"]
    for system in SYSTEMS:
        figures = results["in_process"][system]
        assert "error" not in figures, figures
        for key in ("cold_s", "warm_s", "reingest_s"):
            assert is_number(figures["ingest"][key])
        assert figures["ingest"]["chunks"] > 0
        assert figures["query"]["search"]["n"] == results["config"]["questions"]
        assert is_number(figures["query"]["search"]["p50_ms"])
        assert is_number(figures["peak_rss_mib"])
    for system in ("lexcite-onnx", "lexcite-torch"):
        assert is_number(results["in_process"][system]["query"]["ask"]["p99_ms"])
        assert results["in_process"][system]["ingest"]["embedded"] > 0
        assert is_number(results["ratios"][system]["ask_p50"])

    for system in SYSTEMS:
        server = results["http"][system]
        assert "skipped" not in server, server
        assert is_number(server["peak_rss_mib"])
        (level,) = server["levels"]
        assert level["clients"] == 1
        assert level["ok"] > 0 and level["ok"] == level["requests"], level
        assert is_number(level["latency"]["p99_ms"])
        assert is_number(level["throughput_rps"])

    (scale,) = results["scale"]
    assert "error" not in scale, scale
    assert scale["size"] == 1000 and scale["dense_index"] == "flat"
    assert 0.0 <= scale["recall_at_10"] <= 1.0
    for key in ("dense_ms", "lexical_ms", "hybrid_retrieval_ms", "ask_ms"):
        assert is_number(scale[key]["p50_ms"]), key
    assert "generation.py" in scale["engine_load_profile"]

    assert {t["met"] for t in results["targets"]} <= {True, False, None}
    text = (out / "README.md").read_text()
    for heading in ("## Ingest and in-process queries", "## /v1/ask over HTTP", "## Scale"):
        assert heading in text
    assert ET.fromstring((out / "chart.svg").read_text()).tag.endswith("svg")
