"""The ``[resilience]`` table: defaults from the spec, validation naming file and key."""

from __future__ import annotations

from typing import Any

import pytest

from stagewise.errors import ConfigError
from stagewise.project.resilience import ResilienceGates, parse_resilience


def parse(data: dict[str, Any]) -> Any:
    return parse_resilience("stagewise.toml", "resilience", data)


def error(data: dict[str, Any]) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(data)
    return str(caught.value)


def test_the_defaults_are_the_specs_promises() -> None:
    config = parse({})
    gates = config.gates
    assert gates.lag_p99_ms == 100
    assert gates.rto_s == 120
    assert gates.rpo_s == 1
    assert gates.availability == 99
    assert gates.routing_accuracy == 95
    assert gates.weight_deviation == 5
    assert gates.p95_ms == 200
    assert gates.error_rate == 1
    assert config.topology == "local"
    assert [r.role for r in config.regions.values()] == ["primary", "replica"]
    assert config.scenario == "default"
    assert {"default", "primary-down", "region-down", "replication-latency", "blackhole"} <= set(
        config.scenarios
    )


def test_gates_layer_project_then_scenario_and_false_turns_one_off() -> None:
    config = parse(
        {
            "gates": {"rto_s": 30, "p95_ms": False},
            "scenarios": {"quick": {"probes": ["failover"], "gates": {"rto_s": 5}}},
        }
    )
    assert config.gates.rto_s == 30
    assert config.gates.p95_ms is None
    scenario_gates = config.gates_for(config.scenarios["quick"])
    assert scenario_gates.rto_s == 5
    assert scenario_gates.lag_p99_ms == ResilienceGates().lag_p99_ms
    assert config.gates_for(config.scenarios["default"]).rto_s == 30


def test_remote_regions_need_url_dsn_and_an_entry_url() -> None:
    regions = {
        "us-east": {
            "url": "https://us.example.com",
            "dsn": "postgresql://u@db-us/x",
            "role": "primary",
            "weight": 80,
        },
        "eu-west": {"url": "https://eu.example.com", "dsn": "postgresql://u@db-eu/x", "weight": 20},
    }
    config = parse({"topology": "remote", "entry_url": "https://api.example.com", "regions": regions})
    assert config.primary.name == "us-east"
    assert config.regions["eu-west"].weight == 20
    assert config.regions["eu-west"].where == "eu-west"
    assert "resilience.entry_url: is required with topology = 'remote'" in error(
        {"topology": "remote", "regions": regions}
    )
    del regions["eu-west"]["dsn"]
    message = error({"topology": "remote", "entry_url": "https://api.example.com", "regions": regions})
    assert message == "stagewise.toml: resilience.regions.eu-west.dsn: is required with topology = 'remote'"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"gates": {"lag_p99": 5}}, "resilience.gates.lag_p99: unknown key"),
        ({"gates": {"availability": 120}}, "resilience.gates.availability: must be a number from 0 to 100"),
        ({"topology": "cloud"}, "resilience.topology: must be one of local, remote"),
        ({"scenario": "nope"}, "resilience.scenario: unknown scenario 'nope'"),
        ({"scenarios": {"x": {"fault": "meteor"}}}, "resilience.scenarios.x.fault: must be one of"),
        (
            {"scenarios": {"x": {"probes": ["lag", "vibes"]}}},
            "resilience.scenarios.x.probes: unknown probe 'vibes'",
        ),
        ({"scenarios": {"x": {"target": "mars"}}}, "resilience.scenarios.x.target: unknown region 'mars'"),
        (
            {"scenarios": {"x": {"fault": "command"}}},
            "resilience.scenarios.x.command: names the [resilience.faults]",
        ),
        (
            {"scenarios": {"x": {"duration": 5, "fault_at": 6}}},
            "resilience.scenarios.x.fault_at: must be before",
        ),
        (
            {"faults": {"f": {"apply": "rm -rf /", "revert": ["true"]}}},
            "resilience.faults.f.apply: must be an argument list",
        ),
        (
            {"faults": {"f": {"apply": ["true"]}}},
            "resilience.faults.f.revert: is required: every fault is reversible",
        ),
        ({"local": {"replication": "semi"}}, "resilience.local.replication: must be one of async, sync"),
        ({"local": {"router": "nginx"}}, "resilience.local.router: must be one of haproxy, builtin"),
        (
            {"regions": {"a": {"role": "primary", "location": "us east"}, "b": {}}},
            "resilience.regions.a.location: must be letters, digits",
        ),
        ({"local": {"promote_after": -1}}, "resilience.local.promote_after: must be a number from 0 to 3600"),
        (
            {"regions": {"a": {"role": "primary"}, "b": {"role": "primary"}}},
            "exactly one region must have role = 'primary' (found 2)",
        ),
        ({"regions": {"a": {"role": "primary"}}}, "resilience.regions: must name at least two regions"),
        ({"regions": {"Bad_Name": {}}}, "resilience.regions.Bad_Name: region names are lower-case"),
        ({"state_dir": "/etc"}, "resilience.state_dir: must be a relative path inside the project"),
        ({"local": {"failover": "pgpool"}}, "resilience.local.failover: must be one of patroni, stagewise"),
        (
            {"kv_table": "kv; DROP TABLE x"},
            "resilience.kv_table: 'kv; DROP TABLE x' is not a plain table name",
        ),
        ({"token_env": "MY TOKEN"}, "resilience.token_env: 'MY TOKEN' is not an environment variable name"),
        (
            {"scenarios": {"x": {"client_deadline": 0}}},
            "resilience.scenarios.x.client_deadline: must be a number from 0.1 to 3600",
        ),
        (
            {"local": {"service": {"env": {"A": "b"}}}},
            "resilience.local.service.command: is required",
        ),
        (
            {"local": {"service": {"command": "python -m app"}}},
            "resilience.local.service.command: must be an argument list",
        ),
        (
            {"local": {"service": {"command": ["app", "--db", "{database}"]}}},
            "resilience.local.service.command: unknown placeholder {database}",
        ),
        (
            {"local": {"service": {"command": ["app"], "env": {"URL": "{dsn}"}}}},
            "resilience.local.service.env: unknown placeholder {dsn}",
        ),
        (
            {"local": {"service": {"command": ["app"], "prestart": ["migrate"]}}},
            "resilience.local.service.prestart: must be a list of argument lists",
        ),
        (
            {"local": {"service": {"command": ["app"], "port": 80}}},
            "resilience.local.service.port",
        ),
        (
            {"local": {"service": {"command": ["app"], "env": {"A=B": "x"}}}},
            "resilience.local.service.env: 'A=B' is not an environment variable name",
        ),
        (
            {"regions": {"etcd": {"role": "primary"}, "b": {}}},
            "resilience.regions.etcd: is the name of a part of the local topology",
        ),
        (
            {"regions": {"a": {"role": "primary"}, "patroni-b": {}}},
            "resilience.regions.patroni-b: is the name of a part of the local topology",
        ),
    ],
)
def test_an_invalid_value_names_the_file_and_the_key(data: dict[str, Any], expected: str) -> None:
    message = error(data)
    assert message.startswith("stagewise.toml: ")
    assert expected in message


def test_a_local_topology_builds_exactly_two_regions() -> None:
    regions = {"a": {"role": "primary"}, "b": {}, "c": {}}
    assert "the local topology builds exactly two regions" in error({"regions": regions})


def test_the_local_router_is_haproxy_unless_builtin_is_asked_for() -> None:
    assert parse({}).local.router == "haproxy"
    assert parse({"local": {"router": "builtin"}}).local.router == "builtin"


def test_patroni_is_the_failover_manager_unless_stagewise_is_asked_for() -> None:
    local = parse({}).local
    assert (local.failover, local.promote_after, local.service) == ("patroni", 5.0, None)
    assert local.network == "netns"  # each region in its own namespace unless loopback is asked for
    assert parse({"local": {"network": "loopback"}}).local.network == "loopback"
    assert parse({"local": {"failover": "stagewise", "promote_after": 2}}).local.failover == "stagewise"


def test_patronis_lease_never_goes_below_five_seconds_and_stays_safe() -> None:
    from stagewise.tiers.resilience.patroni import lease

    for promote_after in (0.5, 1, 5, 8, 30):
        timing = lease(promote_after)
        assert timing["ttl"] >= 5
        assert timing["ttl"] >= max(5, promote_after)
        # A leader that cannot reach etcd steps down before its lease ends.
        assert timing["loop_wait"] + 2 * timing["retry_timeout"] <= timing["ttl"]


def test_a_region_service_is_an_argument_list_with_known_placeholders() -> None:
    config = parse(
        {
            "kv_table": "region_kv",
            "local": {
                "service": {
                    "command": ["{python}", "-m", "shop", "--port", "{port}"],
                    "env": {"DATABASE_URL": "{write_url}", "SHOP_REGION": "{region}"},
                    "prestart": [["{python}", "-m", "shop.migrate"]],
                    "startup_timeout": "90s",
                }
            },
        }
    )
    service = config.local.service
    assert service is not None
    assert service.command == ("{python}", "-m", "shop", "--port", "{port}")
    assert dict(service.env) == {"DATABASE_URL": "{write_url}", "SHOP_REGION": "{region}"}
    assert service.prestart == (("{python}", "-m", "shop.migrate"),)
    assert service.startup_timeout == 90
    assert config.kv_table == "region_kv"
