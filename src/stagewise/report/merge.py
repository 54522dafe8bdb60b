"""``stagewise report merge DIR...``: the shard runs of one commit as one run.

Each DIR is a run folder (holding ``summary.json``) or a reports folder whose
``latest`` run is taken. The runs must be of the same commit, stage and
command (``stagewise test`` shards, not a ``check`` run among them); a
mismatch is refused (:class:`~stagewise.errors.UsageError`), as is the same
run given twice. Tiers of the same name are added up (counts, failed and
flaky tests; the time is the longest shard's, as the shards ran side by side;
their JUnit files become one); the merged verdict is computed from the merged
tiers and every shard's gates, so one failing shard fails the merge. The
result is a new run folder: ``summary.json``, ``junit-<tier>.xml`` and
``index.html``, and one line in ``history.jsonl``.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stagewise.errors import ExitCode, UsageError
from stagewise.report.history import append_history, read_history, run_command
from stagewise.report.run_dir import new_run_id, prepare_run_dir
from stagewise.tiers.result import TierStatus

__all__ = ["load_shard_run", "merge_records", "merge_runs"]

_ADDED = ("tests", "passed", "failed", "errors", "skipped", "xfailed", "xpassed", "flaky")
_STATUS_ORDER = (TierStatus.FAILED, TierStatus.ERROR, TierStatus.MISSING)
_VERDICTS = {
    ExitCode.OK: "passed",
    ExitCode.FAILED: "failed",
    ExitCode.MISSING: "incomplete",
    ExitCode.NO_TESTS: "no tests",
}


def load_shard_run(path: Path) -> tuple[Path, dict[str, Any]]:
    """A run folder and its summary.json; a reports folder means its latest run."""
    for folder in (path, path / "latest"):
        summary = folder / "summary.json"
        if summary.is_file():
            try:
                record = json.loads(summary.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise UsageError(f"{summary} is not a run record: {exc}") from None
            if not isinstance(record, dict):
                raise UsageError(f"{summary} is not a run record")
            return folder.resolve(), record
    raise UsageError(f"{path} holds no run (no summary.json in it or in {path / 'latest'})")


def _commit(record: Mapping[str, Any]) -> str | None:
    git = record.get("git")
    return str(git["commit"]) if isinstance(git, Mapping) and git.get("commit") else None


def _check_same_run(runs: Sequence[tuple[Path, Mapping[str, Any]]]) -> None:
    first_dir, first = runs[0]
    seen: dict[str, Path] = {}
    for folder, record in runs:
        run_id = str(record.get("run_id"))
        if run_id in seen:
            raise UsageError(f"{folder} and {seen[run_id]} are the same run ({run_id}): give each shard once")
        seen[run_id] = folder
        for key, value, other in (
            ("commit", _commit(record), _commit(first)),
            ("stage", record.get("stage"), first.get("stage")),
            ("command", run_command(record), run_command(first)),
        ):
            if value != other:
                raise UsageError(
                    f"cannot merge runs of different {key}s: {first_dir} has {other}, {folder} has {value}"
                )


def _merged_tier(name: str, parts: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    tier: dict[str, Any] = {"name": name}
    for key in _ADDED:
        tier[key] = sum(int(p.get(key) or 0) for p in parts)
    # each shard deselects the others' tests: what is left over is what -m/-k left out of all of them
    others = (len(parts) - 1) * tier["tests"]
    tier["deselected"] = max(0, (sum(int(p.get("deselected") or 0) for p in parts) - others) // len(parts))
    statuses = {TierStatus(str(p.get("status"))) for p in parts}
    status = next((s for s in _STATUS_ORDER if s in statuses), None)
    if status is None and statuses == {TierStatus.SKIPPED_BY_CHANGE}:
        status = TierStatus.SKIPPED_BY_CHANGE  # --changed: no shard had anything affected
    if status is None:
        status = TierStatus.PASSED if TierStatus.PASSED in statuses else TierStatus.NO_TESTS
    tier["status"] = status.value
    tier["duration_s"] = max(float(p.get("duration_s") or 0.0) for p in parts)
    tier["message"] = "; ".join(dict.fromkeys(str(p["message"]) for p in parts if p.get("message")))
    tier["failed_tests"] = [f for p in parts for f in p.get("failed_tests") or ()]
    tier["flaky_tests"] = [f for p in parts for f in p.get("flaky_tests") or ()]
    tier["reruns"] = max(int(p.get("reruns") or 0) for p in parts)
    tier["counted"] = any(p.get("counted", True) for p in parts)
    tier["junit"] = None
    tier["log"] = None
    tier["shards"] = len(parts)
    return tier


def merge_records(records: Sequence[Mapping[str, Any]], run_id: str, run_dir: Path) -> dict[str, Any]:
    """One run record (summary.json shape) from the shard runs' records."""
    first = records[0]
    names = list(dict.fromkeys(str(t.get("name")) for r in records for t in r.get("tiers") or ()))
    tiers = [
        _merged_tier(name, [t for r in records for t in r.get("tiers") or () if t.get("name") == name])
        for name in names
    ]
    gates = [g for r in records for g in r.get("gates") or () if isinstance(g, Mapping)]
    codes = {TierStatus(t["status"]).exit_code for t in tiers if t["counted"]}
    if any(not g.get("passed", True) for g in gates):
        codes.add(ExitCode.FAILED)
    if tiers and not any(t["counted"] for t in tiers):
        codes.add(ExitCode.NO_TESTS)
    code = next(
        (c for c in (ExitCode.FAILED, ExitCode.MISSING, ExitCode.NO_TESTS) if c in codes), ExitCode.OK
    )
    return {
        **{
            k: v
            for k, v in first.items()
            if k in ("schema_version", "stage", "target", "git", "tool_versions", "profile")
        },
        "command": run_command(first),
        "stagewise_version": first.get("stagewise_version"),
        "run_id": run_id,
        "started_at": min(str(r.get("started_at") or "") for r in records)
        or datetime.now(UTC).isoformat(timespec="seconds"),
        "duration_s": max(float(r.get("duration_s") or 0.0) for r in records),
        "verdict": _VERDICTS[code],
        "exit_code": int(code),
        "coverage_percent": None,  # each shard measured part of the code: no one figure is the run's
        "tiers": tiers,
        "gates": gates,
        "run_dir": str(run_dir),
        "page": "index.html",
        "flaky": sum(t["flaky"] for t in tiers),
        "merged_from": [str(r.get("run_id")) for r in records],
    }


def _merge_junit(
    run_dir: Path, tier: dict[str, Any], folders: Sequence[tuple[Path, Mapping[str, Any]]]
) -> None:
    """The shards' JUnit files of one tier as one ``<testsuites>`` file in the merged run."""
    merged = ET.Element("testsuites")
    for folder, record in folders:
        for part in record.get("tiers") or ():
            junit = part.get("junit") if part.get("name") == tier["name"] else None
            if not isinstance(junit, str):
                continue
            path = next((p for p in (folder / Path(junit).name, Path(junit)) if p.is_file()), None)
            if path is None:
                continue
            root = ET.parse(path).getroot()  # noqa: S314 - our own file
            merged.extend(root.iter("testsuite") if root.tag == "testsuites" else [root])
    if len(merged):
        target = run_dir / f"junit-{tier['name']}.xml"
        ET.ElementTree(merged).write(target, encoding="utf-8", xml_declaration=True)
        tier["junit"] = str(target)


def merge_runs(paths: Sequence[Path], reports_root: Path) -> tuple[Path, dict[str, Any]]:
    """Merge the runs at ``paths`` into a new run under ``reports_root``; returns its folder and record."""
    if len(paths) < 2:
        raise UsageError("report merge needs at least two runs (DIR DIR ...)")
    runs = [load_shard_run(p) for p in paths]
    _check_same_run(runs)
    run_id = new_run_id()
    reports_root.mkdir(parents=True, exist_ok=True)
    run_dir = prepare_run_dir(reports_root, run_id)
    record = merge_records([r for _, r in runs], run_id, run_dir)
    record["merged_dirs"] = [str(folder) for folder, _ in runs]
    for tier in record["tiers"]:
        _merge_junit(run_dir, tier, runs)
    temporary = run_dir / ".summary.json.tmp"
    temporary.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, run_dir / "summary.json")
    append_history(reports_root, record, run_dir)
    from stagewise.report.html import write_page

    write_page(run_dir, record, read_history(reports_root))  # the page picks the comparable runs
    return run_dir, record
