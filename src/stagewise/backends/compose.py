"""The compose backend: drives ``docker compose`` (v2) or ``docker-compose`` (v1).

One compose project per environment (``<project>-<stage>``), the stage's
compose file, and status read from the engine itself (container labels and
health), not from compose's text output, which differs between versions.
A failed ``up`` removes what it created (:mod:`.compose_engine`); compose's
errors name the program and version that ran and the line that names the
cause (:mod:`.compose_cli`).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.backends.compose_cli import ComposeBinary, compose_cause, describe, detect, pull_failure
from stagewise.backends.compose_engine import health_log, inspect_project, run_bounded, snapshot, undo
from stagewise.cause import cause_line
from stagewise.errors import ConfigError, DeployError, InterruptedRun, MissingError, UsageError
from stagewise.project.env import is_secret_name, mask_text
from stagewise.project.interpreter import project_python
from stagewise.project.model import Project, StageConfig
from stagewise.project.services import candidates
from stagewise.tiers.process import run_streaming

HEALTH_TIMEOUT = 180.0
#: A container without a health check counts as up once it has kept running this long,
#: so that one which starts and exits at once is caught instead of reported healthy.
SETTLE_SECONDS = 3.0
_PROJECT = re.compile(r"[^a-z0-9_-]")


def compose_command() -> list[str]:
    """``docker compose`` when the v2 plugin answers, else ``docker-compose`` (see :func:`detect`)."""
    return list(detect().argv)


def require_daemon() -> None:
    """Raise :class:`MissingError` unless a Docker engine answers."""
    docker = shutil.which("docker")
    if docker is None:
        raise MissingError("the docker client is not installed: apt-get install docker.io")
    try:
        done = subprocess.run(
            [docker, "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise MissingError("the Docker daemon did not answer within 30 s") from exc
    if done.returncode != 0 or not done.stdout.strip():
        reason = cause_line(done.stderr, "no answer")
        how = "start it (`dockerd &` or `systemctl start docker`)"
        raise MissingError(f"the Docker daemon is not reachable ({reason}): {how}")


def project_name(prefix: str, stage: str) -> str:
    """A compose project name that is valid for both compose versions."""
    return _PROJECT.sub("-", f"{prefix}-{stage}".lower()).strip("-")


class ComposeBackend:
    """One environment as one compose project."""

    name = "compose"

    def __init__(
        self,
        environment: Environment,
        compose_file: str,
        prefix: str | None = None,
        prebuild: Sequence[Sequence[str]] = (),
        *,
        looked_for: Sequence[str] = (),
        python: str = sys.executable,
    ) -> None:
        self.environment = environment
        self.prebuild = [list(step) for step in prebuild]
        self.file = (environment.root / compose_file).resolve()
        self.looked_for = tuple(looked_for)
        #: ``{python}`` in prebuild steps: the project's interpreter (they build the project's wheels).
        self.python = python
        self.project = project_name(prefix or environment.project_name, environment.stage)
        self.secrets = sorted(
            {v for k, v in environment.env.items() if is_secret_name(k) and len(v) >= 4},
            key=len,
            reverse=True,
        )
        self._binary: ComposeBinary | None = None
        self._daemon_checked = False
        self._services: list[str] | None = None
        self._inspected: dict[str, dict[str, Any]] = {}
        #: How long ``up -d`` waits for health (a release sets its stage's ``health_timeout``).
        self.health_timeout = HEALTH_TIMEOUT

    @classmethod
    def for_stage(cls, project: Project, stage: StageConfig, environment: Environment) -> ComposeBackend:
        """The registry's factory: the stage's compose file and the project's prefix and prebuild.

        The file is ``stages.<stage>.compose_file`` or ``compose.files.<stage>``
        when set, else the one candidate present (:func:`candidates`); two
        present is a project-file error asking which, not a silent pick.
        """
        found = (
            (stage.compose_file,) if stage.compose_file else project.compose.lookup(stage.name, project.root)
        )
        if len(found) > 1:
            raise ConfigError(
                project.describe_file(),
                f"compose.files.{stage.name}",
                f"not set, and {len(found)} files could be {stage.name}'s compose file "
                f"({', '.join(found)}): set it to the one to use",
            )
        return cls(
            environment,
            found[0] if found else project.compose.file_for(stage.name),
            project.compose.project_prefix or project.name,
            project.compose.prebuild,
            looked_for=() if found else tuple(n for group in candidates(stage.name) for n in group),
            python=project_python(project),
        )

    @property
    def binary(self) -> ComposeBinary:
        """The compose program that runs (detected once; needs no daemon)."""
        if self._binary is None:
            self._binary = detect()
        return self._binary

    def _compose(self) -> list[str]:
        if not self.file.is_file():
            stage = self.environment.stage
            if self.looked_for:
                base = [n for n in candidates("dev")[-1] if (self.environment.root / n).is_file()]
                only_dev = (
                    f" ({base[0]} is dev's only: set compose.files.{stage} = {base[0]!r} to use it here)"
                    if base and stage != "dev"
                    else ""
                )
                raise MissingError(
                    f"the compose file for stage {stage} does not exist: looked for "
                    f"{', '.join(self.looked_for)} in {self.environment.root}{only_dev}; create one or set "
                    f"compose.files.{stage} in stagewise.toml"
                )
            raise MissingError(
                f"compose file {self.file} for stage {stage} does not exist: "
                f"create it or set compose.files.{stage} in stagewise.toml"
            )
        if not self._daemon_checked:
            require_daemon()
            self._daemon_checked = True
        return [*self.binary.argv, "-f", str(self.file), "-p", self.project]

    def _run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return run_bounded(
            [*self._compose(), *args], timeout, cwd=self.file.parent, env=dict(self.environment.env)
        )

    def _stream(self, sink: LineSink, *args: str) -> tuple[int, str]:
        """Run compose with its output going to ``sink``; returns the exit code and the output's tail."""
        keep, tail = _tee(sink)
        code = run_streaming(
            [*self._compose(), *args], self.file.parent, self.environment.env, keep, what="docker compose"
        )
        return code, "\n".join(tail)

    def _failure(self, what: str, code: int, output: str) -> DeployError:
        """One error naming the compose that ran, the command, and the line that says why."""
        pulled = pull_failure(output)
        cause = pulled or f"failed (exit {code}): {compose_cause(output)}"
        return DeployError(self._mask(f"{describe(self.binary)}: `{what}` {cause}"))

    def _mask(self, text: str) -> str:
        return mask_text(text, self.secrets)

    def services(self) -> Sequence[str]:
        if self._services is None:
            done = self._run("config", "--services", timeout=60)
            if done.returncode != 0:
                error = self._failure("config", done.returncode, done.stderr)
                raise DeployError(f"{self.file.name} is not a valid compose file: {error}")
            self._services = done.stdout.split()
        return self._services

    def _check_name(self, service: str | None) -> None:
        if service is not None and service not in self.services():
            raise UsageError(
                f"unknown service {service!r} in {self.file.name}: services are {', '.join(self.services())}"
            )

    def _prebuild(self, sink: LineSink) -> None:
        """Host-side steps before an image build (e.g. ``pip wheel``): no network in the build."""
        for raw in self.prebuild:
            step = [self.python if part == "{python}" else part for part in raw]
            sink(f"prebuild: {' '.join(step)}")
            keep, tail = _tee(sink)
            code = run_streaming(step, self.environment.root, self.environment.env, keep, what=step[0])
            if code != 0:
                cause = cause_line("\n".join(tail))
                raise DeployError(
                    self._mask(f"prebuild step failed (exit {code}): {' '.join(step)}: {cause}")
                )

    def build(self, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        self._prebuild(sink)
        code, output = self._stream(sink, "build", *([service] if service else []))
        if code != 0:
            raise self._failure("build", code, output)

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        """Start the services; a failed ``up`` removes what it created (see :func:`undo`) and says so."""
        self.services()
        if build:
            self._prebuild(sink)
        flags = ["--build"] if build else []
        before = snapshot(self.project)
        try:
            if detach:
                done = self._run("up", "-d", *flags)
                for line in (done.stdout + done.stderr).splitlines():
                    sink(line)
                if done.returncode != 0:
                    error = self._failure(
                        " ".join(["up", "-d", *flags]), done.returncode, done.stdout + done.stderr
                    )
                    raise self._with_unhealthy(error)
                return self._wait_healthy(sink)
            try:
                code, output = self._stream(sink, "up", *flags)
            except InterruptedRun:
                # compose may have been killed mid-way through its own graceful stop.
                self._run("stop", timeout=120)
                raise
            if code != 0:
                raise self._failure(" ".join(["up", *flags]), code, output)
            return self.status()
        except DeployError as exc:
            cleaned = undo(self.project, before)
            if not cleaned:
                raise
            raise DeployError(f"{exc}\ncleaned up after the failed up: {'; '.join(cleaned)}") from exc

    def _wait_healthy(self, sink: LineSink) -> list[ServiceStatus]:
        deadline = time.monotonic() + self.health_timeout
        while True:
            statuses = self.status()
            broken = [
                s
                for s in statuses
                if (s.state in ("exited", "dead") and not _completed(s)) or s.health == "unhealthy"
            ]
            if broken:
                raise self._broken(broken[0])
            if statuses and all(_ready(s) for s in statuses):
                for status in statuses:
                    sink(f"{status.name} | {'completed (exit 0)' if _completed(status) else status.health}")
                return statuses
            if time.monotonic() > deadline:
                waiting = [s for s in statuses if not _ready(s)]
                described = ", ".join(f"{s.name} ({s.state}/{s.health})" for s in waiting)
                checks = "".join(self._health_text(s.name) for s in waiting)
                raise DeployError(
                    self._mask(f"not healthy after {self.health_timeout:g}s: {described}{checks}")
                )
            time.sleep(1)

    def _broken(self, status: ServiceStatus) -> DeployError:
        """The error for a service that exited or failed its health check: its checks and its log."""
        printed = self._run("logs", "--no-color", "--tail", "15", status.name, timeout=60).stdout
        logs = "\n".join(line for line in printed.splitlines() if not line.startswith("Attaching to "))
        logs = logs.strip() or "(none)"
        return DeployError(
            self._mask(
                f"service {status.name} is {status.state}/{status.health}"
                f"{self._health_text(status.name)}\nlast log lines:\n{logs}"
            )
        )

    def _with_unhealthy(self, error: DeployError) -> DeployError:
        """``error`` plus the health log of a service compose waited on (``condition: service_healthy``)."""
        unhealthy = [s.name for s in self.status() if s.health == "unhealthy"]
        if not unhealthy:
            return error
        checks = "".join(f"\nservice {name} is unhealthy{self._health_text(name)}" for name in unhealthy)
        return DeployError(f"{error}{self._mask(checks)}")

    def _health_text(self, service: str) -> str:
        """The service's last health-check runs (from the engine), or nothing when it has no check."""
        lines = health_log(self._inspected.get(service, {}))
        return f"\nits health check, last {len(lines)} runs:\n" + "\n".join(lines) if lines else ""

    def recreate(self, names: Sequence[str], sink: LineSink) -> list[ServiceStatus]:
        """``up -d --no-deps --no-build --force-recreate NAMES``: just these, from their images as tagged now.

        A release puts a new image under the compose file's image name and recreates only the
        released service; the others (the database) are left alone. A failure is undone as ``up``'s.
        """
        for name in names:
            self._check_name(name)
        args = ["up", "-d", "--no-deps", "--no-build", "--force-recreate", *names]
        before = snapshot(self.project)
        try:
            done = self._run(*args)
            for line in (done.stdout + done.stderr).splitlines():
                sink(line)
            if done.returncode != 0:
                raise self._with_unhealthy(
                    self._failure(" ".join(args), done.returncode, done.stdout + done.stderr)
                )
            return self._wait_healthy(sink)
        except DeployError as exc:
            cleaned = undo(self.project, before)
            if not cleaned:
                raise
            raise DeployError(f"{exc}\ncleaned up after the failed up: {'; '.join(cleaned)}") from exc

    def rendered(self) -> str:
        """The compose file as compose reads it (``config``: variables filled in, paths absolute)."""
        done = self._run("config", timeout=60)
        if done.returncode != 0:
            error = self._failure("config", done.returncode, done.stderr)
            raise DeployError(f"{self.file.name} is not a valid compose file: {error}")
        return done.stdout

    def down(self, volumes: bool) -> list[str]:
        before = [s.name for s in self.status()]
        done = self._run("down", "--remove-orphans", *(["--volumes"] if volumes else []))
        if done.returncode != 0:
            raise self._failure("down", done.returncode, done.stderr)
        return before

    def stop_services(self, names: Sequence[str]) -> list[str]:
        running = [s.name for s in self.status() if s.name in names and s.state == "running"]
        if running:
            done = self._run("stop", *running, timeout=300)
            if done.returncode != 0:
                raise self._failure("stop", done.returncode, done.stderr)
        return running

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        if not names:
            return
        done = self._run("start", *names, timeout=300)
        if done.returncode != 0:
            raise self._failure("start", done.returncode, done.stderr)
        self._wait_healthy(sink)

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        args = ["logs", "--no-color", *(["-f"] if follow else []), *([service] if service else [])]
        code, output = self._stream(sink, *args)
        if code != 0:
            raise self._failure(" ".join(args), code, output)

    def status(self) -> list[ServiceStatus]:
        """Containers of this compose project's services, read from the engine.

        One-off containers (``docker compose run``) are not services and are left out.
        """
        self._compose()
        statuses = []
        self._inspected = {}
        for container in inspect_project(self.project):
            labels = container.get("Config", {}).get("Labels", {}) or {}
            if str(labels.get("com.docker.compose.oneoff", "False")).lower() == "true":
                continue
            state = container.get("State", {})
            health = (state.get("Health") or {}).get("Status", "none")
            ports = container.get("NetworkSettings", {}).get("Ports") or {}
            host_port = next(
                (
                    int(b["HostPort"])
                    for bindings in ports.values()
                    if bindings
                    for b in bindings
                    if b.get("HostPort")
                ),
                None,
            )
            name = labels.get("com.docker.compose.service", container.get("Name", "?").lstrip("/"))
            self._inspected[name] = container
            statuses.append(
                ServiceStatus(
                    name=name,
                    state=state.get("Status", "unknown"),
                    health=health,
                    pid=state.get("Pid") or None,
                    port=host_port,
                    uptime_s=_uptime(state) if state.get("Running") else None,
                    detail=container.get("Name", "").lstrip("/"),
                    exit_code=None if state.get("Running") else state.get("ExitCode"),
                )
            )
        return sorted(statuses, key=lambda s: s.name)

    def exec(self, service: str, argv: Sequence[str], sink: LineSink) -> int:
        """``docker compose exec -T SERVICE ARGV`` (the service's container must be running)."""
        self._check_name(service)
        return self._stream(sink, "exec", "-T", service, *argv)[0]

    def health(self, service: str) -> bool:
        self._check_name(service)
        return any(s.name == service and _ready(s) and not _completed(s) for s in self.status())

    def can_start(self) -> bool:
        """There is a compose file to start (the daemon is checked when something runs)."""
        return self.file.is_file()

    def container(self, service: str) -> str:
        """The id of this environment's running ``service`` container, found by its compose labels."""
        require_daemon()
        done = run_bounded(
            [
                "docker",
                "ps",
                "-q",
                "--filter",
                f"label=com.docker.compose.project={self.project}",
                "--filter",
                f"label=com.docker.compose.service={service}",
            ],
            60,
        )
        ids = done.stdout.split()
        if done.returncode != 0 or not ids:
            stage = self.environment.stage
            raise MissingError(
                f"the {service} container of {stage} (compose project {self.project}) is not running: "
                f"`stagewise deploy {stage} up -d` first"
            )
        return ids[0]


def _tee(sink: LineSink, keep: int = 200) -> tuple[LineSink, deque[str]]:
    """A sink that passes each line on and keeps the last ``keep`` (for the error's cause line)."""
    tail: deque[str] = deque(maxlen=keep)

    def both(line: str) -> None:
        tail.append(line)
        sink(line)

    return both, tail


def _completed(status: ServiceStatus) -> bool:
    """A one-shot service (a migration, a seed job) that ran and exited 0 is done, not broken."""
    return status.state == "exited" and status.exit_code == 0


def _ready(status: ServiceStatus) -> bool:
    if _completed(status):
        return True
    if status.state != "running":
        return False
    if status.health == "none":
        return (status.uptime_s or 0.0) >= SETTLE_SECONDS
    return status.health == "healthy"


def _uptime(state: dict[str, object]) -> float | None:
    """Seconds since the engine's ``StartedAt`` (RFC 3339 with nanoseconds)."""
    started = str(state.get("StartedAt") or "")
    match = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)", started)
    if match is None:
        return None
    moment = datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return max(0.0, (datetime.now(UTC) - moment).total_seconds())
