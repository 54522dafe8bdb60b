"""Baselines (save, load, compare), scenario overrides, drift, and the Locust command line."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from stagewise.errors import UsageError
from stagewise.project.performance import (
    PerformanceConfig,
    Scenario,
    ShapeStage,
    Tolerance,
    parse_performance,
)
from stagewise.tiers.performance.baseline import (
    BaselineUnavailable,
    baseline_file,
    compare_with_baseline,
    load_baseline,
    save_baseline,
)
from stagewise.tiers.performance.drift import (
    drift_check,
    growth_percent,
    metrics_memory_reader,
    pid_memory_reader,
)
from stagewise.tiers.performance.runner import CPU, PROBE, PerformanceRun, build_command
from stagewise.tiers.performance.scenarios import LoadRequest, resolve_scenario, stress_steps
from stagewise.tiers.performance.stats import ALL_REQUESTS, EndpointStats, LoadStats


def endpoint(name: str, p95: float, rps: float = 100.0, failures: int = 0) -> EndpointStats:
    return EndpointStats(name, 1000, failures, rps, p95 / 2, p95, p95 * 1.5, p95 / 2, 1.0, p95 * 2)


def load(*endpoints: EndpointStats) -> LoadStats:
    total = endpoint(ALL_REQUESTS, max(e.p95_ms for e in endpoints), sum(e.rps for e in endpoints))
    return LoadStats(endpoints=endpoints, total=total, duration_s=10.0, rps_over_time=())


def test_a_saved_baseline_round_trips_and_an_unchanged_run_passes(tmp_path: Path) -> None:
    path = baseline_file(tmp_path, ".stagewise/baselines", "normal-load")
    stats = load(endpoint("GET /a", 40), endpoint("POST /b", 80))
    save_baseline(path, "normal-load", stats, {"run_id": "r1"})
    saved = load_baseline(path, "normal-load")
    assert saved["run_id"] == "r1"
    assert saved["endpoints"]["GET /a"]["p95_ms"] == 40
    checks, notes = compare_with_baseline(saved, stats, Tolerance())
    assert checks
    assert all(c.passed for c in checks)
    assert notes == []


def test_a_planted_regression_fails_with_the_change_and_the_tolerance(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save_baseline(path, "s", load(endpoint("GET /a", 40), endpoint("GET /gone", 10)), {})
    slower = load(endpoint("GET /a", 60), endpoint("GET /new", 10))
    checks, notes = compare_with_baseline(load_baseline(path, "s"), slower, Tolerance(p95=20, min_ms=5))
    failed = [c.message for c in checks if not c.passed]
    assert failed == [
        "regression p95 on GET /a: 60 ms vs baseline 40 ms (+50%, tolerance +20%)",
        "regression p95 on all requests: 60 ms vs baseline 40 ms (+50%, tolerance +20%)",
    ]
    assert notes == [
        "GET /gone is in the baseline but was not requested this run",
        "GET /new is new since the baseline (no comparison)",
    ]


def test_small_absolute_changes_and_throughput_and_errors(tmp_path: Path) -> None:
    path = tmp_path / "b.json"
    save_baseline(path, "s", load(endpoint("GET /a", 2, rps=100)), {})
    now = load(endpoint("GET /a", 4, rps=70, failures=30))  # 2 ms -> 4 ms is +100% but only 2 ms
    checks, _ = compare_with_baseline(
        load_baseline(path, "s"), now, Tolerance(p95=20, rps=10, error_rate=1, min_ms=5)
    )
    failed = sorted(c.message for c in checks if not c.passed)
    assert failed == [
        "regression error_rate on GET /a: 3.0% vs baseline 0.0% (tolerance +1 points)",
        "regression rps on GET /a: 70.0 req/s vs baseline 100.0 req/s (-30%, tolerance -10%)",
        "regression rps on all requests: 70.0 req/s vs baseline 100.0 req/s (-30%, tolerance -10%)",
    ]


def test_a_missing_or_foreign_baseline_says_how_to_record_one(tmp_path: Path) -> None:
    with pytest.raises(BaselineUnavailable, match="--scenario peak-load --save-baseline"):
        load_baseline(tmp_path / "peak-load.json", "peak-load")
    (tmp_path / "x.json").write_text(json.dumps({"schema_version": 99, "endpoints": {}}))
    with pytest.raises(BaselineUnavailable, match="schema version 99"):
        load_baseline(tmp_path / "x.json", "x")


def test_cli_overrides_apply_per_scenario_kind() -> None:
    config = PerformanceConfig()
    normal = resolve_scenario(config, LoadRequest(users=20, duration=120))
    assert (normal.name, normal.users, normal.duration) == ("normal-load", 20, 120)
    assert resolve_scenario(config, LoadRequest()).users == 10
    stress = resolve_scenario(config, LoadRequest(scenario="stress", users=50, duration=5))
    assert (stress.max_users, stress.step_duration) == (50, 5)
    with pytest.raises(UsageError, match="is a load shape"):
        resolve_scenario(config, LoadRequest(scenario="spike", users=5))
    with pytest.raises(UsageError, match="unknown scenario 'soak': scenarios are normal-load, peak-load"):
        resolve_scenario(config, LoadRequest(scenario="soak"))


def test_stress_steps_end_at_max_users() -> None:
    assert stress_steps(Scenario("s", kind="stress", start_users=10, step_users=20, max_users=50)) == [
        10,
        30,
        50,
    ]
    assert stress_steps(Scenario("s", kind="stress", start_users=5, step_users=5, max_users=15)) == [
        5,
        10,
        15,
    ]


def test_growth_and_drift_checks() -> None:
    assert growth_percent([100, 100, 100]) is None  # too few samples to judge
    assert growth_percent([100, 100, 100, 100, 130, 130, 130, 130]) == pytest.approx(30.0)
    check = drift_check("memory_growth", "target", [100.0] * 4 + [130.0] * 4, 20)
    assert check is not None
    assert check.message == "gate memory_growth on target: +30.0% > 20%"
    assert drift_check("memory_growth", "target", [100.0] * 8, None) is None


def test_memory_readers(tmp_path: Path, static_site: str) -> None:
    (tmp_path / "app.pid").write_text(str(os.getpid()))
    rss = pid_memory_reader(tmp_path / "app.pid")()
    assert rss is not None
    assert rss > 1_000_000
    assert pid_memory_reader(tmp_path / "missing.pid")() is None
    (tmp_path / "site" / "metrics").write_text('rss{kind="a"} 10\nrss{kind="b"} 5.5e1\nrss_other 3\n')
    assert metrics_memory_reader(static_site + "/metrics", "rss")() == 65.0
    assert metrics_memory_reader(static_site + "/nothing", "rss")() is None


def run_for(config: PerformanceConfig, request: LoadRequest) -> PerformanceRun:
    return PerformanceRun(
        python="/usr/bin/python3",
        cwd=Path("/p"),
        locustfiles=("tests/performance/locustfile.py",),
        target="http://127.0.0.1:9",
        env={},
        out_dir=Path("/r/performance"),
        log_path=Path("/r/performance.log"),
        junit_path=Path("/r/junit-performance.xml"),
        config=config,
        request=request,
    )


def test_the_locust_command_line() -> None:
    config = PerformanceConfig()
    request = LoadRequest(users=20, duration=90.5, workers=3)
    scenario = resolve_scenario(config, request)
    command = build_command(run_for(config, request), scenario, Path("/r/performance"), 20, scenario.duration)
    assert command[:4] == ["/usr/bin/python3", "-m", "locust", "-f"]
    assert command[4].startswith("tests/performance/locustfile.py,")
    assert command[4].split(",")[1:] == [str(PROBE), str(CPU)]  # the probe, then the generator meter
    text = " ".join(command)
    for expected in (
        "--headless --host http://127.0.0.1:9",
        "--users 20 --spawn-rate 2 --run-time 91s",
        "--csv /r/performance/locust --html /r/performance/locust.html",
        "--json-file /r/performance/locust",
        "--exit-code-on-error 7",
        "--only-summary",
        "--processes 3 --master-bind-host 127.0.0.1",
    ):
        assert expected in text


def test_a_shape_runs_without_users_or_run_time() -> None:
    config = parse_performance(
        "f", "performance", {"scenarios": {"wave": {"stages": [{"duration": 5, "users": 2}]}}}
    )
    scenario = resolve_scenario(config, LoadRequest(scenario="wave"))
    assert scenario.stages == (ShapeStage(5, 2, 2),)
    run = run_for(config, LoadRequest(scenario="wave"))
    command = build_command(run, scenario, Path("/r"), 0, 0)
    assert command[4].endswith("stagewise_shape.py")
    assert "--users" not in command
    assert "--run-time" not in command
