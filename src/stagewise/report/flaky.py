"""Flaky tests: tests that failed and then passed on a rerun.

JUnit counts such a test as passed; stagewise does not. The pytest tier keeps
their node ids in ``TierResult.flaky_tests`` (``FlakyTest(name, reruns)``),
read from its attempt record (``stagewise.tiers.attempts``);
this module reads them back, subtracts them from the passed count, and ranks
the flakiest tests over ``history.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from stagewise.report.history import DEFAULT_COMMAND, of_command
from stagewise.tiers.result import FlakyTest, TierResult


def flaky_tests(tier: TierResult) -> tuple[FlakyTest, ...]:
    """The flaky tests a tier recorded (none unless something reran them: ``--reruns``, or the project's addopts)."""
    return tier.flaky_tests


def clean_passed(tier: TierResult) -> int:
    """Tests that passed first time: JUnit's passed count minus the flaky ones."""
    return max(tier.counts.passed - len(flaky_tests(tier)), 0)


@dataclass(frozen=True)
class FlakyStat:
    """One test's record over the runs in history."""

    tier: str
    name: str
    flaky_runs: int
    failed_runs: int
    runs: int
    last_flaky: str

    @property
    def flaky_rate(self) -> float:
        """Share of the runs of its tier in which the test was flaky."""
        return self.flaky_runs / self.runs if self.runs else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "tier": self.tier,
            "name": self.name,
            "flaky_runs": self.flaky_runs,
            "failed_runs": self.failed_runs,
            "runs": self.runs,
            "flaky_rate": round(self.flaky_rate, 3),
            "last_flaky": self.last_flaky,
        }


def flakiest(
    history: Iterable[Mapping[str, Any]], limit: int = 20, command: str = DEFAULT_COMMAND
) -> list[FlakyStat]:
    """Tests that were flaky at least once, most often flaky first, over the runs ``command`` made.

    ``runs`` counts the history runs in which the test's tier ran, so a rate
    is comparable between a tier run every time and one run now and then;
    ``failed_runs`` counts runs where the same test failed outright. Only runs
    of one command count: ``stagewise check``'s unit step is a tier called
    ``unit`` too, and its runs would otherwise dilute (or add to) the rates of
    ``stagewise test``'s.
    """
    tier_runs: dict[str, int] = {}
    flaky: dict[tuple[str, str], int] = {}
    failed: dict[tuple[str, str], int] = {}
    last: dict[tuple[str, str], str] = {}
    for line in of_command(history, command):
        for tier in line.get("tiers") or {}:
            tier_runs[tier] = tier_runs.get(tier, 0) + 1
        for item in line.get("flaky_tests") or ():
            key = (str(item.get("tier", "")), str(item.get("name", "")))
            flaky[key] = flaky.get(key, 0) + 1
            last[key] = str(line.get("run_id", ""))
        for item in line.get("failed_tests") or ():
            key = (str(item.get("tier", "")), str(item.get("name", "")))
            failed[key] = failed.get(key, 0) + 1
    stats = [
        FlakyStat(
            tier, name, count, failed.get((tier, name), 0), tier_runs.get(tier, count), last[(tier, name)]
        )
        for (tier, name), count in flaky.items()
    ]
    stats.sort(key=lambda s: (-s.flaky_runs, -s.flaky_rate, -s.failed_runs, s.tier, s.name))
    return stats[:limit]
