"""A toy tier, registered only here, runs end to end through the real pipeline.

Plan, run, summary.json (its evidence in the record), the page (its evidence
rendered from the record) and the exit code, passing and failing; then it is
unregistered and the pipeline no longer knows it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import pytest

from stagewise.errors import ExitCode, UsageError
from stagewise.pipeline.test_run import TestRequest, plan_run, run_tests
from stagewise.plugins.tiers import TIERS, TierSpec
from stagewise.project.loader import load_project
from stagewise.project.model import Project, TierConfig
from stagewise.tiers.result import TierResult
from tests.conftest import ProjectFactory


class Recorder:
    """A Reporter that keeps what it was told."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []
        self.finished: list[TierResult] = []

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        self.tiers = list(tiers)

    def tier_started(self, tier: str, command: Sequence[str]) -> None:
        return None

    def output(self, tier: str, line: str) -> None:
        self.lines.append((tier, line))

    def tier_finished(self, result: TierResult) -> None:
        self.finished.append(result)

    def note(self, message: str) -> None:
        return None


@pytest.fixture
def toy_registered() -> Iterator[None]:
    TIERS.register(
        TierSpec(
            "toy",
            "tests.unit.pipeline.toy_tier:TIER",
            on_request=True,
            page="tests.unit.pipeline.toy_tier:toy_page",
        )
    )
    try:
        yield
    finally:
        TIERS.unregister("toy")


def toy_project(make_project: ProjectFactory, verdict: str) -> Project:
    project = load_project(make_project({"toy.txt": verdict + "\n"}))
    return replace(project, tiers={**project.tiers, "toy": TierConfig("toy", ())})


CASES = [("pass", ExitCode.OK, "passed"), ("fail", ExitCode.FAILED, "failed")]


@pytest.mark.parametrize("case", CASES, ids=["passing", "failing"])
def test_a_toy_tier_runs_end_to_end(
    toy_registered: None, make_project: ProjectFactory, tmp_path: Path, case: tuple[str, ExitCode, str]
) -> None:
    verdict, code, status = case
    project = toy_project(make_project, verdict)
    request = TestRequest(tiers=("toy",), reports_dir=tmp_path / "reports")
    assert [t.name for t in plan_run(project, request).tiers] == ["toy"]
    reporter = Recorder()
    result = run_tests(project, request, reporter, process_env={"PATH": "/usr/bin:/bin"})
    assert result.exit_code == code
    assert reporter.tiers == ["toy"]
    assert [t.name for t in reporter.finished] == ["toy"]
    assert reporter.lines == [("toy", f"toy says {verdict} in {Path(result.run_dir).name}")]
    record = json.loads((Path(result.run_dir) / "summary.json").read_text(encoding="utf-8"))
    assert record["exit_code"] == int(code)
    [tier] = record["tiers"]
    assert (tier["name"], tier["status"], tier["toy"]) == ("toy", status, {"verdict": verdict, "lines": 1})
    page = (Path(result.run_dir) / "index.html").read_text(encoding="utf-8")
    assert f"<section id='toy'><h2>Toy</h2><p data-verdict='{verdict}'>toy</p></section>" in page
    assert "id='tier-toy'" in page


def test_the_toy_tier_validates_before_anything_runs(
    toy_registered: None, make_project: ProjectFactory
) -> None:
    project = toy_project(make_project, "pass")
    (project.root / "toy.txt").unlink()
    with pytest.raises(UsageError, match=r"the toy tier needs toy\.txt"):
        plan_run(project, TestRequest(tiers=("toy",)))


def test_unregistered_the_toy_tier_is_unknown(make_project: ProjectFactory) -> None:
    project = toy_project(make_project, "pass")
    assert "toy" not in TIERS
    with pytest.raises(UsageError, match="unknown tier 'toy'"):
        plan_run(project, TestRequest(tiers=("toy",)))
