"""index.html rendered from a synthetic run: verdict first, every section, nothing from the network."""

from __future__ import annotations

import re
from pathlib import Path

from stagewise.report.html import render_page, write_page
from tests.unit.report.synthetic import history, make_run


def page_for(tmp_path: Path, runs: int = 3, **kwargs: bool) -> str:
    run_dir = tmp_path / "20261125T080000Z-aaaaaa"
    record = make_run(run_dir, **kwargs)
    return write_page(run_dir, record, history(runs)).read_text(encoding="utf-8")


def chart(page: str, chart_id: str) -> str:
    match = re.search(rf"<svg id='{chart_id}'.*?</svg>", page, re.S)
    assert match, f"no chart {chart_id}"
    return match.group(0)


def test_verdict_comes_first_with_exit_code_and_stage(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    body = page.split("<main>", 1)[1]
    assert body.lstrip().startswith("<section id='verdict'")
    assert "FAILED <span class='meta'>(exit 1)</span>" in page
    assert "data-verdict='failed'" in page
    assert "stage <b>test</b>" in page


def test_every_tier_has_its_row_with_counts(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    unit = re.search(r"<tr id='tier-unit'.*?</tr>", page, re.S)
    api = re.search(r"<tr id='tier-api'.*?</tr>", page, re.S)
    assert unit
    assert api
    numbers = re.findall(r"<td class='n'>([^<]*)</td>", unit.group(0))
    # passed failed errors skipped flaky xfailed xpassed deselected time (a record from before
    # xfailed/xpassed/deselected existed renders them as 0)
    assert numbers == ["2", "1", "0", "1", "1", "0", "0", "0", "1.50 s"]


def test_xfailed_xpassed_and_deselected_have_columns_of_their_own(tmp_path: Path) -> None:
    run_dir = tmp_path / "20261125T080000Z-aaaaaa"
    record = make_run(run_dir)
    record["tiers"][1].update(tests=6, passed=2, skipped=1, xfailed=2, xpassed=1, deselected=3)
    page = write_page(run_dir, record, history(1)).read_text(encoding="utf-8")
    header = re.search(r"<section id='tiers'>.*?</thead>", page, re.S)
    assert header
    assert re.findall(r"<th class='n'>(\w+)</th>", header.group(0))[3:8] == [
        "skipped",
        "flaky",
        "xfailed",
        "xpassed",
        "deselected",
    ]
    api = re.search(r"<tr id='tier-api'.*?</tr>", page, re.S)
    assert api
    assert re.findall(r"<td class='n'>([^<]*)</td>", api.group(0))[:8] == [
        "2",
        "0",
        "0",
        "1",
        "0",
        "2",
        "1",
        "3",
    ]
    assert "2 xfailed · 1 xpassed · 3 deselected" in page.split("<section id='verdict'", 1)[1]


def test_failures_show_their_traceback_escaped(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    assert "<details class='failure' data-tier='unit'>" in page
    assert "tests.unit.test_cart::test_discount" in page
    assert "tests/unit/test_cart.py:9: AssertionError" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>" not in page
    assert "assert discount(&lt;b&gt;) == 12" in page


def test_flaky_section_lists_the_test_that_passed_on_a_rerun(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    flaky = page.split("<section id='flaky'>", 1)[1].split("</section>", 1)[0]
    assert "tests.unit.test_cart::test_flaky_clock" in flaky
    assert "not counted as passed" in flaky


def test_slowest_tests_are_ordered_and_fold_reruns(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    slowest = page.split("<section id='slowest'>", 1)[1].split("</section>", 1)[0]
    names = re.findall(r"<code>([^<]+)</code>", slowest)
    assert names[:3] == [
        "tests.unit.test_cart::test_discount",
        "tests.unit.test_cart::test_total",
        "tests.api.test_health::test_metrics",
    ]
    assert names.count("tests.unit.test_cart::test_flaky_clock") == 1
    assert "0.030 s" in slowest  # the two attempts of the flaky test, added up
    assert "test_skip" not in slowest


def test_coverage_per_module(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    coverage = page.split("<section id='coverage'>", 1)[1].split("</section>", 1)[0]
    assert "Coverage <b>87.5%</b>" in coverage
    assert "shop/cart.py" in coverage
    assert "95.0%" in coverage
    assert "40.0%" in coverage


def test_latency_and_throughput_charts_from_performance_json(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    latency = chart(page, "latency-chart")
    series = dict(re.findall(r"data-series='([^']+)' data-points='(\d+)'", latency))
    assert series == {"p50": "4", "p95": "4", "p99": "4"}
    throughput = chart(page, "throughput-chart")
    assert "data-series='requests/s' data-points='4'" in throughput
    assert "48 ms" in page  # the overall p95 card


def test_no_load_section_without_a_load_run(tmp_path: Path) -> None:
    page = page_for(tmp_path, performance=False, findings=False)
    assert "latency-chart" not in page
    assert "id='findings'" not in page


def test_findings_by_severity(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    findings = page.split("<section id='findings'>", 1)[1].split("</section>", 1)[0]
    counts = dict(
        re.findall(r"data-severity='(\w+)'><span class='muted'>\w+</span><b[^>]*>(\d+)</b>", findings)
    )
    assert counts == {"critical": "0", "high": "1", "medium": "1", "low": "0", "info": "1"}
    assert findings.index("B105") < findings.index("HDR-1") < findings.index(">X<")


def test_three_runs_make_a_visible_trend(tmp_path: Path) -> None:
    page = page_for(tmp_path, runs=3)
    for chart_id in ("trend-pass-rate", "trend-duration", "trend-coverage", "trend-p95"):
        svg = chart(page, chart_id)
        assert "data-points='3'" in svg
        points = re.search(r" points='([^']+)'", svg)
        assert points
        ys = {float(xy.split(",")[1]) for xy in points.group(1).split()}
        assert len(ys) == 3, f"{chart_id} is flat: the values differ run to run"


def test_one_run_says_trends_come_later(tmp_path: Path) -> None:
    page = page_for(tmp_path, runs=1)
    assert "Trends appear from the second run on" in page
    assert "trend-pass-rate" not in page


def test_provenance_shows_commit_and_tool_versions(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    run = page.split("<section id='provenance'>", 1)[1]
    assert "0123456789ab</code> on main" in run
    assert "<th>pytest</th><td><code>9.2.0</code>" in run
    assert "coverage ok" in run


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = page_for(tmp_path)
    assert "<script" not in page
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "@import" not in page
    assert "url(" not in page
    assert "<meta name='viewport'" in page


def test_render_tolerates_a_record_with_nothing_in_it(tmp_path: Path) -> None:
    page = render_page({"verdict": "interrupted", "exit_code": 130}, tmp_path, [])
    assert "INTERRUPTED" in page
    assert "No tier ran." in page


def test_missing_junit_falls_back_to_summary_failures(tmp_path: Path) -> None:
    run_dir = tmp_path / "r"
    record = make_run(run_dir)
    (run_dir / "junit-unit.xml").unlink()
    page = render_page(record, run_dir, [])
    assert "<b>failure</b> <code>tests.unit.test_cart::test_discount</code>" in page


def test_a_trend_needs_two_runs_with_the_value(tmp_path: Path) -> None:
    runs = history(3)
    for line in runs[:2]:
        line.pop("p95_ms")
    runs[0].pop("coverage_percent")
    run_dir = tmp_path / "r"
    page = render_page(make_run(run_dir), run_dir, runs)
    assert "trend-p95" not in page  # only one run had a load test
    coverage = chart(page, "trend-coverage")
    assert "data-points='2'" in coverage
    xs = [float(xy.split(",")[0]) for xy in re.search(r" points='([^']+)'", coverage).group(1).split()]  # type: ignore[union-attr]
    pass_rate = chart(page, "trend-pass-rate")
    first_x = float(re.search(r" points='([\d.]+),", pass_rate).group(1))  # type: ignore[union-attr]
    assert xs[0] > first_x  # the coverage line starts at the second run, not the first
