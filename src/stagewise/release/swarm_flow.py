"""``deploy ENV release | rollback`` on the swarm backend: the engine's rolling update in one transaction.

The same transaction as on local and compose (:mod:`.orchestrate`), with the
engine doing the part stagewise does there with slots and a front door:

1. **build** the released service's image with compose on this node and tag
   it ``REPO:STAGE-VERSION`` (the history keeps the tag and the image id);
2. **migrate**: a verified backup, the migration gate (the serving image's
   smoke run against the rehearsed schema, as stack ``<stack>-gate``:
   :mod:`.swarm_gate`), the guarded migrate;
3. **update**: the stage's compose file as it is now, rendered for Swarm,
   with the release's image, handed to ``docker stack deploy`` — each service
   rolled by its ``update_config`` (parallelism 1, ``order: start-first``,
   ``failure_action: rollback``, a monitor window) — then wait for every
   update and for convergence;
4. **verify**: the stage's smoke tier against the port users reach
   (``release.STAGE.port``: one the stack publishes), and every service still
   converged after it.

Any failure, timeout or Ctrl+C after the update started puts the whole stack
back in one deploy of the spec that ran before (every service together, not
``docker service rollback`` one by one), then puts the schema back (the proven
down-migration, else the pre-release backup), and records ``failed`` or
``interrupted`` with the step. The env lock is held throughout, naming the release.

Each release keeps the spec it deployed (``.stagewise/STAGE/swarm/releases/ID.yml``);
``rollback [RELEASE]`` deploys that release's spec through the same steps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stagewise.backends.base import Environment
from stagewise.backends.swarm import SwarmBackend
from stagewise.backends.swarm_compose import for_swarm, read, write
from stagewise.backends.swarm_engine import replicas, service_tasks, stack_services, task_containers
from stagewise.backends.swarm_release import current_spec, spec_dir, with_update_defaults
from stagewise.errors import DeployError, InterruptedRun, ReleaseRefused, StagewiseError, UsageError
from stagewise.interrupts import interrupt_once
from stagewise.operations.policy import Confirm, Target, confirm_protected, guarded, refuse
from stagewise.release.compose_slots import docker, image_id, release_tag
from stagewise.release.history import History, ReleaseRecord, now, who
from stagewise.release.instances import Built
from stagewise.release.slots import git_commit
from stagewise.release.steps import DataStep, pause_point, smoke_check
from stagewise.release.swarm_gate import GateStack, container_port, gate_doc
from stagewise.release.transaction import ReleaseRequest, RollbackRequest, Steps

Say = Callable[[str], None]


def published_ports(doc: Mapping[str, Any]) -> dict[int, str]:
    """Every port the rendered stack publishes -> the service publishing it."""
    found: dict[int, str] = {}
    for name, spec in dict(doc.get("services") or {}).items():
        for entry in (spec or {}).get("ports") or []:
            if isinstance(entry, dict) and entry.get("published"):
                found[int(entry["published"])] = str(name)
            elif isinstance(entry, str | int):
                parts = str(entry).split("/", 1)[0].split(":")
                if len(parts) >= 2 and parts[-2].isdigit():
                    found[int(parts[-2])] = str(name)
    return found


class SwarmRelease:
    """One swarm stage's release parts: its stack, released service, image name, port, history."""

    def __init__(self, target: Target) -> None:
        project, stage = target.project, target.config
        config = project.releases.get(stage.name)
        if config is None:
            raise UsageError(
                f"stage {stage.name} has no release settings: add [release.{stage.name}] with "
                f"port = the port its stack publishes, to {project.describe_file()}"
            )
        self.target, self.config = target, config
        self.environment = Environment(
            stage=stage.name,
            project_name=project.name,
            root=project.root,
            env=target.env,
            protected=stage.protected,
            base_url=stage.base_url,
        )
        self.backend = SwarmBackend.for_stage(project, stage, self.environment)
        self.stack = self.backend.stack
        doc = self.backend.document()  # needs the swarm (exit 4 saying how) and a valid file
        services = dict(doc["services"])
        built = [name for name, spec in services.items() if isinstance(spec, dict) and "build" in spec]
        name = config.service or (built[0] if len(built) == 1 else None)
        if name is None or name not in services:
            raise UsageError(
                f"release.{stage.name}.service must name the service to release, one of: "
                f"{', '.join(services) or 'no services'}"
            )
        self.service = name
        self.image_name = str(for_swarm(doc, self.stack)[0]["services"][name]["image"])
        ports = published_ports(doc)
        if config.port not in ports:
            listed = ", ".join(f"{p} ({s})" for p, s in sorted(ports.items())) or "none"
            raise UsageError(
                f"release.{stage.name}.port = {config.port} is not a port stack {self.stack} publishes "
                f"(it publishes: {listed}): on swarm it is the port users reach the stack on"
            )
        self.port = config.port
        self.spare_port = config.spare_port or config.port + 1
        self.state_dir = project.root / ".stagewise" / stage.name
        self.history = History(self.state_dir)
        self.say: Say = lambda _line: None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- the artifact ----------------------------------------------------------------------

    def build(self, version: str, say: Say) -> Built:
        """Build the service's image; tag it for this release; the file's image name stays on the old one.

        Compose tags the build with the file's image name; that name goes back to what it
        named before (the serving image) until the release has gone through.
        """
        before = image_id(self.image_name)
        self.backend.build(self.service, say)
        built = image_id(self.image_name)
        if built is None:
            raise DeployError(
                f"the build of {self.service} left no image named {self.image_name}: name it with image:"
            )
        if before is not None and before != built:
            docker("tag", before, self.image_name)
        tag = release_tag(self.image_name, self.target.stage, version)
        docker("tag", built, tag)
        say(f"built {tag} ({built})")
        return Built(tag, image=tag, image_digest=built)

    def release_spec(self, image: str) -> dict[str, Any]:
        """The stage's compose file as it is now, rendered for Swarm, the released service on ``image``."""
        rendered, _ = for_swarm(self.backend.document(), self.stack)  # its notes were said at `up`
        rendered["services"][self.service]["image"] = image
        return with_update_defaults(rendered)

    def keep_spec(self, release_id: str, doc: Mapping[str, Any]) -> Path:
        """Keep the spec a release deploys, for a later ``rollback`` to it (mode 0600: it holds secrets)."""
        path = spec_dir(self.backend) / "releases" / f"{release_id}.yml"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        return write(dict(doc), path)

    def kept(self, record: ReleaseRecord) -> Path | None:
        """The spec a release deployed, when it and its image are still there."""
        spec = record.extra.get("spec")
        image = record.extra.get("artifact") or record.image
        if not spec or not Path(spec).is_file() or not image or image_id(image) is None:
            return None
        return Path(spec)

    def served(self, image: str) -> None:
        """Put the compose file's image name on the serving release's image (what a later ``up`` deploys)."""
        docker("tag", image, self.image_name)

    # -- what runs -------------------------------------------------------------------------

    def running_image(self) -> str | None:
        """The image id the released service's tasks run now (on this node), if any runs."""
        for container in task_containers(f"{self.stack}_{self.service}"):
            done = docker("inspect", "--format", "{{.Image}}", container)
            if done:
                return done
        return None

    def check_converged(self) -> None:
        """Every service of the stack still has all its replicas running, else a DeployError naming it."""
        rows = {
            str(r.get("Name", "")).removeprefix(f"{self.stack}_"): str(r.get("Replicas", ""))
            for r in stack_services(self.stack)
        }
        short = []
        for name, text in sorted(rows.items()):
            running, wanted = replicas(text)
            if wanted == 0 or running < wanted:
                errors = [t.error for t in service_tasks(f"{self.stack}_{name}") if t.error][:2]
                short.append(
                    f"{name} {text.split(' ', 1)[0]}" + (f" ({'; '.join(errors)})" if errors else "")
                )
        if short:
            raise DeployError(f"after the update, not every replica runs: {', '.join(short)}")

    def gate(self) -> GateStack:
        return GateStack(
            self.stack,
            self.state_dir,
            self.target.project.health_path or "/",
            self.config.health_timeout,
        )

    def old_version_check(self, scratch_url: str) -> None:
        """The gate's hook: the serving image as ``<stack>-gate`` against the rehearsed schema, smoke-tested."""
        serving = self.history.serving()
        image = (serving.extra.get("artifact") if serving else None) or self.running_image()
        if image is None:
            raise ReleaseRefused(f"the old version cannot be checked: no task of {self.service} runs")
        # The spec that serves now (what a failed release puts back, its environment included),
        # not the file as it is now: an old spec that migrates at start-up breaks on a newer schema.
        doc = current_spec(self.backend) or for_swarm(self.backend.document(), self.stack)[0]
        spec = dict(doc["services"][self.service])
        gate = self.gate()
        spec_doc = gate_doc(
            doc,
            self.stack,
            self.service,
            image,
            url_env=self.target.project.data.url_env,
            scratch_url=scratch_url,
            port=self.spare_port,
            target_port=container_port(spec, image, self.service),
        )
        try:
            gate.up(spec_doc, self.spare_port, self.say)
            smoke_check(self.target, self.config, f"http://127.0.0.1:{self.spare_port}", self.say)
        except StagewiseError as exc:
            raise ReleaseRefused(f"the old version cannot run on the new schema: {exc}") from exc
        finally:
            gate.down()


def _confirmed(target: Target, what: str, confirm: Confirm) -> None:
    if target.config.protected:
        confirm_protected(target, what, confirm)


def release(request: ReleaseRequest, say: Say, confirm: Confirm = refuse) -> ReleaseRecord:
    """Release the code as it is now on the stage's stack; the record (outcome ``released``) or raises."""
    target = request.target
    parts = SwarmRelease(target)
    parts.say = say
    config = parts.config
    if config.verify is None:
        raise ReleaseRefused(
            f"stage {target.stage} has no verification configured: set release.{target.stage}.verify "
            "to the tiers to run against the new version (or verify = false); nothing was done"
        )
    if current_spec(parts.backend) is None or not stack_services(parts.stack):
        raise UsageError(f"stack {parts.stack} is not deployed: `stagewise deploy {target.stage} up` first")
    commit, dirty = git_commit(target.project.root)
    version = request.version or ((commit or "unversioned")[:12] + ("-dirty" if dirty else ""))
    release_id = time.strftime("%Y%m%dT%H%M%S") + "-" + version
    previous = parts.history.serving()
    record = ReleaseRecord(
        id=release_id,
        stage=target.stage,
        kind="release",
        version=version,
        commit=commit,
        port=parts.port,
        who=who(),
        started_at=now(),
        previous=previous.id if previous else None,
    )
    _confirmed(target, f"release {version} (migrate, roll the stack)", confirm)
    locked = replace(target, label=f"stagewise deploy {target.stage} release {release_id}")
    with guarded(locked, "release"):
        steps = Steps(parts.history, record, say)
        run = _Run(parts, steps, say)
        with interrupt_once():
            try:
                with steps.step("build"):
                    built = parts.build(version, say)
                    doc = parts.release_spec(built.artifact)
                    spec = parts.keep_spec(release_id, doc)
                    steps.record = replace(
                        steps.record,
                        image=built.image,
                        image_digest=built.image_digest,
                        extra={"artifact": built.artifact, "spec": str(spec)},
                    )
                    pause_point("build")
                run.forward(doc, None)
            except BaseException as exc:
                run.undo(exc)
                raise
        return run.finish(built.artifact)


def rollback(request: RollbackRequest, say: Say, confirm: Confirm = refuse) -> ReleaseRecord:
    """Back to the previous (or named) release's spec and image, through the same rolling update."""
    target = request.target
    parts = SwarmRelease(target)
    parts.say = say
    current = parts.history.serving()
    if current is None:
        raise UsageError(f"{target.stage} has no release to roll back from (see `releases`)")
    wanted = request.release or current.previous
    back = parts.history.find(wanted) if wanted else None
    spec = parts.kept(back) if back is not None else None
    if back is None or spec is None:
        raise UsageError(
            f"no release to roll back to ({wanted or 'the current release has no previous one'}): "
            "its stack spec or image is not kept"
        )
    if current_spec(parts.backend) is None or not stack_services(parts.stack):
        raise UsageError(f"stack {parts.stack} is not deployed: `stagewise deploy {target.stage} up` first")
    artifact = back.extra.get("artifact") or back.image or ""
    record = ReleaseRecord(
        id=time.strftime("%Y%m%dT%H%M%S") + "-rollback-" + back.version,
        stage=target.stage,
        kind="rollback",
        version=back.version,
        commit=back.commit,
        port=parts.port,
        who=who(),
        started_at=now(),
        previous=current.id,
        image=back.image,
        image_digest=back.image_digest,
        extra={"artifact": artifact, "spec": str(spec), "to": back.id},
    )
    data = DataStep(target, say)
    plan = data.plan_back(current, back)
    if plan.restore is not None:
        say(plan.describe())
        _confirmed(target, f"restore the pre-release backup ({plan.describe()})", confirm)
    locked = replace(target, label=f"stagewise deploy {target.stage} rollback {record.id}")
    with guarded(locked, "rollback"):
        steps = Steps(parts.history, record, say)
        run = _Run(parts, steps, say, data)
        with interrupt_once():
            try:
                run.forward(read(spec), plan)
            except BaseException as exc:
                run.undo(exc)
                raise
        return run.finish(artifact)


@dataclass
class _Run:
    """One swarm transaction's state: what is done so far, so that :meth:`undo` undoes just that."""

    parts: SwarmRelease
    steps: Steps
    say: Say
    data: DataStep | None = None
    before: dict[str, Any] | None = None  # the spec that ran before the update: what undo puts back

    def forward(self, doc: Mapping[str, Any], back: object | None) -> None:
        parts, steps, say = self.parts, self.steps, self.say
        data = self.data = self.data or DataStep(parts.target, say)
        with steps.step("migrate"):
            if back is None:
                steps.record = data.forward(steps.record, parts.old_version_check)
            else:
                steps.record = data.backward(steps.record, back)
            pause_point("migrate")
        with steps.step("update"):
            self.before = current_spec(parts.backend)  # set first: a Ctrl+C mid-deploy still puts it back
            parts.backend.update_to(doc, list(dict(doc["services"])), say)
            pause_point("update")
        with steps.step("verify"):
            if parts.config.verify_disabled:
                say("verification disabled (verify = false)")
            else:
                smoke_check(parts.target, parts.config, parts.url, say)
            parts.check_converged()
            pause_point("verify")

    def finish(self, image: str) -> ReleaseRecord:
        parts = self.parts
        try:
            parts.served(image)
        except StagewiseError as exc:  # the release serves; only what a later `up` deploys is off
            self.say(
                f"warning: could not name {image} as what `deploy {parts.target.stage} up` deploys: {exc}"
            )
        return self.steps.finish("released", f"stack {parts.stack} runs {image}, users reach {parts.url}")

    def undo(self, exc: BaseException) -> None:
        """Put the whole stack back, then the data; record what was undone; raise the typed error."""
        parts, steps = self.parts, self.steps
        interrupted = isinstance(exc, KeyboardInterrupt | InterruptedRun)
        failed_at = steps.current
        self.say(f"release {steps.record.id} failed at {failed_at}: {exc}; rolling back")
        stack_back, why = True, ""
        if self.before is not None:
            self.say(
                f"putting every service of stack {parts.stack} back together (one deploy of the spec before)"
            )
            try:
                parts.backend.put_back(self.before, self.say)
            except StagewiseError as err:
                stack_back, why = False, str(err)
        if stack_back and self.data is not None:
            steps.record = self.data.undo(steps.record)
        data_undone = "data put back" if self.data is not None and self.data.changed else "data not changed"
        if self.before is None:
            serving, undone = "the stack was not touched", data_undone
        elif stack_back:
            serving, undone = "every service runs what it ran before", f"stack put back, {data_undone}"
        else:
            serving = f"the stack could not be put back ({why}), so the schema is left as migrated"
            undone = f"nothing: the stack could not be put back ({why})"
        steps.record = replace(steps.record, extra={**steps.record.extra, "undone": undone})
        steps.finish("interrupted" if interrupted else "failed", f"{failed_at}: {exc}".strip())
        data = "the data is as it was" if stack_back else "the schema is left as migrated"
        if interrupted:
            raise InterruptedRun(f"interrupted at {failed_at}: {serving}; {data}") from None
        if isinstance(exc, StagewiseError):
            raise ReleaseRefused(
                f"release {steps.record.id} rolled back at {failed_at}: {exc} ({serving}; {data})"
            ) from exc


def stop_parts(target: Target) -> list[str]:
    """What ``down`` removes besides the stack: a gate stack a killed release left."""
    state_dir = target.project.root / ".stagewise" / target.stage
    from stagewise.backends.compose import ComposeBackend

    environment = Environment(
        stage=target.stage,
        project_name=target.project.name,
        root=target.project.root,
        env=target.env,
        protected=target.config.protected,
        base_url=target.config.base_url,
    )
    stack = ComposeBackend.for_stage(target.project, target.config, environment).project
    return ["gate stack"] if GateStack(stack, state_dir, "/", 0).down() else []


__all__ = ["SwarmRelease", "published_ports", "release", "rollback", "stop_parts"]
