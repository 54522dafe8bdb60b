"""The e2e tier hands its target to pytest-playwright as ``--base-url``: ``page.goto("/")`` is the target.

Real Chromium (Debian's, marked ``browser``) against a real page on
127.0.0.1. The project's pytest.ini points ``--base-url`` at a port nothing
listens on: the target stagewise was asked for (``--host``) must win, because
it comes later on the command line than addopts. Two real venvs: stagewise's
own (a pytest-playwright whose ``--base-url`` is its own fallback, with
pytest-base-url an optional extra) and pytest-playwright 0.4.4, the floor,
which depends on pytest-base-url (``tests/pyvenvs.py``, built once).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import run_cli
from tests.pyvenvs import project_venv

#: The oldest pytest-playwright stagewise supports, with pytest-base-url as its dependency.
PLAYWRIGHT_04 = ("pytest==7.4.4", "pytest-playwright==0.4.4", "pytest-base-url==2.1.0", "playwright==1.65.2")

PYTEST_INI = """\
[pytest]
addopts = --base-url http://127.0.0.1:9
markers =
    browser: real browser
"""
E2E_TESTS = """
import os

import pytest

@pytest.mark.browser
def test_the_root_is_the_target(page, base_url):
    assert base_url == os.environ["STAGEWISE_BASE_URL"]
    page.goto("/")
    assert page.title() == "Static Shop"
    assert page.url == os.environ["STAGEWISE_BASE_URL"] + "/"
"""


@pytest.mark.browser
@pytest.mark.parametrize("venv", ["stagewise's", "pytest-playwright 0.4.4 + pytest-base-url"])
def test_page_goto_root_opens_the_target_even_over_a_pytest_ini_base_url(
    make_project: ProjectFactory, static_site: str, venv: str
) -> None:
    files = {"tests/e2e/test_root.py": E2E_TESTS, "pytest.ini": PYTEST_INI}
    if venv != "stagewise's":
        files["stagewise.toml"] = f'[project]\npython = "{project_venv(PLAYWRIGHT_04)}"\n'
    root = make_project(files)
    done = run_cli("test", "--e2e", "--host", static_site, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "e2e          passed      1 passed" in done.stdout
    summary = json.loads((Path(root) / "reports" / "latest" / "summary.json").read_text())
    assert summary["target"] == static_site
