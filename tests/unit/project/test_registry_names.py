"""The names the project file accepts come from the plug-point registries, not from lists of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from stagewise.errors import ConfigError
from stagewise.plugins.backends import BACKENDS
from stagewise.plugins.faults import FAULTS
from stagewise.plugins.probes import PROBES
from stagewise.plugins.security_checks import SECURITY_CHECKS
from stagewise.project import resilience, security
from stagewise.project.loader import load_project
from stagewise.project.resilience import parse_resilience
from stagewise.registry import Registry
from tests.conftest import ProjectFactory


@pytest.fixture
def toy() -> Iterator[None]:
    """A toy entry in each registry (a copy of the first spec under a new name), removed after."""
    registries: tuple[Registry[Any], ...] = (BACKENDS, SECURITY_CHECKS, PROBES, FAULTS)
    for registry in registries:
        first = next(iter(registry))
        registry.register(first._replace(name=f"toy-{registry.kind}"))
    yield
    for registry in registries:
        registry.unregister(f"toy-{registry.kind}")


def test_the_public_constants_are_the_registries_names() -> None:
    assert SECURITY_CHECKS.names() == security.CHECK_NAMES
    assert PROBES.names() == resilience.PROBES
    assert FAULTS.names() == resilience.FAULTS


@pytest.mark.usefixtures("toy")
def test_a_registered_name_is_accepted_without_touching_the_loader(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "stagewise.toml": """
[stages.dev]
backend = "toy-backend"

[security]
checks = ["bandit", "toy-security_check"]
"""
        }
    )
    project = load_project(root)
    assert project.stages["dev"].backend == "toy-backend"
    assert project.security.checks == ("bandit", "toy-security_check")
    scenario = {"probes": ["lag", "toy-probe"], "fault": "toy-fault"}
    config = parse_resilience("stagewise.toml", "resilience", {"scenarios": {"x": scenario}})
    assert config.scenarios["x"].probes == ("lag", "toy-probe")
    assert config.scenarios["x"].fault == "toy-fault"


def test_the_must_be_one_of_message_lists_the_registry(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[stages.dev]\nbackend = "k8s"\n'})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert str(caught.value).endswith(f"stages.dev.backend: must be one of {BACKENDS.one_of()}")
