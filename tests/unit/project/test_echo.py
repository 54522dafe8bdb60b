"""Every section of the project file echoes an out-of-range number the same way (``..., got -5``)."""

from __future__ import annotations

import pytest

from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory

SERVICE = '[services.app]\ncommand = ["python", "-m", "app"]\n'
REGIONS = '[resilience.regions.a]\nrole = "primary"\n[resilience.regions.b]\n'


@pytest.mark.parametrize(
    ("toml", "key", "rule"),
    [
        ("[coverage]\nfail_under = -5\n", "coverage.fail_under", "must be a number from 0 to 100"),
        (SERVICE + "port = -5\n", "services.app.port", "must be a port number from 1 to 65535, or a table"),
        (SERVICE + "port = {dev = -5}\n", "services.app.port.dev", "must be a port number from 1 to 65535"),
        (
            SERVICE + "[services.app.health]\ntcp = 1\ntimeout = -5\n",
            "services.app.health.timeout",
            "from 0.1",
        ),
        ("[performance.gates]\np95_ms = -5\n", "performance.gates.p95_ms", "must be a number from 0 to"),
        ("[performance]\nworkers = -5\n", "performance.workers", "must be a whole number from 0 to 256"),
        ("[performance.tolerance]\np95 = -5\n", "performance.tolerance.p95", "must be a number from 0"),
        ("[performance.scenarios.s]\nusers = -5\n", "performance.scenarios.s.users", "whole number from 1"),
        ("[performance.scenarios.s]\nduration = -5\n", "performance.scenarios.s.duration", "must be seconds"),
        (
            "[security.dependencies]\ntimeout = -5\n",
            "security.dependencies.timeout",
            "a number from 1 to 600",
        ),
        ("[security.fuzz]\nmax_examples = -5\n", "security.fuzz.max_examples", "a number from 1 to 100000"),
        ("[security.zap]\nspider_seconds = -5\n", "security.zap.spider_seconds", "a number from 1 to"),
        ("[resilience.gates]\navailability = -5\n", "resilience.gates.availability", "from 0 to 100"),
        (REGIONS + "weight = -5\n", "resilience.regions.b.weight", "must be a number from 0 to 1000"),
        ("[resilience.scenarios.x]\nduration = -5\n", "resilience.scenarios.x.duration", "from 1 to 3600"),
        ("[resilience.local]\npromote_after = -5\n", "resilience.local.promote_after", "from 0 to 3600"),
        ("[resilience.local.service]\ncommand = ['x']\nstartup_timeout = -5\n", "startup_timeout", "seconds"),
    ],
)
def test_an_out_of_range_number_is_echoed(
    make_project: ProjectFactory, toml: str, key: str, rule: str
) -> None:
    root = make_project({"stagewise.toml": toml})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    text = str(caught.value)
    assert text.startswith(f"{root / 'stagewise.toml'}: ")
    assert f"{key}: " in text
    assert rule in text
    assert text.endswith(", got -5")


def test_a_whole_number_given_as_a_fraction_is_echoed(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": "[security.fuzz]\nmax_examples = 2.5\n"})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert str(caught.value).endswith(
        "security.fuzz.max_examples: must be a whole number from 1 to 100000, got 2.5"
    )


def test_a_value_that_is_no_number_is_not_echoed(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": "[resilience.gates]\navailability = 'high'\n"})
    with pytest.raises(ConfigError) as caught:
        load_project(root)
    assert str(caught.value).endswith("resilience.gates.availability: must be a number from 0 to 100")
