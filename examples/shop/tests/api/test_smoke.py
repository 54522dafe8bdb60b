"""Read-only checks: safe against any stage, including production."""

from __future__ import annotations

import httpx
import pytest

pytestmark = [pytest.mark.smoke, pytest.mark.app]


def test_health_ok(http: httpx.Client) -> None:
    resp = http.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok"}


def test_metrics_exposition(http: httpx.Client) -> None:
    http.get("/health")
    resp = http.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/plain")
    assert 'shop_http_requests_total{method="GET",route="/health",status="200"}' in resp.text
    assert "shop_http_request_duration_seconds_bucket" in resp.text
    assert "shop_orders_created_total" in resp.text


def test_openapi_describes_api(http: httpx.Client) -> None:
    spec = http.get("/openapi.json").json()
    assert spec["info"]["title"] == "shop"
    assert {"/products", "/orders", "/customers", "/events/orders"} <= set(spec["paths"])


def test_list_products(http: httpx.Client) -> None:
    resp = http.get("/products", params={"limit": 5})
    assert resp.status_code == 200
    products = resp.json()
    assert isinstance(products, list)
    assert len(products) <= 5
    for product in products:
        assert {"id", "name", "price_cents", "stock"} <= set(product)


def test_storefront_page(http: httpx.Client) -> None:
    resp = http.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert "id='order-form'" in resp.text


def test_unknown_product_is_404(http: httpx.Client) -> None:
    assert http.get("/products/2147483647").status_code == 404
