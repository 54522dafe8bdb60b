"""A release's data step and its verification, each undoable by the transaction.

:class:`DataStep` backs up (verified), passes the migration gate
(:mod:`stagewise.operations.migration_gate`), migrates with the
guarded migrate, and remembers how to put the data back: by the
down-migration the gate's rehearsal proved, else by restoring the
pre-release backup. :func:`smoke_check` runs the stage's verification tiers
against one instance's URL; anything but "all passed" refuses the release.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from stagewise.dataops import operations
from stagewise.dataops.manifest import read_manifest
from stagewise.errors import ExitCode, ReleaseRefused, StagewiseError
from stagewise.operations import migration_gate
from stagewise.operations.policy import Target
from stagewise.project.model import Project
from stagewise.project.release_config import ReleaseConfig
from stagewise.release.history import ReleaseRecord
from stagewise.tiers.result import TierResult

Say = Callable[[str], None]

#: ``STEP:MARKER``: hold the release still at STEP (after its work, before the next step), having
#: written MARKER, so a test can press Ctrl+C exactly there. Unset in every real run.
PAUSE_ENV = "STAGEWISE_RELEASE_PAUSE"
_PAUSE_S = 120.0


def pause_point(step: str) -> None:
    """The release's fault-injection point for ``step``: a no-op unless :data:`PAUSE_ENV` names it.

    Each failure mode of a release must be provoked by a test on the real CLI
    (issue 16); build and switch have no slow part of their own a test could
    wait in, so the release holds still here instead, for a bounded time.
    """
    wanted, _, marker = os.environ.get(PAUSE_ENV, "").partition(":")
    if wanted != step:
        return
    if marker:
        Path(marker).write_text(step, encoding="utf-8")
    deadline = time.monotonic() + _PAUSE_S
    while time.monotonic() < deadline:
        time.sleep(0.05)


@dataclass(frozen=True)
class BackPlan:
    """How a rollback puts the schema back: a downgrade, a restore (with rows that differ), or nothing."""

    downgrade_to: str | None = None
    restore: Path | None = None
    differ: tuple[tuple[str, int, int], ...] = ()  # (table, rows in the backup, rows now)

    def describe(self) -> str:
        if self.restore is None:
            return (
                f"schema down to {self.downgrade_to or 'base'}" if self.downgrade_to else "schema unchanged"
            )
        rows = ", ".join(f"{t}: {b} in the backup, {n} now" for t, b, n in self.differ) or "no table differs"
        return f"restoring {self.restore.name} drops the writes made since ({rows})"


class DataStep:
    """The data side of one release; :meth:`undo` puts it back as it was."""

    def __init__(self, target: Target, say: Say) -> None:
        self.target, self.say = target, say
        self.data: operations.DataEnv | None = None
        self.before: str | None = None
        self.backup: Path | None = None
        self.changed = False
        self.proven = False
        self.rehearsed = False
        #: Whether a restore swapped the live database: every session of the serving version
        #: (on the database swapped out) was ended, so it needs fresh ones (see ``_Run.undo``).
        self.restored = False
        project = target.project
        if (project.root / project.data.alembic_ini).is_file():
            try:
                self.data = operations.data_env(project, target.config, target.env)
            except StagewiseError as exc:
                say(f"no data step: {exc}")

    def forward(self, record: ReleaseRecord, old_check: Callable[[str], None]) -> ReleaseRecord:
        """Verified backup, the gate, the guarded migrate; the record says what happened."""
        data = self.data
        if data is None:
            self.say("no migrations (no alembic.ini): nothing to migrate")
            return record
        if data.store.exists():
            self.backup = operations.backup(data, self.say)
        self.before = data.store.revision()
        record = replace(
            record, revision_before=self.before, backup=str(self.backup) if self.backup else None
        )
        record = self._gate(record, old_check)
        if self.backup is not None and not self.rehearsed:
            # A rehearsal restores this very backup (the newest at the live revision) and checks it
            # against its manifest: that is its verification. Without one, verify it here.
            operations.verify(data, self.backup, self.say)
        self.changed = True  # from here on alembic may have committed revisions
        after = operations.migrate(data, self.say)
        self.changed = after != self.before
        return replace(record, revision_after=after, downgrade_proven=self.proven)

    def _gate(self, record: ReleaseRecord, old_check: Callable[[str], None]) -> ReleaseRecord:
        target = self.target
        request = migration_gate.GateRequest(target.project, target.config, target.env, old_check)
        report = migration_gate.run_migration_gate(request, self.say)
        self.proven = bool(report.applies and report.downgrade_proven)
        self.rehearsed = report.applies
        return replace(record, downgrade_proven=self.proven, steps=(*record.steps, *report.steps))

    def undo(self, record: ReleaseRecord) -> ReleaseRecord:
        """Put the schema and data back as they were before :meth:`forward` (or :meth:`backward`)."""
        data = self.data
        if self.before is not None or self.backup is not None:
            # forward() raised before it could return its record: keep what it learnt anyway.
            record = replace(
                record,
                revision_before=self.before,
                backup=str(self.backup) if self.backup else record.backup,
                downgrade_proven=self.proven,
            )
        if data is None or not self.changed:
            return record
        if self.proven and record.kind == "release":
            if data.store.revision() == self.before:
                # Nothing committed (the guarded migrate already put a failed migration back):
                # a downgrade to where it is would only cost another backup.
                self.say(f"the schema is still at {self.before or 'base'}: nothing to put back")
                return replace(record, revision_after=self.before)
            self.say(f"putting the schema back by its proven down-migration (to {self.before or 'base'})")
            operations.migrate(data, self.say, downgrade=self.before or "base")
        elif self.backup is not None:
            self.say(f"putting the data back from {self.backup.name}")
            self.restored = True  # set first: a swap may end the sessions and still fail after
            operations.restore(data, self.backup, None, self.say, safety_backup=False)
        return replace(record, revision_after=self.before)

    def plan_back(
        self, current: ReleaseRecord, back: ReleaseRecord, history: Sequence[ReleaseRecord] = ()
    ) -> BackPlan:
        """How a rollback from ``current`` to ``back`` puts the schema back (``history``: oldest first)."""
        data = self.data
        if data is None or not data.store.exists() or data.store.revision() == back.revision_after:
            return BackPlan()
        downgrade, kept = way_back(history or (back, current), current, back)
        if downgrade:
            return BackPlan(downgrade_to=back.revision_after or "base")
        if kept is None or not Path(kept).is_file():
            raise ReleaseRefused(
                f"cannot roll back the schema to {back.revision_after or 'base'}: the releases since "
                f"{back.id} proved no down-migration and kept no backup taken at that revision"
            )
        backup = Path(kept)
        counts = read_manifest(backup).tables
        now_counts = data.store.snapshot()[0]
        differ = tuple(
            (table, counts.get(table, 0), now_counts.get(table, 0))
            for table in sorted(set(counts) | set(now_counts))
            if counts.get(table, 0) != now_counts.get(table, 0)
        )
        return BackPlan(restore=backup, differ=differ)

    def backward(self, record: ReleaseRecord, plan: object) -> ReleaseRecord:
        """Carry out a rollback's :class:`BackPlan` (a safety backup first, for :meth:`undo`)."""
        data = self.data
        if data is None or not isinstance(plan, BackPlan) or (plan.restore is None and not plan.downgrade_to):
            return record
        self.before = data.store.revision()
        self.backup = operations.backup(data, self.say)
        self.changed = True
        if plan.restore is not None:
            self.restored = True
            operations.restore(data, plan.restore, None, self.say, safety_backup=False)
        else:
            operations.migrate(data, self.say, downgrade=plan.downgrade_to)
        after = data.store.revision()
        return replace(record, revision_before=self.before, revision_after=after, backup=str(self.backup))


def way_back(
    history: Sequence[ReleaseRecord], current: ReleaseRecord, back: ReleaseRecord
) -> tuple[bool, str | None]:
    """Whether down-migrations can take the schema from ``current`` back to ``back``, else the backup.

    Every release served since ``back`` that changed the schema must have had its downgrade
    proven by its gate (a rollback back two releases runs both releases' down-migrations);
    otherwise the schema goes back by a backup taken at ``back``'s revision: the newest
    pre-release (or pre-rollback) backup of a record since ``back`` that started there.
    """
    ids = [r.id for r in history]
    start = ids.index(back.id) + 1 if back.id in ids else 0
    end = ids.index(current.id) + 1 if current.id in ids else len(ids)
    since = [r for r in history[start:end] if r.outcome == "released"]
    changed = [r for r in since if r.revision_before != r.revision_after]
    if changed and all(r.kind == "release" and r.downgrade_proven for r in changed):
        return True, None
    at_back = [r for r in changed if r.revision_before == back.revision_after and r.backup]
    return False, (at_back[-1].backup if at_back else None)


class _SayReporter:
    """A pipeline reporter that hands the verification's lines to the release's ``say``."""

    def __init__(self, say: Say) -> None:
        self.say = say

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None:
        self.say(f"verify | {', '.join(tiers)} against {target}")

    def tier_started(self, tier: str, command: Sequence[str]) -> None:
        return None

    def output(self, tier: str, line: str) -> None:
        self.say(f"verify {tier} | {line}")

    def tier_finished(self, result: TierResult) -> None:
        self.say(f"verify | {result.name}: {result.status}")

    def note(self, message: str) -> None:
        self.say(f"verify | {message}")


def smoke_check(
    target: Target, config: ReleaseConfig, url: str, say: Say, tests_root: Path | None = None
) -> None:
    """Run ``config.verify``'s tiers (marked ``config.markers``) against ``url``; refuse unless all pass.

    ``tests_root``: run the tests found there (another version's tree) instead of the
    project's; the project's interpreter, env files and reports dir stay the project's.
    """
    from stagewise.pipeline.test_run import TestRequest, run_tests

    project = target.project
    request = TestRequest(
        tiers=tuple(config.verify or ()),
        stage=target.stage,
        host=url,
        extra_markers=config.markers,
        auto_start=False,
        reports_dir=project.root / project.reports_dir,
    )
    if tests_root is not None:
        project = _project_at(project, tests_root)
    result = run_tests(project, request, _SayReporter(say))
    if result.exit_code != ExitCode.OK:
        raise ReleaseRefused(
            f"verification against {url} failed ({', '.join(config.verify or ())} marked {config.markers}: "
            f"exit {int(result.exit_code)})"
        )


def _project_at(project: Project, root: Path) -> Project:
    """``project`` with its tests taken from ``root``: interpreter and env files stay where they are."""
    from stagewise.project.interpreter import project_python

    stages = {
        name: replace(stage, env_files=tuple(str(project.root / f) for f in stage.env_files))
        for name, stage in project.stages.items()
    }
    return replace(project, root=root, python=project_python(project), stages=stages)


__all__ = ["PAUSE_ENV", "BackPlan", "DataStep", "pause_point", "smoke_check", "way_back"]
