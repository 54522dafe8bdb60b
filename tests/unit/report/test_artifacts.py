"""The performance and findings shapes the page reads, and what it ignores."""

from __future__ import annotations

import json
from pathlib import Path

from stagewise.report.artifacts import load_findings, load_performance, p95_ms
from stagewise.report.run_info import collect_run_info, git_info, tool_versions


def test_tier_record_wins_over_the_run_folder(tmp_path: Path) -> None:
    (tmp_path / "performance.json").write_text(json.dumps({"timeline": [{"t": 0, "p95": 1}]}))
    record = {"tiers": [{"name": "performance", "performance": {"timeline": [{"t": 0, "p95": 7}]}}]}
    loaded = load_performance(record, tmp_path)
    assert loaded is not None
    assert loaded["timeline"][0]["p95"] == 7.0
    assert load_performance({"tiers": []}, tmp_path)["timeline"][0]["p95"] == 1.0  # type: ignore[index]
    assert load_performance({}, tmp_path / "none") is None


def test_bad_timeline_points_are_dropped_and_sorted(tmp_path: Path) -> None:
    data = {"timeline": [{"t": 5, "p95": 2}, "junk", {"p95": 3}, {"t": 1, "p95": "x", "rps": 4}, {"t": True}]}
    loaded = load_performance({"tiers": [{"performance": data}]}, None)
    assert loaded is not None
    assert [(p["t"], p["p95"], p["rps"]) for p in loaded["timeline"]] == [(1.0, None, 4.0), (5.0, 2.0, None)]
    assert p95_ms(loaded) == 2.0
    assert p95_ms({"latency_ms": {"p95": 9}, "timeline": []}) == 9.0
    assert p95_ms(None) is None


def test_findings_bare_list_unknown_severity_and_order(tmp_path: Path) -> None:
    (tmp_path / "findings.json").write_text(
        json.dumps(
            [
                {"id": "2", "severity": "LOW"},
                {"id": "1", "severity": "nope"},
                {"id": "0", "severity": "critical"},
                5,
            ]
        )
    )
    findings = load_findings({}, tmp_path)
    assert findings is not None
    assert [(f["id"], f["severity"]) for f in findings] == [("0", "critical"), ("2", "low"), ("1", "info")]
    assert load_findings({}, tmp_path / "none") is None
    assert load_findings({"tiers": [{"findings": {"findings": []}}]}, None) == []


def test_run_info_outside_git_and_with_our_own_interpreter(tmp_path: Path) -> None:
    import sys

    assert git_info(tmp_path) is None
    versions = tool_versions(sys.executable)
    assert versions["pytest"]
    assert versions["python"].count(".") == 2
    assert collect_run_info(tmp_path, sys.executable)["git"] is None


def test_run_info_from_another_interpreter_and_a_broken_one(tmp_path: Path) -> None:
    import sys

    other = tool_versions(str(Path(sys.executable).resolve()) + "-not-here")
    assert other == {"stagewise": other["stagewise"]}
    via_subprocess = tool_versions(str(Path(sys.executable).parent / "python3"))
    assert "pytest" in via_subprocess


def test_git_info_in_a_real_repository(tmp_path: Path) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    (tmp_path / "f").write_text("x")
    subprocess.run(["git", "-C", str(tmp_path), "add", "f"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *ident, "commit", "-q", "-m", "m"], check=True)
    info = git_info(tmp_path)
    assert info is not None
    assert len(info["commit"]) == 40
    assert info["dirty"] is False
    (tmp_path / "f").write_text("y")
    assert git_info(tmp_path)["dirty"] is True  # type: ignore[index]


def test_the_performance_tiers_own_record_is_read_too(tmp_path: Path) -> None:
    """The shape tiers/performance leaves: totals in its evidence, samples in its summary file."""
    from stagewise.report.html import render_page

    tier_dir = tmp_path / "performance"
    tier_dir.mkdir()
    (tier_dir / "locust.html").write_text("<html></html>")
    total = {
        "name": "Aggregated",
        "requests": 500,
        "failures": 1,
        "rps": 50.0,
        "p50_ms": 9,
        "p95_ms": 31,
        "p99_ms": 60,
    }
    stats = {
        "total": total,
        "peak_users": 5,
        "endpoints": [
            {
                "name": "GET /health",
                "requests": 500,
                "failures": 1,
                "rps": 50.0,
                "p50_ms": 9,
                "p95_ms": 31,
                "p99_ms": 60,
            }
        ],
        "samples": [
            {"t": 1.0, "users": 5, "rps": 40.0, "p50_ms": 8, "p95_ms": 30},
            {"t": 2.0, "users": 5, "rps": 55.0, "p50_ms": 9, "p95_ms": 33},
        ],
        "rps_over_time": [{"t": 1, "requests": 40, "failures": 0}],
    }
    (tier_dir / "summary.json").write_text(
        json.dumps({"stats": stats, "artifacts": {"html": str(tier_dir / "locust.html")}})
    )
    extra = {"summary": str(tier_dir / "summary.json"), "scenario": "normal-load", "users": 5, "total": total}
    record = {
        "verdict": "passed",
        "exit_code": 0,
        "tiers": [{"name": "performance", "status": "passed", "performance": extra}],
    }
    loaded = load_performance(record, tmp_path)
    assert loaded is not None
    assert [(p["t"], p["p95"], p["rps"]) for p in loaded["timeline"]] == [
        (1.0, 30.0, 40.0),
        (2.0, 33.0, 55.0),
    ]
    assert p95_ms(loaded) == 31.0
    assert loaded["requests"] == 500
    page = render_page(record, tmp_path, [])
    assert "data-series='p95' data-points='2'" in page
    assert "<code>GET /health</code>" in page
    assert "<a href='performance/locust.html'>html</a>" in page
