"""How --changed judges each changed file against a tier's impact data (no git, no pytest: the data is made here)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from stagewise.pipeline.changed import TierChoice, judge_tiers
from stagewise.pipeline.git_changes import Change
from stagewise.pipeline.impact import FileState, TierImpact
from stagewise.pipeline.module_shape import function_bodies, shape
from stagewise.project.loader import load_project
from tests.conftest import ProjectFactory

FILES = {
    "stagewise.toml": '[tiers.unit]\npaths = ["tests/unit"]\n\n[tiers.integration]\npaths = ["tests/integration"]\n',
    "app/__init__.py": "",
    "app/consts.py": "RATE = 2\n",
    "app/price.py": "from app.consts import RATE\n\n\ndef price(x):\n    return x * RATE\n\n\ndef other():\n    return 0\n",
    "tests/unit/test_price.py": "from app.price import price\n\n\ndef test_price():\n    assert price(1) == 2\n",
    "tests/unit/test_other.py": "def test_other():\n    assert True\n",
    "tests/integration/test_flow.py": "def test_flow():\n    assert True\n",
}
PRICE = "tests/unit/test_price.py::test_price"
OTHER = "tests/unit/test_other.py::test_other"


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _state(root: Path, path: str, tests: dict[str, set[str]] | None = None) -> FileState:
    text = (root / path).read_text()
    bodies = function_bodies(text) or {}
    functions = {
        name: (digest, frozenset((tests or {}).get(name, set()))) for name, (digest, _) in bodies.items()
    }
    return FileState(_digest(text), shape(text), False, functions)


def _impact(root: Path) -> dict[str, TierImpact]:
    files = {p: _state(root, p) for p in FILES if p.endswith(".py")}
    files["app/price.py"] = _state(root, "app/price.py", {"price#0": {PRICE}})
    files["stagewise.toml"] = FileState(_digest(FILES["stagewise.toml"]))
    unit = TierImpact(
        tier="unit",
        recorded_at="2026-12-03T00:00:00+00:00",
        commit="",
        tests=frozenset({PRICE, OTHER}),
        failed=frozenset(),
        spawns=frozenset(),
        touches={
            "app/price.py": frozenset({PRICE}),
            "tests/unit/test_price.py": frozenset({PRICE}),
            "tests/unit/test_other.py": frozenset({OTHER}),
        },
        imported=frozenset({"app/consts.py", "app/price.py", "app/__init__.py"}),
        roots=("app", "tests/unit", "tests/integration"),
        files=files,
    )
    return {"unit": unit}


def _judge(root: Path, *changed: str, impact: dict[str, TierImpact] | None = None) -> TierChoice:
    project = load_project(root)
    current = {p: _digest((root / p).read_text()) for p in FILES if (root / p).is_file()}
    current.update({p: _digest((root / p).read_text()) for p in changed if (root / p).is_file()})
    change = Change(
        "REF", "0" * 40, frozenset(changed), frozenset(p for p in changed if not (root / p).exists())
    )
    data = impact if impact is not None else _impact(root)
    return judge_tiers(project, ["unit"], ["unit", "integration"], change, data, current, {}, {})[0]


def test_a_change_inside_a_function_runs_the_tests_that_executed_it(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    (root / "app/price.py").write_text(FILES["app/price.py"].replace("x * RATE", "RATE * x"))
    choice = _judge(root, "app/price.py", impact=impact)
    assert (choice.whole, choice.keep, choice.files) == (False, {PRICE}, frozenset())
    assert choice.paths() == ("tests/unit/test_price.py",)


def test_a_function_no_test_executed_affects_nothing(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    (root / "app/price.py").write_text(FILES["app/price.py"].replace("return 0", "return 1"))
    choice = _judge(root, "app/price.py", impact=impact)
    assert choice.nothing
    assert choice.reason == "nothing in the unit tier is affected by the change: app/price.py"


def test_a_module_level_change_reaches_the_tests_of_its_importers(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    (root / "app/consts.py").write_text("RATE = 3\n")  # no test executes a line of it at run time
    choice = _judge(root, "app/consts.py", impact=impact)
    assert choice.keep == {PRICE}
    (root / "app/consts.py").unlink()
    assert _judge(root, "app/consts.py", impact=impact).keep == {PRICE}


def test_config_conftest_and_unknown_files_run_the_tier_whole(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    for path, reason in [
        ("tests/conftest.py", "tests/conftest.py changed (a conftest.py over its tests)"),
        ("pyproject.toml", "pyproject.toml changed (project config)"),
        ("requirements.txt", "requirements.txt changed (dependencies)"),
        (
            "app/data.json",
            "app/data.json changed and no recorded test touched it (coverage sees Python files only)",
        ),
        ("app/new.py", "app/new.py is new since the unit tier's impact data and no recorded test touched it"),
    ]:
        (root / path).write_text("x = 1\n")
        choice = _judge(root, path, impact=impact)
        assert (choice.whole, choice.reason) == (True, reason)
        (root / path).unlink()
    assert _judge(root, "app/price.py", impact={}).reason.startswith("no impact data for the unit tier yet")


def test_test_files_run_themselves_and_other_tiers_files_are_theirs(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    (root / "tests/unit/test_other.py").write_text("def test_other():\n    assert 1\n")
    choice = _judge(root, "tests/unit/test_other.py", impact=impact)
    assert choice.files == {"tests/unit/test_other.py"}
    (root / "tests/unit/test_other.py").write_text(FILES["tests/unit/test_other.py"])
    (root / "tests/integration/test_flow.py").write_text("def test_flow():\n    assert 1\n")
    assert _judge(root, "tests/integration/test_flow.py", impact=impact).nothing
    (root / "tests/integration/conftest.py").write_text("")
    assert _judge(root, "tests/integration/conftest.py", impact=impact).nothing  # not over the unit tests


def test_a_file_changed_since_the_data_was_recorded_counts(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    impact = _impact(root)
    (root / "app/price.py").write_text(FILES["app/price.py"].replace("x * RATE", "RATE * x"))
    choice = _judge(root, impact=impact)  # REF has it already; the data does not
    assert choice.keep == {PRICE}
    assert "(and 1 changed since its data was recorded)" in choice.reason


def _judge_remote(root: Path, *changed: str) -> TierChoice:
    """The unit tier's data, judged as a tier whose tests drive a running target (api, e2e)."""
    project = load_project(root)
    impact = _impact(root)
    current = {p: _digest((root / p).read_text()) for p in FILES if (root / p).is_file()}
    change = Change("REF", "0" * 40, frozenset(changed), frozenset())
    tiers = ["unit", "integration"]
    return judge_tiers(project, ["unit"], tiers, change, impact, current, {}, {}, remote=frozenset({"unit"}))[
        0
    ]


def test_a_tier_driving_a_target_runs_whole_on_any_code_change(make_project: ProjectFactory) -> None:
    """Its tests' coverage is the test process's: the target runs the changed code out of sight.

    The same change narrows an in-process tier to one test (the first test of this module).
    """
    root = make_project(FILES)
    (root / "app/price.py").write_text(FILES["app/price.py"].replace("return 0", "return 1"))
    choice = _judge_remote(root, "app/price.py")
    assert choice.whole, choice
    assert "drive a running target" in choice.reason


def test_a_tier_driving_a_target_still_runs_only_its_changed_test_file(make_project: ProjectFactory) -> None:
    root = make_project(FILES)
    (root / "tests/unit/test_other.py").write_text(FILES["tests/unit/test_other.py"] + "\n")
    choice = _judge_remote(root, "tests/unit/test_other.py")
    assert (choice.whole, choice.files) == (False, frozenset({"tests/unit/test_other.py"}))
