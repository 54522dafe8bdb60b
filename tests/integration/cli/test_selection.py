"""``stagewise test [TIER FLAGS] [PATH|NODEID ...] [-- PYTEST ARGS]`` through the real CLI.

Throwaway projects in tmp_path, real pytest in a subprocess (stagewise's own
interpreter, as ``project.python`` is unset): the assertions read the exit
code, the terminal lines, summary.json and the tier logs.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli

FLAT = {
    "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
    "tests/test_lib.py": """
        import pytest

        def test_one():
            print("RELAYED-BY-PYTEST")

        def test_two():
            pass

        @pytest.mark.skip(reason="planted skip: counted as skipped, apart from xfail and deselected")
        def test_skipped():
            pass
        """,
    "tests/sub/test_more.py": "def test_three():\n    pass\n",
    # Outside testpaths: a bare `pytest` never collects it, so neither may stagewise.
    "scripts/test_outside.py": "def test_never():\n    assert False\n",
}
LAYERED = {
    "tests/unit/test_u.py": "def test_u():\n    pass\n",
    "tests/integration/test_x.py": """
        import pytest

        def test_y():
            pass

        def test_name_one():
            pass

        def test_fails():
            assert 1 == 2

        @pytest.mark.parametrize("n", [1, 2])
        def test_p(n):
            assert n == 1
        """,
}


def summary(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def tiers(root: Path) -> list[tuple[str, str, int, int]]:
    rows = summary(root)["tiers"]
    assert isinstance(rows, list)
    return [(t["name"], t["status"], t["passed"], t["failed"]) for t in rows]


def bare_pytest_counts(root: Path) -> tuple[int, int]:
    """(passed, skipped) of a bare ``pytest`` in the project, read from its own summary line."""
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=root,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", last)
    skipped = re.search(r"(\d+) skipped", last)
    assert passed is not None, last
    return int(passed.group(1)), int(skipped.group(1)) if skipped else 0


def test_a_flat_project_runs_pytest_own_collection_and_says_so(make_project: ProjectFactory) -> None:
    root = make_project(FLAT)
    done = run_cli("test", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    said = [line for line in done.stdout.splitlines() if "pytest's own collection" in line]
    assert said == [
        "stagewise: the unit tier is pytest's own collection (testpaths tests in pyproject.toml): "
        "no stagewise.toml and none of tests/unit, tests/integration, tests/api, tests/e2e; "
        "`stagewise init` writes one for this layout"
    ]
    record = summary(root)["tiers"]
    assert isinstance(record, list)
    assert (record[0]["passed"], record[0]["skipped"]) == bare_pytest_counts(root) == (3, 1)


def test_a_node_id_runs_only_that_test_in_the_tier_holding_it(make_project: ProjectFactory) -> None:
    root = make_project(LAYERED)
    done = run_cli("test", "--no-progress", "tests/integration/test_x.py::test_y", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tiers(root) == [("integration", "passed", 1, 0)]  # the whole file would fail
    # a parametrized id read from inside the tier's folder, beside a folder of another tier
    inside = root / "tests" / "integration"
    done = run_cli(
        "test", "--no-progress", "test_x.py::test_p[1]", "--project", str(root), "../unit", cwd=inside
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert tiers(root) == [("unit", "passed", 1, 0), ("integration", "passed", 1, 0)]


@pytest.mark.parametrize("how", [("-k", "name_one or test_y"), ("--", "-k", "name_one or test_y")])
def test_k_as_an_option_and_after_the_double_dash(make_project: ProjectFactory, how: tuple[str, ...]) -> None:
    root = make_project(LAYERED)
    done = run_cli("test", "--integration", "--no-progress", *how, cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert tiers(root) == [("integration", "passed", 2, 0)]


def test_passthrough_arguments_reach_pytest(make_project: ProjectFactory) -> None:
    root = make_project(LAYERED)
    done = run_cli("test", "--integration", "--no-progress", "--", "-x", "-p", "no:randomly", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert tiers(root) == [("integration", "failed", 2, 1)]  # -x: stopped at the first failure


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("tests/integration/nope.py::test_y",),
            "tests/integration/nope.py does not exist (the file of node id",
        ),
        (("tests/nowhere.py",), "tests/nowhere.py does not exist"),
        (("setup_notes.py",), "setup_notes.py is in no tier's paths: unit: tests/unit; integration:"),
        (
            ("--unit", "tests/integration/test_x.py"),
            "is in the integration tier's paths, not in those of --unit",
        ),
        (("--", "--junitxml=mine.xml"), "stagewise writes each tier's JUnit XML itself"),
        (("--", "--collect-only"), "pytest runs no test with it"),
    ],
)
def test_bad_selections_are_exit_2_in_one_line(
    make_project: ProjectFactory, args: tuple[str, ...], message: str
) -> None:
    root = make_project({**LAYERED, "setup_notes.py": ""})
    done = run_cli("test", *args, cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("stagewise: error: ")
    assert message in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert not (root / "reports").exists()  # refused before anything ran


def test_no_progress_keeps_pytest_output_in_the_log_and_verbose_relays_it(
    make_project: ProjectFactory,
) -> None:
    root = make_project({"tests/unit/test_lib.py": FLAT["tests/test_lib.py"]})
    quiet = run_cli("test", "--no-progress", "--", "-s", cwd=root)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    assert "RELAYED-BY-PYTEST" not in quiet.stdout
    assert "test session starts" not in quiet.stdout
    assert "── unit tier" in quiet.stdout
    assert "verdict: PASSED" in quiet.stdout
    log = (root / "reports" / "latest" / "unit.log").read_text()
    assert "RELAYED-BY-PYTEST" in log
    assert "test session starts" in log
    loud = run_cli("test", "--no-progress", "-v", "--", "-s", cwd=root)
    assert "tests/unit/test_lib.py::test_one" in loud.stdout
    assert "RELAYED-BY-PYTEST" in loud.stdout
    plain = run_cli("test", "--", "-s", cwd=root)  # a pipe without --no-progress relays, as before
    assert "RELAYED-BY-PYTEST" in plain.stdout


def test_the_header_names_a_target_only_when_a_tier_needs_one(make_project: ProjectFactory) -> None:
    root = make_project(LAYERED)
    unit = run_cli("test", "--no-progress", cwd=root)
    header = unit.stdout.splitlines()[0]
    assert header.startswith("stagewise: stage test · tiers unit · run "), header
    api = run_cli("test", "--api", "--host", "http://127.0.0.1:9", "--no-progress", cwd=root)
    assert api.stdout.splitlines()[0].startswith(
        "stagewise: stage test · target http://127.0.0.1:9 · tiers api"
    )


def test_a_missing_tier_folder_hints_where_to_set_its_paths(make_project: ProjectFactory) -> None:
    root = make_project(
        {"stagewise.toml": '[project]\nname = "x"\n', "tests/test_flat.py": "def test_a(): pass\n"}
    )
    done = run_cli("test", "--no-progress", cwd=root)
    assert done.returncode == 5, done.stdout + done.stderr
    assert (
        f"no unit tests: tests/unit does not exist in {root} (set tiers.unit.paths in stagewise.toml)"
        in done.stdout
    )
