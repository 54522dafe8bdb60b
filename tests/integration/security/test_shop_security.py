"""examples/shop passes its own security gate: nothing at or above medium, every check that can run ran.

The shop is fuzzed with its write token (``security.fuzz.auth_env``), so the
fuzzer gets past authentication and exercises the real handlers; its own
``tests/security`` run too.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers import SHOP, run_cli
from tests.integration.security.conftest import ShopServer

AT_OR_ABOVE_MEDIUM = ("critical", "high", "medium")


def test_the_shop_comes_out_clean(shop_server: ShopServer, tmp_path: Path) -> None:
    reports = tmp_path / "reports"
    done = run_cli(
        "test", "--security", "--target", shop_server.url, "--reports-dir", str(reports), "--no-progress",
        cwd=SHOP, env={"SHOP_API_TOKEN": shop_server.token},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    document = json.loads((reports / "latest" / "security" / "findings.json").read_text())
    serious = [f for f in document["findings"] if f["severity"] in AT_OR_ABOVE_MEDIUM]
    assert serious == []
    assert document["fail_on"] == "medium"
    statuses = {c["name"]: c["status"] for c in document["checks"]}
    for name in ("bandit", "fuzz", "passive", "tests"):
        assert statuses[name] in ("passed", "findings"), (name, document["checks"])
    assert statuses["zap"] == "not-run"
    fuzz = next(c for c in document["checks"] if c["name"] == "fuzz")
    assert (
        fuzz["notes"]
        == [
            "not fuzzed: GET /events/orders",  # the endless event stream; nothing else
            f"OpenAPI document: {shop_server.url}/openapi.json (found at /openapi.json)",  # an app factory: not named
        ]
    )
    assert "SHOP_API_TOKEN is not set" not in json.dumps(document)  # fuzzed behind the token
    assert shop_server.token not in (done.stdout + json.dumps(document))  # the token never leaks
