"""The `lexcite` command: each subcommand opens what it needs, calls one library function
and turns a known error into `Error: ...` with exit code 1."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eval.compare import CompareError
from eval.dataset import DatasetError
from index.errors import IndexStageError
from index.search import MODES
from ingest.errors import IngestError
from service.settings import Settings, SettingsError, get_settings

if TYPE_CHECKING:
    from index.build import Summary


class UsageError(Exception):
    """A command was given arguments it cannot take."""


KNOWN_ERRORS: tuple[type[Exception], ...] = (
    UsageError,
    CompareError,
    IngestError,
    IndexStageError,
    SettingsError,
    DatasetError,
    OSError,
)


def cmd_ingest(args: argparse.Namespace, settings: Settings) -> int:
    """Clean, segment, embed and publish the corpus as a new index generation."""
    from ingest.clean import load_rules

    corpus = Path(args.corpus) if args.corpus else settings.corpus_dir
    if args.explain:
        return _explain(corpus, args.explain)
    from index.build import ingest
    from index.encoder import LazyEncoder

    encoder = LazyEncoder(settings.model, settings.data_dir / "models")
    summary = ingest(
        corpus,
        settings.data_dir,
        encoder,
        load_rules(),
        progress=not args.quiet,
        rebuild=args.rebuild,
    )
    _print_summary(summary, settings)
    return 0


def _print_summary(summary: Summary, settings: Settings) -> None:
    for line in summary.settled:
        print(f"Corpus: {line}", file=sys.stderr)
    for problem in summary.problems:
        print(f"Skipped {problem.document}: {problem.message}", file=sys.stderr)
    state = "published" if summary.published else "unchanged, still serving"
    print(
        f"Generation {summary.generation} ({state}) in {settings.data_dir}\n"
        f"  added {len(summary.added)}, changed {len(summary.changed)}, "
        f"removed {len(summary.removed)}, unchanged {len(summary.unchanged)}, "
        f"skipped {len(summary.problems)}\n"
        f"  {summary.counts.get('documents', 0)} documents, "
        f"{summary.counts.get('sentences', 0)} sentences, {summary.counts.get('chunks', 0)} chunks;"
        f" embedded {summary.embedded}, reused {summary.reused}; {summary.seconds:.2f} s"
    )


def _explain(corpus: Path, target: str) -> int:
    from ingest.clean import clean, load_rules
    from ingest.corpus import load_manifest, resolve_file
    from ingest.errors import ManifestError
    from ingest.read import read

    metas = [m for m in load_manifest(corpus) if target in (m.id, m.file, Path(m.file).name)]
    if not metas:
        raise ManifestError(f"no document {target!r} in {corpus}/manifest.toml")
    meta = metas[0]
    result = clean(read(resolve_file(corpus, meta.file)), load_rules(), meta.title, meta.aliases)
    print(
        f"{meta.id}: kept {len(result.lines)} lines ({len(result.text):,} characters), "
        f"dropped {len(result.dropped)} pieces"
    )
    for d in result.dropped:
        print(f"  line {d.line:>4}  {d.reason:<34} {d.text[:90]!r}")
    return 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    """Print the passages that hybrid retrieval ranks highest for a query."""
    from index.encoder import load_encoder
    from index.generation import load_best
    from index.search import Searcher
    from index.types import Filters

    encoder = load_encoder(settings.model, settings.data_dir / "models")
    loaded = load_best(settings.data_dir, encoder.name)
    filters = Filters(
        document_ids=frozenset(args.document) if args.document else None,
        kinds=frozenset(args.kind) if args.kind else None,
    )
    passages = Searcher(loaded.generation, encoder).search(args.query, args.k, filters, args.mode)
    if args.json:
        print(json.dumps([asdict(p) for p in passages], indent=2, ensure_ascii=False))
        return 0
    if not passages:
        print("No passages found.")
    for n, p in enumerate(passages, 1):
        print(
            f"{n}. {p.document_id} [{p.start}:{p.end}]  score {p.score:.4f}  "
            f"(dense {p.dense_score:.3f})\n   § {p.section}\n   {p.text}\n"
        )
    return 0


def cmd_documents(args: argparse.Namespace, settings: Settings) -> int:
    """List the documents of the current index generation."""
    from index.generation import load_best

    loaded = load_best(settings.data_dir)
    docs = list(loaded.generation.documents.values())
    if args.json:
        print(json.dumps([asdict(d) for d in docs], indent=2, ensure_ascii=False))
        return 0
    print(f"Generation {loaded.generation.name}: {len(docs)} documents")
    for d in docs:
        print(f"  {d.id:<36} {d.chunks:>3} chunks  {d.kind or '-':<14} {d.title}")
    return 0


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    """Copy a file into the corpus, list it in the manifest and (by default) ingest."""
    from ingest.corpus import add_to_corpus, plan_add
    from ingest.types import Meta

    meta = Meta(
        id=args.id,
        file="",
        title=args.title,
        publisher=args.publisher,
        kind=args.kind,
        published=args.published,
        url=args.url,
        licence=args.licence,
    )
    if args.no_ingest:
        stored = add_to_corpus(settings.corpus_dir, Path(args.file), meta)
        print(f"Added {stored.id} as {stored.file}")
        return 0
    from index.build import change
    from index.encoder import LazyEncoder
    from ingest.clean import load_rules

    # One transaction: the corpus lists the file only once the index serves it.
    summary = change(
        settings.corpus_dir,
        settings.data_dir,
        LazyEncoder(settings.model, settings.data_dir / "models"),
        load_rules(),
        lambda corpus: plan_add(corpus, Path(args.file), meta),
    )
    print(f"Added {meta.id}")
    _print_summary(summary, settings)
    return 0


def _engine(settings: Settings, threshold: float | None = None) -> Any:
    from index.encoder import load_encoder
    from service.engine import Engine

    encoder = load_encoder(settings.model, settings.data_dir / "models")
    return Engine(settings.data_dir, encoder, threshold)


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    """Answer a question with cited source sentences (or say the sources do not cover it)."""
    result = _engine(settings).ask(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps(asdict(result), indent=2, ensure_ascii=False))
        return 0
    print(result.answer + "\n")
    if result.sources_disagree:
        print("Note: the sources disagree on this.\n")
    for c in result.citations:
        print(f"[{c.n}] {c.title} ({c.document_id} [{c.start}:{c.end}], § {c.section})")
    print(f"\n{result.notice}")
    timings = ", ".join(f"{k} {v:.1f} ms" for k, v in result.timings_ms.items())
    print(
        f"\n{result.took_ms:.1f} ms ({timings}); support {result.support:.3f}; "
        f"index {result.index_version}"
    )
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    """Measure grounding, citations, abstention and retrieval on a question set; gate on it
    (and, with --baseline, on a saved report); `eval compare OLD NEW` compares two reports."""
    from eval import dataset
    from eval.evaluate import calibrate, evaluate, save_calibration
    from eval.run import HttpAnswerer, LocalAnswerer

    if args.args[:1] == ["compare"]:
        return _compare_reports(args)
    if len(args.args) > 1:
        raise UsageError("eval takes one DATASET (or: eval compare OLD NEW)")
    path = Path(args.args[0]) if args.args else dataset.DEFAULT
    questions = dataset.load(path)
    baseline = _baseline(args)
    answerer: Any = (
        HttpAnswerer(args.url)
        if args.url
        else LocalAnswerer(_engine(settings, 0.0 if args.calibrate else None))
    )
    if args.calibrate:
        record = calibrate(questions, answerer, path.name, progress=not args.quiet)
        save_calibration(record)
        print(json.dumps(record, indent=2))
        return 0
    from eval.compare import code_version, dataset_sha256
    from eval.report import summary_table, write_report

    modes = ["hybrid"] if args.url else [m.strip() for m in args.modes.split(",") if m.strip()]
    engine = None if args.url else answerer.engine
    identity = {
        "dataset": _shown(path),
        "dataset_sha256": dataset_sha256(path),
        "split": args.split,
        "index_version": engine.state.generation.name if engine else None,
        "model": engine.encoder.name if engine else None,
        "reader": None,  # answers are chosen by the hand-written ranking (service/answer.py)
        "code": code_version(Path(__file__).resolve().parents[1]),
    }
    meta = {
        "dataset": identity["dataset"],
        "threshold": engine.threshold if engine else None,
        "index_version": identity["index_version"],
        "identity": identity,
    }
    report = evaluate(
        questions,
        answerer,
        split=args.split,
        modes=modes,
        thresholds=Path(args.thresholds),
        progress=not args.quiet,
        meta=meta,
    )
    print(summary_table(report))
    failures = list(report["gate"]["failures"])
    if baseline is not None:
        failures += _attach_comparison(baseline, report, Path(args.thresholds))
    if args.report:
        json_path, html_path = write_report(report, Path(args.report))
        print(f"\nWrote {json_path} and {html_path}")
    if failures:
        print("Error: the release gate failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def _baseline(args: argparse.Namespace) -> dict[str, Any] | None:
    """The --baseline report, read before the run so a bad path fails at once."""
    from eval.compare import load_report

    return load_report(Path(args.baseline)) if args.baseline else None


def _attach_comparison(
    baseline: dict[str, Any], report: dict[str, Any], thresholds: Path
) -> list[str]:
    """Compare a report with its baseline under the thresholds' [baseline] bounds, print
    the comparison, store it in the report and return the bounds it breaks."""
    import tomllib

    from eval.compare import compare, comparison_table

    bounds = tomllib.loads(thresholds.read_text("utf-8")).get("baseline", {})
    comparison = compare(baseline, report, bounds)
    print(comparison_table(comparison))
    report["comparison"] = asdict(comparison)
    return comparison.failures


def _compare_reports(args: argparse.Namespace) -> int:
    """`lexcite eval compare OLD NEW`: compare two saved reports, gate on the bounds."""
    from eval.compare import load_report
    from eval.report import write_report

    if len(args.args) != 3:
        raise UsageError("eval compare takes two reports: eval compare OLD NEW")
    baseline, report = (load_report(Path(p)) for p in args.args[1:])
    failures = _attach_comparison(baseline, report, Path(args.thresholds))
    if args.report:
        json_path, html_path = write_report(report, Path(args.report))
        print(f"Wrote {json_path} and {html_path}")
    if failures:
        print("Error: the baseline gate failed:\n  " + "\n  ".join(failures), file=sys.stderr)
        return 1
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Serve the HTTP API and the web pages (uvicorn) until interrupted."""
    from service.app import serve

    serve(settings, host=args.host, port=args.port, workers=args.workers)
    return 0


def _shown(path: Path) -> str:
    """A path as reports show it: relative to the working folder when it lies inside."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def parser() -> argparse.ArgumentParser:
    """Return the argument parser of every subcommand."""
    top = argparse.ArgumentParser(prog="lexcite", description=__doc__)
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("ingest", help=cmd_ingest.__doc__, description=cmd_ingest.__doc__)
    p.add_argument("corpus", nargs="?", help="corpus folder (default: LEXCITE_CORPUS_DIR)")
    p.add_argument("--explain", metavar="DOC", help="show what cleaning drops from DOC; no index")
    p.add_argument("--rebuild", action="store_true", help="re-embed everything")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_ingest)

    p = sub.add_parser("search", help=cmd_search.__doc__, description=cmd_search.__doc__)
    p.add_argument("query")
    p.add_argument("-k", type=int, default=5, help="passages to show (default 5)")
    p.add_argument("--document", action="append", metavar="ID", help="only this document")
    p.add_argument("--kind", action="append", help="only documents of this kind")
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_search)

    p = sub.add_parser("documents", help=cmd_documents.__doc__, description=cmd_documents.__doc__)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_documents)

    p = sub.add_parser("add", help=cmd_add.__doc__, description=cmd_add.__doc__)
    p.add_argument("file")
    p.add_argument("--id", required=True, help="stable slug, e.g. ice-287g-fact-sheet")
    p.add_argument("--title", required=True)
    p.add_argument("--publisher")
    p.add_argument("--kind", help='e.g. "news", "law-firm blog", "government"')
    p.add_argument("--published", help="YYYY-MM-DD")
    p.add_argument("--url")
    p.add_argument("--licence")
    p.add_argument("--no-ingest", action="store_true", help="only add; ingest later")
    p.set_defaults(run=cmd_add)

    p = sub.add_parser("ask", help=cmd_ask.__doc__, description=cmd_ask.__doc__)
    p.add_argument("question")
    p.add_argument("-k", type=int, default=None, help="passages to retrieve (default 6)")
    p.add_argument("--mode", choices=MODES, default="hybrid")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(run=cmd_ask)

    p = sub.add_parser("eval", help=cmd_eval.__doc__, description=cmd_eval.__doc__)
    p.add_argument(
        "args",
        nargs="*",
        metavar="DATASET | compare OLD NEW",
        help="JSONL or CSV (default eval/data/questions.jsonl); or `compare OLD NEW`: "
        "compare two saved report.json files",
    )
    p.add_argument("--split", choices=("dev", "test", "all"), default="test")
    p.add_argument(
        "--thresholds",
        default=str(Path(__file__).resolve().parents[1] / "eval" / "thresholds.toml"),
        help="gate bounds (TOML)",
    )
    p.add_argument("--report", metavar="DIR", help="write report.json and report.html here")
    p.add_argument(
        "--baseline",
        metavar="REPORT",
        help="compare with a saved report.json, question by question, and gate on the "
        "thresholds' [baseline] bounds",
    )
    p.add_argument("--url", help="evaluate a running server instead of the in-process pipeline")
    p.add_argument("--modes", default="hybrid,rrf,dense,lexical", help="retrieval modes to compare")
    p.add_argument(
        "--calibrate",
        action="store_true",
        help="calibrate the abstention threshold on the dev split and save it",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=cmd_eval)

    p = sub.add_parser("serve", help=cmd_serve.__doc__, description=cmd_serve.__doc__)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument(
        "--workers", type=int, default=1, help="processes, each loading its own model (default 1)"
    )
    p.set_defaults(run=cmd_serve)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; known errors print `Error: ...` and return 1."""
    args = parser().parse_args(argv)
    run: Callable[[argparse.Namespace, Settings], int] = args.run
    try:
        return run(args, get_settings())
    except KNOWN_ERRORS as err:
        print(f"Error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("Interrupted; the index being served is unchanged.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
