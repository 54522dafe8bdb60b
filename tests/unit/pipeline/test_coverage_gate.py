"""The parts of the coverage gate that need no pytest: where the combined limit comes from."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.pipeline.coverage_gate import _pct, addopts_fail_under, default_covers
from stagewise.project.loader import load_project


def test_no_pytest_config_is_no_limit(tmp_path: Path) -> None:
    assert addopts_fail_under(tmp_path, {}) is None


@pytest.mark.parametrize(
    ("ini", "env", "expected"),
    [
        ('addopts = "--cov=app --cov-fail-under=100 -n auto"', "", 100.0),
        ('addopts = "--cov-fail-under 90 --cov-fail-under=95"', "", 95.0),
        ('addopts = "--cov-fail-under=90"', "--cov-fail-under=70", 70.0),  # PYTEST_ADDOPTS comes after
        ('addopts = "-q"', "--cov-fail-under 60", 60.0),
        ('addopts = "--cov=app"', "", None),
    ],
)
def test_the_projects_own_fail_under_as_pytest_ends_up_with_it(
    tmp_path: Path, ini: str, env: str, expected: float | None
) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.pytest.ini_options]\n{ini}\n", encoding="utf-8")
    assert addopts_fail_under(tmp_path, {"PYTEST_ADDOPTS": env}) == expected


def test_default_covers_are_the_coverage_tiers_with_tests(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    assert default_covers(load_project(tmp_path)) == ("unit",)
    (tmp_path / "tests" / "integration").mkdir()
    (tmp_path / "tests" / "api").mkdir()  # api measures no coverage by default
    assert default_covers(load_project(tmp_path)) == ("unit", "integration")


@pytest.mark.parametrize(
    ("percent", "limit", "shown"),
    [
        (23.61, 80, "23.6"),
        (79.96, 80, "79.96"),
        (79.999, 80, "79.999"),
        (80.04, 80, "80.0"),
        (99.95, 100, "99.95"),
    ],
)
def test_a_percent_below_its_limit_never_reads_as_the_limit(percent: float, limit: float, shown: str) -> None:
    assert _pct(percent, limit) == shown
