"""`stagewise report merge DIR...` over two real `--shard K/2` runs of a pytest 8 project.

Each shard runs into its own reports folder, as two CI runners would; the
merge is one verdict, one summary.json and one page. One failing shard fails
the merge; runs of different stages (or the same run twice) are refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

TESTS = """
import pytest

@pytest.mark.parametrize("n", range(6))
def test_n(n):
    assert n != 4  # planted failure: exactly one shard holds it and fails
"""


def _shards(make_project: ProjectFactory, tmp_path: Path) -> tuple[Path, list[Path], list[int]]:
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8_RECORD)
    root = make_project(
        {"stagewise.toml": f'[project]\npython = "{python}"\n', "tests/unit/test_n.py": TESTS}
    )
    folders, codes = [], []
    for k in (1, 2):
        folder = tmp_path / f"shard{k}"
        done = run_cli(
            "test", "--unit", "--no-progress", "--shard", f"{k}/2", "--reports-dir", str(folder), cwd=root
        )
        folders.append(folder)
        codes.append(done.returncode)
    return root, folders, codes


def test_merging_shards_gives_one_verdict(make_project: ProjectFactory, tmp_path: Path) -> None:
    root, folders, codes = _shards(make_project, tmp_path)
    assert sorted(codes) == [0, 1]  # one shard passed, the one with test_n[4] failed
    merged_root = tmp_path / "merged"
    done = run_cli("report", "merge", *map(str, folders), "--reports-dir", str(merged_root), cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "merged 2 runs: failed (unit 5 passed, 1 failed, 0 errors)" in done.stdout
    summary = json.loads((merged_root / "latest" / "summary.json").read_text())
    unit = summary["tiers"][0]
    assert (summary["verdict"], unit["tests"], unit["passed"], unit["failed"], unit["deselected"]) == (
        "failed", 6, 5, 1, 0,
    )  # fmt: skip
    assert [f["name"] for f in unit["failed_tests"]] == ["tests/unit/test_n.py::test_n[4]"]
    kept = json.loads((root / ".stagewise" / "durations.json").read_text())["tests"]
    assert len(kept) == 6  # the shards' times, folded in by the merge for the next split
    page = (merged_root / "latest" / "index.html").read_text()
    assert "test_n[4]" in page
    assert page.count("test_n[") >= 6  # every test of both shards is on the one page


def test_mismatched_or_repeated_runs_are_refused(make_project: ProjectFactory, tmp_path: Path) -> None:
    root, folders, _ = _shards(make_project, tmp_path)
    again = run_cli("report", "merge", str(folders[0]), str(folders[0]), cwd=root)
    assert again.returncode == 2
    assert "are the same run" in again.stderr
    other = json.loads((folders[1] / "latest" / "summary.json").read_text())
    other["stage"] = "staging"
    (folders[1] / "latest" / "summary.json").write_text(json.dumps(other))
    mismatch = run_cli("report", "merge", *map(str, folders), cwd=root)
    assert mismatch.returncode == 2
    assert "cannot merge runs of different stages" in mismatch.stderr
    assert "Traceback" not in mismatch.stderr
    missing = run_cli("report", "merge", str(folders[0]), str(tmp_path / "nothing"), cwd=root)
    assert missing.returncode == 2
    assert "holds no run" in missing.stderr
