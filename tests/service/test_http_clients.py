"""Client addresses behind reverse proxies: X-Forwarded-For and Forwarded are believed only
from LEXCITE_TRUSTED_PROXIES, and the rate limit and the access log use the address found."""

from __future__ import annotations

import asyncio
import logging
from ipaddress import ip_network

import pytest
from fastapi.testclient import TestClient
from starlette.types import Receive, Scope, Send

from service.proxies import ClientAddress, forwarded_hops
from tests.service.conftest import MakeClient

PROXY = ("10.0.0.2", 40000)
TRUSTED = (ip_network("10.0.0.0/8"),)


def peer(client: TestClient, address: tuple[str, int]) -> TestClient:
    """Another test client of the same started app, connecting from `address`."""
    return TestClient(client.app, client=address)


def access_clients(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.client for r in caplog.records if r.name == "lexcite.access"]  # type: ignore[attr-defined]


def test_forged_headers_from_an_untrusted_address_change_nothing(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    client = peer(make_client(rate_limit_per_minute=1, trusted_proxies=TRUSTED), ("203.0.113.9", 1))
    caplog.set_level(logging.INFO, "lexcite.access")
    assert (
        client.get("/v1/documents", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    )
    forged = [
        {"X-Forwarded-For": "198.51.100.2"},
        {"Forwarded": "for=198.51.100.3"},
        {"X-Forwarded-For": "10.0.0.5, 198.51.100.4"},
        {"X-Real-IP": "198.51.100.5"},
    ]
    for headers in forged:
        assert client.get("/v1/documents", headers=headers).status_code == 429, headers
    assert set(access_clients(caplog)) == {"203.0.113.9"}


def test_with_no_trusted_proxy_even_loopback_is_not_believed(make_client: MakeClient) -> None:
    client = peer(make_client(rate_limit_per_minute=1), ("127.0.0.1", 1))
    assert (
        client.get("/v1/documents", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    )
    for n in range(2, 12):
        headers = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert client.get("/v1/documents", headers=headers).status_code == 429


def test_a_trusted_proxy_names_the_client_for_the_rate_limit_and_the_log(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    proxy = peer(make_client(rate_limit_per_minute=1, trusted_proxies=TRUSTED), PROXY)
    caplog.set_level(logging.INFO, "lexcite.access")

    def status(forwarded_for: str) -> int:
        return proxy.get("/v1/documents", headers={"X-Forwarded-For": forwarded_for}).status_code

    assert status("198.51.100.1") == 200
    assert status("198.51.100.1") == 429  # the same client again
    assert status("198.51.100.2") == 200  # another client behind the same proxy
    # What a client writes is left of what the proxy appends, and is never reached.
    assert status("192.0.2.77, 198.51.100.1") == 429
    # Through two trusted proxies: the first address from the right that is not one.
    assert status("198.51.100.3, 10.9.9.9") == 200
    assert status("198.51.100.3") == 429
    assert access_clients(caplog) == [
        "198.51.100.1",
        "198.51.100.1",
        "198.51.100.2",
        "198.51.100.1",
        "198.51.100.3",
        "198.51.100.3",
    ]
    # No header at all: the proxy itself is the client.
    assert proxy.get("/v1/documents").status_code == 200
    assert access_clients(caplog)[-1] == PROXY[0]


def test_the_forwarded_header_when_the_proxy_writes_that_one(make_client: MakeClient) -> None:
    proxy = peer(
        make_client(rate_limit_per_minute=1, trusted_proxies=TRUSTED, proxy_header="forwarded"),
        PROXY,
    )

    def status(headers: dict[str, str]) -> int:
        return proxy.get("/v1/documents", headers=headers).status_code

    assert status({"Forwarded": 'for="[2001:db8::17]:4711";proto=https'}) == 200
    assert status({"Forwarded": 'for=192.0.2.1, for="[2001:db8::17]"'}) == 429
    # In this mode X-Forwarded-For is a client's header like any other: not believed.
    assert status({"X-Forwarded-For": "198.51.100.9"}) == 200  # the proxy's own address
    assert status({"X-Forwarded-For": "198.51.100.10"}) == 429


def test_the_scheme_a_trusted_proxy_reports_is_used() -> None:
    seen: list[tuple[str, tuple[str, int]]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append((scope["scheme"], scope["client"]))

    middleware = ClientAddress(app, TRUSTED)
    headers = [(b"x-forwarded-for", b"198.51.100.1"), (b"x-forwarded-proto", b"https")]
    for client in (PROXY, ("192.0.2.1", 5)):
        scope = {"type": "http", "scheme": "http", "client": client, "headers": headers}
        asyncio.run(middleware(scope, None, None))  # type: ignore[arg-type]
    assert seen == [("https", ("198.51.100.1", 0)), ("http", ("192.0.2.1", 5))]


@pytest.mark.parametrize(
    ("hops", "client"),
    [
        ([], "10.0.0.2"),
        (["198.51.100.1"], "198.51.100.1"),
        (["198.51.100.1:4711"], "198.51.100.1"),
        (["[2001:db8::1]:4711"], "2001:db8::1"),
        (["2001:db8::1"], "2001:db8::1"),
        (["198.51.100.1", "10.1.1.1", "10.2.2.2"], "198.51.100.1"),
        (["10.1.1.1", "10.2.2.2"], "10.1.1.1"),  # all trusted: the leftmost
        (["198.51.100.1", "unknown"], "10.0.0.2"),  # the proxy could not say: itself
        (["198.51.100.1", "_hidden", "10.3.3.3"], "10.3.3.3"),
        (["not an address"], "10.0.0.2"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(hops: list[str], client: str) -> None:
    assert ClientAddress(None, TRUSTED).client("10.0.0.2", hops) == client  # type: ignore[arg-type]


def test_forwarded_headers_are_parsed_across_lines_and_elements() -> None:
    headers = [
        (b"x-forwarded-for", b"198.51.100.1, 10.0.0.3"),
        (b"X-Forwarded-For", b"10.0.0.4"),
        (
            b"forwarded",
            b'for=192.0.2.60;proto=HTTPS;by=203.0.113.43, For="[2001:db8:cafe::17]:4711"',
        ),
    ]
    assert forwarded_hops(headers, "x-forwarded-for") == (
        ["198.51.100.1", "10.0.0.3", "10.0.0.4"],
        None,
    )
    assert forwarded_hops(headers, "forwarded") == (
        ["192.0.2.60", "[2001:db8:cafe::17]:4711"],
        "https",
    )
    assert forwarded_hops([(b"forwarded", b"for=1.2.3.4;proto=gopher")], "forwarded") == (
        ["1.2.3.4"],
        None,
    )
