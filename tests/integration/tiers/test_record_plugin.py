"""The record plugin counts the same on pytest 7, 8 and 9, with and without xdist, in real venvs.

One throwaway project holds every outcome (pass, fail, error, flaky, xfail,
xpass, skip, deselected, parametrized, a class); each run is the real tier
(``run_pytest_tier``) in a real venv from tests/pyvenvs.py. The project runs
with ``--strict-markers`` and marks a test ``slow`` that it never registers:
only stagewise's registration of the ``-m`` markers lets it collect. Its own
``--junitxml`` in ``addopts`` must still be written.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from stagewise.tiers.junit import read_cases, read_junit
from stagewise.tiers.pytest_tier import PytestRun, run_pytest_tier
from stagewise.tiers.result import FlakyTest, TierResult, TierStatus
from tests import pyvenvs

TESTS = """
import os, pathlib
import pytest

def test_pass():
    pass

def test_fail():
    assert 1 == 2

def test_flaky():
    counter = pathlib.Path(os.environ["FLAKY_COUNTER"])
    attempt = int(counter.read_text()) if counter.exists() else 0
    counter.write_text(str(attempt + 1))
    assert attempt >= 1, "first attempt fails"

@pytest.mark.xfail(reason="planted xfail: it fails on purpose and must count as xfailed")
def test_xfail():
    assert False

@pytest.mark.xfail(reason="planted xpass: it passes on purpose and must count as xpassed")
def test_xpass():
    pass

@pytest.mark.skip(reason="planted skip: counted as skipped, apart from xfail and deselected")
def test_skip():
    pass

@pytest.mark.slow
def test_deselected():
    pass

@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    pass

class TestGroup:
    def test_method(self):
        pass

@pytest.fixture
def broken():
    raise RuntimeError("fixture exploded")

def test_error(broken):
    pass
"""
NODE = "tests/unit/test_all.py::"
MATRIX = {
    "pytest7": pyvenvs.PYTEST_7_RECORD,
    "pytest8": pyvenvs.PYTEST_8_RECORD,
    "pytest9": pyvenvs.PYTEST_9_RECORD,
}


def write(root: Path, files: dict[str, str]) -> Path:
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write(
        tmp_path_factory.mktemp("record"),
        {
            "pytest.ini": "[pytest]\naddopts = --strict-markers --junitxml=project-junit.xml\n",
            "tests/unit/test_all.py": TESTS,
        },
    )


def run_tier(root: Path, python: Path, out: Path, **fields: object) -> TierResult:
    out.mkdir(parents=True, exist_ok=True)
    settings: dict[str, object] = {
        "tier": "unit",
        "python": str(python),
        "cwd": root,
        "paths": ("tests/unit",),
        "env": {"FLAKY_COUNTER": str(out / "counter"), "PATH": "/usr/bin:/bin"},
        "junit_path": out / "junit-unit.xml",
        "log_path": out / "unit.log",
        **fields,
    }
    return run_pytest_tier(PytestRun(**settings), lambda line: None)  # type: ignore[arg-type]


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
@pytest.mark.parametrize("pytest_set", list(MATRIX))
def test_every_outcome_is_counted_apart_on_each_pytest(
    project: Path, tmp_path: Path, pytest_set: str, xdist: bool
) -> None:
    python = pyvenvs.project_venv(MATRIX[pytest_set])
    (project / "project-junit.xml").unlink(missing_ok=True)
    args = ("-n", "2") if xdist else ()
    result = run_tier(project, python, tmp_path, markers="not slow", reruns=2, args=args)
    log = (tmp_path / "unit.log").read_text(encoding="utf-8")
    assert result.status is TierStatus.FAILED, log
    counts = result.counts
    assert (counts.tests, counts.passed, counts.failures, counts.errors) == (10, 5, 1, 1), log
    assert (counts.skipped, counts.xfailed, counts.xpassed, counts.deselected) == (1, 1, 1, 1)
    # failed then passed on its rerun: flaky, whatever the JUnit dialect of this pytest would say
    assert result.flaky_tests == (FlakyTest(NODE + "test_flaky", 1),)
    assert [(f.name, f.kind) for f in result.failed_tests] == [
        (NODE + "test_fail", "failure"),
        (NODE + "test_error", "error"),
    ]
    assert result.failed_tests[1].message == "RuntimeError: fixture exploded"
    assert result.message == "1 failed, 1 errors"
    assert "--junitxml" not in result.command
    assert (project / "project-junit.xml").is_file()  # the project's own --junitxml still written
    # stagewise's JUnit says the same as the result, in node ids
    assert read_junit(tmp_path / "junit-unit.xml") == (counts, result.failed_tests)
    names = {case.name for case in read_cases(tmp_path / "junit-unit.xml")}
    assert {NODE + "test_param[1]", NODE + "TestGroup::test_method"} <= names
    if xdist:
        record = (tmp_path / "junit-unit.attempts.jsonl").read_text(encoding="utf-8")
        assert '"worker": "gw1"' in record  # the run really was distributed


def test_without_stagewise_the_project_rejects_its_unregistered_marker(project: Path, tmp_path: Path) -> None:
    """The control for the marker check above: bare pytest fails to collect the ``slow`` mark."""
    import subprocess

    python = pyvenvs.project_venv(pyvenvs.PYTEST_9_RECORD)
    done = subprocess.run(
        [str(python), "-m", "pytest", "tests/unit", "-m", "not slow", "-p", "no:cacheprovider"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "'slow' not found in `markers` configuration option" in done.stdout


def test_a_coverage_fail_under_in_addopts_is_the_tiers_message(tmp_path: Path) -> None:
    """pytest exits 1 with every test passing: the message is pytest-cov's reason, not '0 failed'."""
    root = write(
        tmp_path / "project",
        {
            "pytest.ini": "[pytest]\naddopts = --cov=app --cov-fail-under=100 -n 2 --junitxml=reports/own.xml\n",
            "app.py": "def half(x):\n    if x:\n        return 1\n    return 0\n",
            "tests/unit/test_app.py": "from app import half\n\ndef test_half():\n    assert half(1) == 1\n",
        },
    )
    python = pyvenvs.project_venv(pyvenvs.PYTEST_7_COV_XDIST)
    result = run_tier(root, python, tmp_path / "out", env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"})
    log = (tmp_path / "out" / "unit.log").read_text(encoding="utf-8")
    assert result.pytest_exit_code == 1, log
    assert (result.counts.tests, result.counts.passed) == (1, 1)
    assert result.status is TierStatus.FAILED
    assert "Required test coverage of 100% not reached" in result.message, result.message
    assert "0 failed" not in result.message
    assert (root / "reports" / "own.xml").is_file()


def test_a_conftest_that_cannot_import_is_an_error_with_pytests_reason(tmp_path: Path) -> None:
    root = write(
        tmp_path / "project",
        {
            "tests/unit/conftest.py": "import not_installed_anywhere\n",
            "tests/unit/test_a.py": "def test_a():\n    pass\n",
        },
    )
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8_RECORD)
    result = run_tier(root, python, tmp_path / "out")
    assert result.status is TierStatus.ERROR
    assert "not_installed_anywhere" in result.message, result.message
    assert result.junit_path is None


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_a_collection_error_is_named_by_its_file(tmp_path: Path, xdist: bool) -> None:
    root = write(
        tmp_path / "project",
        {
            "tests/unit/test_ok.py": "def test_ok():\n    pass\n",
            "tests/unit/test_syntax.py": "def test_bad(:\n",
        },
    )
    python = pyvenvs.project_venv(pyvenvs.PYTEST_9_RECORD)
    result = run_tier(root, python, tmp_path / "out", args=("-n", "2") if xdist else ())
    assert result.status is TierStatus.ERROR
    assert result.message.startswith("pytest could not collect tests/unit/test_syntax.py: SyntaxError"), (
        result.message
    )
    assert [(f.name, f.kind) for f in result.failed_tests] == [("tests/unit/test_syntax.py", "error")]


SUBTESTS = """
def test_subs(subtests):
    for i in range(3):
        with subtests.test(msg="each", i=i):
            assert i != 1

def test_subs_ok(subtests):
    for i in range(2):
        with subtests.test(i=i):
            pass
"""


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_pytest9_subtests_are_one_test_not_reruns(tmp_path: Path, xdist: bool) -> None:
    """Each subtest is one more ``call`` report of its test: not an attempt, so never flaky."""
    root = write(tmp_path / "project", {"tests/unit/test_sub.py": SUBTESTS})
    python = pyvenvs.project_venv(pyvenvs.PYTEST_9_RECORD)
    result = run_tier(root, python, tmp_path / "out", args=("-n", "2") if xdist else ())
    assert (result.counts.tests, result.counts.passed, result.counts.failures) == (2, 1, 1)
    assert result.flaky_tests == ()
    assert [f.name for f in result.failed_tests] == ["tests/unit/test_sub.py::test_subs"]
    assert result.failed_tests[0].message.startswith("[each] (i=")  # which subtest failed
    assert result.failed_tests[0].message.endswith("assert 1 != 1")


def test_record_lines_are_json(project: Path, tmp_path: Path) -> None:
    """Every line the plugin writes is one JSON object with an event (the reader's contract)."""
    python = pyvenvs.project_venv(pyvenvs.PYTEST_7_RECORD)
    run_tier(project, python, tmp_path, markers="not slow")
    lines = (tmp_path / "junit-unit.attempts.jsonl").read_text(encoding="utf-8").splitlines()
    events = [json.loads(line)["event"] for line in lines]
    assert events[0] == "start"
    assert events[-1] == "end"
    assert {"collected", "deselected", "report"} <= set(events)
