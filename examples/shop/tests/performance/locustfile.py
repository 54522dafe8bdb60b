"""Load test for the shop: the journeys real users take, weighted like real traffic.

Run it through stagewise (``stagewise test --performance``), which points
Locust at the stage's target and applies the gates in stagewise.toml:

- ``Browser``   looks at the storefront, the catalogue and single products;
- ``Buyer``     registers once, then orders something and pays for it;
- ``Watcher``   opens the order event stream (server-sent events) briefly.

Writes need ``Authorization: Bearer $SHOP_API_TOKEN`` (the shop's development
default is ``dev-token``). Every request is checked, so a wrong answer is a
failure in Locust's statistics, not a fast 4xx that looks like good latency.
"""

from __future__ import annotations

import os
import random
import uuid
from typing import Any

from locust import HttpUser, between, task

TOKEN = os.environ.get("SHOP_API_TOKEN") or "dev-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


class Browser(HttpUser):
    """Window shopping: the most common visitor, read-only."""

    weight = 5
    wait_time = between(0.5, 1.5)

    @task(3)
    def storefront(self) -> None:
        self.client.get("/")

    @task(3)
    def catalogue(self) -> None:
        with self.client.get(
            "/products?limit=20", name="/products", catch_response=True
        ) as response:
            if response.status_code != 200 or not isinstance(response.json(), list):
                response.failure(f"catalogue answered {response.status_code}")

    @task(2)
    def product(self) -> None:
        products = self.client.get("/products?limit=20", name="/products").json()
        if products:
            chosen = random.choice(products)
            self.client.get(f"/products/{chosen['id']}", name="/products/{id}")

    @task(1)
    def health(self) -> None:
        self.client.get("/health")


class Buyer(HttpUser):
    """Registers, then repeatedly orders a product and pays for the order."""

    weight = 2
    wait_time = between(1, 2)

    def on_start(self) -> None:
        email = f"load-{uuid.uuid4().hex[:12]}@example.com"
        customer = self.client.post(
            "/customers",
            json={"email": email, "name": "Load Test"},
            headers=AUTH,
            name="/customers",
        )
        customer.raise_for_status()
        self.customer_id: int = customer.json()["id"]
        # Its own product with ample stock, so buyers never contend for the demo stock.
        product = self.client.post(
            "/products",
            json={
                "name": f"load item {uuid.uuid4().hex[:8]}",
                "price_cents": 999,
                "stock": 1_000_000,
            },
            headers=AUTH,
            name="/products",
        )
        product.raise_for_status()
        self.product_id: int = product.json()["id"]

    @task
    def order_and_pay(self) -> None:
        body: dict[str, Any] = {
            "customer_id": self.customer_id,
            "items": [{"product_id": self.product_id, "quantity": random.randint(1, 3)}],
        }
        with self.client.post(
            "/orders", json=body, headers=AUTH, name="/orders", catch_response=True
        ) as made:
            if made.status_code != 201:
                made.failure(f"order answered {made.status_code}: {made.text[:120]}")
                return
            order = made.json()
        paid = self.client.post(
            f"/orders/{order['id']}/payments",
            json={"amount_cents": order["total_cents"]},
            headers=AUTH,
            name="/orders/{id}/payments",
        )
        if paid.ok:
            self.client.get(f"/orders/{order['id']}", name="/orders/{id}")


class Watcher(HttpUser):
    """Subscribes to the order event stream for a moment, as a dashboard would.

    Locust times the request up to the response headers (``stream=True``), so
    the figure is "how fast does the stream open"; reading it is the user's time.
    """

    weight = 1
    wait_time = between(1, 2)

    @task
    def watch_orders(self) -> None:
        with self.client.get(
            "/events/orders?max_seconds=1&limit=5",
            name="/events/orders",
            stream=True,
            catch_response=True,
        ) as response:
            if response.status_code != 200:
                response.failure(f"event stream answered {response.status_code}")
                return
            if not response.headers.get("content-type", "").startswith("text/event-stream"):
                response.failure("event stream is not text/event-stream")
                return
            for _line in response.iter_lines():
                pass
