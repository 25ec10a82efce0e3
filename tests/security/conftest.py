"""Fixtures and checks of the security tests; the apps come from tests/service/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import memoised_splitting
from tests.service.conftest import client, dirs, make_client  # noqa: F401 (shared fixtures)
from tests.service.test_http_api import assert_error

# What must never reach a client: a traceback, a path on the server, a Python file name.
LEAKS = ("Traceback", "/work/", "/tmp/", "site-packages", '.py"', ".py'", 'File "')


def assert_no_leak(text: str) -> None:
    """Assert a response body carries no traceback, server path or source file name."""
    found = [marker for marker in LEAKS if marker in text]
    assert not found, f"{found} in {text[:300]!r}"


def assert_clean_error(response: Any, status: int, code: str | None = None) -> dict[str, str]:
    """Assert an error is the envelope `{"error": {"code", "message"}}` and leaks nothing."""
    error = assert_error(response, status, code)
    assert_no_leak(response.text)
    return error


def rss_bytes() -> int:
    """Return this process's resident set size, from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(autouse=True, scope="package")
def memoised_sentence_splitting() -> Iterator[None]:
    """Memoise pysbd (pure, ~0.6 s per corpus) for the many in-process ingests of uploads;
    tests/reliability/conftest.py does the same."""
    with memoised_splitting():
        yield
