"""Write scenarios against the running service; unique data makes them repeatable."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.app


def _order(
    http: httpx.Client, headers: dict[str, str], cid: int, pid: int, qty: int
) -> httpx.Response:
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


def _frames(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Group SSE lines into frames; comment frames come back as {"comment": text}."""
    frame: dict[str, str] = {}
    for line in lines:
        if line == "":
            if frame:
                yield frame
            frame = {}
        elif line.startswith(":"):
            frame["comment"] = line[1:].strip()
        else:
            key, _, value = line.partition(": ")
            frame[key] = value


def test_sse_delivers_order_events_and_resumes(
    http: httpx.Client,
    auth_headers: dict[str, str],
    make_product: Callable[..., dict[str, Any]],
    make_customer: Callable[[], dict[str, Any]],
) -> None:
    product, customer = make_product(stock=2, price_cents=300), make_customer()
    with http.stream("GET", "/events/orders", params={"max_seconds": 20}) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        frames = _frames(resp.iter_lines())
        assert next(frames) == {"comment": "connected"}  # subscription point is now fixed
        order = _order(http, auth_headers, customer["id"], product["id"], 1).json()
        # Other clients may create orders concurrently: skip frames that are not ours.
        created = next(
            f for f in frames if "data" in f and json.loads(f["data"])["order_id"] == order["id"]
        )
    assert created["event"] == "order.created"
    assert json.loads(created["data"])["total_cents"] == 300

    paid = http.post(
        f"/orders/{order['id']}/payments", json={"amount_cents": 300}, headers=auth_headers
    )
    assert paid.status_code == 201

    headers = {"Last-Event-ID": created["id"]}
    with http.stream("GET", "/events/orders", params={"max_seconds": 1.5}, headers=headers) as r:
        replayed = [f for f in _frames(r.iter_lines()) if "id" in f]
    assert replayed, "nothing replayed after Last-Event-ID"
    assert all(int(f["id"]) > int(created["id"]) for f in replayed)
    mine = [f["event"] for f in replayed if json.loads(f["data"])["order_id"] == order["id"]]
    assert mine == ["order.paid"]
