"""Start a server as a subprocess on a free loopback port, wait until it is ready, stop it,
and read its peak memory from /proc before it exits."""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import machine

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT_S = 300.0


class ServerFailed(Exception):
    """A server subprocess exited or never became ready."""


@dataclass
class Server:
    """A running server subprocess."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    started_s: float

    def peak_rss_mib(self) -> float:
        return machine.peak_rss_mib(self.process.pid)


def free_port() -> int:
    """Return a TCP port that is free on the loopback address right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def _ready(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path)
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


@contextlib.contextmanager
def running(
    name: str,
    command: Sequence[str],
    env: Mapping[str, str],
    log: Path,
    port: int,
    ready_path: str = "/readyz",
) -> Iterator[Server]:
    """Start `command` (which must listen on HOST:port), yield it once `ready_path` answers
    200, and terminate it on exit (killing it if it does not stop within 10 s)."""
    began = time.perf_counter()
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own module or the lexcite script
            list(command),
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        try:
            deadline = began + READY_TIMEOUT_S
            while not _ready(port, ready_path):
                if process.poll() is not None:
                    raise ServerFailed(f"{name} exited with {process.returncode}; see {log}")
                if time.perf_counter() > deadline:
                    raise ServerFailed(f"{name} not ready in {READY_TIMEOUT_S:.0f} s; see {log}")
                time.sleep(0.2)
            yield Server(name, port, process, time.perf_counter() - began)
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
