"""``.stagewise/durations.json``: how long each test took, kept for ``--shard``.

Every run updates it from its own attempt records (the per-test JSON lines
the record plugin writes beside each tier's JUnit file): a test's time is its
setup, call and teardown together, from its last attempt. Tests the run did
not run keep their old figure; the file is written atomically (a temporary
file renamed over it), so a runner reading it never sees half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

SCHEMA = 1

__all__ = ["durations_path", "read_durations", "run_durations", "update_durations"]


def durations_path(root: Path) -> Path:
    """Where the project's recorded durations live."""
    return root / ".stagewise" / "durations.json"


def read_durations(root: Path) -> dict[str, float]:
    """Node id -> seconds, or ``{}`` when nothing is recorded yet (or the file is unreadable)."""
    try:
        data = json.loads(durations_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    tests = data.get("tests", {}) if isinstance(data, dict) else {}
    return {str(k): float(v) for k, v in tests.items() if isinstance(v, int | float)}


def run_durations(run_dir: Path) -> dict[str, float]:
    """Each test's time in a run: setup + call + teardown of its last attempt, over every tier."""
    times: dict[str, float] = {}
    for record in sorted(run_dir.glob("*.attempts.jsonl")):
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if not isinstance(event, dict) or event.get("event") != "report" or event.get("subtest"):
                continue
            nodeid, when = str(event.get("nodeid", "")), event.get("when")
            duration = float(event.get("duration") or 0.0)
            if when == "setup":
                times[nodeid] = duration  # a new attempt starts at its setup
            else:
                times[nodeid] = times.get(nodeid, 0.0) + duration
    return {k: round(v, 4) for k, v in times.items() if k}


def update_durations(root: Path, *run_dirs: Path) -> Path | None:
    """Merge the runs' test times into ``root``'s file; returns it, or ``None`` if nothing ran."""
    fresh = {k: v for run_dir in run_dirs for k, v in run_durations(run_dir).items()}
    if not fresh:
        return None
    tests = {**read_durations(root), **fresh}
    path = durations_path(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps({"schema": SCHEMA, "tests": dict(sorted(tests.items()))}, indent=1) + "\n"
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".durations.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        Path(temporary).replace(path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
