"""The live terminal display: a rich :class:`Reporter` for interactive runs.

This is the only module that imports rich, and it is imported only when a run
goes to a terminal (see :func:`stagewise.cli.output.wants_live_progress`), so
``stagewise --help`` and CI runs never pay for it. While tiers run it shows
one line per tier (pending, running with a spinner, pytest's own percentage
as a bar, the elapsed time and pytest's latest line; finished with its
counts); failures and notes are printed above it as they happen. At the end,
:meth:`RichReporter.render_summary` prints one table built from the same
``summary.json`` record the plain summary uses, so both say the same numbers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from stagewise.cli.output import EXTRA_COUNTS
from stagewise.report.summary import tier_record
from stagewise.tiers.result import TierResult

#: pytest's progress column, e.g. ``tests/test_a.py ..F.   [ 40%]``.
_PERCENT = re.compile(r"\[\s*(\d{1,3})%\]\s*$")
_STATUS_STYLE = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "no-tests": "yellow",
    "missing": "yellow",
    "skipped-by-change": "cyan",
}
_VERDICT_STYLE = {"passed": "bold green", "failed": "bold red", "interrupted": "bold magenta"}


@dataclass
class _TierState:
    name: str
    started: float | None = None
    percent: int = 0
    last_line: str = ""
    result: TierResult | None = None


class RichReporter:
    """Live progress on a terminal; call :meth:`close` when the run ends, however it ends."""

    def __init__(self, stream: TextIO, verbose: bool = False, console: Console | None = None) -> None:
        self.console = console or Console(file=stream, highlight=False)
        self.verbose = verbose
        self.tiers: list[_TierState] = []
        self.live: Live | None = None

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        at = f" · target {target}" if target else ""  # no target when no planned tier needs one
        self.console.print(f"[bold]stagewise[/] stage [bold]{stage}[/]{at} · run {run_id}", markup=True)
        self.tiers = [_TierState(name) for name in tiers]
        self.live = Live(
            get_renderable=self._render,
            console=self.console,
            refresh_per_second=8,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        self.live.start()

    def tier_started(self, tier: str, command: Sequence[str]) -> None:
        state = self._state(tier)
        state.started = time.monotonic()

    def output(self, tier: str, line: str) -> None:
        state = self._state(tier)
        match = _PERCENT.search(line)
        if match:
            state.percent = min(int(match.group(1)), 100)
        if line.strip():
            state.last_line = line.strip()
        if self.verbose or line.startswith(("FAILED ", "ERROR ")):
            self.console.print(Text(line))

    def tier_finished(self, result: TierResult) -> None:
        state = self._state(result.name)
        state.result = result
        state.percent = 100
        self.console.print(_finished_line(tier_record(result)))
        if result.message and result.status.value != "passed":
            self.console.print(Text(f"   {result.name}: {result.message}", style="yellow"))

    def note(self, message: str) -> None:
        self.console.print(Text(f"stagewise: {message}"))

    def close(self) -> None:
        """Stop the live display (idempotent); the finished lines stay on screen."""
        if self.live is not None:
            self.live.stop()
            self.live = None

    def render_summary(self, record: Mapping[str, Any]) -> None:
        """One table for the run, from its ``summary.json`` record."""
        table = Table(title="summary", title_justify="left", show_edge=False, pad_edge=False)
        table.add_column("tier")
        table.add_column("status")
        tiers = list(record.get("tiers") or ())
        extra = [k for k in EXTRA_COUNTS[1:] if any(t.get(k) for t in tiers)]  # xfailed... when any
        columns = ("passed", "failed", "errors", "skipped", "flaky", *extra)
        for column in (*columns, "time"):
            table.add_column(column, justify="right")
        for tier in tiers:
            table.add_row(
                tier["name"],
                Text(tier["status"], style=_STATUS_STYLE.get(tier["status"], "")),
                *(str(tier.get(k, 0)) for k in columns),
                f"{tier['duration_s']:.2f}s",
            )
        self.console.print()
        self.console.print(table)
        for tier in record.get("tiers") or ():
            for failed in (tier.get("failed_tests") or [])[:10]:
                self.console.print(
                    Text(f"  {failed['kind']}: {failed['name']}  {failed['message']}", style="red")
                )
            for flaky in (tier.get("flaky_tests") or [])[:10]:
                self.console.print(
                    Text(f"  flaky: {flaky['name']}  passed after {flaky['reruns']} rerun(s)", style="yellow")
                )
        gates = list(record.get("gates") or ())
        if record.get("coverage_percent") is not None and not gates:
            self.console.print(Text(f"  coverage {record['coverage_percent']:.1f}%"))
        for gate in gates:
            self.console.print(
                Text(f"  gate {gate['name']}: {gate['message']}", style="" if gate["passed"] else "red")
            )
        if record.get("run_dir") and record.get("page"):
            self.console.print(Text(f"  report page: {record['run_dir']}/{record['page']}"))
        verdict = str(record["verdict"])
        line = Text(
            f"verdict: {verdict.upper()} (exit {int(record['exit_code'])})",
            style=_VERDICT_STYLE.get(verdict, "bold yellow"),
        )
        line.append(f" · {record.get('run_dir', '')}", style="")
        self.console.print(line)

    def _state(self, tier: str) -> _TierState:
        for state in self.tiers:
            if state.name == tier:
                return state
        state = _TierState(tier)
        self.tiers.append(state)
        return state

    def _render(self) -> RenderableType:
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=2)
        grid.add_column(min_width=12)
        grid.add_column(width=24)
        grid.add_column(justify="right", width=8)
        grid.add_column(ratio=1, no_wrap=True, overflow="ellipsis")
        now = time.monotonic()
        for state in self.tiers:
            if state.result is not None:
                continue
            if state.started is None:
                grid.add_row(
                    Text("·", style="dim"),
                    Text(state.name, style="dim"),
                    Text("pending", style="dim"),
                    "",
                    "",
                )
                continue
            grid.add_row(
                Spinner("dots", style="cyan"),
                Text(state.name, style="bold"),
                ProgressBar(total=100, completed=state.percent, width=24),
                f"{now - state.started:6.1f}s",
                Text(state.last_line, style="dim"),
            )
        return Group(grid)


def _finished_line(tier: Mapping[str, Any]) -> Text:
    status = tier["status"]
    mark = "✔" if status == "passed" else "✘"
    line = Text(f"{mark} ", style=_STATUS_STYLE.get(status, ""))
    line.append(f"{tier['name']:<12} ", style="bold")
    line.append(f"{status:<8} ", style=_STATUS_STYLE.get(status, ""))
    line.append(
        f"{tier['passed']:>4} passed {tier['failed']:>3} failed {tier['errors']:>3} errors "
        f"{tier['skipped']:>3} skipped {tier['duration_s']:>7.2f}s"
    )
    for key in EXTRA_COUNTS:
        if tier.get(key):
            line.append(f" {tier[key]:>3} {key}", style="yellow" if key == "flaky" else "")
    return line
