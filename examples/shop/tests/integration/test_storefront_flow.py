"""The public HTML storefront and its form checkout, through the ASGI app."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient


def _product(client: TestClient, auth: dict[str, str], name: str, stock: int) -> int:
    body = {"name": name, "price_cents": 1999, "stock": stock}
    resp = client.post("/products", json=body, headers=auth)
    assert resp.status_code == 201
    return int(resp.json()["id"])


def test_storefront_lists_products(client: TestClient, auth: dict[str, str]) -> None:
    pid = _product(client, auth, "Teapot <b>", stock=4)
    resp = client.get("/")
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/html")
    assert f"data-product-id='{pid}'" in resp.text
    assert "Teapot &lt;b&gt;" in resp.text
    assert "$19.99" in resp.text
    assert "http://" not in resp.text and "https://" not in resp.text  # no external assets


def test_checkout_creates_customer_and_order(client: TestClient, auth: dict[str, str]) -> None:
    pid = _product(client, auth, "Mug", stock=3)
    form = {"email": "Shopper@Example.com", "product_id": str(pid), "quantity": "2"}
    resp = client.post("/shop/checkout", data=form)
    assert resp.status_code == 201
    match = re.search(r"data-order-id='(\d+)'", resp.text)
    assert match, resp.text
    order = client.get(f"/orders/{match.group(1)}").json()
    assert order["total_cents"] == 3998
    customer = client.get(f"/customers/{order['customer_id']}").json()
    assert customer["email"] == "shopper@example.com"
    assert client.get(f"/products/{pid}").json()["stock"] == 1
    # A second order by the same shopper reuses the customer row.
    again = client.post("/shop/checkout", data={**form, "quantity": "1"})
    assert again.status_code == 201
    assert len(client.get("/customers").json()) == 1


def test_checkout_insufficient_stock_shows_error(client: TestClient, auth: dict[str, str]) -> None:
    pid = _product(client, auth, "Kettle", stock=1)
    form = {"email": "a@example.com", "product_id": str(pid), "quantity": "5"}
    resp = client.post("/shop/checkout", data=form)
    assert resp.status_code == 409
    assert "id='order-error'" in resp.text
    assert "only 1 left" in resp.text
    assert "order-confirmation" not in resp.text
    assert client.get(f"/products/{pid}").json()["stock"] == 1


def test_checkout_rejects_bad_input(client: TestClient, auth: dict[str, str]) -> None:
    pid = _product(client, auth, "Filter", stock=1)
    bad = [
        {"email": "nope", "product_id": str(pid), "quantity": "1"},
        {"email": "a@example.com", "product_id": str(pid), "quantity": "0"},
        {"email": "a@example.com", "product_id": "x", "quantity": "1"},
    ]
    for form in bad:
        resp = client.post("/shop/checkout", data=form)
        assert resp.status_code == 422, form
        assert "id='order-error'" in resp.text
    missing = {"email": "a@example.com", "product_id": "999999", "quantity": "1"}
    assert client.post("/shop/checkout", data=missing).status_code == 404
    assert client.get("/orders").json() == []
