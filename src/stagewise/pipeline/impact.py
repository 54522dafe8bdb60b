"""``.stagewise/impact.json``: which test touched which file, recorded by a whole-tier ``--coverage`` run.

A coverage tier that runs whole (no selection, ``-k``, pytest arguments,
shard or ``--changed``) in a git project also records dynamic contexts
(pytest-cov ``--cov-context=test``) over the coverage source and every pytest
tier's test folders. After the tier, :mod:`stagewise.pipeline.impact_child`
reads them in the project's interpreter and this module keeps, per tier:

- ``tests``: every test the tier ran; ``failed``: those that failed (a
  failing test stopped early, so what it touched is incomplete: it always runs);
- ``touches``: file -> the tests whose setup, call or teardown executed a line
  of it. A wider fixture (class, module, package, session) is set up inside
  the first test that needs it, yet every test sharing it depends on it: what
  such a setup or teardown touched is given to every test of its module
  (class, module scope) or of the tier (package, session scope);
- ``spawns``: tests that started another process (coverage cannot follow the
  code run there): they run on every code change;
- ``files``: a snapshot of every project file as the tier saw it (sha256,
  and for Python files the module shape and whether importing it calls its
  own functions), so a later ``--changed`` knows what changed since the data
  was recorded, not only since REF.

The file is replaced atomically; a tier's entry is replaced by its next
whole recorded run and kept otherwise.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stagewise.pipeline import git_changes
from stagewise.pipeline.module_shape import function_bodies, shape

SCHEMA = 1
CHILD = Path(__file__).with_name("impact_child.py")
#: Wider fixture scopes shared by a module's tests, and by the whole tier's.
_MODULE_SCOPES = ("class", "module")
_TIER_SCOPES = ("package", "session")

__all__ = [
    "FileState",
    "TierImpact",
    "impact_path",
    "read_impact",
    "record_tier",
    "snapshot",
]


def impact_path(root: Path) -> Path:
    """Where the project's impact data lives."""
    return root / ".stagewise" / "impact.json"


@dataclass(frozen=True)
class FileState:
    """One project file as a recorded tier saw it."""

    sha256: str
    shape: str | None = None  # Python files: the module shape (None: did not parse, or not Python)
    calls_at_import: bool = (
        False  # importing it ran lines inside its own functions (or it was imported in a test)
    )
    #: function -> (body digest, the tests that executed its own lines); ``None``: not recorded
    functions: Mapping[str, tuple[str, frozenset[str]]] | None = None


@dataclass(frozen=True)
class TierImpact:
    """One tier's recorded impact data (see the module docstring)."""

    tier: str
    recorded_at: str
    commit: str
    tests: frozenset[str]
    failed: frozenset[str]
    spawns: frozenset[str]
    touches: Mapping[str, frozenset[str]]
    imported: frozenset[str]  # files executed at import (the empty context): measured, maybe untouched
    roots: tuple[str, ...]  # what coverage measured (relative folders or module names)
    files: Mapping[str, FileState]
    filter: object = None  # the tier's marker filter and arguments when recorded (see changed.impact_filter)


def read_impact(root: Path) -> dict[str, TierImpact]:
    """Tier -> its recorded impact data; ``{}`` when there is none (or the file is unreadable)."""
    try:
        data = json.loads(impact_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("tiers"), dict):
        return {}
    found: dict[str, TierImpact] = {}
    for name, entry in data["tiers"].items():
        try:
            found[name] = _tier_from(name, entry)
        except (KeyError, TypeError, ValueError, IndexError):
            continue  # a damaged entry is no data: that tier runs whole
    return found


def _tier_from(name: str, entry: dict[str, Any]) -> TierImpact:
    tests = list(entry["tests"])
    return TierImpact(
        tier=name,
        recorded_at=str(entry["recorded_at"]),
        commit=str(entry.get("commit", "")),
        tests=frozenset(tests),
        failed=frozenset(tests[i] for i in entry.get("failed", ())),
        spawns=frozenset(tests[i] for i in entry.get("spawns", ())),
        touches={f: frozenset(tests[i] for i in ids) for f, ids in entry["touches"].items()},
        imported=frozenset(entry.get("imported", ())),
        roots=tuple(entry.get("roots", ())),
        filter=entry.get("filter"),
        files={f: _state(s, tests) for f, s in entry["files"].items()},
    )


def _state(state: dict[str, Any], tests: list[str]) -> FileState:
    functions = state.get("functions")
    return FileState(
        str(state["sha256"]),
        state.get("shape"),
        bool(state.get("calls_at_import")),
        None
        if functions is None
        else {name: (str(v[0]), frozenset(tests[i] for i in v[1])) for name, v in functions.items()},
    )


def snapshot(root: Path, ignored: Iterable[str] = ()) -> dict[str, str]:
    """Every project file git would list (tracked, and untracked not ignored) -> its sha256."""
    skip = tuple(ignored)
    return {
        path: git_changes.file_digest(root / path)
        for path in git_changes.project_files(root)
        if not is_output(path, skip)
    }


def is_output(path: str, extra: Iterable[str] = ()) -> bool:
    """Files runs write (reports, caches, coverage data, stagewise's own): never part of a change."""
    parts = path.split("/")
    if parts[0] == ".stagewise" or any(p in ("__pycache__", ".pytest_cache", ".mypy_cache") for p in parts):
        return True
    if parts[-1].startswith(".coverage") and parts[-1] != ".coveragerc":
        return True
    return any(path == e or path.startswith(e.rstrip("/") + "/") for e in extra)


def record_tier(  # noqa: PLR0917 - one call site; each argument is a different thing the record needs
    root: Path,
    python: str,
    tier: str,
    data_file: Path,
    attempts_file: Path,
    before: Mapping[str, str],
    roots: Iterable[str],
    env: Mapping[str, str],
    test_filter: object = None,
) -> Path | None:
    """Read the tier's contexts and replace its entry in impact.json; ``None`` when there was nothing to read."""
    if not data_file.is_file():
        return None
    with tempfile.TemporaryDirectory(prefix="stagewise-impact-") as scratch:
        out = Path(scratch) / "contexts.json"
        child_env = {k: v for k, v in env.items() if k != "COVERAGE_FILE"}
        done = subprocess.run(
            [python, str(CHILD), str(data_file), str(out)],
            cwd=root,
            env=child_env,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )
        if done.returncode != 0 or not out.is_file():
            last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise OSError(f"reading the {tier} tier's coverage contexts failed: {last}")
        contexts = json.loads(out.read_text(encoding="utf-8"))
    entry = _entry(root, contexts, attempts_file, before, tuple(roots))
    entry["filter"] = test_filter
    return _write_entry(root, tier, entry)


def _entry(  # noqa: PLR0912, PLR0915 - one pass over the contexts, each branch one rule of the docstring
    root: Path,
    contexts: dict[str, Any],
    attempts_file: Path,
    before: Mapping[str, str],
    roots: tuple[str, ...],
) -> dict[str, Any]:
    ran, failed, wider, spawned = _attempts(attempts_file)
    by_module: dict[str, set[str]] = {}
    for nodeid in ran:
        by_module.setdefault(nodeid.split("::", 1)[0], set()).add(nodeid)

    def sharing(nodeid: str) -> set[str]:
        scopes = wider.get(nodeid, set())
        if scopes & set(_TIER_SCOPES):
            return set(ran)
        if scopes & set(_MODULE_SCOPES):
            return by_module.get(nodeid.split("::", 1)[0], set()) | {nodeid}
        return {nodeid}

    names = [str(c) for c in contexts.get("contexts", ())]
    touches: dict[str, set[str]] = {}
    imported: set[str] = set()
    calls_at_import: set[str] = set()
    functions: dict[str, dict[str, tuple[str, set[str]]]] = {}
    resolved_root = root.resolve()
    for path, lines in contexts.get("files", {}).items():
        try:
            rel = Path(path).resolve().relative_to(resolved_root).as_posix()
        except ValueError:
            continue  # outside the project (an installed package): not the change's concern
        bodies = _bodies(root / rel) if rel.endswith(".py") else None
        owner = {line: name for name, (_, own) in (bodies or {}).items() for line in own}
        own_tests: dict[str, set[str]] = {name: set() for name in bodies or {}}
        tests: set[str] = set()
        for line_text, indexes in lines.items():
            line = int(line_text)
            at_line: set[str] = set()
            for i in indexes:
                nodeid, _, phase = names[i].rpartition("|")
                if not names[i]:
                    imported.add(rel)
                    if line in owner:
                        calls_at_import.add(rel)  # importing it calls its own function
                    continue
                nodeid = nodeid or names[i]
                at_line |= sharing(nodeid) if phase in ("setup", "teardown") else {nodeid}
            if at_line and line not in owner and bodies is not None:
                calls_at_import.add(rel)  # imported during a test: what that import did is not attributable
            if line in owner:
                own_tests[owner[line]] |= at_line
            tests |= at_line
        if tests:
            touches[rel] = tests
        if bodies is not None:
            functions[rel] = {name: (digest, own_tests[name]) for name, (digest, _) in bodies.items()}
    spawns: set[str] = set()
    for nodeid, phase in spawned:
        spawns |= sharing(nodeid) if phase in ("setup", "teardown") else {nodeid}
    every = sorted(ran | {t for ts in touches.values() for t in ts})
    index = {t: i for i, t in enumerate(every)}
    files: dict[str, dict[str, Any]] = {}
    for rel, digest in sorted(before.items()):
        state: dict[str, Any] = {"sha256": digest}
        if rel.endswith(".py"):
            state["shape"] = _shape(root / rel)
            if rel in calls_at_import:
                state["calls_at_import"] = True
            if rel in functions:
                state["functions"] = {
                    name: [digest, sorted(index[t] for t in ts if t in index)]
                    for name, (digest, ts) in sorted(functions[rel].items())
                }
        files[rel] = state
    return {
        "recorded_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": git_changes.head_commit(root),
        "roots": list(roots),
        "tests": every,
        "failed": sorted(index[t] for t in failed if t in index),
        "spawns": sorted(index[t] for t in spawns if t in index),
        "imported": sorted(imported),
        "touches": {f: sorted(index[t] for t in ts if t in index) for f, ts in sorted(touches.items())},
        "files": files,
    }


def _attempts(path: Path) -> tuple[set[str], set[str], dict[str, set[str]], set[tuple[str, str]]]:
    """From the tier's attempt record: tests run, tests failed, wider fixture scopes per test, spawns."""
    ran: set[str] = set()
    failed: set[str] = set()
    wider: dict[str, set[str]] = {}
    spawned: set[tuple[str, str]] = set()
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        lines = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict):
            continue
        nodeid = str(event.get("nodeid") or "")
        kind = event.get("event")
        if kind == "report" and nodeid:
            ran.add(nodeid)
            if event.get("outcome") == "failed":
                failed.add(nodeid)
        elif kind == "fixture" and nodeid:
            wider.setdefault(nodeid, set()).add(str(event.get("scope", "")))
        elif kind == "spawn" and nodeid:
            spawned.add((nodeid, str(event.get("when", "call"))))
    return ran, failed, wider, spawned


def _read_source(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _shape(path: Path) -> str | None:
    source = _read_source(path)
    return shape(source) if source is not None else None


def _bodies(path: Path) -> dict[str, tuple[str, frozenset[int]]] | None:
    source = _read_source(path)
    return function_bodies(source) if source is not None else None


def _write_entry(root: Path, tier: str, entry: dict[str, Any]) -> Path:
    path = impact_path(root)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        data = {}
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("tiers"), dict):
        data = {"schema": SCHEMA, "tiers": {}}
    data["tiers"][tier] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".impact.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(data, out, separators=(",", ":"))
        Path(temporary).replace(path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
