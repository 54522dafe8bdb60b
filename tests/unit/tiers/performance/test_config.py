"""The [performance] table: defaults, layering of gates, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from stagewise.project.performance import (
    DEFAULT_LIMITS,
    GateLimits,
    PerformanceConfig,
    ShapeStage,
    parse_performance,
    parse_seconds,
)
from tests.conftest import ProjectFactory

FILE = "stagewise.toml"


def parse(data: dict[str, object]) -> PerformanceConfig:
    return parse_performance(FILE, "performance", data)


def test_defaults_are_the_specs() -> None:
    config = parse({})
    assert config.scenario == "normal-load"
    normal = config.scenarios["normal-load"]
    assert (normal.users, normal.duration) == (10, 60.0)
    assert set(config.scenarios) == {"normal-load", "peak-load", "stress", "endurance", "spike"}
    assert config.gates.default == DEFAULT_LIMITS == GateLimits(p95_ms=200.0, error_rate=1.0)
    assert config.tolerance.p95 == 20.0


def test_gates_layer_from_project_to_scenario_to_endpoint() -> None:
    config = parse(
        {
            "gates": {"p99_ms": 800, "endpoints": {"GET /search": {"p95_ms": 500}}},
            "scenarios": {
                "peak-load": {
                    "users": 40,
                    "gates": {"p95_ms": 300, "endpoints": {"POST /orders": {"error_rate": 0.5}}},
                }
            },
        }
    )
    peak = config.scenarios["peak-load"]
    gates = config.gates_for(peak)
    assert gates.for_endpoint("GET /x") == GateLimits(p95_ms=300, p99_ms=800, error_rate=1.0)
    assert gates.for_endpoint("GET /search").p95_ms == 500  # endpoint beats the scenario's default
    assert gates.for_endpoint("POST /orders") == GateLimits(p95_ms=300, p99_ms=800, error_rate=0.5)
    assert peak.users == 40
    assert peak.spawn_rate == 10  # the built-in's, kept where the file says nothing
    normal = config.gates_for(config.scenarios["normal-load"])
    assert normal.for_endpoint("GET /x").p95_ms == 200


def test_scenario_kinds_parse() -> None:
    config = parse(
        {
            "scenario": "burst",
            "scenarios": {
                "burst": {
                    "stages": [
                        {"duration": "10s", "users": 5},
                        {"duration": "1m", "users": 50, "spawn_rate": 25},
                    ]
                },
                "stress": {
                    "start_users": 5,
                    "step_users": 5,
                    "max_users": 20,
                    "step_duration": 10,
                    "sustain_users": 10,
                },
                "soak": {
                    "kind": "endurance",
                    "duration": "2h",
                    "pid_file": "run/app.pid",
                    "max_memory_growth": 10,
                },
            },
        }
    )
    burst = config.scenarios["burst"]
    assert burst.kind == "shape"
    assert burst.stages == (ShapeStage(10, 5, 5), ShapeStage(60, 50, 25))
    assert config.scenarios["stress"].sustain_users == 10
    soak = config.scenarios["soak"]
    assert (soak.kind, soak.duration, soak.pid_file, soak.max_memory_growth) == (
        "endurance",
        7200,
        "run/app.pid",
        10,
    )
    assert config.scenario == "burst"


@pytest.mark.parametrize(
    ("data", "key", "problem"),
    [
        ({"colour": 1}, "performance.colour", "unknown key"),
        ({"scenario": "nope"}, "performance.scenario", "unknown scenario 'nope'"),
        ({"gates": {"p95": 200}}, "performance.gates.p95", "unknown key"),
        ({"gates": {"p95_ms": -1}}, "performance.gates.p95_ms", "must be a number from 0"),
        ({"gates": {"error_rate": 120}}, "performance.gates.error_rate", "from 0 to 100"),
        ({"gates": {"endpoints": {"/x": {"p95_ms": 1}}}}, "performance.gates.endpoints./x", "'METHOD /path'"),
        ({"scenarios": {"a": {"kind": "soak"}}}, "performance.scenarios.a.kind", "must be one of constant"),
        ({"scenarios": {"a": {"users": 0}}}, "performance.scenarios.a.users", "whole number from 1"),
        (
            {"scenarios": {"a": {"duration": "ten"}}},
            "performance.scenarios.a.duration",
            "duration like '90s'",
        ),
        ({"scenarios": {"a": {"kind": "shape"}}}, "performance.scenarios.a.stages", "needs a non-empty list"),
        (
            {"scenarios": {"a": {"stages": [{"users": 3}]}}},
            "performance.scenarios.a.stages[0].duration",
            "is required",
        ),
        (
            {"scenarios": {"a": {"kind": "stress", "start_users": 9, "max_users": 5}}},
            "performance.scenarios.a.start_users",
            "must not exceed",
        ),
        ({"tolerance": {"p95": "20%"}}, "performance.tolerance.p95", "must be a number"),
        ({"baseline_dir": "../elsewhere"}, "performance.baseline_dir", "inside the project"),
    ],
)
def test_errors_name_the_key_path(data: dict[str, object], key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    assert caught.value.key == key
    assert problem in caught.value.problem
    assert caught.value.path == FILE


@pytest.mark.parametrize(
    ("raw", "seconds"), [(90, 90.0), (1.5, 1.5), ("90s", 90.0), ("5m", 300.0), ("2h", 7200.0), (" 7 ", 7.0)]
)
def test_durations(raw: object, seconds: float) -> None:
    assert parse_seconds(raw) == seconds


@pytest.mark.parametrize("raw", ["5 minutes", "", True, None, [1]])
def test_bad_durations(raw: object) -> None:
    assert parse_seconds(raw) is None


def test_the_loader_reads_the_performance_table(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "stagewise.toml": """
            [tiers.performance]
            paths = ["load/locustfile.py"]

            [performance]
            scenario = "peak-load"

            [performance.gates]
            min_rps = 50
            """
        }
    )
    project = load_project(root)
    assert project.tiers["performance"].paths == ("load/locustfile.py",)
    assert project.tiers["performance"].needs_target
    assert project.performance.scenario == "peak-load"
    assert project.performance.gates.default.min_rps == 50


def test_the_loader_reports_performance_errors_with_the_file(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": "[performance.gates]\np95_ms = 'fast'\n"})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert (
        str(caught.value)
        == f"{root / 'stagewise.toml'}: performance.gates.p95_ms: must be a number from 0 to 3.6e+06"
    )


def test_pyproject_tool_table_prefixes_the_key(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.stagewise.performance]\nworkers = 'two'\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.key == "tool.stagewise.performance.workers"


def test_the_readme_example_is_a_valid_performance_table() -> None:
    import tomllib

    readme = (Path(__file__).resolve().parents[4] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("### Performance tier") :]
    block = section[
        section.index("```toml") + len("```toml") : section.index("```\n", section.index("```toml") + 7)
    ]
    document = tomllib.loads(block)
    config = parse_performance("README.md", "performance", document["performance"])
    assert config.scenarios["stress"].sustain_users == 50
    assert config.scenarios["spike"].stages[1] == ShapeStage(30, 100, 100)
    assert config.gates_for(config.scenarios["peak-load"]).for_endpoint("GET /x").p95_ms == 400
