"""Environment parsing: defaults, overrides and loud failures on bad values."""

from __future__ import annotations

import pytest

from shop.db import normalize_url
from shop.settings import DEFAULT_API_TOKEN, load_settings, parse_bool


def test_defaults_when_env_is_empty() -> None:
    settings = load_settings({})
    assert settings.database_url == "sqlite:///./shop.db"
    assert settings.api_token == DEFAULT_API_TOKEN == "dev-token"
    assert settings.sse_heartbeat_seconds == 15.0
    assert settings.auto_migrate is False


def test_overrides_from_env() -> None:
    settings = load_settings(
        {
            "DATABASE_URL": "postgresql://u@h/db",
            "SHOP_API_TOKEN": "s3cret",
            "SHOP_SSE_HEARTBEAT_SECONDS": "0.5",
            "SHOP_AUTO_MIGRATE": "1",
        }
    )
    assert settings.database_url == "postgresql://u@h/db"
    assert settings.api_token == "s3cret"
    assert settings.sse_heartbeat_seconds == 0.5
    assert settings.auto_migrate is True


def test_empty_token_falls_back_to_default() -> None:
    assert load_settings({"SHOP_API_TOKEN": ""}).api_token == "dev-token"


@pytest.mark.parametrize("value", ["0", "-1", "abc"])
def test_bad_heartbeat_is_rejected(value: str) -> None:
    with pytest.raises(ValueError, match="SHOP_SSE_HEARTBEAT_SECONDS"):
        load_settings({"SHOP_SSE_HEARTBEAT_SECONDS": value})


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("TRUE", True), ("on", True), ("0", False), ("", False)]
)
def test_parse_bool(raw: str, expected: bool) -> None:
    assert parse_bool(raw) is expected


def test_parse_bool_rejects_typos() -> None:
    with pytest.raises(ValueError):
        parse_bool("yess")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql://postgres@127.0.0.1:5432/x",
            "postgresql+psycopg://postgres@127.0.0.1:5432/x",
        ),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg://h/db", "postgresql+psycopg://h/db"),
        ("sqlite:///./shop.db", "sqlite:///./shop.db"),
    ],
)
def test_normalize_url_forces_psycopg3(url: str, expected: str) -> None:
    assert normalize_url(url) == expected
