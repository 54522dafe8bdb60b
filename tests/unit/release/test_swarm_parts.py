"""The swarm release's pure parts: the ports a stack publishes and the gate stack's spec.

The stacks themselves are exercised on a real one-node swarm in
tests/integration/release/test_release_swarm.py; here the documents are the
ones compose renders (``compose config``: long-form ports, mappings).
"""

from __future__ import annotations

from typing import Any

from stagewise.release.compose_slots import release_tag
from stagewise.release.swarm_flow import published_ports
from stagewise.release.swarm_gate import gate_doc

DOC: dict[str, Any] = {
    "services": {
        "db": {
            "image": "stagewise/postgres:15",
            "ports": [{"mode": "host", "target": 5432, "published": "55435", "protocol": "tcp"}],
            "volumes": [{"type": "volume", "source": "dbdata", "target": "/var/lib/postgresql/data"}],
        },
        "app": {
            "build": {"context": "/src/shop"},
            "image": "shop-app:swarm",
            "environment": {
                "DATABASE_URL": "postgresql://shop:pw@db:5432/shop",
                "SHOP_AUTO_MIGRATE": "0",
            },
            "deploy": {"replicas": 2, "endpoint_mode": "dnsrr", "update_config": {"order": "start-first"}},
            "configs": [{"source": "edge", "target": "/srv/edge.py"}],
        },
        "edge": {"image": "stagewise/base:bookworm", "ports": ["8003:8000"]},
    },
    "networks": {"default": {"name": "shop-swarm_default"}},
    "volumes": {"dbdata": {}},
    "configs": {"edge": {"file": "/src/shop/deployment/swarm_edge.py"}},
}


def test_published_ports_names_each_port_and_its_service_in_either_syntax() -> None:
    assert published_ports(DOC) == {55435: "db", 8003: "edge"}


def test_the_gate_stack_runs_the_old_image_once_on_the_scratch_database_and_the_spare_port() -> None:
    doc = gate_doc(
        DOC,
        "shop-swarm",
        "app",
        "shop-app:swarm-v1",
        url_env="DATABASE_URL",
        scratch_url="postgresql://shop:pw@127.0.0.1:55435/stagewise_scratch_7",
        port=18205,
        target_port=8000,
    )
    spec = doc["services"]["app"]
    assert spec["image"] == "shop-app:swarm-v1"
    assert "build" not in spec
    # the task sees the database by its service name; only the database name is the scratch copy's
    assert spec["environment"]["DATABASE_URL"] == "postgresql://shop:pw@db:5432/stagewise_scratch_7"
    assert spec["environment"]["SHOP_AUTO_MIGRATE"] == "0"
    assert spec["ports"] == [{"target": 8000, "published": 18205, "mode": "host", "protocol": "tcp"}]
    assert spec["deploy"]["replicas"] == 1
    assert spec["deploy"]["restart_policy"] == {"condition": "none"}
    assert "update_config" not in spec["deploy"]
    # the stage's stack owns the network and the config: the gate's stack only refers to them
    assert doc["networks"] == {"default": {"external": True, "name": "shop-swarm_default"}}
    assert doc["configs"] == {"edge": {"external": True, "name": "shop-swarm_edge"}}
    assert "volumes" not in doc
    # the stage's document is not changed
    assert DOC["services"]["app"]["image"] == "shop-app:swarm"
    assert DOC["services"]["app"]["environment"]["DATABASE_URL"].endswith("/shop")


def test_a_gate_for_a_service_with_volumes_mounts_the_stage_stacks_volumes() -> None:
    doc = gate_doc(
        DOC,
        "shop-swarm",
        "db",
        "stagewise/postgres:15",
        url_env="DATABASE_URL",
        scratch_url="postgresql://x@h/s",
        port=1,
        target_port=5432,
    )
    assert doc["volumes"] == {"dbdata": {"external": True, "name": "shop-swarm_dbdata"}}
    assert doc["networks"] == {"default": {"external": True, "name": "shop-swarm_default"}}


def test_release_tags_keep_the_repository_and_clean_the_version() -> None:
    assert release_tag("shop-app:swarm", "swarm", "v2") == "shop-app:swarm-v2"
    assert release_tag("registry:5000/shop", "prod", "1.0 beta") == "registry:5000/shop:prod-1.0-beta"
