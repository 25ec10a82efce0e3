"""`python -m bench`: lexcite and the LangChain peer side by side in one run, then the
scale runs; results go to bench/results/ as JSON, Markdown and an SVG chart.

Every measured system runs in a process of its own (bench/workers.py, the servers, each
scale size), one after the other, so none slows another and each peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import load, machine, questions, report, servers

RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = (1, 8, 32)
SCALE_SIZES = (10_000, 100_000, 1_000_000)
# Per measured process; a 1M scale run on 2 cores takes about a quarter of an hour.
WORKER_TIMEOUT_S = 1800.0
SCALE_TIMEOUT_S = 3600.0


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def python_module(module: str, *args: str) -> list[str]:
    return [sys.executable, "-m", module, *args]


def lexcite_command(*args: str) -> list[str]:
    """The `lexcite` console script of this environment (or the module if not installed)."""
    script = Path(sys.executable).parent / "lexcite"
    return [str(script), *args] if script.is_file() else python_module("lexcite.cli", *args)


def worker(args: list[str], out: Path, timeout: float) -> dict[str, Any]:
    """Run `python -m bench.workers ARGS --out OUT`; return its JSON or an error record."""
    command = python_module("bench.workers", *args, "--out", str(out))
    done = subprocess.run(  # noqa: S603 - our own module
        command, capture_output=True, text=True, timeout=timeout, check=False, cwd=questions.ROOT
    )
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-3:]
        return {"error": f"worker {args[0]} exited {done.returncode}: {' | '.join(tail)}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result


def measure_http(
    name: str,
    command: list[str],
    env: dict[str, str],
    port: int,
    work: Path,
    items: list[str],
    clients: tuple[int, ...],
    seconds: float,
    max_requests: int,
) -> dict[str, Any]:
    """Start one server, drive /v1/ask at each client count, stop it; return the figures."""
    log(f"HTTP: starting {name}")
    levels = []
    with servers.running(name, command, env, work / f"{name}.log", port) as server:
        for n in clients:
            log(f"HTTP: {name}, {n} client(s) for {seconds:g} s")
            before = machine.load_average()
            result = load.run(
                servers.HOST,
                port,
                "/v1/ask",
                items,
                n,
                seconds,
                max_requests,
                server_pid=server.process.pid,
            )
            levels.append({**result.result(), "load_average_start": before})
        peak = server.peak_rss_mib()
        started = server.started_s
    return {"startup_s": started, "peak_rss_mib": peak, "levels": levels}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--out", type=Path, default=RESULTS, help="where results go")
    p.add_argument("--work", type=Path, help="scratch folder (default: a temporary one)")
    p.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run, not numbers")
    p.add_argument("--limit", type=int, help="questions to use (default: all)")
    p.add_argument("--rounds", type=int, default=2, help="passes over the questions")
    p.add_argument("--clients", default=",".join(map(str, CLIENTS)), help="HTTP client counts")
    p.add_argument("--http-seconds", type=float, default=10.0, help="per client count")
    p.add_argument("--max-requests", type=int, default=20_000, help="per client count")
    p.add_argument(
        "--scale", default=",".join(map(str, SCALE_SIZES)), help="chunk counts; '' skips"
    )
    p.add_argument("--sample", type=int, default=5000, help="scale: chunks embedded for real")
    p.add_argument("--encoders", default="onnx,torch", help="lexcite encoders to measure")
    p.add_argument("--no-http", action="store_true", help="skip the HTTP measurements")
    p.add_argument(
        "--repeat", type=int, default=2, help="in-process passes, interleaved; the best is kept"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.quick:
        args.limit, args.rounds, args.repeat = args.limit or 8, 1, 1
        args.http_seconds = min(args.http_seconds, 1.5)
        if args.clients == ",".join(map(str, CLIENTS)):
            args.clients = "1"
        if args.scale == ",".join(map(str, SCALE_SIZES)):
            args.scale = "1000"
        args.sample = min(args.sample, 100)
    clients = tuple(int(c) for c in args.clients.split(",") if c.strip())
    sizes = [int(s) for s in args.scale.split(",") if s.strip()]
    encoders = [e.strip() for e in args.encoders.split(",") if e.strip()]
    work = args.work or Path(tempfile.mkdtemp(prefix="lexcite-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    cache = work / "models"  # the ONNX graph cache, beside the data directories
    items = questions.load(limit=args.limit)
    results: dict[str, Any] = {
        "machine": machine.describe(),
        "config": {
            "questions": len(items),
            "rounds": args.rounds,
            "clients": list(clients),
            "http_seconds": args.http_seconds,
            "scale_sizes": sizes,
            "scale_sample": args.sample,
            "quick": args.quick,
        },
        "notes": [],
    }
    common = ["--rounds", str(args.rounds)] + (["--limit", str(args.limit)] if args.limit else [])
    try:
        log("one-time ONNX export into an empty cache")
        results["export"] = worker(
            ["export", "--cache", str(cache)], work / "export.json", WORKER_TIMEOUT_S
        )
        runs: dict[str, list[dict[str, Any]]] = {}
        for attempt in range(args.repeat):
            log(f"in-process, pass {attempt + 1} of {args.repeat}: the LangChain peer")
            out = work / f"peer-{attempt}.json"
            runs.setdefault("peer", []).append(worker(["peer", *common], out, WORKER_TIMEOUT_S))
            for encoder in encoders:
                system = f"lexcite-{encoder}"
                log(f"in-process, pass {attempt + 1} of {args.repeat}: {system}")
                command = ["lexcite", "--encoder", encoder, "--work", str(work / system)]
                command += ["--cache", str(cache), *common]
                out = work / f"{system}-{attempt}.json"
                runs.setdefault(system, []).append(worker(command, out, WORKER_TIMEOUT_S))
        inproc = {system: best(found) for system, found in runs.items()}
        results["in_process_runs"] = runs
        results["in_process"] = inproc
        if not args.no_http:
            results["http"] = http_section(inproc, encoders, work, cache, items, clients, args)
        results["scale"] = [scale_run(size, work, cache, args) for size in sizes]
    finally:
        results["machine"]["load_average_end"] = machine.load_average()
        paths = report.write(results, args.out)
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    log("wrote " + ", ".join(str(p) for p in paths))
    print((args.out / "README.md").read_text())
    return 0


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The pass with the lowest query p50 (ask for lexcite, search for the peer): the
    systems run one after another on a shared machine, and the quietest pass of each is
    the fairest comparison. Every pass is kept in the results."""
    good = [r for r in runs if "error" not in r]
    if not good:
        return runs[-1]

    def p50(run: dict[str, Any]) -> float:
        query = run.get("query", {})
        return float(query.get("ask", query.get("search", {})).get("p50_ms", float("inf")))

    return min(good, key=p50)


def http_section(
    inproc: dict[str, Any],
    encoders: list[str],
    work: Path,
    cache: Path,
    items: list[str],
    clients: tuple[int, ...],
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Measure /v1/ask of `lexcite serve` (ONNX), lexcite's app on PyTorch and the peer."""
    http: dict[str, Any] = {}
    # Each server to measure: its name, its environment, and its command for a port.
    systems: list[tuple[str, dict[str, str], Callable[[str], list[str]]]] = []
    for encoder in encoders:
        system = f"lexcite-{encoder}"
        data_dir = inproc.get(system, {}).get("data_dir")
        if not data_dir:
            http[system] = {"skipped": "its in-process run built no index"}
            continue
        models = Path(data_dir) / "models"
        if encoder == "onnx" and cache.is_dir() and not models.exists():
            # The server keeps its ONNX graph beside its index: give it the graph the
            # in-process runs exported, as a deployment has it after its first start, so
            # its memory and start-up are not those of the one-time export.
            shutil.copytree(cache, models)
        env = {
            "LEXCITE_DATA_DIR": data_dir,
            "LEXCITE_CORPUS_DIR": str(questions.ROOT / "corpus"),
            # The default 120 requests a minute per address would measure the limiter.
            "LEXCITE_RATE_LIMIT": "0",
        }
        if encoder == "onnx":
            systems.append((system, env, lambda port: lexcite_command("serve", "--port", port)))
        else:
            systems.append(
                (system, env, lambda port: python_module("bench.lexcite_server", "--port", port))
            )
    systems.append(("peer", {}, lambda port: python_module("bench.peer_server", "--port", port)))
    for system, env, command in systems:
        port = servers.free_port()
        try:
            http[system] = measure_http(
                system,
                command(str(port)),
                env,
                port,
                work,
                items,
                clients,
                args.http_seconds,
                args.max_requests,
            )
        except servers.ServerFailed as err:
            http[system] = {"skipped": str(err)}
    return http


def scale_run(size: int, work: Path, cache: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Run bench/scale.py for one size in its own process; return its result."""
    log(f"scale: {size:,} chunks")
    out = work / f"scale-{size}.json"
    command = python_module(
        "bench.scale",
        str(size),
        "--sample",
        str(min(args.sample, size)),
        "--work",
        str(work / "scale"),
        "--cache",
        str(cache),
        "--out",
        str(out),
    )
    if args.quick:
        command += ["--queries", "10"]
    try:
        done = subprocess.run(  # noqa: S603 - our own module
            command,
            capture_output=True,
            text=True,
            timeout=SCALE_TIMEOUT_S,
            check=False,
            cwd=questions.ROOT,
        )
    except subprocess.TimeoutExpired:
        return {"size": size, "error": f"did not finish in {SCALE_TIMEOUT_S:.0f} s"}
    if done.returncode != 0:
        tail = " | ".join(done.stderr.strip().splitlines()[-3:])
        return {"size": size, "error": f"exited {done.returncode}: {tail}"}
    result: dict[str, Any] = json.loads(out.read_text())
    return result
