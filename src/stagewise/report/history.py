"""``reports/history.jsonl``: one line per run, the source of the page's trends.

Each line is a small JSON object (added to, never renamed)::

    run_id, stage, started_at, verdict, exit_code, duration_s, coverage_percent
    command: "test" | "check"   # absent in lines written before issue 17: those are test runs
    profile: str | null         # the profile a test run ran under
    tiers: {name: status}
    tests, passed, failed, errors, skipped, flaky     # summed over tiers; passed excludes flaky
    pass_rate: passed / (tests - skipped), or null when nothing ran
    p95_ms: the load run's p95 latency, or null
    flaky_tests, failed_tests: [{tier, name}]        # at most 50 each

Appends are one ``write`` of one line, so concurrent runs do not interleave
within a line; unreadable lines are skipped when reading.

``stagewise check`` and ``stagewise test`` share the file, and a unit-only
run and an ``--all`` run are not the same measure either: whatever compares
runs (the page's trends, flaky rates) compares a run only with
:func:`comparable` ones, of the same command, profile and tiers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stagewise.report.artifacts import load_performance, p95_ms

HISTORY_FILE = "history.jsonl"
_MAX_NAMES = 50
#: The command of a line that names none (written before ``stagewise check`` existed).
DEFAULT_COMMAND = "test"
_COUNTS = ("tests", "passed", "failed", "errors", "skipped", "flaky")


def history_line(record: Mapping[str, Any], run_dir: Path | None = None) -> dict[str, Any]:
    """The history line for a run's ``summary.json`` record."""
    line: dict[str, Any] = {
        k: record.get(k)
        for k in ("run_id", "stage", "started_at", "verdict", "exit_code", "duration_s", "coverage_percent")
    }
    line["command"] = record.get("command") or DEFAULT_COMMAND
    line["profile"] = record.get("profile")
    tiers = [t for t in record.get("tiers") or () if isinstance(t, Mapping)]
    line["tiers"] = {t["name"]: t["status"] for t in tiers}
    totals = {key: sum(int(t.get(key) or 0) for t in tiers) for key in _COUNTS}
    line.update(totals)
    executed = totals["tests"] - totals["skipped"]
    line["pass_rate"] = round(totals["passed"] / executed, 4) if executed > 0 else None
    line["p95_ms"] = p95_ms(load_performance(record, run_dir))
    line["flaky_tests"] = [
        {"tier": t["name"], "name": f["name"]} for t in tiers for f in t.get("flaky_tests") or ()
    ][:_MAX_NAMES]
    line["failed_tests"] = [
        {"tier": t["name"], "name": f["name"]} for t in tiers for f in t.get("failed_tests") or ()
    ][:_MAX_NAMES]
    return line


def append_history(reports_root: Path, record: Mapping[str, Any], run_dir: Path | None = None) -> None:
    """Add one run to ``history.jsonl``."""
    text = json.dumps(history_line(record, run_dir)) + "\n"
    with (reports_root / HISTORY_FILE).open("a", encoding="utf-8") as history:
        history.write(text)


def read_history(reports_root: Path, last: int | None = None) -> list[dict[str, Any]]:
    """The runs in ``history.jsonl``, oldest first; the ``last`` N if given."""
    try:
        text = (reports_root / HISTORY_FILE).read_text(encoding="utf-8")
    except OSError:
        return []
    runs = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and isinstance(line.get("run_id"), str):
            runs.append(line)
    return runs[-last:] if last else runs


def run_command(line: Mapping[str, Any]) -> str:
    """The command that made a run (a record or a history line); an old line without one is a test run."""
    command = line.get("command")
    return command if isinstance(command, str) and command else DEFAULT_COMMAND


def _tier_names(line: Mapping[str, Any]) -> frozenset[str]:
    tiers = line.get("tiers")
    if isinstance(tiers, Mapping):  # a history line: {name: status}
        return frozenset(str(name) for name in tiers)
    if isinstance(tiers, list | tuple):  # a summary.json record: [{name, ...}]
        return frozenset(str(t.get("name")) for t in tiers if isinstance(t, Mapping))
    return frozenset()


def run_kind(line: Mapping[str, Any]) -> tuple[str, str | None, frozenset[str]]:
    """What makes two runs comparable: the command, the profile and the set of tiers run."""
    profile = line.get("profile")
    return run_command(line), profile if isinstance(profile, str) else None, _tier_names(line)


def comparable(history: Iterable[Mapping[str, Any]], record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The runs in ``history`` of the same kind as ``record`` (a run record or a history line), oldest first."""
    kind = run_kind(record)
    return [line for line in history if run_kind(line) == kind]


def of_command(history: Iterable[Mapping[str, Any]], command: str) -> list[Mapping[str, Any]]:
    """The runs in ``history`` that ``command`` made (``test`` includes the lines that name none)."""
    return [line for line in history if run_command(line) == command]
