"""The shop's own security requirements, checked against the running service.

stagewise's security tier runs generic checks (headers, CORS, fuzzing,
bandit, dependencies); these are the rules only the shop knows: which
operations are writes that need the token, what its error bodies may say,
and that its page cannot be framed.
"""

from __future__ import annotations

import httpx
import pytest

WRITES = [
    ("/customers", {"email": "sec@example.com", "name": "Sec"}),
    ("/products", {"name": "sec", "price_cents": 100, "stock": 1}),
    ("/orders", {"customer_id": 1, "items": [{"product_id": 1, "quantity": 1}]}),
    ("/orders/1/payments", {"amount_cents": 100}),
]


@pytest.mark.parametrize(("path", "body"), WRITES, ids=[w[0] for w in WRITES])
def test_every_write_needs_the_bearer_token(
    http: httpx.Client, path: str, body: dict[str, object]
) -> None:
    anonymous = http.post(path, json=body)
    forged = http.post(path, json=body, headers={"Authorization": "Bearer not-the-token"})
    assert anonymous.status_code == 401, anonymous.text
    assert forged.status_code == 401, forged.text
    assert anonymous.json() == {
        "error": "unauthorized",
        "detail": "missing or invalid bearer token",
    }
    assert anonymous.headers["www-authenticate"] == "Bearer"


def test_the_storefront_cannot_be_framed_or_sniffed(http: httpx.Client) -> None:
    page = http.get("/")
    assert page.status_code == 200
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert "unsafe-inline" not in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"
    assert page.headers["x-content-type-options"] == "nosniff"


def test_errors_never_leak_internals(http: httpx.Client) -> None:
    for response in (
        http.get("/products/not-a-number"),
        http.get("/orders/999999999"),
        http.post(
            "/products", content=b'{"broken": ', headers={"Content-Type": "application/json"}
        ),
    ):
        assert response.status_code < 500, response.text
        assert "Traceback" not in response.text
        assert "sqlalchemy" not in response.text.lower()


def test_no_cross_origin_reads(http: httpx.Client) -> None:
    answer = http.get("/products", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in answer.headers
