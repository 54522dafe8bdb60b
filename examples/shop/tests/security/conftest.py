"""The shop's own security checks talk to the running service, like the api tier."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest


@pytest.fixture(scope="session")
def http(target_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target_url, timeout=15, follow_redirects=False) as client:
        yield client
