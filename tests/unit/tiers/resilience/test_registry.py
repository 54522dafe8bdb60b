"""The probes' and faults' registries: names, metadata, implementations behind one protocol each.

The runner's phase logic is exercised for real with toy probes and a toy fault
registered for one test (no processes, no namespaces): a ``scenario`` fault
spans the probes and heals before an ``after_heal`` probe, a ``failover``
fault goes to the probe that plants it and is reverted when that probe ends.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stagewise.errors import UsageError
from stagewise.plugins import faults as fault_plugins
from stagewise.plugins.faults import FAILOVER, FAULTS, NONE, ROUTING, SCENARIO, fault_spec, in_phase
from stagewise.plugins.probes import PROBES, probe_spec
from stagewise.plugins.probes import Spec as ProbeSpec
from stagewise.project import resilience as project_resilience
from stagewise.project.resilience import ResilienceConfig, Scenario, parse_resilience
from stagewise.tiers.resilience.faults import Fault, load_builder, make_fault
from stagewise.tiers.resilience.journal import Journal
from stagewise.tiers.resilience.probes import Probe, ProbeContext, ProbeResult, load_probe
from stagewise.tiers.resilience.runner import ResilienceRun, _run_probes, headline
from stagewise.tiers.resilience.topology import Deployment, RegionEndpoint


def test_the_registries_list_the_probes_and_faults_in_the_loaders_order() -> None:
    assert PROBES.names() == ("lag", "routing", "conflict", "flow", "failover", "consistency")
    assert PROBES.names() == project_resilience.PROBES
    assert FAULTS.names() == (
        "stop-primary",
        "kill-region",
        "blackhole",
        "latency",
        "reset",
        "partition",
        "bandwidth",
        "command",
        "none",
    )
    assert FAULTS.names() == project_resilience.FAULTS


def test_each_fault_carries_its_phase_and_what_it_needs() -> None:
    assert in_phase(FAILOVER) == ("stop-primary", "kill-region", "command")
    assert in_phase(SCENARIO) == ("latency", "reset", "partition", "bandwidth")
    assert in_phase(ROUTING) == ("blackhole",)
    assert in_phase(NONE) == ("none",)
    local_only = [s.name for s in FAULTS if s.local_only]
    assert local_only == [
        "stop-primary",
        "kill-region",
        "blackhole",
        "latency",
        "reset",
        "partition",
        "bandwidth",
    ]
    assert [s.name for s in FAULTS if s.needs_namespaces] == ["partition", "bandwidth"]
    assert {s.name: s.tools for s in FAULTS if s.tools} == {
        "blackhole": ("iptables",),
        "partition": ("ip", "iptables"),
        "bandwidth": ("tc",),
    }
    assert all(s.needs_root == bool(s.tools) for s in FAULTS)
    assert all(s.summary for s in FAULTS)
    with pytest.raises(KeyError, match="unknown fault 'flood'"):
        fault_spec("flood")


def test_each_probe_carries_the_phase_it_plants_and_what_it_needs() -> None:
    assert {s.name: s.plants for s in PROBES if s.plants} == {"routing": ROUTING, "failover": FAILOVER}
    assert [s.name for s in PROBES if s.after_heal] == ["consistency"]
    assert [s.name for s in PROBES if s.needs_database] == ["lag", "failover", "consistency"]
    phases = {s.phase for s in FAULTS}
    assert all(s.plants in phases for s in PROBES if s.plants)
    assert all(s.summary for s in PROBES)
    with pytest.raises(KeyError, match="unknown probe 'ping' \\(probes: lag, routing,"):
        probe_spec("ping")


@pytest.mark.parametrize("name", PROBES.names())
def test_each_registered_probe_resolves_to_a_probe(name: str) -> None:
    probe = load_probe(name)
    assert isinstance(probe, Probe)
    assert probe.name == name
    assert list(inspect.signature(probe.run).parameters) == ["context"]


@pytest.mark.parametrize("kind", [s.name for s in FAULTS if s.implementation])
def test_each_registered_fault_resolves_to_a_builder_with_the_one_signature(kind: str) -> None:
    builder = load_builder(kind)
    assert list(inspect.signature(builder).parameters) == ["config", "scenario", "deployment"]
    assert fault_spec(kind).phase != NONE
    with pytest.raises(KeyError, match="fault 'none' has no builder"):
        load_builder("none")


def test_each_probe_renders_its_own_headline_figures() -> None:
    lag = ProbeResult(
        "lag", figures={"eu": {"p50_ms": 1.0, "p95_ms": 2.0, "p99_ms": 3.0, "max_ms": 4.0, "unseen": 0}}
    )
    routing = ProbeResult(
        "routing",
        figures={
            "accuracy": 99.0,
            "weight_deviation": 1.5,
            "p95_ms": 12.0,
            "error_rate": 0.0,
            "health": {"last_routed_to_failed_s": 0.8},
        },
    )
    failover = ProbeResult(
        "failover",
        figures={
            "rto_s": 3.2,
            "rpo_rows": 0,
            "rpo_s": 0.0,
            "availability": 99.5,
            "attempt_success": 97.0,
            "fault": "x",
        },
    )
    flow = ProbeResult("flow", figures={"flow_s": 0.4, "steps": []})
    quiet = [
        ProbeResult("conflict", figures={"keys": 20}),
        ProbeResult("consistency", figures={"catch_up_s": 0.1}),
    ]
    steady = ProbeResult("steady-state")
    figures = headline([lag, routing, *quiet, flow, failover, steady])
    assert figures == {
        "lag_p50_ms[eu]": 1.0,
        "lag_p95_ms[eu]": 2.0,
        "lag_p99_ms[eu]": 3.0,
        "lag_max_ms[eu]": 4.0,
        "routing_accuracy": 99.0,
        "routing_weight_deviation": 1.5,
        "routing_p95_ms": 12.0,
        "routing_error_rate": 0.0,
        "health_reroute_s": 0.8,
        "flow_s": 0.4,
        "rto_s": 3.2,
        "rpo_rows": 0,
        "rpo_s": 0.0,
        "availability": 99.5,
        "attempt_success": 97.0,
    }
    assert list(figures)[:4] == ["lag_p50_ms[eu]", "lag_p95_ms[eu]", "lag_p99_ms[eu]", "lag_max_ms[eu]"]
    assert headline([ProbeResult("routing", figures={"accuracy": 90.0})])["routing_p95_ms"] is None


def _config(tmp_path: Path) -> ResilienceConfig:
    code = "import pathlib, sys; pathlib.Path(sys.argv[1]).touch()"
    return parse_resilience(
        "stagewise.toml",
        "resilience",
        {
            "faults": {
                "flip": {
                    "apply": [sys.executable, "-c", code, str(tmp_path / "applied")],
                    "revert": [sys.executable, "-c", code, str(tmp_path / "reverted")],
                }
            }
        },
    )


def _deployment(tmp_path: Path, *, local: bool) -> Deployment:
    regions = {
        name: RegionEndpoint(name, role, 50.0, name, f"http://127.0.0.1:{port}", "postgresql://x@127.0.0.1/x")
        for name, role, port in (("eu", "primary", 9), ("us", "replica", 10))
    }
    return Deployment(regions, "http://127.0.0.1:11", Journal(tmp_path / "state"), local=local)


def test_make_fault_checks_the_faults_needs_before_building_it(tmp_path: Path) -> None:
    config = _config(tmp_path)
    remote, loopback = _deployment(tmp_path, local=False), _deployment(tmp_path, local=True)
    assert make_fault(config, Scenario("calm", fault="none"), remote) is None
    with pytest.raises(UsageError, match="fault 'kill-region' needs the local topology"):
        make_fault(config, Scenario("down", fault="kill-region"), remote)
    with pytest.raises(UsageError, match="fault 'partition' needs regions in network namespaces"):
        make_fault(config, Scenario("cut", fault="partition"), loopback)
    killed = make_fault(config, Scenario("down", fault="kill-region"), loopback)
    assert killed is not None
    assert (killed.kind, killed.phase, killed.target, killed.applied_at) == (
        "kill-region",
        FAILOVER,
        "eu",
        None,
    )


def test_a_command_fault_is_built_from_the_registry_and_runs_its_argument_lists(tmp_path: Path) -> None:
    fault = make_fault(
        _config(tmp_path),
        Scenario("flip", fault="command", command="flip"),
        _deployment(tmp_path, local=False),
    )
    assert fault is not None
    assert fault.phase == FAILOVER
    fault.apply()
    assert (tmp_path / "applied").exists()
    assert not (tmp_path / "reverted").exists()
    fault.revert()
    assert (tmp_path / "reverted").exists()


EVENTS: list[str] = []
WATCH: list[Path] = []  # files whose existence a toy probe reports when it starts


class ToyProbe:
    """A probe that records what it was handed, and applies a fault it plants."""

    def __init__(self, name: str) -> None:
        self.name = name

    def run(self, context: ProbeContext) -> ProbeResult:
        fault = context.fault
        EVENTS.append(f"{self.name} got {fault.kind if fault else 'no fault'}")
        EVENTS.extend(f"{self.name} sees {path.name}" for path in WATCH if path.exists())
        if fault is not None:
            fault.apply()
        return ProbeResult(self.name, figures={"seen": 1})

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        return {f"{self.name}_seen": result.figures["seen"]}


def toy_plain() -> ToyProbe:
    return ToyProbe("toy-plain")


def toy_planter() -> ToyProbe:
    return ToyProbe("toy-planter")


def toy_healed() -> ToyProbe:
    return ToyProbe("toy-healed")


def toy_link(config: ResilienceConfig, scenario: Scenario, deployment: Deployment) -> Fault:
    del config, scenario
    return Fault(
        "toy-link",
        "a toy link fault",
        deployment,
        lambda: EVENTS.append("applied"),
        lambda: EVENTS.append("reverted"),
    )


@pytest.fixture
def toys() -> Iterator[None]:
    here = __name__
    specs = [
        ProbeSpec("toy-plain", f"{here}:toy_plain"),
        ProbeSpec("toy-planter", f"{here}:toy_planter", plants=FAILOVER),
        ProbeSpec("toy-healed", f"{here}:toy_healed", after_heal=True),
    ]
    for spec in specs:
        PROBES.register(spec)
    FAULTS.register(fault_plugins.Spec("toy-link", f"{here}:toy_link", phase=SCENARIO))
    EVENTS.clear()
    WATCH.clear()
    try:
        yield
    finally:
        for spec in specs:
            PROBES.unregister(spec.name)
        FAULTS.unregister("toy-link")


def _run(tmp_path: Path, scenario: Scenario) -> list[ProbeResult]:
    config = _config(tmp_path)
    run = ResilienceRun(tmp_path, config, tmp_path / "out", tmp_path / "junit.xml", tmp_path / "log")
    lines: list[str] = []
    results = _run_probes(run, scenario, _deployment(tmp_path, local=True), lines.append)
    EVENTS.extend(line for line in lines if "reverted before" in line)
    return results


@pytest.mark.usefixtures("toys")
def test_a_scenario_fault_spans_the_probes_and_heals_before_an_after_heal_probe(tmp_path: Path) -> None:
    results = _run(
        tmp_path, Scenario("toy", probes=("toy-plain", "toy-planter", "toy-healed"), fault="toy-link")
    )
    assert EVENTS == [
        "applied",
        "toy-plain got no fault",
        "toy-planter got no fault",
        "reverted",
        "toy-healed got no fault",
        "resilience: toy-link reverted before the toy-healed probe",
    ]
    assert headline(results) == {"toy-plain_seen": 1, "toy-planter_seen": 1, "toy-healed_seen": 1}


@pytest.mark.usefixtures("toys")
def test_a_failover_fault_goes_to_the_probe_that_plants_it_and_is_reverted_when_it_ends(
    tmp_path: Path,
) -> None:
    scenario = Scenario(
        "toy", probes=("toy-plain", "toy-planter", "toy-healed"), fault="command", command="flip"
    )
    WATCH.extend([tmp_path / "applied", tmp_path / "reverted"])
    _run(tmp_path, scenario)
    assert EVENTS == [
        "toy-plain got no fault",
        "toy-planter got command",
        "toy-healed got no fault",
        "toy-healed sees applied",
        "toy-healed sees reverted",  # reverted as soon as the planting probe ended
    ]
