"""The report page as a person sees it: three real runs, loaded in the system Chromium.

Three ``stagewise test`` runs go into one reports folder: the first with a
failing test, the second clean, the third with a flaky test that passes on a
rerun. A test in the project writes a synthetic load-test summary
(``performance.json``, the shape the performance tier leaves) and security
findings into the run folder, so the latency chart and findings render too.
The last run's page is loaded headless, checked, and screenshotted at laptop
and phone width into the repository's ``reports/screenshots/`` (a CI artifact).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO, run_cli

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
SCREENSHOTS = REPO / "reports" / "screenshots"

PROJECT = {
    "stagewise.toml": """
        [project]
        name = "calc"
        source = ["calc"]

        [coverage]
        fail_under = 50
    """,
    "calc/__init__.py": "",
    "calc/ops.py": """
        def add(a, b):
            return a + b

        def div(a, b):
            if b == 0:
                raise ZeroDivisionError("b is zero")
            return a / b

        def unused(x):
            return x * 2
    """,
    "tests/unit/test_ops.py": """
        import os, pathlib, time
        import pytest
        from calc.ops import add, div

        MODE = os.environ["PAGE_TEST_MODE"]

        def test_add():
            assert add(2, 3) == 5

        def test_div():
            time.sleep(0.05)
            assert div(6, 3) == 2

        def test_div_by_zero():
            with pytest.raises(ZeroDivisionError):
                div(1, 0)

        def test_sometimes():
            marker = pathlib.Path(os.environ["STAGEWISE_REPORT_DIR"]) / "attempted"
            if MODE == "fail":
                assert add(1, 1) == 3, "the first run has a real failure"
            if MODE == "flaky" and not marker.exists():
                marker.write_text("1")
                raise AssertionError("flaky: fails only on its first attempt")
    """,
    "tests/integration/test_load_evidence.py": """
        import json, os, pathlib

        def test_write_load_and_security_evidence():
            run = int(os.environ["PAGE_TEST_RUN"])
            folder = pathlib.Path(os.environ["STAGEWISE_REPORT_DIR"])
            timeline = [
                {"t": t, "p50": 10 + t / 2 + run, "p95": 40 + t + 5 * run, "p99": 70 + 2 * t, "rps": 80 + 3 * t,
                 "errors": 1 if t == 20 else 0}
                for t in range(0, 35, 5)
            ]
            performance = {
                "users": 10, "duration_s": 30, "requests": 3000, "failures": 1, "rps": 95.0,
                "latency_ms": {"p50": 12 + run, "p95": 48 + 5 * run, "p99": 90},
                "timeline": timeline,
            }
            (folder / "performance.json").write_text(json.dumps(performance))
            findings = {"findings": [
                {"id": "B105", "title": "Hard-coded password", "severity": "high", "location": "calc/ops.py:3"},
                {"id": "HDR-CSP", "title": "No Content-Security-Policy", "severity": "medium", "location": "GET /"},
            ]}
            (folder / "findings.json").write_text(json.dumps(findings))
    """,
}


@pytest.fixture(scope="module")
def three_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Any]]:
    """Three runs into one reports folder; yields it and the three CLI results."""
    tmp = tmp_path_factory.mktemp("three-runs")
    root = tmp / "project"
    for relative, text in PROJECT.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    reports = tmp / "reports"
    results = []
    for run, mode in enumerate(("fail", "pass", "flaky"), start=1):
        done = run_cli(
            "test",
            "--unit",
            "--integration",
            "--coverage",
            "--reruns",
            "1",
            "--reports-dir",
            str(reports),
            cwd=root,
            env={"PAGE_TEST_MODE": mode, "PAGE_TEST_RUN": str(run)},
        )
        results.append(done)
    return reports, results


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_the_runs_end_as_expected(three_runs: tuple[Path, list[Any]]) -> None:
    reports, results = three_runs
    assert [r.returncode for r in results] == [1, 0, 0], [r.stdout[-2000:] for r in results]
    history = [json.loads(line) for line in (reports / "history.jsonl").read_text().splitlines()]
    assert [h["verdict"] for h in history] == ["failed", "passed", "passed"]
    assert [h["flaky"] for h in history] == [0, 0, 1]
    assert [h["p95_ms"] for h in history] == [53, 58, 63]


def test_page_in_chromium_shows_verdict_tiers_charts_trends_and_flaky(
    three_runs: tuple[Path, list[Any]], browser: Any
) -> None:
    reports, _ = three_runs
    page_file = (reports / "latest" / "index.html").resolve()
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(page_file.as_uri())

    verdict = page.locator("#verdict")
    assert verdict.is_visible()
    assert verdict.inner_text().startswith("PASSED")
    assert "(exit 0)" in verdict.inner_text()
    for tier in ("unit", "integration"):
        row = page.locator(f"#tier-{tier}")
        assert row.is_visible()
        assert "passed" in row.inner_text()
    unit_cells = page.locator("#tier-unit td.n").all_inner_texts()
    assert unit_cells[:5] == ["3", "0", "0", "0", "1"]  # passed failed errors skipped flaky

    flaky = page.locator("#flaky")
    assert flaky.is_visible()
    assert "tests/unit/test_ops.py::test_sometimes" in flaky.inner_text()

    latency = page.locator("#latency-chart")
    assert latency.is_visible()
    box = latency.bounding_box()
    assert box is not None
    assert box["width"] > 300
    assert box["height"] > 80
    assert latency.locator("polyline.series").count() == 3
    assert page.locator("#throughput-chart").is_visible()

    for chart in ("trend-pass-rate", "trend-duration", "trend-coverage", "trend-p95"):
        trend = page.locator(f"#{chart}")
        assert trend.is_visible(), chart
        assert trend.locator("polyline").get_attribute("data-points") == "3"
    assert page.locator("#findings [data-severity='high'] b").inner_text() == "1"
    assert "coverage" in page.locator("#coverage").inner_text().lower()
    assert "calc/ops.py" in page.locator("#coverage").inner_text()

    assert all(url.startswith("file://") for url in requests), requests  # nothing from the network
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-page.png"), full_page=True)
    page.close()


def test_page_reads_on_a_phone(three_runs: tuple[Path, list[Any]], browser: Any) -> None:
    reports, _ = three_runs
    page = browser.new_page(viewport={"width": 390, "height": 844}, device_scale_factor=2)
    page.goto((reports / "latest" / "index.html").resolve().as_uri())
    assert page.locator("#verdict").is_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px on a phone"
    assert page.locator("#latency-chart").bounding_box()["width"] <= 390  # type: ignore[index]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "report-page-phone.png"), full_page=True)
    page.close()


def test_first_run_page_shows_its_failure_with_traceback(
    three_runs: tuple[Path, list[Any]], browser: Any
) -> None:
    reports, _ = three_runs
    first = sorted(p for p in reports.iterdir() if p.is_dir() and not p.is_symlink())[0]
    page = browser.new_page()
    page.goto((first / "index.html").resolve().as_uri())
    assert page.locator("#verdict").inner_text().startswith("FAILED")
    failure = page.locator("details.failure").first
    assert "test_sometimes" in failure.inner_text()
    failure.locator("summary").click()
    assert "the first run has a real failure" in failure.locator("pre").inner_text()
    assert "Trends appear from the second run on" in page.locator("#trends").inner_text()
    page.close()
