"""The HAProxy configuration stagewise writes for the local topology's router (no haproxy needed)."""

from __future__ import annotations

import pytest

from stagewise.tiers.resilience.haproxy import Server, render_config, scale_weights, server_states

SERVERS = [
    Server("us-east", "http://127.0.0.1:9001", 80, "us-east"),
    Server("eu-west", "http://10.231.7.2:9002", 20, "eu-west"),
]


def test_weights_become_haproxys_integers_with_the_same_ratios() -> None:
    assert scale_weights({"a": 80, "b": 20}) == {"a": 4, "b": 1}
    assert scale_weights({"a": 50, "b": 50}) == {"a": 1, "b": 1}
    assert scale_weights({"a": 1000, "b": 0.3}) == {"a": 256, "b": 1}  # never rounded down to 0
    assert scale_weights({"a": 100, "b": 0}) == {"a": 1, "b": 0}
    assert all(0 <= w <= 256 for w in scale_weights({"a": 999, "b": 7, "c": 13}).values())


def test_the_config_has_a_weighted_health_checked_backend_and_one_per_client_location() -> None:
    config = render_config(8080, SERVERS)
    assert "    bind 127.0.0.1:8080\n" in config
    assert "    option httpchk GET /health\n" in config
    assert "    server us-east 127.0.0.1:9001 weight 4 check inter 250ms fall 2 rise 2\n" in config
    assert "    server eu-west 10.231.7.2:9002 weight 1 check inter 250ms fall 2 rise 2\n" in config
    assert "    acl from-2 req.hdr(X-Client-Region) -m str eu-west\n" in config
    assert "    use_backend near-2 if from-2 { nbsrv(near-2) gt 0 }\n" in config
    assert "    server eu-west 10.231.7.2:9002 weight 1 track regions/eu-west\n" in config
    assert "    default_backend regions\n" in config
    assert "X-Router haproxy" in config


def test_without_health_check_or_geo_the_planted_misconfigurations_are_in_the_config() -> None:
    config = render_config(8080, SERVERS, health_check=False, geo=False)
    assert "httpchk" not in config
    assert "check inter" not in config
    assert " track " not in config
    assert "X-Client-Region" not in config


def test_a_weight_zero_region_is_a_backup() -> None:
    config = render_config(8080, [SERVERS[0], Server("eu-west", "http://127.0.0.1:9002", 0, "eu-west")])
    assert "    server eu-west 127.0.0.1:9002 weight 1 backup check" in config


def test_a_value_that_is_not_a_plain_token_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be used"):
        render_config(8080, [Server("us-east", "http://127.0.0.1:1", 1, "us east\n  bind *:80")])


def test_server_states_reads_the_stats_csv() -> None:
    csv = (
        "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,\n"
        "entry,FRONTEND,,,0,1,262,3,,,,,,,,,,OPEN,\n"
        "regions,us-east,0,0,0,1,,2,,,,,,,,0,0,UP,\n"
        "regions,eu-west,0,0,0,1,,1,,,,,,,,0,0,DOWN 1/2,\n"
        "regions,BACKEND,0,0,0,1,27,3,,,,,,,,0,0,UP,\n"
        "near-1,us-east,0,0,0,0,,0,,,,,,,,0,0,UP,\n"
    )
    assert server_states(csv) == {"us-east": "UP", "eu-west": "DOWN 1/2"}
