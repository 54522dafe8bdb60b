"""Terminal rendering: progress lines while tiers run, one summary at the end."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from stagewise.pipeline.results import RunResult
from stagewise.tiers.result import TierResult, TierStatus

#: Counts shown after the fixed columns, each only when a tier has some.
EXTRA_COUNTS = ("flaky", "xfailed", "xpassed", "deselected")


class PlainReporter:
    """Plain-line progress; works the same on a terminal, in a pipe and in CI."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        at = f" · target {target}" if target else ""  # no target when no planned tier needs one
        self._print(f"stagewise: stage {stage}{at} · tiers {', '.join(tiers)} · run {run_id}")

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
    from stagewise.report.summary import tier_record  # loaded when a run renders, not for --help

    return record_tier_line(tier_record(result))


def record_tier_line(tier: Mapping[str, Any]) -> str:
    """A tier's line from its ``summary.json`` record, so the terminal and the file agree.

    ``passed`` excludes flaky tests, which get their own column when there are any;
    so do xfailed, xpassed and deselected tests (never folded into skipped).
    """
    extra = "".join(f" {tier[key]:>3} {key}" for key in EXTRA_COUNTS if tier.get(key))
    return (
        f"{tier['name']:<12} {tier['status']:<8} {tier['passed']:>4} passed {tier['failed']:>3} failed "
        f"{tier['errors']:>3} errors {tier['skipped']:>3} skipped {tier['duration_s']:>7.2f}s{extra}"
    )


def render_summary(result: RunResult, stream: TextIO) -> None:
    """The end-of-run table, the gates, and the one verdict line."""
    from stagewise.report.summary import run_record

    render_record(run_record(result), stream)


def render_record(record: Mapping[str, Any], stream: TextIO) -> None:
    """The summary of a run from its ``summary.json`` record (also ``stagewise report show``)."""
    out: list[str] = ["", "summary"]
    tiers = list(record.get("tiers") or ())
    out += [f"  {record_tier_line(t)}" for t in tiers]
    for tier in tiers:
        if tier["status"] != TierStatus.PASSED.value and tier.get("message"):
            out.append(f"  {tier['name']}: {tier['message']}")
        for failed in (tier.get("failed_tests") or [])[:10]:
            out.append(f"    {failed['kind']}: {failed['name']}  {failed['message']}")
        for flaky in (tier.get("flaky_tests") or [])[:10]:
            out.append(f"    flaky: {flaky['name']}  passed after {flaky['reruns']} rerun(s)")
    coverage = record.get("coverage_percent")
    gates = list(record.get("gates") or ())
    if coverage is not None and not gates:
        out.append(f"  coverage {coverage:.1f}%")
    for gate in gates:
        out.append(f"  gate {gate['name']}: {gate['message']}")
    if record.get("run_dir") and record.get("page"):
        out.append(f"  report page: {record['run_dir']}/{record['page']}")
    verdict = str(record["verdict"]).upper()
    out.append(f"verdict: {verdict} (exit {int(record['exit_code'])}) · {record.get('run_dir', '')}")
    print("\n".join(out), file=stream, flush=True)


def wants_live_progress(stream: TextIO, no_progress: bool, env: Mapping[str, str]) -> bool:
    """The rich live display only on a real terminal, outside CI, unless turned off.

    Pipes, CI logs (``CI=true``), ``TERM=dumb`` and ``--no-progress`` get plain
    lines, which read the same in a file as on a screen.
    """
    if no_progress or env.get("CI", "").strip().lower() in ("true", "1", "yes"):
        return False
    if env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
