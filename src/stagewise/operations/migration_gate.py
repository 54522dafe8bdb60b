"""The migration gate: what must hold before a release migrates the live database.

1. **Lint**: the upgrade's SQL (``alembic upgrade LIVE:head --sql``, in the
   project's interpreter) through squawk. A rule in ``data.gate.errors``
   fails the gate unless an unexpired allow-list entry accepts it; other
   findings are warnings, reported.
2. **Rehearsal** on a scratch copy restored from the newest backup at the live
   revision and verified against its manifest: the upgrade (timed, its locks
   sampled from ``pg_locks``), with the stage's ``lock_timeout`` and
   ``statement_timeout``; a failure half-way refuses the release, and the live
   database was never touched.
3. **The version serving now** (``old_version_check``, the release's) runs
   against the rehearsed new schema; when it breaks, the release is refused
   before it starts.
4. **Downgrade proven**: downgrade to the live revision and upgrade again on the
   same copy; when that fails (no downgrade, or one that does not undo), the
   gate still passes, and a rollback must restore the backup instead.

The scratch copy is dropped in every case, Ctrl+C included. A stage with
nothing to migrate (no alembic, a SQLite store, no pending revision) is
``applies=False`` with the reason: not a pass. The caller holds the env lock
(the rehearsal may have to take a backup first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stagewise.dataops import operations
from stagewise.dataops.driver_errors import database_errors
from stagewise.dataops.postgres import PostgresStore
from stagewise.dataops.rehearsal import Scratch, rehearsal_backup, run_step, scratch_copy
from stagewise.dataops.squawk import LintResult, lint, load_gate_allowlist
from stagewise.errors import MigrationGateRefused, StagewiseError
from stagewise.operations.policy import Target, guarded
from stagewise.project.data import stage_url
from stagewise.project.model import Project, StageConfig

Say = Callable[[str], None]


@dataclass(frozen=True)
class GateRequest:
    project: Project
    stage: StageConfig
    env: Mapping[str, str]
    #: Called with the scratch database's URL after the rehearsed upgrade: starts the version
    #: serving now against it and runs its smoke tests; raises a StagewiseError when it breaks.
    old_version_check: Callable[[str], None] | None


@dataclass(frozen=True)
class GateReport:
    applies: bool  # False when nothing to migrate (reason in `reason`)
    reason: str
    revision_before: str | None
    revision_after: str | None
    downgrade_proven: bool  # rehearsal ran downgrade then upgrade again successfully
    lint_warnings: tuple[str, ...]
    rehearsal_s: float | None
    steps: tuple[tuple[str, float], ...]  # (step name, seconds)
    #: Tables and the strongest lock mode the rehearsed upgrade took on each.
    locks: tuple[str, ...] = ()
    #: Findings an allow-list entry accepted, with the entry and its reason.
    accepted: tuple[str, ...] = ()

    def record(self) -> dict[str, Any]:
        return {
            "applies": self.applies,
            "reason": self.reason,
            "revision_before": self.revision_before,
            "revision_after": self.revision_after,
            "downgrade_proven": self.downgrade_proven,
            "lint_warnings": list(self.lint_warnings),
            "accepted": list(self.accepted),
            "locks": list(self.locks),
            "rehearsal_s": self.rehearsal_s,
            "steps": [{"step": name, "seconds": round(s, 3)} for name, s in self.steps],
        }


def _not_applicable(reason: str, revision: str | None = None) -> GateReport:
    return GateReport(False, reason, revision, revision, False, (), None, ())


def run_migration_gate(request: GateRequest, say: Say) -> GateReport:
    """Lint, rehearse, check the old version; raises :class:`MigrationGateRefused` when one fails."""
    project, stage = request.project, request.stage
    config = project.data
    if not stage_url(config, project.root, stage.name, request.env):
        return _not_applicable(f"no database for {stage.name} (data.urls.{stage.name} or {config.url_env})")
    if not (project.root / config.alembic_ini).is_file():
        return _not_applicable(f"no alembic: {config.alembic_ini} does not exist")
    data = operations.data_env(project, stage, request.env)
    if data.store.kind != "postgres":
        return _not_applicable(f"{data.store.kind} store: the gate lints and rehearses PostgreSQL migrations")
    with database_errors():
        before = data.store.revision()
    heads = data.alembic.heads()
    if before in heads or not heads:
        return _not_applicable(f"no pending revision ({stage.name} is at {before or 'base'})", before)
    steps: list[tuple[str, float]] = []
    started = time.monotonic()
    result = _lint(data, before, say)
    steps.append(("lint", time.monotonic() - started))
    with database_errors():
        return _rehearse(request, data, before, result=result, steps=steps, say=say)


def _lint(data: operations.DataEnv, before: str | None, say: Say) -> LintResult:
    gate = data.project.data.gate
    allowlist = load_gate_allowlist(data.project.root, gate)
    sql = data.alembic.run("upgrade", f"{before}:head" if before else "head", "--sql").stdout
    result = lint(sql, gate, allowlist)
    for finding in result.findings:
        say(f"lint: {finding.line()}")
    for note in result.expired:
        say(f"lint: {note}")
    if result.errors:
        first = result.errors[0]
        more = f" (and {len(result.errors) - 1} more)" if len(result.errors) > 1 else ""
        raise MigrationGateRefused(
            f"migration gate: squawk {first.rule} in revision {first.revision}{more}: {first.message} "
            f"[{first.statement}]; change the migration, or accept it in {gate.allowlist} "
            "with a reason and an expiry"
        )
    accepted = sum(1 for f in result.findings if f.accepted_by)
    say(f"lint: no errors; {len(result.warnings) - accepted} warning(s), {accepted} accepted")
    return result


def _rehearse(
    request: GateRequest,
    data: operations.DataEnv,
    before: str | None,
    *,
    result: LintResult,
    steps: list[tuple[str, float]],
    say: Say,
) -> GateReport:
    started = time.monotonic()
    backup = rehearsal_backup(data, before, say)
    with scratch_copy(data, backup, say) as scratch:
        steps.append(("restore scratch copy", time.monotonic() - started))
        up = run_step(scratch, "upgrade", "head")
        steps.append(("rehearse upgrade", up.seconds))
        if up.error is not None:
            raise MigrationGateRefused(
                f"migration gate: the upgrade failed in rehearsal on a copy of {backup.name} "
                f"after {up.seconds:.1f} s: {up.error}; the live database was not touched"
            ) from up.error
        after = _revision(scratch)
        say(
            f"rehearsal: upgrade {before or 'base'} -> {after} took {up.seconds:.2f} s; "
            f"locks: {', '.join(up.locks) or 'none seen'}"
        )
        if request.old_version_check is not None:
            checked = time.monotonic()
            try:
                request.old_version_check(scratch.url)
            except MigrationGateRefused:
                raise  # the gate's own verdict (the old version could not be started to check)
            except StagewiseError as exc:
                raise MigrationGateRefused(
                    f"migration gate: the version serving now breaks on the new schema: {exc}; "
                    "release refused before it started (make the migration backward compatible)"
                ) from exc
            steps.append(("old version on new schema", time.monotonic() - checked))
            say("rehearsal: the version serving now passes its smoke tests on the new schema")
        else:
            say("rehearsal: the old version was not checked against the new schema (no check given)")
        proven = _prove_downgrade(scratch, before, after, steps=steps, say=say)
    return GateReport(
        applies=True,
        reason="passed",
        revision_before=before,
        revision_after=after,
        downgrade_proven=proven,
        lint_warnings=tuple(f.line() for f in result.warnings if f.accepted_by is None),
        rehearsal_s=up.seconds,
        steps=tuple(steps),
        locks=up.locks,
        accepted=tuple(f.line() for f in result.findings if f.accepted_by is not None),
    )


def _revision(scratch: Scratch) -> str | None:
    return PostgresStore(scratch.url).revision()


def _prove_downgrade(
    scratch: Scratch,
    before: str | None,
    after: str | None,
    *,
    steps: list[tuple[str, float]],
    say: Say,
) -> bool:
    """Downgrade to ``before`` and upgrade again on the copy; whether both did what they should."""
    down = run_step(scratch, "downgrade", before or "base")
    steps.append(("rehearse downgrade", down.seconds))
    at = None if down.error else _revision(scratch)
    if down.error is not None or at != before:
        why = str(down.error) if down.error else f"it left the copy at {at or 'base'}"
        say(f"rehearsal: downgrade not proven ({why}); a rollback restores the backup instead")
        return False
    again = run_step(scratch, "upgrade", "head")
    steps.append(("rehearse upgrade again", again.seconds))
    if again.error is not None or _revision(scratch) != after:
        why = str(again.error) if again.error else "it did not reach the same head"
        say(
            f"rehearsal: downgrade ran, but the upgrade after it failed ({why}): not proven; "
            "a rollback restores the backup instead"
        )
        return False
    say(f"rehearsal: downgrade to {before or 'base'} and upgrade again proven")
    return True


def gate_alone(target: Target, say: Say) -> GateReport:
    """``deploy ENV gate``: the gate without a release, under the env lock; the old version is not
    started (only ``release`` knows it), so that step is reported as not run."""
    with guarded(target, "gate"):
        return run_migration_gate(GateRequest(target.project, target.config, target.env, None), say)
