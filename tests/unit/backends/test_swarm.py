"""The swarm backend's pure parts: what Swarm ignores, replica counts, update defaults, registration."""

from __future__ import annotations

from stagewise.backends.swarm_compose import for_swarm
from stagewise.backends.swarm_engine import replicas
from stagewise.backends.swarm_release import UPDATE_DEFAULTS, with_update_defaults
from stagewise.plugins.backends import BACKENDS

DOC = {
    "version": "3",
    "services": {
        "app": {"build": {"context": "."}, "depends_on": {"db": {"condition": "service_healthy"}}},
        "db": {"image": "stagewise/postgres:15", "restart": "always"},
    },
    "volumes": {"dbdata": {}},
}


def test_keys_swarm_ignores_are_each_named_once_and_removed() -> None:
    rendered, notes = for_swarm(DOC, "shop-swarm")
    assert rendered["version"] == "3.8"
    assert rendered["volumes"] == {"dbdata": {}}
    app = rendered["services"]["app"]
    assert app["image"] == "shop-swarm_app", "a build with no image deploys the image compose builds"
    assert "build" not in app
    assert "depends_on" not in app
    assert "restart" not in rendered["services"]["db"]
    assert len(notes) == 3
    assert sum("depends_on is ignored by Swarm" in n for n in notes) == 1
    assert any("build: with no image: name" in n for n in notes)
    assert any("restart is ignored" in n and "restart_policy" in n for n in notes)


def test_a_file_swarm_takes_as_is_gives_no_notes() -> None:
    rendered, notes = for_swarm({"services": {"web": {"image": "x:1", "deploy": {"replicas": 2}}}}, "s")
    assert notes == []
    assert rendered["services"]["web"] == {"image": "x:1", "deploy": {"replicas": 2}}


def test_replicas_are_read_from_the_engine_text() -> None:
    assert replicas("2/3") == (2, 3)
    assert replicas("1/1 (max 1 per node)") == (1, 1)
    assert replicas("") == (0, 0)


def test_update_defaults_fill_in_but_the_file_wins() -> None:
    doc = {
        "services": {
            "a": {"image": "x"},
            "b": {"image": "y", "deploy": {"update_config": {"parallelism": 2}}},
        }
    }
    out = with_update_defaults(doc)
    assert out["services"]["a"]["deploy"]["update_config"] == UPDATE_DEFAULTS
    b = out["services"]["b"]["deploy"]["update_config"]
    assert b["parallelism"] == 2
    assert b["order"] == "start-first"
    assert b["failure_action"] == "rollback"


def test_swarm_is_a_registered_backend() -> None:
    spec = BACKENDS.get("swarm")
    assert spec is not None
    assert spec.implementation == "stagewise.backends.swarm:SwarmBackend"
