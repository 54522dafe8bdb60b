"""Runtime configuration read from environment variables (12-factor, no config files)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_DATABASE_URL = "sqlite:///./shop.db"
DEFAULT_API_TOKEN = "dev-token"  # noqa: S105 - documented development default
DEFAULT_HEARTBEAT_SECONDS = 15.0

_REGION = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Immutable settings so one app instance never sees config change underneath it."""

    database_url: str = DEFAULT_DATABASE_URL
    api_token: str = DEFAULT_API_TOKEN
    sse_heartbeat_seconds: float = DEFAULT_HEARTBEAT_SECONDS
    auto_migrate: bool = False
    # Multi-region: reads from the region's own database, and the region contract mounted.
    read_database_url: str | None = None
    region: str | None = None


def parse_bool(value: str) -> bool:
    """Parse a boolean env flag strictly, so typos fail loudly instead of meaning False."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"not a boolean flag: {value!r}")


def parse_positive_float(name: str, value: str) -> float:
    """Parse a strictly positive number; zero would make the SSE loop spin."""
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number > 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return number


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build Settings from an environment mapping (defaults to os.environ)."""
    source = os.environ if env is None else env
    heartbeat_raw = source.get("SHOP_SSE_HEARTBEAT_SECONDS")
    heartbeat = (
        DEFAULT_HEARTBEAT_SECONDS
        if heartbeat_raw in (None, "")
        else parse_positive_float("SHOP_SSE_HEARTBEAT_SECONDS", heartbeat_raw)
    )
    token = source.get("SHOP_API_TOKEN") or DEFAULT_API_TOKEN
    region = source.get("SHOP_REGION") or None
    if region is not None and not _REGION.match(region):
        raise ValueError(f"SHOP_REGION must be a region name like eu-west, got {region!r}")
    return Settings(
        database_url=source.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
        api_token=token,
        sse_heartbeat_seconds=heartbeat,
        auto_migrate=parse_bool(source.get("SHOP_AUTO_MIGRATE", "0")),
        read_database_url=source.get("DATABASE_READ_URL") or None,
        region=region,
    )
