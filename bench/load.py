"""A bounded HTTP load generator for servers on this machine: N client threads, each with
one keep-alive connection, POST JSON questions for a fixed time (and at most a fixed number
of requests), every latency recorded.

Only loopback addresses are accepted: the suite measures servers it started itself.
Threads with the standard library's http.client cost the generator little CPU per request,
and the same generator drives lexcite and the peer, so the HTTP ratios are like for like.
"""

from __future__ import annotations

import http.client
import ipaddress
import itertools
import json
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench import stats

TIMEOUT_S = 30.0
# Both lexcite and the peer report the time their pipeline took inside the request.
_TOOK = re.compile(rb'"took_ms":\s*([0-9.]+)')


@dataclass
class Load:
    """What one load level measured."""

    clients: int
    seconds: float
    requests: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    pipeline: list[float] = field(default_factory=list)
    server_cpu_s: float = float("nan")

    def result(self) -> dict[str, object]:
        """Return the level's figures: counts, throughput and the latency summary."""
        return {
            "clients": self.clients,
            "seconds": self.seconds,
            "requests": self.requests,
            "ok": self.ok,
            "errors": self.errors,
            "throughput_rps": self.ok / self.seconds if self.seconds > 0 else 0.0,
            "latency": stats.summary(self.latencies),
            # What the pipeline took inside the server (its took_ms): the rest of the
            # latency is HTTP, the framework and waiting for a thread or the GIL.
            "pipeline": stats.summary([ms / 1000 for ms in self.pipeline]),
            "server_cpu_ms_per_request": (
                self.server_cpu_s * 1000 / self.requests if self.requests else float("nan")
            ),
        }


def check_loopback(host: str) -> None:
    """Raise ValueError unless `host` is a loopback address (127.0.0.0/8 or ::1)."""
    if not ipaddress.ip_address(host).is_loopback:
        raise ValueError(f"{host}: the load generator only targets this machine's loopback")


def post(conn: http.client.HTTPConnection, path: str, body: bytes) -> tuple[int, bytes]:
    """Send one JSON POST on a keep-alive connection; return the status and body."""
    conn.request("POST", path, body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, response.read()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (from /proc; NaN if unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    host: str,
    port: int,
    path: str,
    questions: Sequence[str],
    clients: int,
    seconds: float,
    max_requests: int = 100_000,
    warmup: int = 5,
    server_pid: int | None = None,
) -> Load:
    """Drive POST `path` with {"question": q} bodies from `clients` threads for `seconds`
    (stopping early after `max_requests`); return the latencies of the requests made and,
    given the server's pid, the CPU time it spent meanwhile."""
    check_loopback(host)
    bodies = [json.dumps({"question": q}).encode() for q in questions]
    warm = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
    for body in bodies[:warmup]:
        post(warm, path, body)
    warm.close()
    load = Load(clients, seconds)
    tickets = itertools.count()  # next() on a count is atomic under the GIL
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client() -> None:
        conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
        mine: list[float] = []
        took: list[float] = []
        ok = 0
        errors: dict[str, int] = {}
        start.wait()
        while time.perf_counter() < deadline[0]:
            ticket = next(tickets)
            if ticket >= max_requests:
                break
            body = bodies[ticket % len(bodies)]
            began = time.perf_counter()
            try:
                status, answer = post(conn, path, body)
            except (OSError, http.client.HTTPException) as err:
                errors[type(err).__name__] = errors.get(type(err).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT_S)
                continue
            mine.append(time.perf_counter() - began)
            if status == 200:
                ok += 1
                found = _TOOK.search(answer)
                if found:
                    took.append(float(found.group(1)))
            else:
                errors[str(status)] = errors.get(str(status), 0) + 1
        conn.close()
        with lock:
            load.latencies.extend(mine)
            load.pipeline.extend(took)
            load.ok += ok
            load.requests += len(mine) + sum(errors.values())
            for key, n in errors.items():
                load.errors[key] = load.errors.get(key, 0) + n

    threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
    for thread in threads:
        thread.start()
    cpu_before = cpu_seconds(server_pid) if server_pid else float("nan")
    began = time.perf_counter()
    deadline[0] = began + seconds
    start.wait()
    for thread in threads:
        thread.join(seconds + TIMEOUT_S + 5)
    load.seconds = time.perf_counter() - began
    if server_pid:
        load.server_cpu_s = cpu_seconds(server_pid) - cpu_before
    return load
