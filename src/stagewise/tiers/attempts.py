"""Read the attempt record the ``stagewise_record`` plugin wrote into one outcome per test.

The record is JSON lines, one per report phase attempt (``setup``, ``call``,
``teardown``) plus collection facts and the session's end (see
``tiers/pytest_plugins/stagewise_record.py``). It is the tier's evidence
because it means the same on pytest 7, 8 and 9, with or without pytest-xdist
and pytest-rerunfailures; stagewise's own JUnit file is written from it.

Folding, per node id: a ``setup`` report starts an attempt; an attempt with a
``rerun`` outcome (pytest-rerunfailures) or followed by another attempt was
retried; the last attempt decides the outcome. Subtest reports (pytest 9's
``subtests``, pytest-subtests) belong to the attempt they ran in: a failed
subtest fails the test, and they never count as attempts. A test whose last attempt
passed after earlier ones is flaky (counted as passed here; the report
subtracts flaky tests from its passed column).

No pytest import here: this runs in stagewise, not in the test interpreter.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagewise.tiers.result import FailedTest, FlakyTest, TestCounts

#: Final outcomes of one test, as stagewise counts them.
OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")
_PHASES = ("setup", "call", "teardown")


@dataclass(frozen=True)
class Attempt:
    """One run of one test through its phases; ``phases`` maps ``when`` to its report line."""

    phases: Mapping[str, Mapping[str, Any]]
    subtests: tuple[Mapping[str, Any], ...] = ()

    @property
    def retried(self) -> bool:
        return any(p.get("outcome") == "rerun" for p in self.phases.values())

    def outcome(self) -> tuple[str, Mapping[str, Any] | None]:
        """The attempt's outcome and the phase report that decided it."""
        setup, call, teardown = (self.phases.get(when) for when in _PHASES)
        other = [p for when, p in self.phases.items() if when not in _PHASES]  # e.g. an xdist crash
        for phase in (*other, *self.subtests, call):  # a failed subtest names itself
            if phase is not None and phase.get("outcome") in ("failed", "rerun"):
                return "failed", phase
        for phase in (setup, teardown):
            if phase is not None and phase.get("outcome") in ("failed", "rerun"):
                return "error", phase
        for phase in (setup, call):
            if phase is not None and phase.get("outcome") == "skipped":
                return ("xfailed" if phase.get("wasxfail") is not None else "skipped"), phase
        if call is not None and call.get("outcome") == "passed":
            return ("xpassed" if call.get("wasxfail") is not None else "passed"), call
        return "error", setup or teardown  # it never reached its call phase (interrupted)

    @property
    def duration(self) -> float:
        return sum(_float(p.get("duration")) for p in self.phases.values())


@dataclass(frozen=True)
class TestRecord:
    """One test's final outcome over all its attempts."""

    __test__ = False  # not a pytest test class, despite the name

    nodeid: str
    outcome: str
    duration: float
    message: str = ""
    details: str = ""
    attempts: int = 1
    earlier: tuple[tuple[str, str], ...] = ()  # (message, details) of each retried attempt
    location: tuple[str, int] | None = None

    @property
    def flaky(self) -> bool:
        return self.outcome in ("passed", "xpassed") and self.attempts > 1


@dataclass(frozen=True)
class CollectError:
    """A file or node pytest could not collect."""

    nodeid: str
    message: str
    details: str


@dataclass(frozen=True)
class Attempts:
    """Everything one pytest run recorded, folded per test."""

    tests: tuple[TestRecord, ...] = ()
    collect_errors: tuple[CollectError, ...] = ()
    collected: int | None = None
    deselected: int = 0
    exitstatus: int | None = None
    pytest_version: str = ""
    workers: tuple[str, ...] = field(default=())

    def count(self, outcome: str) -> int:
        return sum(1 for t in self.tests if t.outcome == outcome)

    @property
    def counts(self) -> TestCounts:
        return TestCounts(
            tests=len(self.tests) + len(self.collect_errors),
            failures=self.count("failed"),
            errors=self.count("error") + len(self.collect_errors),
            skipped=self.count("skipped"),
            xfailed=self.count("xfailed"),
            xpassed=self.count("xpassed"),
            deselected=self.deselected,
        )

    @property
    def failed(self) -> tuple[FailedTest, ...]:
        """Failing and erroring tests by node id (pastes into ``pytest``), collection errors last."""
        kinds = {"failed": "failure", "error": "error"}
        failing = [
            FailedTest(t.nodeid, kinds[t.outcome], _first_line(t.message or t.details))
            for t in self.tests
            if t.outcome in kinds
        ]
        failing += [
            FailedTest(e.nodeid or "(collection)", "error", _first_line(e.message or e.details))
            for e in self.collect_errors
        ]
        return tuple(failing)

    @property
    def flaky(self) -> tuple[FlakyTest, ...]:
        return tuple(FlakyTest(t.nodeid, t.attempts - 1) for t in self.tests if t.flaky)


def read_attempts(path: Path) -> Attempts | None:
    """The folded record, or ``None`` if the plugin wrote none (it did not load, pytest died first)."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return None
    return parse_lines(lines)


def parse_lines(lines: Iterable[str]) -> Attempts:
    """Fold JSON lines into :class:`Attempts`; a torn or foreign line is skipped, not fatal."""
    attempts: dict[str, list[dict[str, Mapping[str, Any]]]] = {}
    subtests: dict[tuple[str, int], list[Mapping[str, Any]]] = {}
    collected: dict[str | None, int] = {}
    deselected: dict[str | None, int] = {}
    errors: dict[str, CollectError] = {}
    exitstatus: int | None = None
    version = ""
    for line in lines:
        record = _load(line)
        if record is None:
            continue
        event, worker = record.get("event"), record.get("worker")
        worker = worker if isinstance(worker, str) else None
        if event == "report" and isinstance(record.get("nodeid"), str):
            runs = attempts.setdefault(record["nodeid"], [])
            when = str(record.get("when"))
            if record.get("subtest") is not None and runs:
                subtests.setdefault((record["nodeid"], len(runs) - 1), []).append(_labelled(record))
                continue
            if not runs or when == "setup" or when in runs[-1]:
                runs.append({})
            runs[-1][when] = record
        elif event == "collected":
            collected[worker] = max(collected.get(worker, 0), _int(record.get("count")))
        elif event == "deselected":
            deselected[worker] = deselected.get(worker, 0) + _int(record.get("count"))
        elif event == "collect_error":
            nodeid = str(record.get("nodeid") or "")
            errors.setdefault(
                nodeid, CollectError(nodeid, str(record.get("message") or ""), str(record.get("text") or ""))
            )
        elif event == "end":
            exitstatus = _int(record.get("exitstatus"))
        elif event == "start":
            version = str(record.get("pytest") or "")
    # every xdist worker collects the same tests: one worker's figures are the run's
    return Attempts(
        tests=tuple(
            _fold(nodeid, [Attempt(p, tuple(subtests.get((nodeid, i), ()))) for i, p in enumerate(runs)])
            for nodeid, runs in attempts.items()
        ),
        collect_errors=tuple(errors.values()),
        collected=max(collected.values()) if collected else None,
        deselected=max(deselected.values()) if deselected else 0,
        exitstatus=exitstatus,
        pytest_version=version,
        workers=tuple(sorted(w for w in collected if w is not None)),
    )


def _fold(nodeid: str, runs: list[Attempt]) -> TestRecord:
    last = runs[-1]
    outcome, phase = last.outcome()
    earlier = []
    for run in runs[:-1]:
        _, failed = run.outcome()
        earlier.append(_reason(failed))
    message, details = _reason(phase)
    if outcome in ("xfailed", "xpassed") and phase is not None and not message:
        message = str(phase.get("wasxfail") or "")
    return TestRecord(
        nodeid=nodeid,
        outcome=outcome,
        duration=sum(run.duration for run in runs),
        message=message,
        details=details,
        attempts=len(runs),
        earlier=tuple(earlier),
        location=_location(last),
    )


def _labelled(record: Mapping[str, Any]) -> Mapping[str, Any]:
    """A subtest's report with its label ahead of its message, so the failure says which one."""
    label = str(record.get("subtest") or "")
    return {**record, "message": f"{label} {record.get('message') or ''}".strip()}


def _reason(phase: Mapping[str, Any] | None) -> tuple[str, str]:
    if phase is None:
        return "", ""
    return str(phase.get("message") or ""), str(phase.get("text") or "")


def _location(attempt: Attempt) -> tuple[str, int] | None:
    for phase in attempt.phases.values():
        location = phase.get("location")
        if isinstance(location, list) and len(location) >= 2 and isinstance(location[0], str):
            line = location[1]
            return location[0], int(line) + 1 if isinstance(line, int) else 0
    return None


def _load(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: object) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0][:300] if lines else ""
