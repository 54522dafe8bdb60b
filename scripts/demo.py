"""``make demo``: the whole staged pipeline on examples/shop, with embedded defaults.

One stagewise command does it all: the dev stage's target answers nowhere, so
stagewise starts the shop through the local backend (migrating its SQLite
database first), runs unit -> integration -> api -> e2e with coverage against
it, then a 20-second Locust load test under the default gates (p95 < 200 ms,
errors < 1%) and the security tier (bandit, dependency audit, API fuzzing,
passive HTTP checks, the shop's own security tests) and the resilience tier
(the shop in two regions, each in its own network namespace: a PostgreSQL
primary and a streaming replica under Patroni with etcd, HAProxy in front;
the primary's host killed while clients write, the failover measured), stops
everything whatever happens, and exits with the verdict; the run's report
(reports/latest/index.html) has every tier, the latency chart, the failover
timeline and the findings. A fresh API token is made for the run so no default secret is ever
used.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"


def main() -> int:
    env = dict(os.environ)
    env.setdefault("SHOP_API_TOKEN", secrets.token_hex(16))
    command = [sys.executable, "-m", "stagewise", "test", "--stage", "dev", "--all", "--coverage"]
    command += ["--performance", "--users", "10", "--duration", "20s", "--security", "--resilience"]
    command += ["--project", str(SHOP), "--reports-dir", str(REPO / "reports")]
    print("demo: " + " ".join(command[1:]), flush=True)
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
