"""Browser-test helpers. The Chromium executable/launch args are injected by the runner."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest


@pytest.fixture
def api_product(
    target_url: str, auth_headers: dict[str, str], unique: Callable[[str], str]
) -> Callable[..., dict[str, Any]]:
    """Create the product under test via the API so the test never depends on seed data."""

    def make(stock: int, price_cents: int = 1550) -> dict[str, Any]:
        body = {"name": unique("e2e-product"), "price_cents": price_cents, "stock": stock}
        resp = httpx.post(f"{target_url}/products", json=body, headers=auth_headers, timeout=15)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    return make
