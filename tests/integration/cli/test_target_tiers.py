"""api and e2e tiers against a real local HTTP server, and the prod smoke rule.

The e2e tests drive Debian's Chromium through Playwright; they are marked
``browser`` and, like everything here, run for real (CI installs Chromium).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli

API_TESTS = """
import os
import urllib.request

import pytest

URL = os.environ["STAGEWISE_BASE_URL"]

@pytest.mark.smoke
def test_home_answers():
    with urllib.request.urlopen(URL + "/") as response:
        assert response.status == 200

def test_writes_something():
    assert os.environ["STAGEWISE_STAGE"] != "prod", "a write test ran on prod"
"""
MARKERS = "[pytest]\nmarkers =\n    smoke: read-only\n    browser: real browser\n"
E2E_TESTS = """
import os

import pytest

@pytest.mark.browser
@pytest.mark.smoke
def test_page_shows_the_greeting(page):
    page.goto(os.environ["STAGEWISE_BASE_URL"] + "/")
    assert page.title() == "Static Shop"
    assert page.locator("#hello").inner_text() == "Hello from the shop"
    headless = "HeadlessChrome" in page.evaluate("navigator.userAgent")
    assert headless == (os.environ["EXPECT_HEADLESS"] == "1")
"""


def summary(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def test_api_tier_runs_against_the_host(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project({"tests/api/test_api.py": API_TESTS, "pytest.ini": MARKERS})
    done = run_cli("test", "--api", "--host", static_site, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(root)["target"] == static_site
    assert "api          passed      2 passed" in done.stdout


def test_prod_runs_only_smoke_tests(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project({"tests/api/test_api.py": API_TESTS, "pytest.ini": MARKERS})
    done = run_cli("test", "--stage", "prod", "--api", "--host", static_site, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "api          passed      1 passed" in done.stdout
    refused = run_cli("test", "--stage", "prod", "--unit", cwd=root)
    assert refused.returncode == 2
    assert "does not run on stage prod (a protected stage)" in refused.stderr


@pytest.mark.browser
def test_e2e_drives_the_system_chromium_headless(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project({"tests/e2e/test_page.py": E2E_TESTS, "pytest.ini": MARKERS})
    done = run_cli("test", "--e2e", "--host", static_site, "-v", cwd=root, env={"EXPECT_HEADLESS": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "test_page_shows_the_greeting[chromium] PASSED" in done.stdout


@pytest.mark.browser
def test_e2e_failure_is_reported(make_project: ProjectFactory, static_site: str) -> None:
    broken = E2E_TESTS.replace('"Static Shop"', '"Another Title"')
    root = make_project({"tests/e2e/test_page.py": broken, "pytest.ini": MARKERS})
    done = run_cli("test", "--e2e", "--host", static_site, cwd=root, env={"EXPECT_HEADLESS": "1"})
    assert done.returncode == 1
    assert "Another Title" in done.stdout


@pytest.mark.browser
def test_headed_e2e_runs_under_a_virtual_display(make_project: ProjectFactory, static_site: str) -> None:
    xvfb_run = shutil.which("xvfb-run")
    if xvfb_run is None:
        pytest.fail("xvfb-run is missing: apt-get install xvfb (the CI script installs it)")
    root = make_project({"tests/e2e/test_page.py": E2E_TESTS, "pytest.ini": MARKERS})
    done = subprocess.run(
        [
            xvfb_run,
            "-a",
            sys.executable,
            "-m",
            "stagewise",
            "test",
            "--e2e",
            "--no-headless",
            "--host",
            static_site,
        ],
        cwd=root,
        env=cli_env({"EXPECT_HEADLESS": "0"}),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "e2e          passed      1 passed" in done.stdout
