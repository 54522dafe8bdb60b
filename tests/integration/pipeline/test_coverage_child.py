"""The combine step on its own: real coverage data, combined and reported by the child script.

The data is made by real ``coverage run`` (stagewise's dev venv has coverage);
the child runs in that interpreter the way the gate runs it in the project's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from stagewise.pipeline.coverage_gate import CHILD
from tests.conftest import ProjectFactory

FILES = {
    "app/__init__.py": "",
    "app/calc.py": "def add(a, b):\n    return a + b\n\n\ndef sub(a, b):\n    return a - b\n",
    "use_add.py": "from app.calc import add\n\nadd(1, 2)\n",
}


def child(root: Path, spec: dict[str, object]) -> dict[str, object]:
    (root / "spec.json").write_text(json.dumps({**spec, "result": str(root / "result.json")}))
    env = {k: v for k, v in os.environ.items() if k != "COVERAGE_FILE"}
    done = subprocess.run(
        [sys.executable, str(CHILD), str(root / "spec.json")],
        check=False,
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer: dict[str, object] = json.loads((root / "result.json").read_text())
    return answer


def test_a_gate_over_a_tier_without_data_is_an_error_never_a_smaller_figure(
    make_project: ProjectFactory,
) -> None:
    root = make_project(FILES)
    data = root / "run" / ".coverage.unit"
    data.parent.mkdir()
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "use_add.py"],
        cwd=root,
        env={**os.environ, "COVERAGE_FILE": str(data), "PYTHONPATH": str(root)},
        check=True,
    )
    spec = {
        "tiers": [["unit", str(data)], ["integration", str(root / "run" / ".coverage.integration")]],
        "groups": {"run": ["unit"], "gate": ["unit", "integration"]},
        "sources": ["app"],
        "data_file": str(root / "run" / ".coverage"),
        "json": str(root / "run" / "coverage.json"),
        "html": str(root / "run" / "coverage-html"),
        "text": str(root / "run" / "coverage.txt"),
    }
    answer = child(root, spec)
    groups = answer["groups"]
    assert isinstance(groups, dict)
    assert groups["gate"] == {"error": "no coverage data was written by integration"}
    assert sorted(groups["run"]["files"]) == ["app/__init__.py", "app/calc.py"], "use_add.py is not under app"
    assert groups["run"]["totals"]["percent_covered"] == 75.0  # 3 of app/calc.py's 4 statements
    assert answer["report_error"] is None
    assert (root / "run" / "coverage-html" / "index.html").is_file()
    assert "TOTAL" in (root / "run" / "coverage.txt").read_text()
    assert data.is_file(), "the tier's own data file is left as it was"


def test_the_projects_cov_config_file_is_read(make_project: ProjectFactory) -> None:
    root = make_project({**FILES, "cov.ini": "[report]\nomit = app/__init__.py\nfail_under = 90\n"})
    data = root / "run" / ".coverage.unit"
    data.parent.mkdir()
    subprocess.run(
        [sys.executable, "-m", "coverage", "run", "use_add.py"],
        cwd=root,
        env={**os.environ, "COVERAGE_FILE": str(data), "PYTHONPATH": str(root)},
        check=True,
    )
    spec = {
        "tiers": [["unit", str(data)]],
        "groups": {"run": ["unit"]},
        "sources": ["app"],
        "data_file": str(root / "run" / ".coverage"),
        "json": str(root / "run" / "coverage.json"),
        "html": str(root / "run" / "coverage-html"),
        "text": str(root / "run" / "coverage.txt"),
        "config_file": "cov.ini",
    }
    answer = child(root, spec)
    assert answer["fail_under"] == 90, "the combined gate's fallback limit comes from that file"
    assert list(answer["groups"]["run"]["files"]) == ["app/calc.py"]
