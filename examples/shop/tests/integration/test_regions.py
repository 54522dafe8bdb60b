"""The region contract (shop/regional.py) on the real app, on SQLite and PostgreSQL.

stagewise's resilience tier runs one shop per region and probes it through
these endpoints; here each one is checked against its promise.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from shop.app import create_app
from shop.settings import Settings, load_settings
from tests.integration.conftest import TEST_TOKEN


@pytest.fixture
def region(db_url: str) -> Iterator[TestClient]:
    settings = Settings(database_url=db_url, api_token=TEST_TOKEN, region="eu-west")
    with TestClient(create_app(settings)) as client:
        yield client


def test_every_answer_names_the_region(region: TestClient) -> None:
    assert region.get("/health").headers["X-Region"] == "eu-west"
    assert region.get("/kv/missing").headers["X-Region"] == "eu-west"
    assert region.get("/nowhere").headers["X-Region"] == "eu-west"


def test_the_later_timestamp_wins_whatever_the_order_of_arrival(
    region: TestClient, auth: dict[str, str]
) -> None:
    later = region.put("/kv/k1", json={"value": "later", "ts": 200.0}, headers=auth)
    assert later.status_code == 200
    assert later.json()["winner"] is True
    earlier = region.put("/kv/k1", json={"value": "earlier", "ts": 100.0}, headers=auth)
    assert earlier.status_code == 200
    assert earlier.json()["winner"] is False
    stored = region.get("/kv/k1").json()
    assert (stored["value"], stored["ts"], stored["written_in"]) == ("later", 200.0, "eu-west")
    newest = region.put("/kv/k1", json={"value": "newest", "ts": 300.0}, headers=auth)
    assert newest.json()["winner"] is True
    assert region.get("/kv/k1").json()["value"] == "newest"


def test_writes_need_the_token(region: TestClient) -> None:
    assert region.put("/kv/k", json={"value": "v", "ts": 1.0}).status_code == 401
    assert region.post("/flow/customers", json={"id": "c", "name": "Ada"}).status_code == 401
    assert region.get("/kv/k").status_code == 404  # nothing was stored


def test_register_order_and_read_it_back(region: TestClient, auth: dict[str, str]) -> None:
    customer = region.post("/flow/customers", json={"id": "c-1", "name": "Ada"}, headers=auth)
    assert customer.status_code == 201
    assert customer.json() == {"id": "c-1", "region": "eu-west"}
    order = region.post(
        "/flow/orders", json={"id": "o-1", "customer_id": "c-1", "item": "book"}, headers=auth
    )
    assert order.status_code == 201
    seen = region.get("/flow/orders/o-1")
    assert seen.status_code == 200
    assert seen.json()["item"] == "book"
    assert region.get("/flow/orders/o-2").status_code == 404
    again = region.post("/flow/customers", json={"id": "c-1", "name": "Ada"}, headers=auth)
    assert again.status_code == 409
    assert "region_customers" not in again.text  # no schema details leak into the answer
    bad_id = region.post("/flow/customers", json={"id": "c 2/x", "name": "Bo"}, headers=auth)
    assert bad_id.status_code == 422  # an id the GET path could not read back is refused up front


def test_bad_keys_and_bodies_are_rejected(region: TestClient, auth: dict[str, str]) -> None:
    assert region.put("/kv/a%20b", json={"value": "v", "ts": 1.0}, headers=auth).status_code == 422
    assert region.put("/kv/k", json={"value": "v", "ts": -1}, headers=auth).status_code == 422
    assert region.put("/kv/k", json={"value": "v"}, headers=auth).status_code == 422


def test_without_a_region_the_contract_is_not_served(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert client.put("/kv/k", json={"value": "v", "ts": 1.0}, headers=auth).status_code == 404
    assert "X-Region" not in client.get("/health").headers


def test_health_answers_for_the_regions_own_database(db_url: str, tmp_path: object) -> None:
    """A region whose read database is gone is unhealthy, even while the primary answers."""
    settings = Settings(
        database_url=db_url,
        api_token=TEST_TOKEN,
        region="eu-west",
        read_database_url="postgresql://postgres@127.0.0.1:1/none?connect_timeout=1",
    )
    with TestClient(create_app(settings)) as client:
        assert client.get("/health").status_code == 503


def test_region_names_are_validated() -> None:
    assert load_settings({"SHOP_REGION": "us-east"}).region == "us-east"
    with pytest.raises(ValueError, match="SHOP_REGION must be a region name"):
        load_settings({"SHOP_REGION": "US East; rm"})


def test_a_write_with_no_database_to_take_it_is_503_with_retry_after(
    auth: dict[str, str],
) -> None:
    """During a failover the primary is gone: clients get 503 + Retry-After, not a 500."""
    settings = Settings(
        database_url="postgresql://postgres@127.0.0.1:1/none?connect_timeout=1",
        api_token=TEST_TOKEN,
        region="eu-west",
    )
    with TestClient(create_app(settings)) as client:
        answer = client.put("/kv/k", json={"value": "v", "ts": 1.0}, headers=auth)
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "1"
        assert answer.json()["error"] == "database_unavailable"
        orders = client.get("/orders")
        assert orders.status_code == 503
