"""``stagewise test --resilience`` on the real local topology, through the CLI as a user runs it.

Each run builds a PostgreSQL primary and a streaming replica, two region
services, the router and the failover manager, plants its scenario's fault,
and tears everything down; the autouse fixture checks nothing is left.
Runs are bounded: a failover loop of a few seconds, tens of markers.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import ProjectFactory
from tests.helpers import run_cli
from tests.integration.resilience.conftest import needs_iptables, needs_netns, needs_patroni, needs_pg

pytestmark = [
    needs_pg,
    needs_patroni,
    pytest.mark.xdist_group("resilience"),
]  # one topology at a time: the leftovers check is machine-wide


def resilience(root: Path, tmp_path: Path, *args: str, timeout: float = 180) -> tuple[int, str, Path]:
    """Run the CLI's resilience tier; return exit code, output and the run folder."""
    reports = tmp_path / "reports"
    done = run_cli(
        "test",
        "--resilience",
        "--no-progress",
        "--reports-dir",
        str(reports),
        *args,
        cwd=root,
        timeout=timeout,
    )
    return done.returncode, done.stdout + done.stderr, reports / "latest"


def summary(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "resilience" / "summary.json").read_text())
    return data


def probe(data: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(p for p in data["probes"] if p["probe"] == name)
    return found


@needs_netns
def test_the_default_scenario_passes_every_default_gate(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"stagewise.toml": "[project]\nname = 'regions'\n"})
    code, out, run_dir = resilience(root, tmp_path)
    assert code == 0, out
    # Each region in its own namespace (the default); HAProxy on the host reaches them over the bridge.
    assert "namespaces on bridge swbr-" in out
    assert re.search(r"; router http://127\.0\.0\.1:\d+ \((haproxy|builtin)\)", out), out
    data = summary(run_dir)
    assert all(re.match(r"http://10\.231\.\d+\.\d:\d+$", r["url"]) for r in data["regions"].values())
    if haproxy_binary() is not None:
        router = (root / ".stagewise" / "resilience" / "stagewise-resilience-router.cfg").read_text()
        assert re.search(r"server us-east 10\.231\.\d+\.\d:\d+ weight 1 check", router), router
    figures = data["figures"]
    assert figures["rpo_rows"] == 0
    assert 0 < figures["rto_s"] < 10  # Patroni takes the lead once the 5 s lease runs out
    assert figures["availability"] >= 99
    assert figures["lag_p99_ms[eu-west]"] < 100
    assert figures["routing_accuracy"] == 100
    assert figures["routing_weight_deviation"] <= 5
    assert {p["probe"] for p in data["probes"]} == {
        "lag",
        "routing",
        "conflict",
        "flow",
        "failover",
        "consistency",
        "steady-state",
    }
    failover = probe(data, "failover")
    assert failover["figures"]["promoted"] is True
    assert any(second["fault"] for second in failover["timeline"])
    assert "PASS  failover: RTO (fault to first successful write)" in out
    junit = (run_dir / "resilience" / "junit-resilience.xml").read_text()
    assert 'name="resilience.default.failover"' in junit
    assert "<failure" not in junit
    page = (run_dir / "index.html").read_text()
    assert "<section id='resilience'>" in page
    assert "availability-chart" in page
    assert re.search(r"fault at \d+ s · recovered at \d+ s · replica promoted at \d+\.\d s", page), page[
        page.index("id='resilience'") :
    ][:600]
    record = json.loads((run_dir / "summary.json").read_text())
    assert record["tiers"][0]["resilience"]["figures"]["rpo_rows"] == 0


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(("patroni", 8, 4.0, 6.0, 11.0), id="patroni-netns", marks=needs_netns),
        pytest.param(("stagewise", 3, 1.5, 3.0, 6.0), id="stagewise-loopback"),
    ],
)
def test_a_failover_slower_than_the_rto_gate_fails_it_with_the_measured_value(
    make_project: ProjectFactory, tmp_path: Path, case: tuple[str, float, float, float, float]
) -> None:
    """Patroni with an 8 s lease (or stagewise's own manager promoting after 3 s) misses a tighter RTO."""
    manager, promote_after, gate, low, high = case
    root = make_project(
        {
            "stagewise.toml": f"""
                [resilience.local]
                failover = "{manager}"
                promote_after = {promote_after}
                network = "{"netns" if manager == "patroni" else "loopback"}"

                [resilience.scenarios.slow-failover]
                probes = ["failover"]
                fault = "stop-primary"
                duration = {promote_after + 6}
                fault_at = 1
                gates = {{ rto_s = {gate} }}
            """
        }
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "slow-failover")
    assert code == 1, out
    match = re.search(rf"failover: RTO \(fault to first successful write\) (\d+\.\d\d) s > {gate:.2f} s", out)
    assert match, out
    assert low <= float(match.group(1)) < high
    data = summary(run_dir)
    assert (
        data["figures"]["rto_s"] == float(match.group(1))
        or abs(data["figures"]["rto_s"] - float(match.group(1))) < 0.01
    )
    junit = (run_dir / "resilience" / "junit-resilience.xml").read_text()
    assert "<failure" in junit
    assert "RTO (fault to first successful write)" in junit


@needs_netns
def test_latency_on_the_replication_link_fails_the_lag_gate(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.scenarios.replication-latency]
                markers = 15
                latency_ms = 150
                jitter_ms = 10
            """
        }
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "replication-latency")
    assert code == 1, out
    match = re.search(r"lag: replication lag P99 to eu-west (\d+\.\d) ms >= 100\.0 ms", out)
    assert match, out
    assert float(match.group(1)) >= 140  # one-way delay on the link, jitter +/- 10 ms
    lag = probe(summary(run_dir), "lag")["figures"]["eu-west"]
    assert lag["p50_ms"] >= 140
    assert lag["markers"] == 15


@needs_netns
def test_the_same_link_without_latency_passes_the_lag_gate(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.scenarios.clean-link]
                probes = ["lag", "consistency"]
                fault = "none"
                markers = 30
            """
        }
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "clean-link")
    assert code == 0, out
    assert re.search(r"PASS  lag: replication lag P99 to eu-west \d+\.\d ms < 100\.0 ms", out), out
    assert probe(summary(run_dir), "consistency")["passed"] is True


@needs_netns
def test_killing_a_region_is_absorbed_by_the_health_checked_router(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {"stagewise.toml": "[resilience.scenarios.region-down]\nduration = 5\nfault_at = 1\n"}
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "region-down")
    assert code == 0, out
    failover = probe(summary(run_dir), "failover")
    assert failover["figures"]["fault"] == "kill region us-east's service"
    assert failover["figures"]["rpo_rows"] == 0
    assert failover["figures"]["availability"] == 100.0


@needs_iptables
@needs_netns
def test_a_blackholed_region_fails_health_routing_when_the_router_has_no_health_check(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.local]
                health_check = false

                [resilience.scenarios.blackhole]
                requests = 40
                gates = { health_reroute_s = 2 }
            """
        }
    )
    code, out, _run_dir = resilience(root, tmp_path, "--scenario", "blackhole")
    assert code == 1, out
    assert re.search(
        r"routing: blackholed region eu-west still got traffic after (\d+\.\d\d) s > 2\.00 s", out
    ), out


@needs_iptables
@needs_netns
def test_a_blackholed_region_passes_health_routing_when_the_router_checks_health(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": """
                [resilience.scenarios.blackhole]
                requests = 40
                gates = { health_reroute_s = 2 }
            """
        }
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "blackhole")
    assert code == 0, out
    health = probe(summary(run_dir), "routing")["figures"]["health"]
    assert health["blackholed"] == "eu-west"
    assert health["last_routed_to_failed_s"] <= 2
    assert health["recovery_s"] <= 2
    assert re.search(
        r"PASS  routing: traffic back to eu-west after it recovered \d+\.\d\d s <= 2\.00 s", out
    ), out


def test_an_unknown_scenario_is_a_usage_error(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"stagewise.toml": "[project]\nname = 'x'\n"})
    code, out, _ = resilience(root, tmp_path, "--scenario", "nope", timeout=30)
    assert code == 2, out
    assert "unknown resilience scenario 'nope'" in out
    assert "primary-down" in out


def test_an_invalid_key_is_exit_3_naming_file_and_key(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"stagewise.toml": "[resilience.gates]\nlag_p99 = 100\n"})
    code, out, _ = resilience(root, tmp_path, timeout=30)
    assert code == 3, out
    assert "stagewise.toml: resilience.gates.lag_p99: unknown key" in out


NETNS = '[resilience.local]\nnetwork = "netns"\n'


def test_regions_on_loopback_pass_the_default_scenario(make_project: ProjectFactory, tmp_path: Path) -> None:
    """Without namespaces (a machine without root) every region runs on 127.0.0.1, Patroni still fails over."""
    root = make_project({"stagewise.toml": '[resilience.local]\nnetwork = "loopback"\n'})
    code, out, run_dir = resilience(root, tmp_path)
    assert code == 0, out
    assert "namespaces on bridge" not in out
    assert "under Patroni" in out
    data = summary(run_dir)
    assert all(re.match(r"http://127\.0\.0\.1:\d+$", r["url"]) for r in data["regions"].values())
    assert probe(data, "failover")["figures"]["promoted"] is True


@needs_netns
def test_a_partition_fails_the_lag_and_availability_gates_and_heals_without_split_brain(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"stagewise.toml": NETNS + "[resilience.scenarios.partition]\nduration = 5\n"})
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "partition")
    assert code == 1, out
    assert "FAIL  lag: replication lag P99 to eu-west 1000.0 ms >= 100.0 ms" in out
    assert re.search(
        r"FAIL  failover: availability over the failover window \(\d+/\d+ writes\) \d+\.\d% < 99\.0%", out
    )
    consistency = probe(summary(run_dir), "consistency")
    assert consistency["passed"] is True  # healed before the check, and converged
    assert consistency["figures"]["writable"] == ["us-east"]  # no split brain: nobody promoted the replica
    assert "5 marker(s) never reached eu-west within 1 s" in out


@needs_netns
def test_a_bandwidth_limit_into_the_replica_fails_the_lag_gate(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {"stagewise.toml": NETNS + "[resilience.scenarios.bandwidth]\nmarkers = 3\nrate_kbit = 256\n"}
    )
    code, out, run_dir = resilience(root, tmp_path, "--scenario", "bandwidth")
    assert code == 1, out
    match = re.search(r"FAIL  lag: replication lag P99 to eu-west (\d+\.\d) ms >= 100\.0 ms", out)
    assert match, out
    # 32 kB of incompressible padding per marker at 256 kbit/s (32 kB/s): about a second each.
    assert 600 <= float(match.group(1)) <= 2500  # the poll itself queues behind the padding in the tbf
    assert "limit traffic into eu-west to 256 kbit/s (tc tbf)" in out
    lag = probe(summary(run_dir), "lag")["figures"]["eu-west"]
    assert lag["p50_ms"] >= 600
    assert lag["markers"] == 3


def test_a_namespace_fault_on_the_loopback_network_is_a_usage_error(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"stagewise.toml": '[resilience.local]\nnetwork = "loopback"\n'})
    code, out, _ = resilience(root, tmp_path, "--scenario", "partition")
    assert code == 2, out
    assert (
        "fault 'partition' needs regions in network namespaces: set [resilience.local] network = 'netns'"
        in out
    )


@needs_netns
def test_resetting_the_replication_link_fails_the_lag_gate(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "stagewise.toml": '[resilience.scenarios.reset-link]\nprobes = ["lag"]\nfault = "reset"\nmarkers = 3\n'
        }
    )
    code, out, _run_dir = resilience(root, tmp_path, "--scenario", "reset-link")
    assert code == 1, out
    assert "fault reset the replication link" in out
    assert "FAIL  lag: replication lag P99 to eu-west 1000.0 ms >= 100.0 ms" in out
    assert "3 marker(s) never reached eu-west within 1 s" in out
