"""A tier that ships only in the tests: it proves a new tier is one module plus one registry line.

It "runs" by reading ``toy.txt`` in the project root (``pass`` or ``fail``),
logs one line, and leaves typed evidence that writes its own ``toy`` key of
summary.json; its page renderer draws that key back from the record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from stagewise.errors import UsageError
from stagewise.project.model import Project, StageConfig
from stagewise.tiers.base import TierContext, TierPlan, ToolNeed
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TestCounts, TierResult, TierStatus

NAME = "toy"


@dataclass(frozen=True)
class ToyEvidence:
    verdict: str
    lines: int

    def record(self) -> Mapping[str, Any]:
        return {NAME: {"verdict": self.verdict, "lines": self.lines}}


class ToyTier:
    name = NAME
    on_request = True

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        return ()

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        return None

    def validate(self, project: Project, request: TestRequest) -> None:
        if not (project.root / "toy.txt").is_file():
            raise UsageError("the toy tier needs toy.txt")

    def run(self, context: TierContext) -> TierResult:
        verdict = (context.root / "toy.txt").read_text(encoding="utf-8").strip()
        context.log(f"toy says {verdict} in {context.run_dir.name}")
        passed = verdict == "pass"
        return TierResult(
            NAME,
            TierStatus.PASSED if passed else TierStatus.FAILED,
            TestCounts(tests=1, failures=0 if passed else 1),
            message=f"toy: {verdict}",
            evidence=(ToyEvidence(verdict, 1),),
        )


def toy_page(tier: Mapping[str, Any]) -> str:
    toy = tier.get(NAME) or {}
    return (
        f"<section id='toy'><h2>Toy</h2><p data-verdict='{escape(str(toy.get('verdict')))}'>toy</p></section>"
    )


TIER = ToyTier()
