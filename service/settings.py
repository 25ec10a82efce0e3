"""Settings, read once from the environment at the edge (`get_settings()`)."""

from __future__ import annotations

import functools
import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from service.shedding import DEFAULT_MAX_IN_FLIGHT

_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "token", "password", "test"})
# A bearer token shorter than this is guessable; 32 hex characters is what `openssl rand
# -hex 16` prints.
MIN_TOKEN_CHARS = 16
# Questions and searches. A question is at most 1,000 characters (schemas.MAX_QUESTION_CHARS):
# 4 KB as UTF-8, 12 KB if every character comes as a JSON surrogate-pair escape. 16 KiB holds
# that with ordinary filters; only long filter lists on top of such a question exceed it.
DEFAULT_MAX_QUESTION_BYTES = 16 * 1024
# Staff uploads: a document of up to ingest.read.MAX_BYTES in a JSON or multipart body.
DEFAULT_MAX_BODY_BYTES = 6 * 1024 * 1024
# An origin as CSP `frame-ancestors` takes one: scheme, host (a leading `*.` allowed) and an
# optional port; nothing that could end the directive or add another (`;`, `,`, blanks).
_ORIGIN = re.compile(
    r"https?://((\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*|\[[0-9A-Fa-f:.]+\])(:\d{1,5})?"
)
ProxyHeader = Literal["x-forwarded-for", "forwarded"]
LogFormat = Literal["text", "json"]
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(Exception):
    """A setting has a value that cannot be used."""


def project_root() -> Path:
    """The checkout this code runs from (holding pyproject.toml), else the working folder."""
    root = Path(__file__).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else Path.cwd()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the defaults documented in README.md."""

    data_dir: Path
    corpus_dir: Path
    model: str | None
    staff_token: str | None
    cors_origins: tuple[str, ...]
    rate_limit_per_minute: int
    max_body_bytes: int
    request_timeout_s: float
    max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
    max_question_bytes: int = DEFAULT_MAX_QUESTION_BYTES
    embed_origins: tuple[str, ...] = ()
    trusted_proxies: tuple[Network, ...] = ()
    proxy_header: ProxyHeader = "x-forwarded-for"
    log_format: LogFormat = "text"


def from_env(env: Mapping[str, str]) -> Settings:
    """Given environment variables, return validated settings."""
    root = project_root()
    token = env.get("LEXCITE_STAFF_TOKEN") or None
    if token is not None and (token.lower() in _PLACEHOLDERS or len(token) < MIN_TOKEN_CHARS):
        raise SettingsError(
            f"LEXCITE_STAFF_TOKEN must be a real secret of at least {MIN_TOKEN_CHARS} characters"
        )
    origins = _list(env, "LEXCITE_CORS_ORIGINS")
    embed = _list(env, "LEXCITE_EMBED_ORIGINS")
    for origin in embed:
        if not _ORIGIN.fullmatch(origin):
            raise SettingsError(
                f"LEXCITE_EMBED_ORIGINS: {origin!r} is not an origin like https://example.org"
            )
    return Settings(
        data_dir=Path(env.get("LEXCITE_DATA_DIR") or root / "data"),
        corpus_dir=Path(env.get("LEXCITE_CORPUS_DIR") or root / "corpus"),
        model=env.get("LEXCITE_MODEL") or None,
        staff_token=token,
        cors_origins=origins,
        rate_limit_per_minute=_int(env, "LEXCITE_RATE_LIMIT", 120),
        max_body_bytes=_int(env, "LEXCITE_MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES),
        request_timeout_s=float(_int(env, "LEXCITE_REQUEST_TIMEOUT_S", 10)),
        max_in_flight=_int(env, "LEXCITE_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT),
        max_question_bytes=_int(env, "LEXCITE_MAX_QUESTION_BYTES", DEFAULT_MAX_QUESTION_BYTES),
        embed_origins=embed,
        trusted_proxies=tuple(_network(n) for n in _list(env, "LEXCITE_TRUSTED_PROXIES")),
        proxy_header=_choice(env, "LEXCITE_PROXY_HEADER", ("x-forwarded-for", "forwarded")),
        log_format=_choice(env, "LEXCITE_LOG_FORMAT", ("text", "json")),
    )


def _list(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, "").split(",") if item.strip())


def _network(text: str) -> Network:
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError as err:
        raise SettingsError(
            f"LEXCITE_TRUSTED_PROXIES: {text!r} is not an IP address or network (10.0.0.0/8)"
        ) from err


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> Any:
    """The variable's value (lower-cased) if it is one of `choices`; the first when unset."""
    value = (env.get(name) or choices[0]).strip().lower()
    if value not in choices:
        raise SettingsError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as err:
        raise SettingsError(f"{name} must be a whole number, not {raw!r}") from err
    if value < 0:
        raise SettingsError(f"{name} must not be negative")
    return value


@functools.cache
def get_settings() -> Settings:
    """Return the process's settings, read from the environment once."""
    return from_env(os.environ)
