"""The stage's releases: one JSON line per release in ``.stagewise/<stage>/releases.jsonl``.

A record is written when a release starts (outcome ``running``) and
rewritten when it ends, so a release killed outright still leaves a line
saying it never finished. ``rollback`` reads the history to find the
artifact (commit, image, slot) of the release it goes back to.
"""

from __future__ import annotations

import getpass
import json
import os
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

#: The record's schema version (``--json`` output and the file).
RECORD_VERSION = 1


@dataclass(frozen=True)
class ReleaseRecord:
    """One release (or rollback) as it happened."""

    id: str
    stage: str
    kind: str  # release | rollback
    version: str
    commit: str | None
    image: str | None = None
    image_digest: str | None = None
    slot: str | None = None
    port: int | None = None
    revision_before: str | None = None
    revision_after: str | None = None
    downgrade_proven: bool = False
    backup: str | None = None
    who: str = ""
    started_at: str = ""
    finished_at: str | None = None
    steps: tuple[tuple[str, float], ...] = ()
    outcome: str = "running"  # running | released | rolled-back | failed | interrupted
    detail: str = ""
    previous: str | None = None  # the release id that served before this one
    extra: dict[str, str] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = [{"step": name, "seconds": round(sec, 3)} for name, sec in self.steps]
        data["version_schema"] = RECORD_VERSION
        return data

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> ReleaseRecord:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["steps"] = tuple((s["step"], float(s["seconds"])) for s in data.get("steps", []))
        return cls(**fields)

    def with_step(self, name: str, seconds: float) -> ReleaseRecord:
        return replace(self, steps=(*self.steps, (name, seconds)))


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def who() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


class History:
    """The releases file of one stage; writes replace the file atomically."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / "releases.jsonl"

    def load(self) -> list[ReleaseRecord]:
        """Oldest first; a line that cannot be read is skipped (never a traceback)."""
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except OSError:
            return []
        records = []
        for line in lines:
            try:
                records.append(ReleaseRecord.from_record(json.loads(line)))
            except (ValueError, TypeError, KeyError):
                continue
        return records

    def save(self, record: ReleaseRecord) -> None:
        """Add ``record``, or replace the one with its id."""
        records = [r for r in self.load() if r.id != record.id]
        records.append(record)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r.record()) + "\n" for r in records), encoding="utf-8")
        tmp.replace(self.path)

    def serving(self) -> ReleaseRecord | None:
        """The release that serves now: the newest released (or rolled back to) one."""
        for record in reversed(self.load()):
            if record.outcome == "released":
                return record
        return None

    def find(self, release_id: str) -> ReleaseRecord | None:
        return next((r for r in self.load() if release_id in (r.id, r.version)), None)


__all__ = ["RECORD_VERSION", "History", "ReleaseRecord", "now", "who"]
