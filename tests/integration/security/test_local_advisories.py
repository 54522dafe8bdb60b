"""The dependency audit on a closed network: a local OSV copy served to the real pip-audit.

``security.dependencies.advisories`` names tests/data/advisories (handwritten,
made-up OSV advisories). pip-audit runs for real against the packages really
installed in a throwaway venv (``six==1.16.0``), or a requirements file; only
the vulnerability data is local, which is the point of the feature.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from tests.conftest import ProjectFactory
from tests.helpers import run_cli
from tests.pyvenvs import project_venv

ADVISORIES = Path(__file__).parents[2] / "data" / "advisories"
ONLY_DEPENDENCIES = '[security]\nchecks = ["dependencies"]\n\n[security.dependencies]\nadvisories = "osv"\n'


def _run(root: Path, target: str) -> tuple[int, str, dict[str, Any]]:
    done = run_cli("test", "--security", "--target", target, "--no-progress", cwd=root)
    document = json.loads((root / "reports" / "latest" / "security" / "findings.json").read_text())
    return done.returncode, done.stdout + done.stderr, document


def test_the_installed_six_is_flagged_by_the_local_advisory(
    make_project: ProjectFactory, static_site: str
) -> None:
    python = project_venv(("six==1.16.0",))
    root = make_project({"stagewise.toml": f'[project]\npython = "{python}"\n\n{ONLY_DEPENDENCIES}'})
    shutil.copytree(ADVISORIES, root / "osv")
    code, output, document = _run(root, static_site)
    assert code == 1, output  # a known vulnerability is high: the default gate fails
    [finding] = [f for f in document["findings"] if f["id"] == "STAGEWISE-TEST-2026-0001"]
    assert finding["location"] == f"installed in {python}: six==1.16.0"
    assert finding["title"] == "six 1.16.0 has a known vulnerability STAGEWISE-TEST-2026-0001"
    assert finding["fix"] == "upgrade six to 1.16.1 or later (pin six>=1.16.1)"
    assert not [f for f in document["findings"] if f["id"] == "STAGEWISE-TEST-2025-0003"]  # withdrawn
    check = document["checks"][0]  # then the project's own tests (none here)
    assert (check["name"], check["status"]) == ("dependencies", "findings")
    assert f"against advisories up to 2026-03-14 (3 advisories in {root / 'osv'})" in check["notes"]
    assert "dependencies: against advisories up to 2026-03-14" in output
    assert "--osv-url" in check["command"]


def test_a_fixed_pin_passes_and_says_against_what(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project({"stagewise.toml": ONLY_DEPENDENCIES, "requirements.txt": "six==1.17.0\n"})
    shutil.copytree(ADVISORIES, root / "osv")
    code, output, document = _run(root, static_site)
    assert code == 0, output
    check = document["checks"][0]  # then the project's own tests (none here)
    assert check["status"] == "passed"  # pip-audit audited six against the copy and found nothing
    assert any(note.startswith("against advisories up to 2026-03-14") for note in check["notes"])


def test_a_broken_advisory_copy_is_an_error_naming_the_file(
    make_project: ProjectFactory, static_site: str
) -> None:
    root = make_project(
        {"stagewise.toml": ONLY_DEPENDENCIES, "requirements.txt": "six==1.17.0\n", "osv/x.json": "[{]"}
    )
    code, output, document = _run(root, static_site)
    assert code == 1, output
    check = document["checks"][0]  # then the project's own tests (none here)
    assert check["status"] == "error"
    assert check["reason"].startswith(
        f"security.dependencies.advisories: {root / 'osv' / 'x.json'} is not JSON"
    )
