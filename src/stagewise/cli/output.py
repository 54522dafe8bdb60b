"""Terminal rendering: progress lines while tiers run, one summary at the end."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from stagewise.pipeline.results import RunResult
from stagewise.tiers.result import TierResult, TierStatus


class PlainReporter:
    """Plain-line progress; works the same on a terminal, in a pipe and in CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        self._print(f"stagewise: stage {stage} · target {target} · tiers {', '.join(tiers)} · run {run_id}")

    def tier_started(self, tier: str, command: Sequence[str]) -> None:
        self._print(f"── {tier} tier " + "─" * max(4, 50 - len(tier)))

    def output(self, tier: str, line: str) -> None:
        self._print(line)

    def tier_finished(self, result: TierResult) -> None:
        self._print(f"── {tier_line(result)}")
        if result.message and result.status is not TierStatus.PASSED:
            self._print(f"   {result.name}: {result.message}")

    def note(self, message: str) -> None:
        self._print(f"stagewise: {message}")


def tier_line(result: TierResult) -> str:
    """One line per tier: status, counts and seconds."""
    c = result.counts
    return (
        f"{result.name:<12} {result.status.value:<8} {c.passed:>4} passed {c.failures:>3} failed "
        f"{c.errors:>3} errors {c.skipped:>3} skipped {result.duration:>7.2f}s"
    )


def render_summary(result: RunResult, stream: TextIO) -> None:
    """The end-of-run table, the gates, and the one verdict line."""
    out: list[str] = ["", "summary"]
    out += [f"  {tier_line(t)}" for t in result.tiers]
    for tier in result.tiers:
        if tier.status is not TierStatus.PASSED and tier.message:
            out.append(f"  {tier.name}: {tier.message}")
        for failed in tier.failed_tests[:10]:
            out.append(f"    {failed.kind}: {failed.name}  {failed.message}")
    if result.coverage_percent is not None and not result.gates:
        out.append(f"  coverage {result.coverage_percent:.1f}%")
    for gate in result.gates:
        out.append(f"  gate {gate.name}: {gate.message}")
    out.append(f"verdict: {result.verdict.upper()} (exit {int(result.exit_code)}) · {result.run_dir}")
    print("\n".join(out), file=stream, flush=True)
