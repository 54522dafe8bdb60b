"""The compose backend: drives ``docker compose`` (v2) or ``docker-compose`` (v1).

One compose project per environment (``<project>-<stage>``), the stage's
compose file, and status read from the engine itself (container labels and
health), not from compose's text output, which differs between versions.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.errors import DeployError, InterruptedRun, MissingError, UsageError
from stagewise.project.model import Project, StageConfig
from stagewise.tiers.process import run_streaming

HEALTH_TIMEOUT = 180.0
#: A container without a health check counts as up once it has kept running this long,
#: so that one which starts and exits at once is caught instead of reported healthy.
SETTLE_SECONDS = 3.0
_PROJECT = re.compile(r"[^a-z0-9_-]")


def compose_command() -> list[str]:
    """``docker compose`` when the v2 plugin answers, else ``docker-compose``."""
    docker = shutil.which("docker")
    if docker is not None:
        try:
            done = subprocess.run(
                [docker, "compose", "version"], capture_output=True, check=False, timeout=30
            )
        except subprocess.TimeoutExpired as exc:
            raise MissingError(f"`{docker} compose version` did not answer within 30 s") from exc
        if done.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy is not None:
        return [legacy]
    raise MissingError(
        "neither `docker compose` nor `docker-compose` is installed: apt-get install docker-compose "
        "(or the docker-compose-plugin)"
    )


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
        reason = (done.stderr.strip().splitlines() or ["no answer"])[-1]
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
    ) -> None:
        self.environment = environment
        self.prebuild = [list(step) for step in prebuild]
        self.file = (environment.root / compose_file).resolve()
        self.project = project_name(prefix or environment.project_name, environment.stage)
        self._base: list[str] | None = None
        self._services: list[str] | None = None

    @classmethod
    def for_stage(cls, project: Project, stage: StageConfig, environment: Environment) -> ComposeBackend:
        """The registry's factory: the stage's compose file and the project's prefix and prebuild."""
        return cls(
            environment,
            stage.compose_file or project.compose.file_for(stage.name),
            project.compose.project_prefix or project.name,
            project.compose.prebuild,
        )

    def _compose(self) -> list[str]:
        if self._base is None:
            if not self.file.is_file():
                raise MissingError(
                    f"compose file {self.file} for stage {self.environment.stage} does not exist: "
                    f"create it or set compose.files.{self.environment.stage} in stagewise.toml"
                )
            require_daemon()
            self._base = [*compose_command(), "-f", str(self.file), "-p", self.project]
        return self._base

    def _run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return _run_bounded(
            [*self._compose(), *args], timeout, cwd=self.file.parent, env=dict(self.environment.env)
        )

    def _stream(self, sink: LineSink, *args: str) -> int:
        return run_streaming(
            [*self._compose(), *args], self.file.parent, self.environment.env, sink, what="docker compose"
        )

    def services(self) -> Sequence[str]:
        if self._services is None:
            done = self._run("config", "--services", timeout=60)
            if done.returncode != 0:
                raise DeployError(f"{self.file.name} is not a valid compose file: {_last(done.stderr)}")
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
            step = [sys.executable if part == "{python}" else part for part in raw]
            sink(f"prebuild: {' '.join(step)}")
            code = run_streaming(step, self.environment.root, self.environment.env, sink, what=step[0])
            if code != 0:
                raise DeployError(f"prebuild step failed (exit {code}): {' '.join(step)}")

    def build(self, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        self._prebuild(sink)
        code = self._stream(sink, "build", *([service] if service else []))
        if code != 0:
            raise DeployError(f"docker compose build failed (exit {code}); see the output above")

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        self.services()
        if build:
            self._prebuild(sink)
        flags = ["--build"] if build else []
        if detach:
            done = self._run("up", "-d", *flags)
            for line in (done.stdout + done.stderr).splitlines():
                sink(line)
            if done.returncode != 0:
                raise DeployError(f"docker compose up failed (exit {done.returncode}): {_last(done.stderr)}")
            return self._wait_healthy(sink)
        try:
            code = self._stream(sink, "up", *flags)
        except InterruptedRun:
            # compose may have been killed mid-way through its own graceful stop.
            self._run("stop", timeout=120)
            raise
        if code != 0:
            raise DeployError(f"docker compose up exited {code}")
        return self.status()

    def _wait_healthy(self, sink: LineSink) -> list[ServiceStatus]:
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while True:
            statuses = self.status()
            broken = [
                s
                for s in statuses
                if (s.state in ("exited", "dead") and not _completed(s)) or s.health == "unhealthy"
            ]
            if broken:
                first = broken[0]
                logs = self._run("logs", "--no-color", "--tail", "15", first.name, timeout=60).stdout.strip()
                raise DeployError(
                    f"service {first.name} is {first.state}/{first.health}; last log lines:\n{logs}"
                )
            if statuses and all(_ready(s) for s in statuses):
                for status in statuses:
                    sink(f"{status.name} | {'completed (exit 0)' if _completed(status) else status.health}")
                return statuses
            if time.monotonic() > deadline:
                waiting = ", ".join(f"{s.name} ({s.state}/{s.health})" for s in statuses)
                raise DeployError(f"not healthy after {HEALTH_TIMEOUT:g}s: {waiting}")
            time.sleep(1)

    def down(self, volumes: bool) -> list[str]:
        before = [s.name for s in self.status()]
        done = self._run("down", "--remove-orphans", *(["--volumes"] if volumes else []))
        if done.returncode != 0:
            raise DeployError(f"docker compose down failed: {_last(done.stderr)}")
        return before

    def stop_services(self, names: Sequence[str]) -> list[str]:
        running = [s.name for s in self.status() if s.name in names and s.state == "running"]
        if running:
            done = self._run("stop", *running, timeout=300)
            if done.returncode != 0:
                raise DeployError(f"docker compose stop failed: {_last(done.stderr)}")
        return running

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        if not names:
            return
        done = self._run("start", *names, timeout=300)
        if done.returncode != 0:
            raise DeployError(f"docker compose start failed: {_last(done.stderr)}")
        self._wait_healthy(sink)

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        args = ["logs", "--no-color", *(["-f"] if follow else []), *([service] if service else [])]
        code = self._stream(sink, *args)
        if code != 0:
            raise DeployError(f"docker compose logs exited {code}")

    def status(self) -> list[ServiceStatus]:
        """Containers of this compose project's services, read from the engine.

        One-off containers (``docker compose run``) are not services and are left out.
        """
        self._compose()
        done = _run_bounded(
            ["docker", "ps", "-a", "-q", "--filter", f"label=com.docker.compose.project={self.project}"], 60
        )
        ids = done.stdout.split()
        if not ids:
            return []
        inspected = _run_bounded(["docker", "inspect", *ids], 60)
        try:
            containers = json.loads(inspected.stdout or "[]")
        except ValueError:
            containers = []
        statuses = []
        for container in containers:
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
            statuses.append(
                ServiceStatus(
                    name=labels.get("com.docker.compose.service", container.get("Name", "?").lstrip("/")),
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
        return self._stream(sink, "exec", "-T", service, *argv)

    def health(self, service: str) -> bool:
        self._check_name(service)
        return any(s.name == service and _ready(s) and not _completed(s) for s in self.status())

    def can_start(self) -> bool:
        """There is a compose file to start (the daemon is checked when something runs)."""
        return self.file.is_file()

    def container(self, service: str) -> str:
        """The id of this environment's running ``service`` container, found by its compose labels."""
        require_daemon()
        done = _run_bounded(
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


def _run_bounded(
    command: list[str], timeout: float, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a docker command to completion; one that outlives ``timeout`` is a :class:`DeployError`."""
    try:
        return subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DeployError(
            f"`{' '.join(command)}` did not finish within {timeout:g} s and was stopped: "
            "is the Docker daemon overloaded, or is a pull or build hanging?"
        ) from exc


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


def _last(text: str) -> str:
    """The line of compose's output that says what went wrong (not its generic summary)."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    specific = [line for line in lines if line.startswith(("ERROR: for", "Error response", "ERROR:"))]
    for line in specific or lines:
        lowered = line.lower()
        if (
            "error" in lowered
            and not lowered.startswith("encountered errors")
            and not lowered.endswith("... error")
        ):
            return re.sub(r"^ERROR: for \S+\s+", "", line)
    return lines[-1] if lines else "(no output)"
