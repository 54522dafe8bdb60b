"""The local backend: services as plain processes on this machine, no Docker.

State lives under ``.stagewise/<stage>/``: one ``<service>.json`` (pid, process
start time, port, started-at) and one ``<service>.log`` per service. The start
time guards against pid reuse: a pid whose start time differs is not ours.
Each service runs in its own session, so stopping it stops its whole group.

Build and prestart steps run in the service's directory and environment with
``{python}`` the project's interpreter, their output streamed live
(:mod:`stagewise.backends.steps`). A step declared ``migrate = true`` runs
through the guarded migrate (:mod:`stagewise.operations.migrate_step`); on a
protected stage a plain step that runs alembic is refused before anything
starts, and a migration step runs only once the caller has confirmed it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.backends.steps import refuse_unguarded_migration, run_step
from stagewise.errors import DeployError, InterruptedRun, UsageError
from stagewise.interrupts import interrupt_once
from stagewise.processes import ProcessRef, start_group, stop_group
from stagewise.project.interpreter import project_python
from stagewise.project.model import Project, StageConfig
from stagewise.project.services import HealthCheck, ServiceConfig, Step

GRACE_SECONDS = 10.0
POLL_SECONDS = 0.2
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass(frozen=True)
class _Running:
    pid: int
    start_ticks: int
    port: int | None
    started_at: float


def port_in_use(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:port."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class LocalBackend:
    """Runs the project's ``[services.*]`` as processes for one stage."""

    name = "local"

    def __init__(
        self,
        environment: Environment,
        services: dict[str, ServiceConfig],
        project: Project | None = None,
        stage: StageConfig | None = None,
    ) -> None:
        """``project`` and ``stage`` give ``{python}`` its interpreter and migration steps their data.

        Without them ``{python}`` is stagewise's own interpreter and a migration step cannot run.
        """
        self.environment = environment
        self.project = project
        self.stage = stage
        self.python = project_python(project) if project is not None else sys.executable
        self.migrations_confirmed = not environment.protected
        self.all_services = {n: s for n, s in services.items() if s.runs_in(environment.stage)}
        if not self.all_services:
            raise UsageError(
                f"no local services for stage {environment.stage}: declare [services.NAME] "
                "in stagewise.toml, or use the compose backend (--backend compose)"
            )
        self.state_dir = environment.root / ".stagewise" / environment.stage

    @classmethod
    def for_stage(cls, project: Project, stage: StageConfig, environment: Environment) -> LocalBackend:
        """The registry's factory: this stage's local services."""
        return cls(environment, project.services, project, stage)

    # -- names and placeholders -------------------------------------------------
    def services(self) -> Sequence[str]:
        return list(self.all_services)

    def _check_name(self, service: str | None) -> None:
        if service is not None and service not in self.all_services:
            raise UsageError(
                f"unknown service {service!r} for {self.environment.stage}: "
                f"services are {', '.join(self.all_services)}"
            )

    def _fill(self, text: str, service: ServiceConfig) -> str:
        port = service.port_for(self.environment.stage)
        values = {
            "{stage}": self.environment.stage,
            "{port}": "" if port is None else str(port),
            "{root}": str(self.environment.root),
            "{state_dir}": str(self.state_dir),
            "{python}": self.python,
        }
        for key, value in values.items():
            text = text.replace(key, value)
        return text

    def _order(self, names: Sequence[str] | None = None) -> list[ServiceConfig]:
        """Services in dependency order (dependencies first)."""
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            for dependency in self.all_services[name].depends_on:
                visit(dependency)
            ordered.append(name)

        for name in names or list(self.all_services):
            visit(name)
        return [self.all_services[n] for n in ordered if n in self.all_services]

    def _env(self, service: ServiceConfig) -> dict[str, str]:
        env = dict(self.environment.env)
        env.update({k: self._fill(v, service) for k, v in service.env.items()})
        env.setdefault("PYTHONUNBUFFERED", "1")
        return env

    def _cwd(self, service: ServiceConfig) -> Path:
        return self.environment.root / self._fill(service.cwd, service)

    # -- state files ------------------------------------------------------------
    def _state_file(self, name: str) -> Path:
        return self.state_dir / f"{name}.json"

    def log_file(self, name: str) -> Path:
        """Where a service's output goes."""
        return self.state_dir / f"{name}.log"

    def _running(self, name: str) -> _Running | None:
        try:
            data = json.loads(self._state_file(name).read_text())
            running = _Running(
                int(data["pid"]), int(data["start_ticks"]), data.get("port"), data["started_at"]
            )
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not ProcessRef(running.pid, running.start_ticks).alive():
            return None
        return running

    # -- operations -------------------------------------------------------------
    def build(self, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        for config in self._order([service] if service else None):
            if service is not None and config.name != service:
                continue
            for step in config.build:
                self._run_step(config, step, "build", sink)

    def _run_relayed(self, service: ServiceConfig, command: list[str], sink: LineSink) -> int:
        """Run ``command`` in the service's directory and environment; relay its output to ``sink``."""
        done = subprocess.run(
            command,
            cwd=self._cwd(service),
            env=self._env(service),
            capture_output=True,
            text=True,
            check=False,
        )
        for line in (done.stdout + done.stderr).splitlines():
            sink(f"{service.name} | {line}")
        return done.returncode

    # -- steps ------------------------------------------------------------------
    def _file(self) -> str:
        return self.project.describe_file() if self.project is not None else "stagewise.toml"

    def migration_steps(self) -> list[str]:
        """The migration steps ``up`` would run now (services not yet running), by label.

        On a protected stage a plain step that runs alembic is refused here, before
        anything starts (exit 3, with the step to write instead).
        """
        found: list[str] = []
        for service in self._order():
            for step in (*service.build, *service.prestart):
                self._refuse_unguarded(step)
            if self._running(service.name) is None:
                found.extend(step.label for step in service.prestart if step.migrate)
        return found

    def confirm_migrations(self) -> None:
        """The caller asked on a protected stage and was told yes: migration steps may run."""
        self.migrations_confirmed = True

    def _refuse_unguarded(self, step: Step) -> None:
        env = self.environment
        refuse_unguarded_migration(step, env.stage, protected=env.protected, file=self._file())

    def _run_step(self, service: ServiceConfig, step: Step, what: str, sink: LineSink) -> None:
        self._refuse_unguarded(step)
        label = step.label or f"{what} step of {service.name}"
        step = Step(
            tuple(self._fill(part, service) for part in step.command), step.migrate, step.timeout, label
        )
        if step.migrate:
            self._migrate(service, step, sink)
            return
        sink(f"{service.name} | {what}: {step.describe()}")
        run_step(
            step.command,
            cwd=self._cwd(service),
            env=self._env(service),
            sink=sink,
            prefix=f"{service.name} {what}",
            label=label,
            timeout=step.timeout,
        )

    def _migrate(self, service: ServiceConfig, step: Step, sink: LineSink) -> None:
        if self.project is None or self.stage is None:
            raise DeployError(
                f"{step.label} is a migration step: it needs the project (LocalBackend.for_stage)"
            )
        if not self.migrations_confirmed:
            raise DeployError(
                f"{step.label} migrates protected stage {self.environment.stage}: it runs only through "
                f"`stagewise deploy {self.environment.stage} up`, which asks first"
            )
        from stagewise.operations.migrate_step import run_migration_step

        run_migration_step(
            self.project,
            self.stage,
            self._env(service),
            step,
            cwd=self._cwd(service),
            sink=sink,
            prefix=f"{service.name} prestart",
        )

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        self.migration_steps()  # an unguarded migration on a protected stage: refused before any start
        self.state_dir.mkdir(parents=True, exist_ok=True)
        started: list[str] = []
        # One guard from the first start to the end of following: a Ctrl+C anywhere in between
        # stops services, and a second one cannot cut that short.
        with interrupt_once():
            try:
                for service in self._order():
                    if self._running(service.name) is not None:
                        sink(f"{service.name} | already running")
                        continue
                    if build:
                        for step in service.build:
                            self._run_step(service, step, "build", sink)
                    self._start(service, sink)
                    started.append(service.name)
                    self._wait_healthy(service, sink)
                statuses = self.status()
                if detach:
                    return statuses
                self._follow(list(self.all_services), sink, watch=True)  # stops all on Ctrl+C
                return statuses
            except InterruptedRun:
                raise  # the follower has stopped everything
            except KeyboardInterrupt:
                # While starting, or before the follower took over: stop what this call started.
                self._stop(started)
                raise InterruptedRun(f"interrupted: stopped {', '.join(started) or 'nothing'}") from None
            except BaseException:
                self._stop(started)
                raise

    def _start(self, service: ServiceConfig, sink: LineSink, migrations: bool = True) -> None:
        port = service.port_for(self.environment.stage)
        if port is not None and port_in_use(port):
            raise DeployError(
                f"port {port} for service {service.name} is already in use by another process: "
                f"stop it or change services.{service.name}.port"
            )
        for step in service.prestart:
            if step.migrate and not migrations:
                sink(f"{service.name} | skipped {step.label}: the schema is what was just restored")
                continue
            self._run_step(service, step, "prestart", sink)
        command = [self._fill(part, service) for part in service.command]
        log = self.log_file(service.name).open("ab")
        try:
            process, ref = start_group(command, cwd=self._cwd(service), env=self._env(service), stdout=log)
        except OSError as exc:
            raise DeployError(f"service {service.name} cannot start: {command[0]}: {exc.strerror}") from exc
        finally:
            log.close()
        ticks = ref.start or 0
        state = {"pid": process.pid, "start_ticks": ticks, "port": port, "started_at": time.time()}
        self._state_file(service.name).write_text(json.dumps(state))
        sink(f"{service.name} | started pid {process.pid}" + (f" on 127.0.0.1:{port}" if port else ""))

    def _wait_healthy(self, service: ServiceConfig, sink: LineSink) -> None:
        health = service.health
        timeout = health.timeout if health else 2.0
        deadline = time.monotonic() + timeout
        while True:
            running = self._running(service.name)
            if running is None:
                tail = self._tail(service.name)
                raise DeployError(f"service {service.name} exited during start-up; last log lines:\n{tail}")
            if self._healthy(service, health):
                sink(f"{service.name} | healthy")
                return
            if time.monotonic() > deadline:
                what = (
                    f"{health.kind} {' '.join(self._fill(t, service) for t in health.target)}"
                    if health
                    else ""
                )
                raise DeployError(
                    f"service {service.name} not healthy after {timeout:g}s ({what}); "
                    f"last log lines:\n{self._tail(service.name)}"
                )
            time.sleep(POLL_SECONDS)

    def _healthy(self, service: ServiceConfig, health: HealthCheck | None) -> bool:
        if health is None:
            time.sleep(0.5)
            return self._running(service.name) is not None
        target = [self._fill(t, service) for t in health.target]
        if health.kind == "http":
            try:
                with _NO_PROXY.open(target[0], timeout=2) as response:
                    return 200 <= int(response.status) < 400
            except (urllib.error.URLError, OSError, ValueError):
                return False
        if health.kind == "tcp":
            return port_in_use(int(target[0]))
        try:
            done = subprocess.run(
                target,
                cwd=self._cwd(service),
                env=self._env(service),
                capture_output=True,
                timeout=10,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
        return done.returncode == 0

    def _tail(self, name: str, lines: int = 15) -> str:
        try:
            text = self.log_file(name).read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(f"  {name} | {line}" for line in text.splitlines()[-lines:]) or "  (empty log)"

    def down(self, volumes: bool) -> list[str]:
        stopped = self._stop([s.name for s in self._order()])
        if volumes:
            for service in self.all_services.values():
                for data in service.data:
                    path = self.environment.root / self._fill(data, service)
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink(missing_ok=True)
            if self.state_dir.exists():
                shutil.rmtree(self.state_dir)
        return stopped

    def _stop(self, names: Sequence[str]) -> list[str]:
        stopped = []
        for name in reversed(list(names)):
            running = self._running(name)
            if running is not None:
                # TERM, the grace period, KILL: see stagewise.processes.
                stop_group(ProcessRef(running.pid, running.start_ticks), grace=GRACE_SECONDS)
                stopped.append(name)
            self._state_file(name).unlink(missing_ok=True)
        return stopped

    def stop_services(self, names: Sequence[str]) -> list[str]:
        return self._stop([n for n in names if n in self.all_services])

    def start_services(self, names: Sequence[str], sink: LineSink) -> None:
        """Start these again (around a restore's swap): their migration steps do not run."""
        for service in self._order(list(names)):
            if service.name in names and self._running(service.name) is None:
                self._start(service, sink, migrations=False)
                self._wait_healthy(service, sink)

    def logs(self, follow: bool, service: str | None, sink: LineSink) -> None:
        self._check_name(service)
        names = [service] if service else list(self.all_services)
        if not follow:
            for name in names:
                with contextlib.suppress(OSError):
                    for line in self.log_file(name).read_text(errors="replace").splitlines():
                        sink(f"{name} | {line}")
            return
        self._follow(names, sink, watch=False)

    def _follow(self, names: Sequence[str], sink: LineSink, watch: bool) -> None:
        """Stream log files until Ctrl+C; with ``watch``, stop all if a service dies."""
        offsets = dict.fromkeys(names, 0)
        # From the first Ctrl+C on, later ones are not delivered: stopping (TERM, then KILL
        # after the grace period) runs whole, even for a service that ignores TERM.
        with interrupt_once():
            try:
                while True:
                    for name in names:
                        offsets[name] = self._emit_new(name, offsets[name], sink)
                    if watch:
                        dead = [n for n in names if self._running(n) is None]
                        if dead:
                            self._stop(list(self.all_services))
                            raise DeployError(
                                f"service {dead[0]} stopped unexpectedly; stopped the others. "
                                f"Last log lines:\n{self._tail(dead[0])}"
                            )
                    time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:
                if watch:
                    self._stop(list(self.all_services))
                    raise InterruptedRun(f"interrupted: stopped {', '.join(names)}") from None
                raise InterruptedRun("interrupted: stopped following logs") from None

    def _emit_new(self, name: str, offset: int, sink: LineSink) -> int:
        try:
            with self.log_file(name).open("rb") as log:
                log.seek(offset)
                chunk = log.read()
        except OSError:
            return offset
        complete = chunk.rfind(b"\n") + 1
        for line in chunk[:complete].decode(errors="replace").splitlines():
            sink(f"{name} | {line}")
        return offset + complete

    def status(self) -> list[ServiceStatus]:
        statuses = []
        for service in self._order():
            running = self._running(service.name)
            port = service.port_for(self.environment.stage)
            if running is None:
                statuses.append(ServiceStatus(service.name, "stopped", "-", None, port))
                continue
            healthy = self._healthy(service, service.health) if service.health else True
            statuses.append(
                ServiceStatus(
                    service.name,
                    "running",
                    "healthy" if healthy else "unhealthy",
                    running.pid,
                    port,
                    time.time() - running.started_at,
                )
            )
        return statuses

    def exec(self, service: str, argv: Sequence[str], sink: LineSink) -> int:
        """Run ``argv`` in the service's working directory with its environment."""
        self._check_name(service)
        config = self.all_services[service]
        command = [self._fill(part, config) for part in argv]
        try:
            return self._run_relayed(config, command, sink)
        except OSError as exc:
            raise DeployError(f"cannot run {command[0]!r} for {service}: {exc.strerror or exc}") from exc

    def health(self, service: str) -> bool:
        self._check_name(service)
        config = self.all_services[service]
        if self._running(service) is None:
            return False
        return self._healthy(config, config.health) if config.health else True

    def can_start(self) -> bool:
        """A local environment always has services (the constructor refuses one without)."""
        return bool(self.all_services)
