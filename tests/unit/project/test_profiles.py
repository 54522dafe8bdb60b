"""``[profiles.NAME]`` is validated once, with the key path in the message (exit 3)."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.project.loader import load_project


def test_builtins_follow_the_seed_guide(tmp_path: Path) -> None:
    project = load_project(tmp_path)
    profiles = project.profiles
    assert profiles["pr"].tiers == ("unit", "integration", "api")
    assert profiles["pr"].budget == 120
    assert profiles["main"].tiers[-1] == "e2e"
    assert profiles["main"].budget == 600
    assert {"performance", "security"} <= set(profiles["nightly"].tiers)
    assert profiles["nightly"].budget == 900


def test_a_project_profile_overrides_and_adds(tmp_path: Path) -> None:
    project = load_project(
        _write(
            tmp_path,
            '[profiles.pr]\nbudget = "3m"\nbudget_gate = true\n'
            '[profiles.smoke]\ntiers = ["api"]\nstage = "staging"\nshards = {api = 2}\n',
        )
    )
    assert project.profiles["pr"].budget == 180
    assert project.profiles["pr"].budget_gate
    assert project.profiles["pr"].tiers == ("unit", "integration", "api")
    smoke = project.profiles["smoke"]
    assert smoke.tiers == ("api",)
    assert smoke.stage == "staging"
    assert dict(smoke.shards) == {"api": 2}


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "stagewise.toml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[profiles.x]\ntiers = ["nope"]\n', "profiles.x.tiers: unknown tier 'nope'"),
        ('[profiles.x]\ntiers = ["unit"]\nbudget = -1\n', "profiles.x.budget: must be seconds"),
        (
            '[profiles.x]\ntiers = ["unit"]\nbudget_gate = 1\n',
            "profiles.x.budget_gate: must be true or false",
        ),
        ('[profiles.x]\ntiers = ["unit"]\nshards = {e2e = 2}\n', "profiles.x.shards.e2e: is not one of"),
        ('[profiles.x]\ntiers = ["unit"]\ncolour = 1\n', "profiles.x.colour: unknown key"),
        ("[profiles.x]\n", "profiles.x.tiers: must list at least one tier"),
    ],
)
def test_bad_profiles_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_project(_write(tmp_path, text))
    assert message in str(caught.value.message if hasattr(caught.value, "message") else caught.value)
