"""lexcite/cli.py: thin commands over the library; known errors become `Error: ...`, exit 1.

These tests cover the ingest and index commands; the model is replaced by the test encoder.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import pytest

import index.encoder
from lexcite.cli import main, parser
from tests.conftest import CORPUS_DIR, ROOT, HashingEncoder


@pytest.fixture
def test_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make every way the CLI loads the model give a test encoder under the model's name."""

    def fake_model(model: str) -> HashingEncoder:
        return HashingEncoder(name=index.encoder._model_name(model))

    monkeypatch.setattr(index.encoder, "SentenceTransformerEncoder", fake_model)
    monkeypatch.setattr("index.onnx.OnnxEncoder", lambda model, cache_dir=None: fake_model(model))


def subcommands() -> dict[str, argparse.ArgumentParser]:
    actions = [a for a in parser()._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(actions[0].choices)


# --- ingest --explain -----------------------------------------------------------------


def test_explain_prints_what_cleaning_drops(
    clean_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--explain", "task-force-model-mandamus"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("task-force-model-mandamus: kept ")
    assert "'Imagen con Botón'" in out
    assert "repeated title" in out
    assert "call to action" in out
    assert "related-articles or contents list" in out
    assert not clean_settings.exists()  # no index needed, none written


def test_explain_accepts_a_file_name(
    clean_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", str(CORPUS_DIR), "--explain", "004_87fd694fdfc2fd8c.txt"]) == 0
    assert "officer-misconduct-287g-mandamus: kept" in capsys.readouterr().out


def test_explain_of_an_unknown_document_is_an_error(
    clean_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "--explain", "no-such-doc"]) == 1
    captured = capsys.readouterr()
    assert captured.err.startswith("Error: ")
    assert "no document 'no-such-doc'" in captured.err
    assert "Traceback" not in captured.err


# --- commands without an index --------------------------------------------------------


def test_search_without_an_index_says_to_run_ingest(
    clean_settings: Path, test_model: None, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "four-week training"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Error: ")
    assert "`lexcite ingest`" in err
    assert str(clean_settings) in err


def test_documents_without_an_index_says_to_run_ingest(
    clean_settings: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["documents"]) == 1
    assert "`lexcite ingest`" in capsys.readouterr().err


# --- ingest, documents and search with the test encoder -------------------------------


def test_ingest_documents_and_search(
    clean_settings: Path,
    test_model: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    assert main(["ingest", str(corpus), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(published)" in out
    assert "added 5, changed 0, removed 0, unchanged 0, skipped 0" in out

    assert main(["ingest", str(corpus), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "(unchanged, still serving)" in out
    assert "embedded 0" in out

    assert main(["documents", "--json"]) == 0
    docs = json.loads(capsys.readouterr().out)
    assert len(docs) == 5

    argv = ["search", "four-week training Charleston", "--mode", "lexical", "-k", "3", "--json"]
    assert main(argv) == 0
    passages = json.loads(capsys.readouterr().out)
    assert len(passages) == 3
    assert "Charleston" in passages[0]["text"]

    doc = "officer-misconduct-287g-mandamus"
    assert main(["search", "training", "--document", doc, "-k", "4", "--json"]) == 0
    assert {p["document_id"] for p in json.loads(capsys.readouterr().out)} == {doc}


def test_ingest_reports_skipped_documents(
    clean_settings: Path,
    test_model: None,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    (corpus / "documents" / "empty.txt").write_text("")
    with (corpus / "manifest.toml").open("a") as handle:
        handle.write('\n[[documents]]\nid = "empty"\nfile = "documents/empty.txt"\ntitle = "E"\n')
    assert main(["ingest", str(corpus), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "Skipped empty: empty.txt: the file is empty" in captured.err
    assert "skipped 1" in captured.out


def test_add_lists_the_file_only_with_the_index_and_refuses_impossible_dates(
    clean_settings: Path,
    test_model: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from service.settings import get_settings

    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    monkeypatch.setenv("LEXCITE_CORPUS_DIR", str(corpus))
    get_settings.cache_clear()
    source = tmp_path / "note.txt"
    source.write_text("Note\n\nA writ of mandamus compels an agency to act on a petition.\n")
    argv = ["add", str(source), "--id", "cli-note", "--title", "CLI note"]
    assert main([*argv, "--published", "2024-02-30"]) == 1
    assert "published must be a real date" in capsys.readouterr().err
    assert not (corpus / "documents" / "cli-note.txt").exists()
    assert main([*argv, "--published", "2024-02-29"]) == 0
    out = capsys.readouterr().out
    assert "added 6, changed 0, removed 0" in out  # a first build: the corpus and the note
    assert (corpus / "documents" / "cli-note.txt").exists()
    assert not any((corpus / ".staging").iterdir())


def test_a_broken_manifest_is_an_error(
    clean_settings: Path, test_model: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "manifest.toml").write_text("[[documents]\n")
    assert main(["ingest", str(tmp_path), "--quiet"]) == 1
    assert "Error: " in capsys.readouterr().err


# --- the docs -------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(subcommands()))
def test_every_subcommand_and_option_is_in_the_readme(name: str) -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    assert f"`lexcite {name}" in readme, f"README.md does not document `lexcite {name}`"
    documented = " ".join(re.findall(rf"`lexcite {name}\b[^`]*`", readme))
    options = [
        option
        for action in subcommands()[name]._actions
        for option in action.option_strings
        if option not in ("-h", "--help")
    ]
    missing = [
        o for o in options if not re.search(rf"(?<![\w-]){re.escape(o)}(?![\w-])", documented)
    ]
    assert missing == [], f"README.md does not document {missing} of `lexcite {name}`"
