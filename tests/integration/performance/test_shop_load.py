"""examples/shop's locustfile: every journey runs against the real shop and stays under the default gates."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import SHOP, run_cli
from tests.integration.shop.conftest import TOKEN, shop_url

__all__ = ["shop_url"]  # the module-scoped fixture: a migrated shop on a free port

JOURNEYS = {
    "GET /",
    "GET /products",
    "GET /products/{id}",
    "POST /customers",
    "POST /products",
    "POST /orders",
    "POST /orders/{id}/payments",
    "GET /orders/{id}",
    "GET /events/orders",
}


def test_the_shop_locustfile_covers_its_journeys_under_the_default_gates(
    shop_url: str, tmp_path: Path
) -> None:
    reports = tmp_path / "reports"
    done = run_cli(
        "test",
        "--performance",
        "--host",
        shop_url,
        "--users",
        "6",
        "--duration",
        "10",
        "--reports-dir",
        str(reports),
        cwd=SHOP,
        env={"SHOP_API_TOKEN": TOKEN},
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((reports / "latest" / "performance" / "summary.json").read_text())
    endpoints = {e["name"]: e for e in data["stats"]["endpoints"]}
    assert set(endpoints) >= JOURNEYS, sorted(endpoints)
    assert data["stats"]["total"]["failures"] == 0
    assert {g["gate"] for g in data["gates"]} >= {"p95", "error_rate"}
    assert all(g["passed"] for g in data["gates"])
