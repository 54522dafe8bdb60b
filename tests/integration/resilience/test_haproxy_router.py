"""HAProxy is the local topology's router: weights, health checks and X-Client-Region through it.

Each test builds the real topology (PostgreSQL primary + replica, two region
services) and talks to the entry URL the probes use; the autouse fixture
checks that no process (haproxy included) is left afterwards.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from stagewise.project.resilience import LocalTopology, Region, ResilienceConfig
from stagewise.tiers.resilience import launch, topology
from stagewise.tiers.resilience.haproxy import fetch_states, haproxy_binary
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.topology import (
    Deployment,
    build_local,
    http_json,
    kill,
    restart,
    start_router,
    wait_healthy,
)
from tests.conftest import requires
from tests.integration.resilience.conftest import needs_patroni, needs_pg

needs_haproxy = requires(haproxy_binary() is not None, "needs haproxy (apt-get install haproxy)")

pytestmark = [
    needs_pg,
    needs_patroni,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide


@pytest.fixture
def deployment(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Deployment]:
    """A running topology; ``request.param`` is (us-east weight, eu-west weight, health_check, router)."""
    us, eu, health_check, router = request.param
    config = ResilienceConfig(
        regions={"us-east": Region("us-east", "primary", us), "eu-west": Region("eu-west", "replica", eu)},
        local=LocalTopology(health_check=health_check, router=router, network="loopback"),
    )
    built = build_local(config, Journal(tmp_path / "state"), tmp_path / "state")
    try:
        yield built
    finally:
        built.close()


def served(entry_url: str, location: str | None = None) -> tuple[int, str | None, dict[str, str]]:
    """One request through the router: status, the region that answered, the answer's headers."""
    headers = {"X-Client-Region": location} if location else {}
    status, _payload, answer = http_json("GET", f"{entry_url}/health", headers=headers, timeout=3)
    lower = {k.lower(): v for k, v in answer.items()}
    return status, lower.get("x-region"), lower


def process_name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text(encoding="utf-8").strip()


@needs_haproxy
@pytest.mark.parametrize("deployment", [(80, 20, True, "haproxy")], indirect=True)
def test_haproxy_is_the_router_and_serves_the_weights_and_client_regions(deployment: Deployment) -> None:
    router = deployment.services["router"]
    assert router.process is not None
    assert process_name(router.process.pid) == "haproxy"
    assert router.argv[1:3] == ["-db", "-f"]
    config = Path(router.argv[3]).read_text(encoding="utf-8")
    assert "weight 4 check" in config  # 80/20 as HAProxy's integers
    assert "weight 1 check" in config
    status, region, headers = served(deployment.entry_url)
    assert status == 200
    assert headers["x-router"] == "haproxy"  # the answer went through HAProxy
    assert headers["x-routed-to"] == region
    shares = Counter(served(deployment.entry_url)[1] for _ in range(100))
    assert shares == {"us-east": 80, "eu-west": 20}
    for location in ("us-east", "eu-west", "us-east"):
        assert {served(deployment.entry_url, location)[1] for _ in range(5)} == {location}
    assert Counter(served(deployment.entry_url, "mars")[1] for _ in range(10)) == {"us-east": 8, "eu-west": 2}


@needs_haproxy
@pytest.mark.parametrize("deployment", [(50, 50, True, "haproxy")], indirect=True)
def test_haproxy_health_checks_send_a_dead_regions_clients_elsewhere_and_back(deployment: Deployment) -> None:
    kill(deployment, "eu-west")
    answers = [served(deployment.entry_url) for _ in range(10)]
    assert [(status, region) for status, region, _ in answers] == [(200, "us-east")] * 10  # redispatched
    deadline = time.monotonic() + 3  # fall 2 x inter 250 ms
    while time.monotonic() < deadline and not fetch_states(deployment.entry_url)["eu-west"].startswith(
        "DOWN"
    ):
        time.sleep(0.05)
    assert fetch_states(deployment.entry_url)["eu-west"].startswith("DOWN")
    # nbsrv(eu-west's backend) is 0 now: its clients fall back to the weighted backend.
    assert {served(deployment.entry_url, "eu-west")[:2] for _ in range(6)} == {(200, "us-east")}
    restart(deployment, "eu-west")
    deadline = time.monotonic() + 5
    back = None
    while time.monotonic() < deadline and back != "eu-west":
        back = served(deployment.entry_url, "eu-west")[1]
        time.sleep(0.05)
    assert back == "eu-west"  # rise 2: the client's own region again
    assert fetch_states(deployment.entry_url) == {"us-east": "UP", "eu-west": "UP"}


@needs_haproxy
@pytest.mark.parametrize("deployment", [(50, 50, False, "haproxy")], indirect=True)
def test_haproxy_without_health_check_has_no_check_lines(deployment: Deployment) -> None:
    router = deployment.services["router"]
    config = Path(router.argv[3]).read_text(encoding="utf-8")
    assert "httpchk" not in config
    assert "check inter" not in config
    assert served(deployment.entry_url)[2]["x-router"] == "haproxy"


@pytest.mark.parametrize("deployment", [(50, 50, True, "builtin")], indirect=True)
def test_router_builtin_uses_stagewises_own_router(deployment: Deployment) -> None:
    router = deployment.services["router"]
    assert "stagewise.tiers.resilience.router" in router.argv
    _status, region, headers = served(deployment.entry_url)
    assert "x-router" not in headers
    assert headers["x-routed-to"] == region


@needs_haproxy
@pytest.mark.parametrize("deployment", [(50, 50, True, "haproxy")], indirect=True)
def test_without_haproxy_installed_the_builtin_router_stands_in_with_a_note(
    deployment: Deployment, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(launch, "haproxy_binary", lambda: None)
    url = start_router(deployment, True, sys.executable, tmp_path)
    assert any("haproxy is not installed" in note for note in deployment.notes), deployment.notes
    assert topology.router_kind(deployment) == "haproxy"  # the first router; this one is its stand-in
    wait_healthy(url, "the builtin router")
    assert served(url)[0] == 200
    assert "x-router" not in served(url)[2]
