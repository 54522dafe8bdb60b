"""The compose release's pure parts: ports, the scratch URL, grace periods, the spare slot's file.

The containers themselves are exercised in tests/integration/release/test_release_compose.py;
here :class:`SpareSlot.render` is fed a rendered compose document through a stand-in for
:class:`ComposeSlots` that holds only what ``render`` reads (no engine involved).
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from stagewise.errors import UsageError
from stagewise.release.compose_slots import SpareSlot, grace_seconds, published, swap_database


@pytest.mark.parametrize(
    ("ports", "expected"),
    [
        (["127.0.0.1:8001:8000/tcp"], (8001, 8000)),
        (["8002:80"], (8002, 80)),
        ([{"published": 9000, "target": 90, "protocol": "tcp"}], (9000, 90)),
    ],
)
def test_published_reads_short_and_long_port_syntax(ports: list[Any], expected: tuple[int, int]) -> None:
    assert published({"ports": ports}, "app") == expected


def test_a_service_without_a_published_port_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="publishes no port"):
        published({"ports": ["8000"]}, "app")


def test_swap_database_keeps_the_container_host_and_takes_the_scratch_name() -> None:
    url = swap_database(
        "postgresql://shop:pw@db:5432/shop", "postgresql://shop:pw@127.0.0.1:55433/stagewise_scratch_1"
    )
    assert url == "postgresql://shop:pw@db:5432/stagewise_scratch_1"


@pytest.mark.parametrize(("text", "seconds"), [(None, 10), ("1s", 1), ("1m30s", 90), ("500ms", 1)])
def test_grace_seconds(text: str | None, seconds: int) -> None:
    assert grace_seconds({"stop_grace_period": text} if text else {}) == seconds


def _slots(spec: dict[str, Any], doc: dict[str, Any]) -> Any:
    return SimpleNamespace(
        main=SimpleNamespace(project="shop-staging"),
        service="app",
        spec=spec,
        doc=doc,
        container_port=8000,
        state_dir=Path("/nonexistent"),
    )


def test_the_spare_slot_joins_the_stage_project_network_and_volumes_with_only_its_service() -> None:
    spec = {
        "build": {"context": "/src"},
        "image": "shop-app:staging",
        "depends_on": {"db": {"condition": "service_healthy"}},
        "container_name": "fixed",
        "environment": {"DATABASE_URL": "postgresql://shop:pa$$word@db:5432/shop"},
        "ports": ["127.0.0.1:8001:8000/tcp"],
        "volumes": ["appdata:/data:rw", "/host/logs:/logs:rw"],
        "networks": {"backend": None},
    }
    doc = {
        "version": "3.9",
        "services": {"app": spec, "db": {}},
        "networks": {"backend": {"name": "shared-net"}},
        "volumes": {"appdata": {}},
    }
    rendered = SpareSlot(_slots(spec, doc), "b", 8005, "shop-app:staging-v2").render()
    service = rendered["services"]["app"]
    assert set(rendered["services"]) == {"app"}
    assert service["image"] == "shop-app:staging-v2"
    assert service["ports"] == ["127.0.0.1:8005:8000"]
    assert not {"build", "depends_on", "container_name"} & set(service)
    assert service["networks"] == ["backend"]
    assert rendered["networks"] == {"backend": {"external": True, "name": "shared-net"}}
    assert rendered["volumes"] == {"appdata": {"external": True, "name": "shop-staging_appdata"}}
    assert service["environment"]["DATABASE_URL"] == "postgresql://shop:pa$$$$word@db:5432/shop"


def test_the_spare_slot_defaults_to_the_project_default_network() -> None:
    spec = {"image": "x", "ports": ["1:2"]}
    rendered = SpareSlot(_slots(spec, {"services": {"app": spec}}), "gate", 8006, "x:old").render()
    assert rendered["networks"] == {"default": {"external": True, "name": "shop-staging_default"}}
    assert "volumes" not in rendered
