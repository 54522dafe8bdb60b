"""The tier registry is the one list: its order is the run order and the pipeline names no tier."""

from __future__ import annotations

import ast
from pathlib import Path

import stagewise.pipeline
from stagewise.pipeline.plan import tier_named
from stagewise.plugins.tiers import TIERS, on_request_tiers, tier_order
from stagewise.project.model import ON_REQUEST_TIERS, TIER_ORDER


def test_the_registry_order_is_the_pyramid_order() -> None:
    assert tier_order() == TIER_ORDER
    assert on_request_tiers() == ON_REQUEST_TIERS


def test_every_registered_tier_loads_and_says_its_name() -> None:
    for spec in TIERS:
        tier = tier_named(spec.name)
        assert (tier.name, tier.on_request) == (spec.name, spec.on_request)


def test_no_tier_name_is_a_string_in_the_pipeline() -> None:
    found = []
    for path in Path(stagewise.pipeline.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in TIER_ORDER:
                found.append(f"{path.name}:{node.lineno}: {node.value!r}")
    assert found == []
