"""The client's address behind reverse proxies, as ASGI middleware.

A proxy says whom it forwards for in `X-Forwarded-For` or `Forwarded` (RFC 7239), but any
client can send those headers too. So they are believed only from the trusted proxies
(`LEXCITE_TRUSTED_PROXIES`), and read from the right: each trusted proxy appends the
address it was connected from, so the first address from the right that is not a trusted
proxy is the client's. Whatever a client writes further left is never reached. From
anyone else the headers are ignored and the peer's own address is the client's.

`lexcite serve` turns uvicorn's own proxy-header handling off (it trusts 127.0.0.1 by
default), so this is the one place that decides.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence

from starlette.types import ASGIApp, Receive, Scope, Send

from service.settings import Network, ProxyHeader

# `for=` (and `proto=`) in one element of a Forwarded header: a token or a quoted string.
_PAIR = re.compile(r'(?i)\b(for|proto)\s*=\s*("[^"]*"|[^;,\s]*)')
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class ClientAddress:
    """Set `scope["client"]` (and `scope["scheme"]`) from the trusted proxies' headers."""

    def __init__(
        self, app: ASGIApp, trusted: Sequence[Network], header: ProxyHeader = "x-forwarded-for"
    ) -> None:
        self.app = app
        self.trusted = tuple(trusted)
        self.header = header

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and self._is_trusted(_peer(scope)):
            hops, scheme = forwarded_hops(scope["headers"], self.header)
            client = self.client(_peer(scope), hops)
            if client is not None:
                port = 0 if client != _peer(scope) else scope["client"][1]
                scope = {**scope, "client": (client, port)}
                if scheme is not None:
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)

    def client(self, peer: str | None, hops: Sequence[str]) -> str | None:
        """Given the peer (a trusted proxy) and the forwarded-for addresses, left to right,
        return the client's address: the first from the right that is not a trusted proxy.
        A hop that is not an address (`unknown`, an obfuscated name) ends the walk at the
        proxy that wrote it; a chain of trusted proxies only yields its leftmost."""
        client = peer
        for hop in reversed(hops):
            address = _address(hop)
            if address is None:
                break
            client = str(address)
            if not self._is_trusted(client):
                break
        return client

    def _is_trusted(self, address: str | None) -> bool:
        parsed = _address(address or "")
        return parsed is not None and any(parsed in network for network in self.trusted)


def forwarded_hops(
    headers: Sequence[tuple[bytes, bytes]], header: ProxyHeader
) -> tuple[list[str], str | None]:
    """Given raw request headers, return the forwarded-for hops, left to right, of every
    `header` line joined, and the scheme the nearest proxy reports (None: not said)."""
    name = header.encode()
    values = [v.decode("latin-1") for k, v in headers if k.lower() == name]
    if header == "x-forwarded-for":
        hops = [h.strip() for v in values for h in v.split(",") if h.strip()]
        protos = [v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-proto"]
        proto = protos[-1].split(",")[-1].strip().lower() if protos else None
    else:
        hops, proto = [], None
        for element in (e for v in values for e in v.split(",")):
            pairs = {k.lower(): v.strip('"') for k, v in _PAIR.findall(element)}
            if "for" in pairs:
                hops.append(pairs["for"])
            proto = pairs.get("proto", proto)
        proto = proto.lower() if proto else None
    return hops, proto if proto in ("http", "https") else None


def _peer(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None


def _address(text: str) -> IPAddress | None:
    """An address from a hop: `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]:4711`, `::1`."""
    text = text.strip()
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:
        text = text.split(":")[0]
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
