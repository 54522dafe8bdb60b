"""Fixtures shared by every tier: where the service under test lives and how to write to it.

The runner (stagewise) passes the target through environment variables so the same tests
run against a local server, staging or production (smoke subset only).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable

import pytest


def _first_env(*names: str, default: str) -> str:
    for name in names:
        value = os.environ.get(name, "").strip()
        if value:
            return value
    return default


@pytest.fixture(scope="session")
def target_url() -> str:
    """Base URL of the running service (named target_url: pytest-base-url owns base_url)."""
    url = _first_env("STAGEWISE_BASE_URL", "TARGET_HOST", default="http://localhost:8000")
    if "://" not in url:
        url = f"http://{url}"
    return url.rstrip("/")


@pytest.fixture(scope="session")
def stage() -> str:
    """Deployment stage label, e.g. local / staging / production."""
    return _first_env("STAGEWISE_STAGE", "TEST_ENVIRONMENT", default="local")


@pytest.fixture(scope="session")
def api_token() -> str:
    return _first_env("SHOP_API_TOKEN", default="dev-token")


@pytest.fixture(scope="session")
def auth_headers(api_token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api_token}"}


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Unique names let write tests run repeatedly and in parallel on one server."""
    return lambda prefix: f"{prefix}-{uuid.uuid4().hex[:12]}"
