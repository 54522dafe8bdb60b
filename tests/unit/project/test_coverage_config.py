"""``[coverage]``: the combined gate, its tiers, per-tier thresholds and per-module goals, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError, ExitCode
from stagewise.project.coverage_config import module_key_problem, module_matches
from stagewise.project.loader import load_project
from stagewise.project.model import Project


def load(tmp_path: Path, text: str) -> Project:
    (tmp_path / "stagewise.toml").write_text(text, encoding="utf-8")
    return load_project(tmp_path)


def test_every_gate_is_read(tmp_path: Path) -> None:
    project = load(
        tmp_path,
        '[project]\nsource = ["app"]\n[coverage]\nfail_under = 80\ncovers = ["unit", "integration"]\n'
        '[coverage.tiers]\nunit = 70\n[coverage.modules]\n"app/config.py" = 100\n"app.utils" = 95.5\n',
    )
    coverage = project.coverage
    assert coverage.source == ("app",)
    assert coverage.fail_under == 80
    assert coverage.covers == ("unit", "integration")
    assert coverage.tiers == {"unit": 70.0}
    assert coverage.modules == {"app/config.py": 100.0, "app.utils": 95.5}


def test_defaults_are_no_gates(tmp_path: Path) -> None:
    coverage = load(tmp_path, '[project]\nsource = ["app"]\n').coverage
    assert (coverage.fail_under, coverage.covers, coverage.tiers, coverage.modules) == (None, (), {}, {})


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[coverage]\ncovers = ['unit', 'nope']\n", "coverage.covers", "unknown tier 'nope'"),
        ("[coverage]\ncovers = ['api']\n", "coverage.covers", "tier 'api' does not measure coverage"),
        ("[coverage]\ncovers = []\n", "coverage.covers", "at least one tier"),
        ("[coverage.tiers]\nnope = 50\n", "coverage.tiers.nope", "unknown tier"),
        ("[coverage.tiers]\ne2e = 50\n", "coverage.tiers.e2e", "set tiers.e2e.coverage = true"),
        ("[coverage.tiers]\nunit = 101\n", "coverage.tiers.unit", "must be a number from 0 to 100, got 101"),
        ("[coverage.tiers]\nunit = 'high'\n", "coverage.tiers.unit", "must be a number from 0 to 100"),
        ("[coverage.modules]\n'app/x.py' = -1\n", "coverage.modules.app/x.py", "from 0 to 100, got -1"),
        (
            "[coverage.modules]\napp.config = 100\n",
            "coverage.modules.app",
            'needs quotes: "app.config" = 100',
        ),
        ("[coverage.modules]\n'../x.py' = 90\n", "coverage.modules.../x.py", "relative to the project root"),
        (
            "[coverage.modules]\n'/abs/x.py' = 90\n",
            "coverage.modules./abs/x.py",
            "relative to the project root",
        ),
        ("[coverage.modules]\n'app config' = 90\n", "coverage.modules.app config", "neither a path pattern"),
        ("[coverage]\nfailunder = 80\n", "coverage.failunder", "unknown key"),
    ],
)
def test_bad_coverage_config_is_exit_3_naming_the_key(
    tmp_path: Path, text: str, key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, text)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_a_tier_that_measures_coverage_may_be_covered(tmp_path: Path) -> None:
    project = load(
        tmp_path, "[tiers.api]\ncoverage = true\n[coverage]\ncovers = ['api']\n[coverage.tiers]\napi = 10\n"
    )
    assert project.coverage.covers == ("api",)
    assert project.coverage.tiers == {"api": 10.0}


@pytest.mark.parametrize(
    ("key", "path", "matches"),
    [
        ("app/config.py", "app/config.py", True),
        ("app/config.py", "app/configs.py", False),
        ("app/api/*.py", "app/api/users.py", True),
        ("app/api/*.py", "app/models.py", False),
        ("app/api", "app/api/deep/x.py", True),
        ("app/api", "app/apis.py", False),
        ("./app/config.py", "app/config.py", True),
        ("app.config", "app/config.py", True),
        ("app.config", "src/app/config.py", True),
        ("app.config", "app/config/__init__.py", True),
        ("app.api", "app/api/users.py", True),
        ("app.config", "app/configs.py", False),
        ("app.config", "myapp/config.py", False),
    ],
)
def test_module_goal_keys_match_report_paths(key: str, path: str, matches: bool) -> None:
    assert module_key_problem(key) is None
    assert module_matches(key, path) is matches
