"""Write scenarios against the running service; unique data makes them repeatable."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx


def _order(http: httpx.Client, headers: dict[str, str], cid: int, pid: int, qty: int):
    body = {"customer_id": cid, "items": [{"product_id": pid, "quantity": qty}]}
    return http.post("/orders", json=body, headers=headers)


def test_writes_without_or_with_wrong_token_are_401(http: httpx.Client) -> None:
    body = {"name": "nope", "price_cents": 1, "stock": 1}
    assert http.post("/products", json=body).status_code == 401
    wrong = {"Authorization": "Bearer definitely-not-the-token"}
    assert http.post("/products", json=body, headers=wrong).status_code == 401
    assert http.post("/customers", json={"email": "x@example.com"}).status_code == 401


def test_create_customer_and_product(
    http: httpx.Client,
    make_product: Callable[..., dict[str, Any]],
    make_customer: Callable[[], dict[str, Any]],
) -> None:
    product = make_product(stock=7, price_cents=450)
    assert http.get(f"/products/{product['id']}").json() == product
    customer = make_customer()
    assert http.get(f"/customers/{customer['id']}").json()["email"] == customer["email"]


def test_order_and_payment_flow(
    http: httpx.Client,
    auth_headers: dict[str, str],
    make_product: Callable[..., dict[str, Any]],
    make_customer: Callable[[], dict[str, Any]],
) -> None:
    product, customer = make_product(stock=3, price_cents=999), make_customer()
    resp = _order(http, auth_headers, customer["id"], product["id"], 2)
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert order["total_cents"] == 1998
    assert http.get(f"/products/{product['id']}").json()["stock"] == 1

    pay = f"/orders/{order['id']}/payments"
    assert http.post(pay, json={"amount_cents": 1}, headers=auth_headers).status_code == 422
    paid = http.post(pay, json={"amount_cents": 1998}, headers=auth_headers)
    assert paid.status_code == 201
    assert paid.json()["status"] == "paid"
    assert http.post(pay, json={"amount_cents": 1998}, headers=auth_headers).status_code == 409
    assert http.get(f"/orders/{order['id']}").json()["status"] == "paid"


def test_insufficient_stock_is_409(
    http: httpx.Client,
    auth_headers: dict[str, str],
    make_product: Callable[..., dict[str, Any]],
    make_customer: Callable[[], dict[str, Any]],
) -> None:
    product, customer = make_product(stock=1), make_customer()
    resp = _order(http, auth_headers, customer["id"], product["id"], 2)
    assert resp.status_code == 409
    assert resp.json()["error"] == "insufficient_stock"
    assert resp.json()["available"] == 1
    assert http.get(f"/products/{product['id']}").json()["stock"] == 1


def _read_events(target_url: str, params: dict[str, Any], headers: dict[str, str], out: list):
    """Collect SSE frames into `out`; a ': connected' marker is appended first."""
    with (
        httpx.Client(base_url=target_url, timeout=30) as client,
        client.stream("GET", "/events/orders", params=params, headers=headers) as resp,
    ):
        assert resp.status_code == 200
        frame: dict[str, str] = {}
        for line in resp.iter_lines():
            if line.startswith(": connected"):
                out.append({"connected": "1"})
            elif line == "":
                if "id" in frame:
                    out.append(frame)
                frame = {}
            elif not line.startswith(":"):
                key, _, value = line.partition(": ")
                frame[key] = value


def test_sse_delivers_order_events_and_resumes(
    http: httpx.Client,
    target_url: str,
    auth_headers: dict[str, str],
    make_product: Callable[..., dict[str, Any]],
    make_customer: Callable[[], dict[str, Any]],
) -> None:
    product, customer = make_product(stock=2, price_cents=300), make_customer()
    live: list[dict[str, str]] = []
    reader = threading.Thread(
        target=_read_events, args=(target_url, {"max_seconds": 10}, {}, live), daemon=True
    )
    reader.start()
    for _ in range(100):  # wait until the server fixed the subscription point
        if live:
            break
        threading.Event().wait(0.05)
    assert live, "SSE stream did not open"

    order = _order(http, auth_headers, customer["id"], product["id"], 1).json()
    created = None
    for _ in range(200):
        created = next(
            (f for f in live[1:] if json.loads(f["data"])["order_id"] == order["id"]), None
        )
        if created:
            break
        threading.Event().wait(0.05)
    assert created is not None, f"order.created for {order['id']} not streamed: {live}"
    assert created["event"] == "order.created"

    paid = http.post(
        f"/orders/{order['id']}/payments", json={"amount_cents": 300}, headers=auth_headers
    )
    assert paid.status_code == 201

    resumed: list[dict[str, str]] = []
    _read_events(target_url, {"max_seconds": 3}, {"Last-Event-ID": created["id"]}, resumed)
    events = resumed[1:]
    assert events, "nothing replayed after Last-Event-ID"
    assert all(int(f["id"]) > int(created["id"]) for f in events)
    mine = [f["event"] for f in events if json.loads(f["data"])["order_id"] == order["id"]]
    assert mine == ["order.paid"]
    reader.join(timeout=15)
