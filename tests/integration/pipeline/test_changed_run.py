"""`stagewise test --changed [REF]` on a real git project with its own venv (pytest 7, pytest-cov).

A whole `--coverage` run records which test touched which file
(.stagewise/impact.json); `--changed` then runs, per tier, only the tests the
change against REF can affect, or the whole tier with the reason when it
cannot judge. The planted breakages include the cases file-level attribution
gets wrong: a constant changed at module level (read by tests that never
execute a line of its file) and a deleted or renamed module.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

FILES = {
    "pytest.ini": "[pytest]\npythonpath = .\n",
    "calc/__init__.py": "",
    "calc/add.py": "def add(a, b):\n    return a + b\n",
    "calc/mul.py": (
        "from calc.add import add\n\n\ndef mul(a, b):\n    total = 0\n    for _ in range(b):\n"
        "        total = add(total, a)\n    return total\n"
    ),
    "calc/consts.py": "FACTOR = 2\n",
    "calc/scale.py": "from calc.consts import FACTOR\n\n\ndef scale(x):\n    return x * FACTOR\n",
    "calc/fmt.py": 'def show(x):\n    return f"<{x}>"\n\n\ndef unused():\n    return 1\n',
    "tests/unit/test_add.py": "from calc.add import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "tests/unit/test_mul.py": "from calc.mul import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    "tests/unit/test_scale.py": "from calc.scale import scale\n\n\ndef test_scale():\n    assert scale(3) == 6\n",
    "tests/unit/test_fmt.py": 'from calc.fmt import show\n\n\ndef test_show():\n    assert show(1) == "<1>"\n',
    "tests/integration/test_flow.py": (
        "from calc.fmt import show\nfrom calc.scale import scale\n\n\n"
        'def test_flow():\n    assert show(scale(2)) == "<4>"\n'
    ),
    ".gitignore": "reports/\n.stagewise/\n__pycache__/\n.coverage*\n",
}
UNIT = {
    "tests/unit/test_add.py::test_add",
    "tests/unit/test_mul.py::test_mul",
    "tests/unit/test_scale.py::test_scale",
    "tests/unit/test_fmt.py::test_show",
}


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), "-c", "user.email=t@example.com", "-c", "user.name=t", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def _project(make_project: ProjectFactory, *, record: bool = True) -> Path:
    python = pyvenvs.project_venv(pyvenvs.PYTEST_7_COV_XDIST)
    root = make_project(
        {
            "stagewise.toml": (
                f'[project]\npython = "{python}"\nsource = ["calc"]\n\n'
                '[tiers.unit]\npaths = ["tests/unit"]\n\n[tiers.integration]\npaths = ["tests/integration"]\n'
            ),
            **FILES,
        }
    )
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "calc")
    if record:
        full = _test(root, "--coverage")
        assert full.returncode == 0, full.stdout + full.stderr
        assert (root / ".stagewise" / "impact.json").is_file()
        _git(root, "checkout", "-q", "-b", "work")
    return root


def _test(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("test", "--unit", "--integration", "--no-progress", *args, cwd=root)


def _ran(root: Path) -> dict[str, set[str]]:
    """Tier -> the node ids the latest run ran."""
    ran: dict[str, set[str]] = {}
    for record in (root / "reports" / "latest").glob("junit-*.attempts.jsonl"):
        tier = record.name.removeprefix("junit-").removesuffix(".attempts.jsonl")
        for line in record.read_text().splitlines():
            event = json.loads(line)
            if event["event"] == "report":
                ran.setdefault(tier, set()).add(event["nodeid"])
    return ran


def _summary(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def _statuses(root: Path) -> dict[str, str]:
    tiers = _summary(root)["tiers"]
    assert isinstance(tiers, list)
    return {t["name"]: t["status"] for t in tiers}


def _edit(root: Path, path: str, old: str, new: str) -> None:
    text = (root / path).read_text()
    assert old in text
    (root / path).write_text(text.replace(old, new, 1))


def test_a_one_line_change_runs_only_the_tests_that_touch_it(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    _edit(root, "calc/fmt.py", 'return f"<{x}>"', 'return "<" + f"{x}" + ">"')
    done = _test(root, "--changed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ran(root) == {
        "unit": {"tests/unit/test_fmt.py::test_show"},
        "integration": {"tests/integration/test_flow.py::test_flow"},
    }
    assert "--changed: unit runs 1 of 4 unit test(s) affected by calc/fmt.py" in done.stdout
    # a change inside add(): integration never calls it, so that tier is skipped by the change
    _git(root, "checkout", "-q", "--", ".")
    _edit(root, "calc/add.py", "return a + b", "return b + a")
    done = _test(root, "--changed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ran(root) == {"unit": {"tests/unit/test_add.py::test_add", "tests/unit/test_mul.py::test_mul"}}
    assert _statuses(root) == {"unit": "passed", "integration": "skipped-by-change"}
    assert (
        "integration: nothing in the integration tier is affected by the change: calc/add.py" in done.stdout
    )
    assert _summary(root)["changed"] == {
        "ref": "the merge base with main",
        "commit": _git(root, "rev-parse", "main").strip(),
        "files": ["calc/add.py"],
    }


def test_planted_breakages_are_caught(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    breakages = [
        ("calc/add.py", "return a + b", "return a - b", {"test_add", "test_mul"}),
        # module level: test_scale never executes a line of consts.py, yet reads FACTOR
        ("calc/consts.py", "FACTOR = 2", "FACTOR = 3", {"test_scale", "test_flow"}),
        ("calc/mul.py", "total = 0", "total = 1", {"test_mul"}),
    ]
    for path, old, new, failing in breakages:
        _edit(root, path, old, new)
        done = _test(root, "--changed")
        assert done.returncode == 1, (path, done.stdout + done.stderr)
        failed = {f["name"].rsplit("::", 1)[1] for t in _summary(root)["tiers"] for f in t["failed_tests"]}  # type: ignore[attr-defined]
        assert failed == failing, (path, done.stdout)
        _git(root, "checkout", "-q", "--", ".")
    # a deleted module, and a renamed one its importers still name
    _git(root, "rm", "-q", "calc/fmt.py")
    done = _test(root, "--changed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert _statuses(root) == {"unit": "error", "integration": "error"}
    _git(root, "reset", "-q", "--hard")
    _git(root, "mv", "calc/add.py", "calc/plus.py")
    done = _test(root, "--changed")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_mul" in done.stdout


def test_what_it_cannot_judge_runs_the_whole_tier_with_the_reason(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    cases = [
        ("tests/conftest.py", "import pytest\n", "tests/conftest.py changed (a conftest.py over its tests)"),
        ("requirements-dev.txt", "pytest\n", "requirements-dev.txt changed (dependencies)"),
        ("setup.cfg", "[metadata]\nname = calc\n", "setup.cfg changed (project config)"),
        ("calc/new.py", "X = 1\n", "calc/new.py is new since the unit tier's impact data"),
        ("README.md", "# calc\n", "README.md changed and no recorded test touched it"),
    ]
    for path, text, reason in cases:
        (root / path).write_text(text)
        done = _test(root, "--changed")
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"--changed: unit runs whole: {reason}" in done.stdout, done.stdout
        assert _ran(root)["unit"] == UNIT
        (root / path).unlink()
    # a changed test file runs itself (plus what the change affects); a new one runs too
    _edit(root, "tests/unit/test_add.py", "add(2, 3) == 5", "add(3, 2) == 5")
    (root / "tests/unit/test_new.py").write_text("def test_new():\n    assert True\n")
    done = _test(root, "--changed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _ran(root) == {"unit": {"tests/unit/test_add.py::test_add", "tests/unit/test_new.py::test_new"}}
    assert _statuses(root)["integration"] == "skipped-by-change"


def test_no_data_yet_runs_everything_and_nothing_affected_is_reported(make_project: ProjectFactory) -> None:
    root = _project(make_project, record=False)
    done = _test(root, "--changed")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "--changed: unit runs whole: no impact data for the unit tier yet (a whole "
        "`stagewise test --unit --coverage` run records it in .stagewise/impact.json)"
    ) in done.stdout
    assert _ran(root)["unit"] == UNIT
    # recorded now; a change inside a function no test calls affects nothing
    assert _test(root, "--coverage").returncode == 0
    _edit(root, "calc/fmt.py", "return 1", "return 2")
    done = _test(root, "--changed", "HEAD")
    assert done.returncode == 0, done.stdout + done.stderr
    assert _statuses(root) == {"unit": "skipped-by-change", "integration": "skipped-by-change"}
    assert "verdict: NOTHING AFFECTED (exit 0)" in done.stdout
    assert _ran(root) == {}


def test_data_older_than_the_commit_judges_what_changed_since(make_project: ProjectFactory) -> None:
    root = _project(make_project)
    _edit(root, "calc/add.py", "return a + b", "return a - b")
    _git(root, "commit", "-qam", "break add after the data was recorded")
    done = _test(root, "--changed", "HEAD")  # nothing differs from HEAD, but the data predates it
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(and 1 changed since its data was recorded)" in done.stdout
    assert _ran(root)["unit"] == {"tests/unit/test_add.py::test_add", "tests/unit/test_mul.py::test_mul"}


def test_a_bad_ref_and_no_repository_are_one_line_usage_errors(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"tests/unit/test_a.py": "def test_a():\n    pass\n"})
    done = run_cli("test", "--changed", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr
    assert f"--changed needs a git repository: {root.resolve()} is not inside one" in done.stderr
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "a")
    done = run_cli("test", "--changed", "no-such-branch", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "Traceback" not in done.stderr
    assert "--changed no-such-branch: not a commit in" in done.stderr
    _git(root, "branch", "-q", "-m", "main", "trunk")
    done = run_cli("test", "--changed", cwd=root)
    assert done.returncode == 2
    assert "--changed: found no main branch" in done.stderr


@pytest.mark.parametrize("ref", ["HEAD", "main"])
def test_a_selection_with_changed_is_a_usage_error(make_project: ProjectFactory, ref: str) -> None:
    root = make_project({"tests/unit/test_a.py": "def test_a():\n    pass\n"})
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "a")
    done = run_cli("test", f"--changed={ref}", "tests/unit/test_a.py", cwd=root)
    assert done.returncode == 2
    assert "--changed picks the tests itself: drop tests/unit/test_a.py" in done.stderr


def test_changed_with_shard_is_a_usage_error(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_a.py": "def test_a():\n    pass\n"})
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", "a")
    done = run_cli("test", "--changed", "--shard", "1/2", cwd=root)
    assert done.returncode == 2
    assert "--changed with --shard: the affected tests are too few to split reliably" in done.stderr
