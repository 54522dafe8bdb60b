"""`stagewise test --shard K/N` on a real pytest 8 project in its own venv.

A full run records every test's time in .stagewise/durations.json; the shards
then split by it: together they run every test exactly once, and the slow
tests do not pile up on one runner. Also under pytest-xdist (the split is made
on each worker), and with fewer tests than shards it refuses with exit 2.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import pyvenvs
from tests.conftest import ProjectFactory
from tests.helpers import run_cli

TESTS = """
import time
import pytest

@pytest.fixture
def slow_setup():
    time.sleep(0.6)  # setup time counts with the test

def test_setup_heavy(slow_setup):
    pass

@pytest.mark.parametrize("seconds", [0.5, 0.4, 0.3, 0.2, 0.1, 0.05, 0.0])
def test_sleeps(seconds):
    time.sleep(seconds)
"""


def _project(make_project: ProjectFactory, tests: str = TESTS) -> Path:
    python = pyvenvs.project_venv(pyvenvs.PYTEST_8_RECORD)
    return make_project(
        {
            "stagewise.toml": f'[project]\npython = "{python}"\n',
            "tests/unit/test_work.py": tests,
        }
    )


def _ran(reports: Path) -> dict[str, float]:
    """Node id -> seconds (setup + call + teardown) of the tests the latest run ran."""
    times: dict[str, float] = {}
    for line in (reports / "latest" / "junit-unit.attempts.jsonl").read_text().splitlines():
        event = json.loads(line)
        if event["event"] == "report":
            times[event["nodeid"]] = times.get(event["nodeid"], 0.0) + event["duration"]
    return times


@pytest.mark.parametrize("pytest_args", [(), ("--", "-n", "2")], ids=["plain", "xdist"])
def test_shards_split_by_recorded_durations(
    make_project: ProjectFactory, tmp_path: Path, pytest_args: tuple[str, ...]
) -> None:
    root = _project(make_project)
    reports = tmp_path / "reports"
    full = run_cli("test", "--unit", "--no-progress", "--reports-dir", str(reports), cwd=root)
    assert full.returncode == 0, full.stdout + full.stderr
    recorded = json.loads((root / ".stagewise" / "durations.json").read_text())["tests"]
    assert len(recorded) == 8
    assert recorded["tests/unit/test_work.py::test_setup_heavy"] >= 0.6
    shards = []
    kept = (root / ".stagewise" / "durations.json").read_text()
    for k in (1, 2):
        done = run_cli(
            "test", "--unit", "--no-progress", "--reports-dir", str(reports), "--shard", f"{k}/2",
            *pytest_args, cwd=root,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr
        shards.append(_ran(reports))
        summary = json.loads((reports / "latest" / "summary.json").read_text())
        assert summary["tiers"][0]["deselected"] == 8 - len(shards[-1])
    # a shard keeps its times in its own run folder: the next shard splits by the same file
    assert (root / ".stagewise" / "durations.json").read_text() == kept
    assert set(shards[0]).isdisjoint(shards[1])
    assert set(shards[0]) | set(shards[1]) == set(recorded)
    loads = [sum(recorded[n] for n in shard) for shard in shards]
    assert max(loads) / min(loads) < 1.3, loads  # unsplit by time, the 0.6+0.5 s pair could share a shard


def test_fewer_tests_than_shards_is_a_usage_error(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = _project(make_project, "def test_a():\n    pass\n\ndef test_b():\n    pass\n")
    done = run_cli(
        "test", "--unit", "--no-progress", "--reports-dir", str(tmp_path / "r"), "--shard", "3/4", cwd=root
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "--shard 3/4: the unit tier has only 2 test(s) for 4 shards, so a shard would be empty; "
        "use at most --shard K/2"
    ) in done.stderr
    assert "Traceback" not in done.stderr


def test_a_malformed_shard_is_a_usage_error(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = _project(make_project)
    done = run_cli("test", "--unit", "--shard", "5/4", cwd=root)
    assert done.returncode == 2
    assert "expected K/N with 1 <= K <= N" in done.stderr


FIXTURE_TESTS = """
import time
import pytest

@pytest.fixture(scope="session")
def app():
    time.sleep(0.3)

@pytest.fixture(scope="module")
def schema(app):
    time.sleep(0.6)

@pytest.fixture
def per_test():
    time.sleep(0.2)

def test_first(schema):
    pass

def test_second(schema, per_test):
    pass
"""


@pytest.mark.parametrize("requirements", [pyvenvs.PYTEST_7_RECORD, pyvenvs.PYTEST_9_RECORD], ids=["7", "9"])
def test_a_run_records_wider_scoped_fixture_times_on_the_test_that_ran_them(
    make_project: ProjectFactory, tmp_path: Path, requirements: tuple[str, ...]
) -> None:
    python = pyvenvs.project_venv(requirements)
    root = make_project(
        {"stagewise.toml": f'[project]\npython = "{python}"\n', "tests/unit/test_fixtures.py": FIXTURE_TESTS}
    )
    done = run_cli("test", "--unit", "--no-progress", "--reports-dir", str(tmp_path / "reports"), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    kept = json.loads((root / ".stagewise" / "durations.json").read_text())
    first, second = "tests/unit/test_fixtures.py::test_first", "tests/unit/test_fixtures.py::test_second"
    assert set(kept["fixtures"]) == {first}  # the function-scoped fixture is test_second's own time
    assert kept["fixtures"][first]["session"] >= 0.3
    assert kept["fixtures"][first]["module"] >= 0.6
    assert kept["tests"][first] >= 0.9
    assert kept["tests"][second] >= 0.2
