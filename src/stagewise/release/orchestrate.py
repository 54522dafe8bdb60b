"""``deploy ENV release`` and ``deploy ENV rollback`` as one transaction each.

release: build the new version (an artifact pinned by commit), pass the
migration gate, migrate with the guarded migrate (a verified backup first),
start the new version beside the old one on the other slot's port, wait for
its health check, switch the front door to it, run the stage's verification
against it, let the old one drain and stop it. Any failure, timeout or
Ctrl+C before the end switches back, stops the new one and puts the data
back (down-migration when the gate proved it, else the pre-release backup):
the old version keeps serving. The env lock is held throughout, naming the
release; every step's wall time and the outcome go to the history.

The transaction is the same on every backend it supports; what differs (how the
new version is built, how a slot runs it) is a :class:`~stagewise.release.instances.Slots`:
:class:`~stagewise.release.instances.LocalSlots` (a copy of the code per release, a
process per slot) or :class:`~stagewise.release.compose_slots.ComposeSlots` (an image
per release, a container per slot). On the swarm backend the engine rolls the stack
itself: :mod:`~stagewise.release.swarm_flow` runs the same transaction around its
rolling update, and :func:`release`/:func:`rollback` hand a swarm stage to it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

from stagewise.backends.base import Environment
from stagewise.errors import DeployError, InterruptedRun, ReleaseRefused, StagewiseError, UsageError
from stagewise.interrupts import interrupt_once
from stagewise.operations.policy import Confirm, Target, confirm_protected, guarded, refuse
from stagewise.release.frontdoor import FrontDoor
from stagewise.release.history import History, ReleaseRecord, now, who
from stagewise.release.instances import Instance, LocalSlots, Slots
from stagewise.release.old_tests import old_smoke_tests
from stagewise.release.slots import git_commit
from stagewise.release.steps import DataStep, pause_point, smoke_check
from stagewise.release.transaction import ReleaseRequest, RollbackRequest, Steps

Say = Callable[[str], None]


class Release:
    """The pieces of one stage's release machinery (config, slots, door, history)."""

    def __init__(self, target: Target) -> None:
        project, stage = target.project, target.config
        config = project.releases.get(stage.name)
        if config is None:
            raise UsageError(
                f"stage {stage.name} has no front door: add [release.{stage.name}] with port = PORT "
                f"to {project.describe_file()}"
            )
        backend = target.backend or stage.backend or "local"
        if backend not in ("local", "compose"):
            raise UsageError(f"the {backend} backend has no slots: its releases are its engine's own")
        self.target, self.config, self.backend = target, config, backend
        self.say: Say = lambda _line: None
        self.state_dir = project.root / ".stagewise" / stage.name
        self.environment = Environment(
            stage=stage.name,
            project_name=project.name,
            root=project.root,
            env=target.env,
            protected=stage.protected,
            base_url=stage.base_url,
        )
        self.slots: Slots
        if backend == "compose":
            from stagewise.release.compose_slots import ComposeSlots

            self.slots = ComposeSlots(target, config, self.environment)
        else:
            self.slots = LocalSlots(target, config, self.environment)
        self.ports = self.slots.ports
        self.door = FrontDoor(self.state_dir, config.port, self.ports, project.health_path)
        self.history = History(self.state_dir)
        self.old_tests: str | None = None  # which tests the gate ran on the old version (its hook sets it)
        #: A rollback's target: its verification runs that release's tests, not the current tree's.
        self.tests_of: ReleaseRecord | None = None

    def slot(self, name: str, artifact: str | None) -> Instance:
        return self.slots.instance(name, artifact)

    def serving_slot(self) -> str | None:
        """The slot serving now: the front door's, else whichever slot's instance runs."""
        serving = self.door.serving()
        if serving is not None:
            return serving
        return self.slots.running_slot()

    def url(self, slot: str) -> str:
        return f"http://127.0.0.1:{self.ports[slot]}"

    def stop_all(self) -> list[str]:
        """Stop the spare slot's instance and the front door (``deploy ENV down``); what was stopped.

        The backend's own ``down`` stops slot ``a`` (the service's own process or container);
        without this, a release's spare slot and HAProxy would outlive ``down``.
        """
        stopped = self.slots.stop_spare()
        if self.door.stop():
            stopped.append("front door")
        return stopped


def stop_release_parts(target: Target) -> list[str]:
    """What ``down`` must stop besides the backend's services: the spare slot and the front door.

    Nothing for a stage without ``[release.STAGE]``.
    """
    if target.config.name not in target.project.releases:
        return []
    if _backend(target) == "swarm":
        from stagewise.release import swarm_flow

        return swarm_flow.stop_parts(target)
    return Release(target).stop_all()


def _backend(target: Target) -> str:
    return target.backend or target.config.backend or "local"


def release(request: ReleaseRequest, say: Say, confirm: Confirm = refuse) -> ReleaseRecord:
    """Release the code as it is now; returns the record (outcome ``released``) or raises."""
    target = request.target
    if _backend(target) == "swarm":
        from stagewise.release import swarm_flow

        return swarm_flow.release(request, say, confirm)
    parts = Release(target)
    parts.say = say
    config = parts.config
    if config.verify is None:
        raise ReleaseRefused(
            f"stage {target.stage} has no verification configured: set release.{target.stage}.verify "
            "to the tiers to run against the new version (or verify = false); nothing was done"
        )
    commit, dirty = git_commit(target.project.root)
    version = request.version or ((commit or "unversioned")[:12] + ("-dirty" if dirty else ""))
    release_id = time.strftime("%Y%m%dT%H%M%S") + "-" + version
    old = parts.serving_slot()
    new = "b" if old == "a" else "a"
    previous = parts.history.serving()
    record = ReleaseRecord(
        id=release_id,
        stage=target.stage,
        kind="release",
        version=version,
        commit=commit,
        slot=new,
        port=parts.ports[new],
        who=who(),
        started_at=now(),
        previous=previous.id if previous else None,
        extra={"dirty": "true"} if dirty else {},
    )
    if target.config.protected:
        confirm_protected(target, f"release {version} (migrate, switch the front door)", confirm)
    locked = replace(target, label=f"stagewise deploy {target.stage} release {release_id}")
    with guarded(locked, "release"):
        steps = Steps(parts.history, record, say)

        def build() -> str:
            # Inside the transaction, so a failure or Ctrl+C here is recorded (not left "running").
            with steps.step("build"):
                built = parts.slots.build(release_id, version, say)
                steps.record = replace(
                    steps.record,
                    image=built.image,
                    image_digest=built.image_digest,
                    extra={**steps.record.extra, "artifact": built.artifact},
                )
                pause_point("build")
            return built.artifact

        return _transaction(parts, steps, old, new, None, say=say, build=build)


def rollback(request: RollbackRequest, say: Say, confirm: Confirm = refuse) -> ReleaseRecord:
    """Go back to the previous (or named) release's artifact through the same switch."""
    target = request.target
    if _backend(target) == "swarm":
        from stagewise.release import swarm_flow

        return swarm_flow.rollback(request, say, confirm)
    parts = Release(target)
    parts.say = say
    current = parts.history.serving()
    if current is None:
        raise UsageError(f"{target.stage} has no release to roll back from (see `releases`)")
    wanted = request.release or current.previous
    back = parts.history.find(wanted) if wanted else None
    artifact = parts.slots.kept(back) if back is not None else None
    if back is None or artifact is None:
        raise UsageError(
            f"no release to roll back to ({wanted or 'the current release has no previous one'}): "
            "its artifact is not kept"
        )
    old = parts.serving_slot()
    new = "b" if old == "a" else "a"
    record = ReleaseRecord(
        id=time.strftime("%Y%m%dT%H%M%S") + "-rollback-" + back.version,
        stage=target.stage,
        kind="rollback",
        version=back.version,
        commit=back.commit,
        slot=new,
        port=parts.ports[new],
        who=who(),
        started_at=now(),
        previous=current.id,
        image=back.image,
        image_digest=back.image_digest,
        # "dirty" goes with the code: the gate of the next release reads it off the serving record.
        extra={"artifact": artifact, "to": back.id, **{k: v for k, v in back.extra.items() if k == "dirty"}},
    )
    parts.tests_of = back
    data = DataStep(target, say)
    plan = data.plan_back(current, back, parts.history.load())
    if plan.restore is not None:
        say(plan.describe())
        if target.config.protected:
            confirm_protected(target, f"restore the pre-release backup ({plan.describe()})", confirm)
    locked = replace(target, label=f"stagewise deploy {target.stage} rollback {record.id}")
    with guarded(locked, "rollback"):
        steps = Steps(parts.history, record, say)
        return _transaction(parts, steps, old, new, artifact, say=say, back=plan)


def _transaction(
    parts: Release,
    steps: Steps,
    old: str | None,
    new: str,
    artifact: str | None,
    *,
    say: Say,
    back: object | None = None,
    build: Callable[[], str] | None = None,
) -> ReleaseRecord:
    """The build (a release's) and everything after it, undone as a whole on any failure or Ctrl+C.

    A release's artifact exists only once ``build`` made it (an image id on compose), so
    the run's instance is made after it; a build that fails is undone with no artifact.
    """
    run: _Run | None = None
    with interrupt_once():
        try:
            if build is not None:
                artifact = build()
            run = _Run(parts, steps, old, new, artifact, say)
            run.forward(back)
        except BaseException as exc:
            (run or _Run(parts, steps, old, new, None, say)).undo(exc)
            raise
        try:
            if artifact is not None:  # always set here: a release built it, a rollback named it
                parts.slots.served(artifact)
        except StagewiseError as exc:  # the release serves; only what a later `up` starts is off
            say(f"warning: could not mark {artifact} as what `deploy {parts.target.stage} up` starts: {exc}")
    return steps.finish("released", f"serving slot {new} on 127.0.0.1:{parts.ports[new]}")


class _Run:
    """One transaction's state: what is done so far, so that :meth:`undo` undoes just that."""

    def __init__(  # noqa: PLR0917 (the transaction's parts, passed once)
        self, parts: Release, steps: Steps, old: str | None, new: str, artifact: str | None, say: Say
    ) -> None:
        self.parts, self.steps, self.old, self.new, self.say = parts, steps, old, new, say
        self.instance = parts.slot(new, artifact)
        self.data = DataStep(parts.target, say)
        self.switched = self.started = False

    def forward(self, back: object | None) -> None:
        parts, steps, old, new, say = self.parts, self.steps, self.old, self.new, self.say
        config, instance = parts.config, self.instance
        if instance.running():
            instance.down(volumes=False)  # a leftover of an earlier, killed release
        with steps.step("migrate"):
            try:
                if back is None:
                    steps.record = self.data.forward(
                        steps.record, lambda url: _old_version_check(parts, old, url)
                    )
                else:
                    steps.record = self.data.backward(steps.record, back)
            finally:
                if parts.old_tests is not None:  # kept whether the gate passed or refused
                    extra = {**steps.record.extra, "old_version_tests": parts.old_tests}
                    steps.record = replace(steps.record, extra=extra)
        with steps.step("start"):
            self.started = True
            instance.up(detach=True, build=False, sink=say)
            pause_point("start")
        with steps.step("switch"):
            if parts.door.state() is None:
                parts.door.start(old or new)
            if old != new:
                parts.door.switch(new, fallback=True)
            self.switched = True
            pause_point("switch")
        with steps.step("verify"):
            if config.verify_disabled:
                say("verification disabled (verify = false)")
            elif parts.tests_of is not None:
                with old_smoke_tests(parts.target.project.root, parts.tests_of) as tests:
                    say(f"verify: the version rolled back to is smoke-tested with {tests.source}")
                    steps.record = replace(
                        steps.record, extra={**steps.record.extra, "verify_tests": tests.source}
                    )
                    smoke_check(parts.target, config, parts.url(new), say, tests.root)
            else:
                smoke_check(parts.target, config, parts.url(new), say)
            if not instance.running():
                raise DeployError(f"the new version stopped after the switch:\n{instance.tail()}")
            pause_point("verify")
        with steps.step("drain"):
            if old:
                parts.door.drain(old, config.drain)
                pause_point("drain")
                parts.slot(old, None).down(volumes=False)

    def undo(self, exc: BaseException) -> None:
        """Switch back, stop the new one, put the data back, record it; raise the typed error."""
        parts, steps, old = self.parts, self.steps, self.old
        interrupted = isinstance(exc, KeyboardInterrupt | InterruptedRun)
        failed_at = steps.current
        back = "; switching back" if self.switched else ""
        self.say(f"release {steps.record.id} failed at {failed_at}: {exc}{back}")
        if self.switched and old is not None:
            parts.door.switch(old)
        if self.started or self.instance.running():
            self.instance.down(volumes=False)
        steps.record = self.data.undo(steps.record)
        if self.data.restored and old is not None:
            old = _fresh_sessions(parts, old, self.new, self.say)
        steps.finish("interrupted" if interrupted else "failed", f"{failed_at}: {exc}".strip())
        serving = f"slot {old} still serves" if old else "nothing serves (there was no old version)"
        if interrupted:
            raise InterruptedRun(f"interrupted at {failed_at}: {serving}, the data is as it was") from None
        if isinstance(exc, StagewiseError):
            raise ReleaseRefused(
                f"release {steps.record.id} rolled back at {failed_at}: {exc} ({serving}; data as it was)"
            ) from exc


def _fresh_sessions(parts: Release, old: str, spare: str, say: Say) -> str:
    """After a restore swapped the database under the version that keeps serving: restart it.

    The swap ended every session of the serving version (they were on the database swapped
    out); an app whose pool does not reconnect would answer errors from then on. So the same
    artifact starts again on the spare slot, the front door switches to it, and the stale
    instance drains and stops: no request is dropped. Returns the slot that serves after.
    """
    serving = parts.history.serving()
    artifact = serving.extra.get("artifact") if serving else None
    if artifact is None:
        say(
            f"warning: the restore ended the database sessions of slot {old}, which was started by "
            "`up` (its code is not kept, so it is not restarted): it must reconnect by itself"
        )
        return old
    say(
        f"the restore ended slot {old}'s database sessions: restarting {serving.version if serving else ''} on slot {spare}"
    )
    fresh = parts.slot(spare, artifact)
    try:
        fresh.up(detach=True, build=False, sink=say)
        parts.door.switch(spare)
    except StagewiseError as exc:
        fresh.down(volumes=False)
        say(
            f"warning: could not restart the serving version on slot {spare} ({exc}); slot {old} still serves"
        )
        return old
    parts.door.drain(old, parts.config.drain)
    parts.slot(old, None).down(volumes=False)
    return spare


def _old_version_check(parts: Release, old: str | None, url: str) -> None:
    """The gate's hook: the old release's artifact against the rehearsed schema, smoke-tested
    with that release's own tests (its commit's; the current tree's when that cannot be had)."""
    serving = parts.history.serving()
    artifact = serving.extra.get("artifact") if serving else None
    spare = "b" if old == "a" else "a"
    instance = parts.slots.gate_instance(spare, artifact, url)
    with old_smoke_tests(parts.target.project.root, serving) as tests:
        parts.old_tests = tests.source
        parts.say(f"rehearsal: the version serving now is smoke-tested with {tests.source}")
        try:
            instance.up(detach=True, build=False, sink=parts.say)
            smoke_check(parts.target, parts.config, parts.url(spare), parts.say, tests.root)
        except StagewiseError as exc:  # the gate says it breaks on the new schema; say which tests ran
            raise ReleaseRefused(f"{exc} with {tests.source}") from exc
        finally:
            instance.down(volumes=False)


__all__ = ["Release", "ReleaseRequest", "RollbackRequest", "Steps", "release", "rollback"]
