"""SSE over the ASGI app: bounded streams, replay from an id, heartbeats."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient


def _frames(text: str) -> list[dict[str, str]]:
    frames = []
    for block in text.split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.splitlines():
            key, _, value = line.partition(": ")
            fields[key] = value
        if "id" in fields:
            frames.append(fields)
    return frames


def _paid_order(client: TestClient, auth: dict[str, str]) -> int:
    pid = client.post(
        "/products", json={"name": "P", "price_cents": 100, "stock": 5}, headers=auth
    ).json()["id"]
    cid = client.post("/customers", json={"email": "e@example.com"}, headers=auth).json()["id"]
    body = {"customer_id": cid, "items": [{"product_id": pid, "quantity": 1}]}
    oid = int(client.post("/orders", json=body, headers=auth).json()["id"])
    client.post(f"/orders/{oid}/payments", json={"amount_cents": 100}, headers=auth)
    return oid


def test_replay_from_start_returns_created_then_paid(
    client: TestClient, auth: dict[str, str]
) -> None:
    oid = _paid_order(client, auth)
    resp = client.get("/events/orders", params={"since": 0, "limit": 2})
    assert resp.status_code == 200
    assert resp.headers["content-type"].startswith("text/event-stream")
    frames = _frames(resp.text)
    assert [f["event"] for f in frames] == ["order.created", "order.paid"]
    data = [json.loads(f["data"]) for f in frames]
    assert [d["order_id"] for d in data] == [oid, oid]
    assert data[1]["status"] == "paid"
    assert int(frames[0]["id"]) < int(frames[1]["id"])


def test_last_event_id_resumes_after_that_event(client: TestClient, auth: dict[str, str]) -> None:
    _paid_order(client, auth)
    first = _frames(client.get("/events/orders", params={"since": 0, "limit": 1}).text)
    resumed = client.get(
        "/events/orders", params={"limit": 1}, headers={"Last-Event-ID": first[0]["id"]}
    )
    frames = _frames(resumed.text)
    assert len(frames) == 1
    assert int(frames[0]["id"]) > int(first[0]["id"])
    assert frames[0]["event"] == "order.paid"


def test_live_tail_without_resume_point_skips_history_and_sends_heartbeats(
    client: TestClient, auth: dict[str, str]
) -> None:
    _paid_order(client, auth)
    resp = client.get("/events/orders", params={"max_seconds": 0.7})
    assert resp.text.startswith(": connected\n\n")
    assert _frames(resp.text) == []
    assert ": heartbeat\n\n" in resp.text  # app under test uses a 0.2 s heartbeat


def test_invalid_stream_params_are_rejected(client: TestClient) -> None:
    assert client.get("/events/orders", params={"limit": 0}).status_code == 422
    assert client.get("/events/orders", params={"max_seconds": -1}).status_code == 422
