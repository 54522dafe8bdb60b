"""Real summary.json files are valid against the shipped schema (``stagewise schema summary``).

One small real run: a unit tier with a passing, a failing and a skipped test,
the integration tier passing, with the coverage gate measured, in a git
repository (so ``git`` is filled in); the summary it writes is validated as
it is.
"""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import jsonschema

from stagewise.schemas import schema_path
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

SCHEMA = json.loads(schema_path("summary").read_text(encoding="utf-8"))

PROJECT = {
    "stagewise.toml": """
        [project]
        name = "tiny"
        source = ["tiny"]

        [coverage]
        fail_under = 10
    """,
    "tiny/__init__.py": "def add(a, b):\n    return a + b\n",
    "tests/unit/test_add.py": """
        import pytest
        from tiny import add

        def test_add():
            assert add(1, 2) == 3

        def test_wrong():
            assert add(1, 2) == 4

        @pytest.mark.skip(reason="planted skip: the throwaway suite must report one skipped test")
        def test_later():
            pass
    """,
    "tests/integration/test_more.py": "from tiny import add\n\ndef test_more():\n    assert add(2, 2) == 4\n",
}


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=root,
        check=True,
        capture_output=True,
    )


def test_a_real_run_writes_a_summary_the_schema_accepts(make_project: ProjectFactory) -> None:
    root = make_project(PROJECT)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "tiny")
    done = run_cli("test", "--unit", "--integration", "--coverage", "--no-progress", cwd=root)
    assert done.returncode == 1, done.stderr  # test_wrong fails
    summaries = [p for p in (root / "reports").glob("*/summary.json") if not p.parent.is_symlink()]
    assert len(summaries) == 1
    summary = json.loads(summaries[0].read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(SCHEMA, format_checker=jsonschema.FormatChecker())
    assert [e.message for e in validator.iter_errors(summary)] == []
    # what the run filled in, so the schema was checked against more than empty lists
    assert summary["git"]["commit"]
    assert summary["gates"]
    unit = next(t for t in summary["tiers"] if t["name"] == "unit")
    assert unit["failed_tests"]
    assert unit["skipped"] == 1
    # and the schema is not a pass-everything: a wrong status is refused
    broken = copy.deepcopy(summary)
    broken["tiers"][0]["status"] = "green"
    assert list(validator.iter_errors(broken))
