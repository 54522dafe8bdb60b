"""The terminal side of reports: the summary lines, the live display, and which one is used."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console

from stagewise.cli.output import record_tier_line, render_record, wants_live_progress
from stagewise.cli.progress import RichReporter
from stagewise.report.summary import tier_record
from stagewise.tiers.result import FailedTest, TestCounts, TierResult, TierStatus
from tests.unit.report.synthetic import make_run


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_live_progress_only_on_a_terminal_outside_ci() -> None:
    assert wants_live_progress(FakeTerminal(), no_progress=False, env={})
    assert not wants_live_progress(io.StringIO(), no_progress=False, env={})
    assert not wants_live_progress(FakeTerminal(), no_progress=True, env={})
    assert not wants_live_progress(FakeTerminal(), no_progress=False, env={"CI": "true"})
    assert not wants_live_progress(FakeTerminal(), no_progress=False, env={"CI": "TRUE"})
    assert not wants_live_progress(FakeTerminal(), no_progress=False, env={"TERM": "dumb"})
    assert wants_live_progress(FakeTerminal(), no_progress=False, env={"CI": "false"})


def test_tier_line_shows_flaky_only_when_there_are_some(tmp_path: Any) -> None:
    record = make_run(tmp_path / "r")
    unit, api = record["tiers"]
    assert record_tier_line(unit).endswith("1.50s   1 flaky")
    assert record_tier_line(unit).startswith("unit         failed      2 passed   1 failed")
    assert "flaky" not in record_tier_line(api)


def test_xfailed_xpassed_and_deselected_are_shown_apart_from_skipped(tmp_path: Any) -> None:
    counts = TestCounts(tests=8, failures=1, skipped=1, xfailed=2, xpassed=1, deselected=3)
    record = tier_record(TierResult("unit", TierStatus.FAILED, counts=counts, duration=1.0))
    assert (record["passed"], record["skipped"], record["xfailed"], record["xpassed"]) == (3, 1, 2, 1)
    assert record["deselected"] == 3
    line = record_tier_line(record)
    assert "   1 skipped" in line
    assert line.endswith("1.00s   2 xfailed   1 xpassed   3 deselected")
    stream = io.StringIO()
    RichReporter(stream, console=Console(file=stream, width=160)).render_summary(
        {"tiers": [record], "verdict": "failed", "exit_code": 1}
    )
    header = next(line for line in stream.getvalue().splitlines() if "tier" in line and "status" in line)
    assert [word for word in header.split() if word.isalpha()][2:] == [
        "passed",
        "failed",
        "errors",
        "skipped",
        "flaky",
        "xfailed",
        "xpassed",
        "deselected",
        "time",
    ]


def test_render_record_is_the_summary_of_the_file(tmp_path: Any) -> None:
    record = make_run(tmp_path / "r")
    out = io.StringIO()
    render_record(record, out)
    text = out.getvalue()
    assert "  unit         failed      2 passed" in text
    assert "    failure: tests.unit.test_cart::test_discount  10 != 12" in text
    assert "    flaky: tests.unit.test_cart::test_flaky_clock  passed after 1 rerun(s)" in text
    assert "  gate coverage: coverage ok" in text
    assert f"  report page: {record['run_dir']}/index.html" in text
    assert text.rstrip().splitlines()[-1] == f"verdict: FAILED (exit 1) · {record['run_dir']}"


def run_reporter(verbose: bool = False) -> tuple[RichReporter, io.StringIO]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    reporter = RichReporter(out, verbose=verbose, console=console)
    reporter.run_started("run-1", "test", "http://127.0.0.1:1", ["unit", "api"])
    reporter.tier_started("unit", ())
    reporter.output("unit", "tests/unit/test_a.py ..F.        [ 40%]")
    return reporter, out


def test_rich_reporter_tracks_pytest_percentage_and_last_line() -> None:
    reporter, _ = run_reporter()
    state = reporter.tiers[0]
    assert state.percent == 40
    assert state.last_line.endswith("[ 40%]")
    assert reporter.tiers[1].started is None
    rendered = io.StringIO()
    Console(file=rendered, width=120, color_system=None).print(reporter._render())
    assert "unit" in rendered.getvalue()
    assert "pending" in rendered.getvalue()
    reporter.close()
    reporter.close()


def test_rich_reporter_prints_finished_tiers_failures_and_summary_table(tmp_path: Any) -> None:
    reporter, out = run_reporter()
    reporter.output("unit", "FAILED tests/unit/test_a.py::test_x - assert 1 == 2")
    reporter.output("unit", "tests/unit/test_a.py::test_quiet PASSED")
    reporter.tier_finished(
        TierResult(
            "unit",
            TierStatus.FAILED,
            TestCounts(tests=4, failures=1),
            duration=2.0,
            message="1 failed, 0 errors",
            failed_tests=(FailedTest("t", "failure", "m"),),
        )
    )
    reporter.note("something to say")
    reporter.close()
    reporter.render_summary(make_run(tmp_path / "r"))
    text = out.getvalue()
    assert "FAILED tests/unit/test_a.py::test_x" in text
    assert "test_quiet" not in text  # only failures are echoed unless --verbose
    assert "✘ unit         failed      3 passed   1 failed" in text
    assert "stagewise: something to say" in text
    assert "summary" in text
    assert "flaky: tests.unit.test_cart::test_flaky_clock" in text
    assert "verdict: FAILED (exit 1)" in text


def test_rich_reporter_verbose_echoes_every_line() -> None:
    reporter, out = run_reporter(verbose=True)
    reporter.output("unit", "tests/unit/test_a.py::test_quiet PASSED")
    reporter.close()
    assert "test_quiet PASSED" in out.getvalue()


def test_help_loads_neither_rich_nor_the_page_renderer() -> None:
    """`stagewise --help` stays fast: rich and the report page load only when a run needs them."""
    import subprocess
    import sys

    probe = (
        "import sys; from stagewise.cli.parser import build_parser; build_parser(); "
        "print(sorted(m for m in ('rich', 'stagewise.report.html', 'stagewise.cli.progress') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
