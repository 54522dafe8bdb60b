"""JUnit XML is the evidence a tier is judged by; read it exactly."""

from __future__ import annotations

from pathlib import Path

from stagewise.tiers.junit import read_junit

XML = """<?xml version="1.0" encoding="utf-8"?>
<testsuites><testsuite name="pytest" errors="1" failures="1" skipped="1" tests="5" time="0.1">
<testcase classname="tests.test_a" name="test_ok" time="0.001"/>
<testcase classname="tests.test_a" name="test_bad" time="0.001"><failure message="assert 1 == 2">trace</failure></testcase>
<testcase classname="tests.test_a" name="test_err" time="0.001"><error message="fixture exploded">trace</error></testcase>
<testcase classname="tests.test_a" name="test_skip" time="0.001"><skipped message="no"/></testcase>
<testcase classname="tests.test_a" name="test_ok2" time="0.001"/>
</testsuite></testsuites>"""


def test_counts_and_failures(tmp_path: Path) -> None:
    path = tmp_path / "j.xml"
    path.write_text(XML, encoding="utf-8")
    parsed = read_junit(path)
    assert parsed is not None
    counts, failed = parsed
    assert (counts.tests, counts.failures, counts.errors, counts.skipped, counts.passed) == (5, 1, 1, 1, 2)
    assert [(f.name, f.kind, f.message) for f in failed] == [
        ("tests.test_a::test_bad", "failure", "assert 1 == 2"),
        ("tests.test_a::test_err", "error", "fixture exploded"),
    ]


def test_missing_or_broken_files_are_none(tmp_path: Path) -> None:
    assert read_junit(tmp_path / "absent.xml") is None
    broken = tmp_path / "broken.xml"
    broken.write_text("<testsuites><testsuite", encoding="utf-8")
    assert read_junit(broken) is None
