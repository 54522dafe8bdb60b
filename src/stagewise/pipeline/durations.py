"""``.stagewise/durations.json``: how long each test took, kept for ``--shard``.

Every run updates it from its own attempt records (the per-test JSON lines
the record plugin writes beside each tier's JUnit file): a test's time is its
setup, call and teardown together, from its last attempt. Beside it
(``fixtures``) the part of that setup spent in fixtures wider than a function,
by scope (the record's ``fixture`` events): a test whose setup ran a module's
fixture carries that fixture's time, and the split must not take it for the
test's own (see ``split`` in the shard plugin). Tests the run did not run keep
their old figures; the file is written atomically (a temporary file renamed over
it), so a runner reading it never sees half a file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SCHEMA = 1

__all__ = [
    "durations_path",
    "read_durations",
    "read_fixtures",
    "run_durations",
    "run_fixtures",
    "update_durations",
]


def durations_path(root: Path) -> Path:
    """Where the project's recorded durations live."""
    return root / ".stagewise" / "durations.json"


def read_durations(root: Path) -> dict[str, float]:
    """Node id -> seconds, or ``{}`` when nothing is recorded yet (or the file is unreadable)."""
    return _read(root, "tests")


def read_fixtures(root: Path) -> dict[str, dict[str, float]]:
    """Node id -> {scope: seconds} of wider-scoped fixtures its setup ran (``{}`` for an older file)."""
    table = _load(root).get("fixtures")
    if not isinstance(table, dict):
        return {}
    return {str(k): _seconds(v) for k, v in table.items() if isinstance(v, dict)}


def _read(root: Path, key: str) -> dict[str, float]:
    return _seconds(_load(root).get(key))


def _load(root: Path) -> dict[str, object]:
    try:
        data = json.loads(durations_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(table: object) -> dict[str, float]:
    if not isinstance(table, dict):
        return {}
    return {str(k): float(v) for k, v in table.items() if isinstance(v, int | float)}


def run_durations(run_dir: Path) -> dict[str, float]:
    """Each test's time in a run: setup + call + teardown of its last attempt, over every tier."""
    return _run_times(run_dir)[0]


def run_fixtures(run_dir: Path) -> dict[str, dict[str, float]]:
    """Each test's seconds in wider-scoped fixtures, by scope (summed over its attempts), over every tier."""
    return _run_times(run_dir)[1]


def _run_times(run_dir: Path) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    times: dict[str, float] = {}
    fixtures: dict[str, dict[str, float]] = {}
    for record in sorted(run_dir.glob("*.attempts.jsonl")):
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == "fixture":
                scopes = fixtures.setdefault(str(event.get("nodeid", "")), {})
                scope = str(event.get("scope", ""))
                scopes[scope] = scopes.get(scope, 0.0) + float(event.get("duration") or 0.0)
                continue
            if not isinstance(event, dict) or event.get("event") != "report" or event.get("subtest"):
                continue
            nodeid, when = str(event.get("nodeid", "")), event.get("when")
            duration = float(event.get("duration") or 0.0)
            if when == "setup":
                times[nodeid] = duration  # a new attempt starts at its setup
            else:
                times[nodeid] = times.get(nodeid, 0.0) + duration
    return (
        {k: round(v, 4) for k, v in times.items() if k},
        {k: {s: round(v, 4) for s, v in scopes.items()} for k, scopes in fixtures.items() if k},
    )


def update_durations(root: Path, *run_dirs: Path) -> Path | None:
    """Merge the runs' test times into ``root``'s file; returns it, or ``None`` if nothing ran."""
    runs = [_run_times(run_dir) for run_dir in run_dirs]
    fresh = {k: v for times, _ in runs for k, v in times.items()}
    if not fresh:
        return None
    tests = {**read_durations(root), **fresh}
    fixtures = {
        **read_fixtures(root),
        **{k: v for times, scoped in runs for k, v in scoped.items() if k in times},
    }
    for nodeid in fresh:  # a test that ran again without wider-scoped setup has none now
        if not any(nodeid in scoped for _, scoped in runs):
            fixtures.pop(nodeid, None)
    path = durations_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "schema": SCHEMA,
        "tests": dict(sorted(tests.items())),
        "fixtures": dict(sorted(fixtures.items())),
    }
    text = json.dumps(document, indent=1) + "\n"
    import tempfile  # here, not at the top: imported after the run, not before it

    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".durations.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).replace(path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
