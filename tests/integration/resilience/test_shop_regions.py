"""examples/shop in every region: `stagewise test --resilience` on the reference service.

The shop's own stagewise.toml says how to run it per region
([resilience.local.service]); the local topology migrates the primary with
the shop's Alembic migrations, starts one shop per region (reads from its own
region's database, writes through the multi-host URL), and Patroni does the
failover. Every default gate must pass, and the evidence must show that the
probes went through the shop's own tables.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SHOP, cli_env
from tests.integration.resilience.conftest import needs_netns, needs_patroni, needs_pg

pytestmark = [needs_pg, needs_patroni, needs_netns, pytest.mark.xdist_group("resilience")]


def test_the_shop_passes_every_default_gate_in_its_local_topology(tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "stagewise",
            "test",
            "--resilience",
            "--no-progress",
            "--reports-dir",
            str(reports),
        ],
        cwd=SHOP,
        env=cli_env({}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "under Patroni" in out
    summary = json.loads((reports / "latest" / "resilience" / "summary.json").read_text())
    figures = summary["figures"]
    assert figures["rpo_rows"] == 0  # read back from the shop's region_kv table
    assert figures["availability"] >= 99
    assert figures["routing_accuracy"] == 100
    consistency = next(p for p in summary["probes"] if p["probe"] == "consistency")
    tables = set(consistency["figures"]["regions"]["eu-west"])
    assert {"region_kv", "region_orders", "customers", "orders", "alembic_version"} <= tables
    assert consistency["figures"]["regions"]["eu-west"]["region_kv"]["rows"] > 100
    log = (SHOP / ".stagewise" / "resilience" / "logs" / "region-eu-west.log").read_text()
    assert "Traceback" not in log
