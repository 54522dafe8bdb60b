"""The JSON API end to end through the ASGI app, on SQLite and on PostgreSQL."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient


def _product(client: TestClient, auth: dict[str, str], stock: int, price: int = 250) -> int:
    resp = client.post(
        "/products", json={"name": "Widget", "price_cents": price, "stock": stock}, headers=auth
    )
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _customer(client: TestClient, auth: dict[str, str], email: str = "ann@example.com") -> int:
    resp = client.post("/customers", json={"email": email, "name": "Ann"}, headers=auth)
    assert resp.status_code == 201, resp.text
    return int(resp.json()["id"])


def _order(
    client: TestClient, auth: dict[str, str], customer: int, items: list[tuple[int, int]]
) -> httpx.Response:
    body = {"customer_id": customer, "items": [{"product_id": p, "quantity": q} for p, q in items]}
    resp: httpx.Response = client.post("/orders", json=body, headers=auth)
    return resp


def test_health_reports_database_ok(client: TestClient) -> None:
    resp = client.get("/health")
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "database": "ok"}


WRITES: list[tuple[str, dict[str, object]]] = [
    ("/customers", {"email": "x@example.com"}),
    ("/products", {"name": "x", "price_cents": 1, "stock": 1}),
    ("/orders", {"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}),
    ("/orders/1/payments", {"amount_cents": 1}),
]


@pytest.mark.parametrize("header", [None, "Bearer wrong", "Basic integration-token", "Bearer "])
def test_writes_require_the_bearer_token(client: TestClient, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    for path, body in WRITES:
        resp = client.post(path, json=body, headers=headers)
        assert resp.status_code == 401, path
        assert resp.headers["www-authenticate"] == "Bearer"
    assert client.get("/customers").json() == []
    assert client.get("/products").json() == []


def test_reads_are_public(client: TestClient, auth: dict[str, str]) -> None:
    pid = _product(client, auth, stock=3)
    assert client.get("/products").json()[0]["id"] == pid
    assert client.get(f"/products/{pid}").json()["stock"] == 3
    assert client.get("/customers").status_code == 200
    assert client.get("/orders").json() == []


def test_customer_crud_and_duplicate_email(client: TestClient, auth: dict[str, str]) -> None:
    cid = _customer(client, auth, "Dup@Example.com")
    assert client.get(f"/customers/{cid}").json()["email"] == "dup@example.com"
    resp = client.post("/customers", json={"email": "dup@example.com"}, headers=auth)
    assert resp.status_code == 409
    assert resp.json()["error"] == "conflict"
    assert client.get("/customers/999999").status_code == 404


def test_order_reserves_stock_and_computes_total(client: TestClient, auth: dict[str, str]) -> None:
    a, b = _product(client, auth, stock=5, price=250), _product(client, auth, stock=2, price=1000)
    cid = _customer(client, auth)
    resp = _order(client, auth, cid, [(a, 2), (b, 1), (a, 1)])
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["status"] == "pending"
    assert order["total_cents"] == 3 * 250 + 1000
    assert sorted((i["product_id"], i["quantity"]) for i in order["items"]) == [(a, 3), (b, 1)]
    assert client.get(f"/products/{a}").json()["stock"] == 2
    assert client.get(f"/products/{b}").json()["stock"] == 1
    assert client.get(f"/orders/{order['id']}").json() == order
    assert [o["id"] for o in client.get("/orders").json()] == [order["id"]]


def test_insufficient_stock_is_409_and_reserves_nothing(
    client: TestClient, auth: dict[str, str]
) -> None:
    plenty, scarce = _product(client, auth, stock=10), _product(client, auth, stock=1)
    cid = _customer(client, auth)
    resp = _order(client, auth, cid, [(plenty, 4), (scarce, 2)])
    assert resp.status_code == 409
    body = resp.json()
    assert body["error"] == "insufficient_stock"
    assert (body["product_id"], body["requested"], body["available"]) == (scarce, 2, 1)
    assert "Not enough stock" in body["detail"]
    # All-or-nothing: the line that did fit must have been rolled back.
    assert client.get(f"/products/{plenty}").json()["stock"] == 10
    assert client.get("/orders").json() == []


def test_order_validation_errors(client: TestClient, auth: dict[str, str]) -> None:
    pid, cid = _product(client, auth, stock=1), _customer(client, auth)
    assert _order(client, auth, cid, [(pid, 0)]).status_code == 422
    assert _order(client, auth, cid, []).status_code == 422
    assert _order(client, auth, 999999, [(pid, 1)]).status_code == 404
    assert _order(client, auth, cid, [(999999, 1)]).status_code == 404


def test_payment_flow(client: TestClient, auth: dict[str, str]) -> None:
    pid, cid = _product(client, auth, stock=3, price=700), _customer(client, auth)
    order_id = _order(client, auth, cid, [(pid, 2)]).json()["id"]
    pay = f"/orders/{order_id}/payments"
    wrong = client.post(pay, json={"amount_cents": 1}, headers=auth)
    assert wrong.status_code == 422
    assert wrong.json()["error"] == "amount_mismatch"
    ok = client.post(pay, json={"amount_cents": 1400}, headers=auth)
    assert ok.status_code == 201
    assert ok.json()["status"] == "paid"
    assert ok.json()["paid_at"] is not None
    again = client.post(pay, json={"amount_cents": 1400}, headers=auth)
    assert again.status_code == 409
    assert again.json()["error"] == "already_paid"
    assert (
        client.post("/orders/999999/payments", json={"amount_cents": 1}, headers=auth).status_code
        == 404
    )


def test_metrics_count_requests_and_orders(client: TestClient, auth: dict[str, str]) -> None:
    pid, cid = _product(client, auth, stock=2), _customer(client, auth)
    assert _order(client, auth, cid, [(pid, 1)]).status_code == 201
    assert _order(client, auth, cid, [(pid, 5)]).status_code == 409
    text = client.get("/metrics").text
    assert "shop_orders_created_total 1.0" in text
    assert 'shop_http_requests_total{method="POST",route="/orders",status="409"} 1.0' in text
    assert 'shop_http_request_duration_seconds_count{method="POST",route="/orders"} 2.0' in text


def test_openapi_lists_the_api(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/customers", "/products", "/orders", "/orders/{order_id}/payments", "/health"):
        assert path in paths
