"""``stagewise test --profile NAME``: a profile's tiers run, and a run over its budget says so.

Real pytest in a subprocess on a throwaway project whose slow test really sleeps.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

UNIT = """
import time

def test_fast():
    assert True

def test_slow_one():
    time.sleep(1.2)
"""


def _project(make_project: ProjectFactory, profile: str) -> Path:
    return Path(make_project({"tests/unit/test_a.py": UNIT, "stagewise.toml": profile}))


def _budget_gate(root: Path) -> dict[str, object]:
    summary = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    gates = [g for g in summary["gates"] if g["name"] == "budget"]
    assert len(gates) == 1, summary["gates"]
    return dict(gates[0])


def test_a_run_over_its_budget_warns_with_the_slowest_tests_and_tiers(make_project: ProjectFactory) -> None:
    root = _project(make_project, '[profiles.quick]\ntiers = ["unit"]\nbudget = 0.5\n')
    done = run_cli("test", "--profile", "quick", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "over budget (warning)" in done.stderr
    assert "slowest tiers: unit" in done.stderr
    assert "slowest tests: tests/unit/test_a.py::test_slow_one" in done.stderr, done.stderr
    gate = _budget_gate(root)
    assert gate["passed"] is True
    assert gate["limit"] == 0.5
    assert "over budget" in str(gate["message"])
    page = (root / "reports" / "latest" / "index.html").read_text()
    assert "over budget (warning)" in page


def test_budget_gate_true_fails_the_run_over_budget(make_project: ProjectFactory) -> None:
    root = _project(make_project, '[profiles.quick]\ntiers = ["unit"]\nbudget = "0.5s"\nbudget_gate = true\n')
    done = run_cli("test", "--profile", "quick", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert _budget_gate(root)["passed"] is False


def test_the_builtin_pr_profile_runs_its_tiers_within_two_minutes(make_project: ProjectFactory) -> None:
    root = _project(make_project, '[profiles.pr]\ntiers = ["unit"]\n')  # keeps pr's 2 min budget
    done = run_cli("test", "--profile", "pr", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    gate = _budget_gate(root)
    assert gate["passed"] is True
    assert gate["limit"] == 120.0
    assert "over budget" not in done.stderr


def test_an_unknown_profile_is_a_usage_error_listing_the_profiles(make_project: ProjectFactory) -> None:
    root = _project(make_project, "")
    done = run_cli("test", "--profile", "nope", cwd=root)
    assert done.returncode == 2
    assert "unknown profile 'nope' (profiles: main, nightly, pr)" in done.stderr


def test_a_profile_with_a_tier_flag_is_a_usage_error(make_project: ProjectFactory) -> None:
    root = _project(make_project, "")
    done = run_cli("test", "--profile", "pr", "--unit", cwd=root)
    assert done.returncode == 2
    assert "drop --unit" in done.stderr
