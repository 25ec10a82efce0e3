"""Settings from the environment: the serving settings' defaults and their validation."""

from __future__ import annotations

from ipaddress import ip_network

import pytest

from service.settings import SettingsError, from_env


def test_defaults_trust_no_proxy_and_let_no_site_frame_the_pages() -> None:
    settings = from_env({})
    assert settings.max_question_bytes == 16 * 1024
    assert settings.max_body_bytes == 6 * 1024 * 1024
    assert settings.embed_origins == ()
    assert settings.trusted_proxies == ()
    assert settings.proxy_header == "x-forwarded-for"
    assert settings.log_format == "text"


def test_serving_settings_are_read() -> None:
    settings = from_env(
        {
            "LEXCITE_MAX_QUESTION_BYTES": "4096",
            "LEXCITE_EMBED_ORIGINS": "https://firm.example, http://127.0.0.1:8080,https://*.x.org",
            "LEXCITE_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8,::1, fd00::/8",
            "LEXCITE_PROXY_HEADER": "Forwarded",
            "LEXCITE_LOG_FORMAT": "json",
        }
    )
    assert settings.max_question_bytes == 4096
    assert settings.embed_origins == (
        "https://firm.example",
        "http://127.0.0.1:8080",
        "https://*.x.org",
    )
    assert settings.trusted_proxies == tuple(
        ip_network(n) for n in ("127.0.0.1/32", "10.0.0.0/8", "::1/128", "fd00::/8")
    )
    assert settings.proxy_header == "forwarded" and settings.log_format == "json"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LEXCITE_EMBED_ORIGINS", "https://firm.example; script-src *"),
        ("LEXCITE_EMBED_ORIGINS", "firm.example"),
        ("LEXCITE_EMBED_ORIGINS", "https://firm.example/path"),
        ("LEXCITE_EMBED_ORIGINS", "*"),
        ("LEXCITE_EMBED_ORIGINS", "'none'"),
        ("LEXCITE_TRUSTED_PROXIES", "proxy.internal"),
        ("LEXCITE_TRUSTED_PROXIES", "10.0.0.0/33"),
        ("LEXCITE_PROXY_HEADER", "x-real-ip"),
        ("LEXCITE_LOG_FORMAT", "xml"),
        ("LEXCITE_MAX_QUESTION_BYTES", "16k"),
    ],
)
def test_unusable_values_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        from_env({name: value})
