"""HTTP client fixtures for tests that talk to an already running service."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest


@pytest.fixture(scope="session")
def http(target_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=target_url, timeout=15) as client:
        yield client


@pytest.fixture
def make_product(
    http: httpx.Client, auth_headers: dict[str, str], unique: Callable[[str], str]
) -> Callable[..., dict[str, Any]]:
    def make(stock: int = 5, price_cents: int = 1234) -> dict[str, Any]:
        body = {"name": unique("api-product"), "price_cents": price_cents, "stock": stock}
        resp = http.post("/products", json=body, headers=auth_headers)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    return make


@pytest.fixture
def make_customer(
    http: httpx.Client, auth_headers: dict[str, str], unique: Callable[[str], str]
) -> Callable[[], dict[str, Any]]:
    def make() -> dict[str, Any]:
        resp = http.post(
            "/customers", json={"email": f"{unique('api')}@example.com"}, headers=auth_headers
        )
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    return make
