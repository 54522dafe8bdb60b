"""The spec's test_stages.py rows, run for real on examples/shop through its shim.

``python deployment/test_stages.py ...`` is exactly what a user of the shop
types; each test checks the exit code, the per-tier line and the evidence.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import SHOP, cli_env, free_port
from tests.integration.shop.conftest import TOKEN


def shim(*args: str, reports: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the shop's deployment/test_stages.py with a private reports dir."""
    return subprocess.run(
        [sys.executable, "deployment/test_stages.py", *args, "--reports-dir", str(reports)],
        cwd=SHOP,
        env=cli_env({"SHOP_API_TOKEN": TOKEN, **(env or {})}),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def tiers(reports: Path) -> dict[str, dict[str, object]]:
    summary = json.loads((reports / "latest" / "summary.json").read_text())
    return {t["name"]: t for t in summary["tiers"]}


def test_help_lists_every_flag() -> None:
    done = subprocess.run(
        [sys.executable, "deployment/test_stages.py", "-h"],
        cwd=SHOP,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    for flag in (
        "--unit",
        "--integration",
        "--api",
        "--e2e",
        "--all",
        "--stage",
        "--coverage",
        "--verbose",
        "--host",
        "--no-headless",
    ):
        assert flag in done.stdout


def test_default_runs_the_unit_tier(tmp_path: Path) -> None:
    done = shim(reports=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert list(tiers(tmp_path)) == ["unit"]
    assert tiers(tmp_path)["unit"]["passed"] > 10  # type: ignore[operator]


def test_unit_coverage_of_the_shop_package(tmp_path: Path) -> None:
    """The seed's row: unit tests run and the coverage report (terminal and HTML) is produced.

    The shop's fail_under = 80 is for unit + integration, so a unit-only run
    says it does not apply instead of failing on unit-only figures.
    """
    done = shim("--unit", "--coverage", reports=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "shop/domain.py" in done.stdout
    assert done.stdout.count("TOTAL") == 1
    assert (tmp_path / "latest" / "coverage-html" / "index.html").is_file()
    summary = json.loads((tmp_path / "latest" / "summary.json").read_text())
    assert all(
        path.startswith("shop/")
        for path in json.loads((tmp_path / "latest" / "coverage.json").read_text())["files"]
    )
    gate = {g["name"]: g for g in summary["gates"]}["coverage"]
    assert (gate["applicable"], gate["passed"]) == (False, True)
    assert "not applicable: integration did not run in this run" in gate["message"]
    assert 0 < summary["coverage_percent"] < 80


def test_unit_verbose_names_each_test(tmp_path: Path) -> None:
    done = shim("--unit", "--verbose", reports=tmp_path)
    assert done.returncode == 0
    assert "tests/unit/test_domain.py::" in done.stdout
    assert " PASSED" in done.stdout


def test_api_against_the_running_shop(tmp_path: Path, shop_url: str) -> None:
    done = shim("--api", "--host", shop_url, reports=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tiers(tmp_path)["api"]["failed"] == 0


def test_prod_runs_only_smoke_tests(tmp_path: Path, shop_url: str) -> None:
    full = shim("--api", "--host", shop_url, reports=tmp_path / "full")
    smoke = shim("--stage", "prod", "--host", shop_url, reports=tmp_path / "smoke")
    assert full.returncode == 0
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    smoke_tiers = tiers(tmp_path / "smoke")
    assert set(smoke_tiers) == {"api", "e2e"}
    assert 0 < smoke_tiers["api"]["tests"] < tiers(tmp_path / "full")["api"]["tests"]  # type: ignore[operator]
    junit = Path(str(smoke_tiers["api"]["junit"])).read_text()
    assert "test_writes" not in junit


@pytest.mark.browser
def test_e2e_places_an_order_in_chromium(tmp_path: Path, shop_url: str) -> None:
    done = shim("--e2e", "--host", shop_url, "--verbose", reports=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[chromium] PASSED" in done.stdout


@pytest.mark.postgres
@pytest.mark.browser
def test_all_with_coverage_runs_the_whole_pyramid(tmp_path: Path, shop_url: str) -> None:
    done = shim("--all", "--coverage", "--host", shop_url, reports=tmp_path)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr
    assert list(tiers(tmp_path)) == ["unit", "integration", "api", "e2e"]
    assert all(t["status"] == "passed" for t in tiers(tmp_path).values())
    summary = json.loads((tmp_path / "latest" / "summary.json").read_text())
    assert summary["coverage_percent"] >= 80


def test_unreachable_target_is_exit_4_naming_how_to_start(tmp_path: Path) -> None:
    done = shim("--api", "--host", f"http://127.0.0.1:{free_port()}", reports=tmp_path)
    assert done.returncode == 4
    assert "python -m shop --port 8000" in done.stdout


def test_invalid_stage_and_argument(tmp_path: Path) -> None:
    stage = shim("--stage", "invalid_stage", reports=tmp_path)
    assert stage.returncode == 2
    assert "valid stages are dev, test, staging, prod" in stage.stderr
    arg = shim("--invalid-arg", reports=tmp_path)
    assert arg.returncode == 2
    assert "unrecognized arguments: --invalid-arg" in arg.stderr


def test_staging_requires_the_api_token(tmp_path: Path) -> None:
    env = cli_env()
    env.pop("SHOP_API_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "deployment/test_stages.py", "--stage", "staging", "--reports-dir", str(tmp_path)],
        cwd=SHOP,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 4
    assert "needs the variable SHOP_API_TOKEN" in done.stderr
