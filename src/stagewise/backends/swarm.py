"""The swarm backend: a stage's compose file as one ``docker stack`` on Docker Swarm.

The stack is named like the compose project (``<project>-<stage>``). ``up``
renders the file (:mod:`.swarm_compose`: keys Swarm ignores are said once),
builds its images with compose on this node, deploys with
``--resolve-image never`` (the local engine's images: no registry on one
node) and waits until every service has all its replicas running (Swarm
counts a task with a health check as running only once it is healthy). A
stack that does not converge is an error naming each waiting service and its
tasks' last errors, and is removed again unless ``keep`` is set.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.backends.compose import ComposeBackend
from stagewise.backends.compose_engine import run_bounded
from stagewise.backends.swarm_compose import for_swarm, load, write
from stagewise.backends.swarm_engine import (
    remove_stack,
    replicas,
    require_swarm,
    service_tasks,
    stack_services,
    stack_volumes,
    task_containers,
)
from stagewise.backends.swarm_release import (
    put_back,
    remember,
    rollback_stack,
    rolling_update,
    update_to,
    with_update_defaults,
)
from stagewise.errors import DeployError, MissingError, UsageError
from stagewise.project.model import Project, StageConfig
from stagewise.tiers.process import run_streaming

CONVERGE_TIMEOUT = 180.0
#: Converged counts once every service has had all its replicas running this long without a break,
#: so a task that starts and exits at once is not taken for a running one.
SETTLE_SECONDS = 6.0
#: The environment variable that shortens (or lengthens) the wait for convergence, in seconds.
TIMEOUT_ENV = "STAGEWISE_SWARM_TIMEOUT"


class SwarmBackend:
    """One environment as one Swarm stack; builds go through compose on this node."""

    name = "swarm"

    def __init__(self, compose: ComposeBackend, *, keep: bool = False) -> None:
        self.compose = compose
        self.environment: Environment = compose.environment
        self.stack = compose.project
        #: Leave a stack that did not converge in place (``--keep``), to look at it.
        self.keep = keep
        self.notes: list[str] = []
        self._doc: dict[str, Any] | None = None
        self._checked = False

    @classmethod
    def for_stage(cls, project: Project, stage: StageConfig, environment: Environment) -> SwarmBackend:
        """The stage's compose file (found as the compose backend finds it) as a stack."""
        return cls(ComposeBackend.for_stage(project, stage, environment))

    @property
    def timeout(self) -> float:
        raw = self.environment.env.get(TIMEOUT_ENV, "")
        try:
            return float(raw) if raw else CONVERGE_TIMEOUT
        except ValueError as exc:
            raise UsageError(f"{TIMEOUT_ENV} must be a number of seconds, not {raw!r}") from exc

    def _require(self) -> None:
        if not self._checked:
            self.compose._compose()  # the file exists and the daemon answers
            require_swarm()
            self._checked = True

    def document(self) -> dict[str, Any]:
        """The stage's compose file as compose renders it (variables filled in); read once."""
        if self._doc is None:
            self._require()
            self._doc = load(list(self.compose.binary.argv), self.compose.file, self.environment.env)
        return self._doc

    def services(self) -> Sequence[str]:
        return list(self.document()["services"])

    def _check_name(self, service: str | None) -> None:
        if service is not None and service not in self.services():
            raise UsageError(
                f"unknown service {service!r} in {self.compose.file.name}: "
                f"services are {', '.join(self.services())}"
            )

    def _full(self, service: str) -> str:
        return f"{self.stack}_{service}"

    def build(self, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        self.compose.build(service, sink)

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        """Deploy the stack and wait until it converges (always detached: the engine keeps it running)."""
        doc = self.document()
        rendered, notes = for_swarm(doc, self.stack)
        self.notes = notes
        for note in notes:
            sink(f"swarm: {note}")
        if build and any("build" in s for s in doc["services"].values()):
            self.compose.build(None, sink)
        existed = bool(stack_services(self.stack))
        volumes_before = stack_volumes(self.stack)
        with tempfile.TemporaryDirectory(prefix="stagewise-swarm-") as tmp:
            path = write(with_update_defaults(rendered), Path(tmp) / "stack.yml")
            code = self.deploy_spec(path, sink)
            if code == 0:
                remember(self, path)
        if code != 0:
            raise self._cleanup(
                DeployError(f"`docker stack deploy {self.stack}` failed (exit {code})"), existed
            )
        try:
            return self.converge(sink)
        except DeployError as exc:
            raise self._cleanup(exc, existed, volumes_before) from exc

    def deploy_spec(self, path: Path, sink: LineSink) -> int:
        """``docker stack deploy`` of one rendered spec (the local engine's images, no registry)."""
        argv = [
            "docker",
            "stack",
            "deploy",
            "--prune",
            "--resolve-image",
            "never",
            "-c",
            str(path),
            self.stack,
        ]
        return run_streaming(
            argv, self.compose.file.parent, self.environment.env, sink, what="docker stack deploy"
        )

    def _cleanup(
        self, error: DeployError, existed: bool, volumes_before: set[str] | None = None
    ) -> DeployError:
        """Remove a stack this ``up`` created (not one that was there), unless ``keep``."""
        if self.keep:
            return DeployError(f"{error}\nthe stack {self.stack} is left as it is (--keep)")
        if existed:
            return error
        remove_stack(self.stack, volumes=False)
        new = sorted(stack_volumes(self.stack) - (volumes_before or set()))
        if new:
            run_bounded(["docker", "volume", "rm", *new], 120)
        return DeployError(
            f"{error}\nremoved the stack {self.stack} this up created (use --keep to leave it)"
        )

    def converge(self, sink: LineSink) -> list[ServiceStatus]:
        deadline = time.monotonic() + self.timeout
        expected = set(self.services())
        since: float | None = None
        while True:
            rows = {
                str(r.get("Name", "")).removeprefix(f"{self.stack}_"): r for r in stack_services(self.stack)
            }
            waiting = sorted(
                name
                for name in expected
                if name not in rows or not _converged(str(rows[name].get("Replicas", "")))
            )
            if waiting:
                since = None
            elif since is None:
                since = time.monotonic()
            if since is not None and time.monotonic() - since >= SETTLE_SECONDS:
                for name in sorted(expected):
                    sink(f"{name} | {rows[name].get('Replicas')} replicas running")
                return self.status()
            if time.monotonic() > deadline:
                raise DeployError(self._not_converged(waiting, rows))
            time.sleep(1)

    def _not_converged(self, waiting: list[str], rows: Mapping[str, Mapping[str, Any]]) -> str:
        parts = []
        for name in waiting:
            have = rows.get(name, {}).get("Replicas", "0/?")
            errors = [
                f"{t.name.removeprefix(self.stack + '_')} {t.current}: {t.error}"
                for t in service_tasks(self._full(name))
                if t.error
            ][:3]
            said = "; ".join(errors) or "no task error reported (still starting or unhealthy)"
            parts.append(f"service {name} did not converge ({have} replicas running): {said}")
        return f"stack {self.stack} not converged after {self.timeout:g}s:\n" + "\n".join(parts)

    def rolling_update(self, image_tags: Mapping[str, str], sink: LineSink) -> list[ServiceStatus]:
        """The engine's rolling update to these images (see :func:`.swarm_release.rolling_update`)."""
        return rolling_update(self, image_tags, sink)

    def update_to(
        self, doc: Mapping[str, Any], watched: Sequence[str], sink: LineSink
    ) -> list[ServiceStatus]:
        """A whole stack spec as the engine's rolling update (see :func:`.swarm_release.update_to`)."""
        return update_to(self, doc, watched, sink)

    def put_back(self, doc: Mapping[str, Any], sink: LineSink) -> list[ServiceStatus]:
        """Every service back to ``doc`` in one deploy (see :func:`.swarm_release.put_back`)."""
        return put_back(self, doc, sink)

    def rollback_stack(self, sink: LineSink) -> list[ServiceStatus]:
        """Every service back to the previous spec together (see :func:`.swarm_release.rollback_stack`)."""
        return rollback_stack(self, sink)

    def down(self, volumes: bool) -> list[str]:
        self._require()
        before = [str(r.get("Name", "")).removeprefix(f"{self.stack}_") for r in stack_services(self.stack)]
        remove_stack(self.stack, volumes)
        return sorted(before)

    def status(self) -> list[ServiceStatus]:
        """One row per service (replicas n/m, mode, ports) and one per current task (node, desired/actual)."""
        self._require()
        found: list[ServiceStatus] = []
        for row in stack_services(self.stack):
            name = str(row.get("Name", "")).removeprefix(f"{self.stack}_")
            text = str(row.get("Replicas", ""))
            ok = _converged(text)
            found.append(
                ServiceStatus(
                    name=name,
                    state="running" if ok else "converging",
                    health="healthy" if ok else "starting",
                    detail=f"replicas {text.split(' ', maxsplit=1)[0]}, {row.get('Mode', '')} {row.get('Ports', '')}".strip(),
                )
            )
            for task in service_tasks(str(row.get("Name", ""))):
                if task.desired.lower() != "running" and not task.error:
                    continue
                found.append(
                    ServiceStatus(
                        name=task.name.removeprefix(f"{self.stack}_"),
                        state=task.current.split(" ", 1)[0].lower() or "unknown",
                        health="healthy" if task.running else "none",
                        detail=f"task on node {task.node}, desired {task.desired}, now {task.current}"
                        + (f", error: {task.error}" if task.error else ""),
                    )
                )
        return found

    def stop_services(self, names: Sequence[str]) -> list[str]:
        """Scale these services to 0 (remembering nothing: start_services scales back to the file's replicas)."""
        running = [s.name for s in self.status() if s.name in names and s.state == "running"]
        for name in running:
            run_bounded(["docker", "service", "scale", "--detach", f"{self._full(name)}=0"], 120)
        return running

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        for name in names:
            wanted = dict(self.document()["services"][name]).get("deploy", {}) or {}
            count = int(wanted.get("replicas", 1))
            run_bounded(["docker", "service", "scale", "--detach", f"{self._full(name)}={count}"], 120)
        self.converge(sink)

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        names = [service] if service else list(self.services())
        for name in names:
            argv = ["docker", "service", "logs", "--no-trunc", *(["-f"] if follow else []), self._full(name)]
            run_streaming(
                argv, self.compose.file.parent, self.environment.env, sink, what="docker service logs"
            )

    def container(self, service: str) -> str:
        """A running container of ``service``'s tasks on this node (data commands run in it)."""
        self._require()
        ids = task_containers(self._full(service))
        if not ids:
            stage = self.environment.stage
            raise MissingError(
                f"no running task of {service} in stack {self.stack} on this node: "
                f"`stagewise deploy {stage} up` first"
            )
        return ids[0]

    def exec(self, service: str, argv: Sequence[str], sink: LineSink) -> int:
        self._check_name(service)
        command = ["docker", "exec", self.container(service), *argv]
        return run_streaming(
            command, self.compose.file.parent, self.environment.env, sink, what="docker exec"
        )

    def health(self, service: str) -> bool:
        self._check_name(service)
        return any(s.name == service and s.health == "healthy" for s in self.status())

    def can_start(self) -> bool:
        return self.compose.can_start()


def _converged(text: str) -> bool:
    running, wanted = replicas(text)
    return wanted > 0 and running == wanted
