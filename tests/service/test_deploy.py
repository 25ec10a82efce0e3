"""A real `lexcite serve` as the README deploys it: uvicorn's own proxy-header trust is off,
and Debian's nginx, started from the README's configuration on loopback, in front of it.

Marked server and model (each `lexcite serve` loads the real model). Loopback has a whole
/8 of addresses, so clients connect from 127.0.0.2, 127.0.0.3, ... and nginx forwards for
them from 127.0.0.1, the one trusted proxy.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from index.generation import Generation
from tests.conftest import CORPUS_DIR, ROOT

pytestmark = [pytest.mark.server, pytest.mark.model]

LEXCITE = str(Path(sys.executable).with_name("lexcite"))
NGINX = "/usr/sbin/nginx"
ASK = {"question": "What is a 287(g) agreement?"}
JSON = {"Content-Type": "application/json"}
RATE = 5  # requests a minute: a bucket refills one token every 12 s


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, **client: Any) -> None:
    deadline = time.monotonic() + 120
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, f"{url} did not come up:\n{log.read_text()}"
        try:
            if httpx.get(url, timeout=2, **client).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


@contextlib.contextmanager
def lexcite_serve(root: Path, settings: dict[str, str], *args: str) -> Iterator[tuple[str, Path]]:
    """`lexcite serve` on a free loopback port with these LEXCITE_ settings; yields its URL
    and its log (stdout and stderr)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEXCITE_")}
    env |= {"LEXCITE_CORPUS_DIR": str(root / "corpus"), **settings}
    port = free_port()
    log = root / f"serve-{port}.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [LEXCITE, "serve", "--port", str(port), *args], env=env, stdout=out, stderr=out
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(url + "/healthz", process, log)
        yield url, log
    finally:
        stop(process)


def test_rotating_forwarded_for_from_loopback_is_still_rate_limited(tmp_path: Path) -> None:
    """uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise; `lexcite
    serve` tells it otherwise, in the one-process path and the workers' one alike."""
    shutil.copytree(CORPUS_DIR, tmp_path / "corpus")
    settings = {"LEXCITE_DATA_DIR": str(tmp_path / "data"), "LEXCITE_RATE_LIMIT": str(RATE)}
    for workers in ("1", "2"):
        with (
            lexcite_serve(tmp_path, settings, "--workers", workers) as (url, _),
            httpx.Client() as c,
        ):
            codes = [
                c.get(
                    url + "/v1/documents",
                    headers={"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"},
                ).status_code
                for n in range(RATE * 2 + 100)
            ]
        # Each worker has its buckets: at most RATE requests through each, none refilled.
        assert codes.count(429) >= 100, (workers, codes)


# --- nginx in front ---------------------------------------------------------------------


def readme_nginx() -> str:
    """The nginx configuration the README's deploy guide shows."""
    readme = (ROOT / "README.md").read_text("utf-8")
    blocks = re.findall(r"```nginx\n(.*?)```", readme, re.DOTALL)
    assert len(blocks) == 1, "the README must show one nginx configuration"
    return blocks[0]


def swap(text: str, old: str, new: str) -> str:
    assert text.count(old) == 1, f"{old!r} is not in the README's nginx configuration once"
    return text.replace(old, new)


def certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (openssl, Debian's)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    names = "subjectAltName=IP:127.0.0.1,DNS:lexcite.example.org"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-keyout", str(key), "-out", str(cert), "-subj", "/CN=lexcite.example.org"),
            *("-addext", names),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@contextlib.contextmanager
def nginx(folder: Path, upstream: str, cert: Path, key: Path) -> Iterator[tuple[str, str]]:
    """Debian's nginx running the README's configuration, its ports and certificate
    swapped for loopback ones; yields its https and http URLs."""
    if not Path(NGINX).exists():
        pytest.fail(f"{NGINX} is missing: run .ci/ensure-tools (apt-get install nginx)")
    https, http = free_port(), free_port()
    site = readme_nginx()
    site = swap(site, "server 127.0.0.1:8000;", f"server {upstream};")
    site = swap(site, "listen 443 ssl;", f"listen 127.0.0.1:{https} ssl;")
    site = swap(site, "listen 80;", f"listen 127.0.0.1:{http};")
    site = swap(site, "/etc/letsencrypt/live/lexcite.example.org/fullchain.pem", str(cert))
    site = swap(site, "/etc/letsencrypt/live/lexcite.example.org/privkey.pem", str(key))
    (folder / "lexcite.conf").write_text(site)
    temp = "\n".join(
        f"{name}_temp_path {folder / name};"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # As root nginx's workers would run as nobody, who cannot enter pytest's 0700 folders.
    user = "user root;" if os.geteuid() == 0 else ""
    (folder / "nginx.conf").write_text(
        f"""{user}
worker_processes 1;
pid {folder / "nginx.pid"};
error_log {folder / "error.log"} info;
events {{ worker_connections 64; }}
http {{
    access_log {folder / "access.log"};
    {temp}
    include {folder / "lexcite.conf"};
}}
"""
    )
    log = folder / "error.log"
    command = [NGINX, "-p", str(folder), "-e", str(log), "-c", str(folder / "nginx.conf")]
    subprocess.run([*command, "-t"], check=True, capture_output=True)
    with open(folder / "nginx.out", "wb") as out:
        process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=out, stderr=out)
    url = f"https://127.0.0.1:{https}"
    try:
        wait_until_up(
            url + "/healthz", process, log, verify=ssl.create_default_context(cafile=cert)
        )
        yield url, f"http://127.0.0.1:{http}"
    finally:
        stop(process)


def from_address(address: str, cert: Path) -> httpx.Client:
    """A client whose connections come from `address` (any of 127.0.0.0/8)."""
    transport = httpx.HTTPTransport(
        local_address=address, verify=ssl.create_default_context(cafile=cert)
    )
    return httpx.Client(transport=transport, timeout=60)


def json_lines(log: Path) -> list[dict[str, Any]]:
    lines = [line for line in log.read_text("utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line is one object


def test_nginx_from_the_readme_in_front_of_lexcite_serve(
    tmp_path: Path, model_generation: Generation
) -> None:
    shutil.copytree(CORPUS_DIR, tmp_path / "corpus")
    shutil.copytree(model_generation.path.parents[1], tmp_path / "data")
    (tmp_path / "nginx").mkdir()
    cert, key = certificate(tmp_path)
    settings = {
        "LEXCITE_DATA_DIR": str(tmp_path / "data"),
        "LEXCITE_TRUSTED_PROXIES": "127.0.0.1",
        "LEXCITE_RATE_LIMIT": str(RATE),
        "LEXCITE_LOG_FORMAT": "json",
        "LEXCITE_STAFF_TOKEN": "deploy-test-token-0123456789",
    }
    with (
        lexcite_serve(tmp_path, settings) as (upstream, serve_log),
        nginx(tmp_path / "nginx", upstream.removeprefix("http://"), cert, key) as (url, http),
    ):
        visitor = from_address("127.0.0.2", cert)
        assert visitor.get(url + "/readyz").json()["ready"] is True
        answer = visitor.post(url + "/v1/ask", json=ASK, headers={"X-Request-ID": "via-nginx-1"})
        assert answer.status_code == 200 and answer.json()["citations"]
        assert answer.headers["x-request-id"] == "via-nginx-1"
        minted = visitor.get(url + "/v1/documents").headers["x-request-id"]
        assert re.fullmatch(r"[0-9a-f]{32}", minted)  # nginx's $request_id, passed on

        # The rate limit counts each visitor, not the proxy; forging does not help.
        codes = [visitor.get(url + "/v1/documents").status_code for _ in range(RATE)]
        assert codes[-1] == 429
        forged = {"X-Forwarded-For": "192.0.2.1", "Forwarded": "for=192.0.2.2"}
        assert visitor.get(url + "/v1/documents", headers=forged).status_code == 429
        other = from_address("127.0.0.3", cert)
        assert other.get(url + "/v1/documents", headers=forged).status_code == 200

        # Bodies over lexcite's limits are refused at the proxy, in the API's envelope.
        for path, size in (("/v1/ask", 3 * 1024 * 1024), ("/v1/ask", 16 * 1024 + 1)):
            response = other.post(url + path, content=b"x" * size, headers=JSON)
            assert response.status_code == 413, (path, size)
            assert response.json()["error"]["code"] == "too_large"
        upload = other.post(url + "/v1/documents", content=b"x" * (6 * 1024 * 1024 + 1))
        assert upload.status_code == 413 and upload.json()["error"]["code"] == "too_large"
        # Over the questions' limit but an upload's: lexcite's own answer comes through.
        unauthorized = other.post(url + "/v1/documents", content=b"x" * (64 * 1024))
        assert unauthorized.status_code == 401 and unauthorized.headers["x-request-id"]
        assert other.post(url + "/v1/ask", content=b"{}", headers=JSON).status_code == 422
        metrics = other.get(url + "/metrics")
        assert metrics.status_code == 403 and metrics.json()["error"]["code"] == "forbidden"
        assert from_address("127.0.0.1", cert).get(url + "/metrics").status_code == 200
        redirect = httpx.get(http + "/v1/documents")
        assert redirect.status_code == 301
        assert redirect.headers["location"].startswith("https://")

    access = [r for r in json_lines(serve_log) if r["logger"] == "lexcite.access"]
    asked = next(r for r in access if r["request_id"] == "via-nginx-1")
    assert (asked["client"], asked["method"], asked["path"], asked["status"]) == (
        "127.0.0.2",
        "POST",
        "/v1/ask",
        200,
    )
    assert {r["client"] for r in access} >= {"127.0.0.2", "127.0.0.3"}
    assert not {r["client"] for r in access} & {"192.0.2.1", "192.0.2.2"}
    assert any(r["logger"].startswith("uvicorn") for r in json_lines(serve_log))
