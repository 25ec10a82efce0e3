"""Settings, read once from the environment at the edge (`get_settings()`)."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from service.shedding import DEFAULT_MAX_IN_FLIGHT

_PLACEHOLDERS = frozenset({"changeme", "change-me", "secret", "token", "password", "test"})
# A bearer token shorter than this is guessable; 32 hex characters is what `openssl rand
# -hex 16` prints.
MIN_TOKEN_CHARS = 16


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


def from_env(env: Mapping[str, str]) -> Settings:
    """Given environment variables, return validated settings."""
    root = project_root()
    token = env.get("LEXCITE_STAFF_TOKEN") or None
    if token is not None and (token.lower() in _PLACEHOLDERS or len(token) < MIN_TOKEN_CHARS):
        raise SettingsError(
            f"LEXCITE_STAFF_TOKEN must be a real secret of at least {MIN_TOKEN_CHARS} characters"
        )
    origins = tuple(o.strip() for o in env.get("LEXCITE_CORS_ORIGINS", "").split(",") if o.strip())
    return Settings(
        data_dir=Path(env.get("LEXCITE_DATA_DIR") or root / "data"),
        corpus_dir=Path(env.get("LEXCITE_CORPUS_DIR") or root / "corpus"),
        model=env.get("LEXCITE_MODEL") or None,
        staff_token=token,
        cors_origins=origins,
        rate_limit_per_minute=_int(env, "LEXCITE_RATE_LIMIT", 120),
        max_body_bytes=_int(env, "LEXCITE_MAX_BODY_BYTES", 6 * 1024 * 1024),
        request_timeout_s=float(_int(env, "LEXCITE_REQUEST_TIMEOUT_S", 10)),
        max_in_flight=_int(env, "LEXCITE_MAX_IN_FLIGHT", DEFAULT_MAX_IN_FLIGHT),
    )


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
