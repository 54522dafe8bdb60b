"""Read ``[services.*]`` and ``[compose]`` from the project file (see ``services``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeGuard

from stagewise.project.services import (
    DEFAULT_STEP_TIMEOUT,
    HEALTH_KINDS,
    SERVICE_NAME,
    ComposeConfig,
    HealthCheck,
    ServiceConfig,
    Step,
)
from stagewise.project.table import ConfigTable
from stagewise.project.validate import inside_project, matching, named_tables, names_in, stage_keys

_PORT = "must be a port number from 1 to 65535"


def read_services(table: ConfigTable, stage_names: Mapping[str, object]) -> dict[str, ServiceConfig]:
    """Every ``[services.NAME]`` table, with dependencies checked for existence and cycles."""
    services: dict[str, ServiceConfig] = {}
    check = matching(SERVICE_NAME, "service names are lower-case letters, digits, '_' or '-'")
    for name, service_t in named_tables(table, check):
        services[name] = _service(service_t, name, stage_names)
    for service in services.values():
        for dependency in service.depends_on:
            if dependency not in services:
                raise table.error(
                    f"{service.name}.depends_on",
                    f"unknown service {dependency!r} (services: {', '.join(services)})",
                )
    _check_cycles(table, services)
    return services


def _service(table: ConfigTable, name: str, stage_names: Mapping[str, object]) -> ServiceConfig:
    command = table.strings("command", ())
    if not command:
        raise table.error("command", "is required: the argument list that starts the service")
    env_t = table.table("env")
    env: dict[str, str] = {}
    if env_t is not None:
        for key, value in env_t.data.items():
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise env_t.error(key, "must be a string or a number")
            env[key] = str(value)
            env_t.seen.add(key)
    port, stage_ports = _port(table, stage_names)
    stages = names_in(table, "stages", stage_names, (), what="stage", plural="stages")
    service = ServiceConfig(
        name=name,
        command=command,
        cwd=table.string("cwd", ".") or ".",
        env=env,
        port=port,
        stage_ports=stage_ports,
        health=_health(table),
        depends_on=table.strings("depends_on", ()),
        build=_steps(table, "build", migrations=False),
        prestart=_steps(table, "prestart", migrations=True),
        data=table.strings("data", ()),
        stages=stages,
    )
    for path in (service.cwd, *service.data):
        if not inside_project(path):
            raise table.error(
                "data" if path != service.cwd else "cwd", f"{path!r} must stay inside the project"
            )
    table.check_unknown()
    return service


def _port(table: ConfigTable, stage_names: Mapping[str, object]) -> tuple[int | None, dict[str, int]]:
    raw = table.raw("port")
    if raw is None:
        return None, {}
    if _is_port(raw):
        return raw, {}
    if isinstance(raw, dict):
        ports: dict[str, int] = {}
        for stage, value in raw.items():
            if stage not in stage_names:
                raise table.error(f"port.{stage}", f"unknown stage (stages: {', '.join(stage_names)})")
            if not _is_port(value):
                raise table.out_of_range(f"port.{stage}", value, _PORT)
            ports[stage] = value
        return None, ports
    raise table.out_of_range("port", raw, f"{_PORT}, or a table of stage = port")


def _is_port(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 65535


def _health(table: ConfigTable) -> HealthCheck | None:
    health_t = table.table("health")
    if health_t is None:
        return None
    timeout = health_t.number("timeout", 0.1, 3600) or 30.0
    kinds = [k for k in HEALTH_KINDS if k in health_t.data]
    if len(kinds) != 1:
        raise health_t.error("(kind)", f"needs exactly one of {', '.join(HEALTH_KINDS)}")
    kind = kinds[0]
    value = health_t.raw(kind)
    if kind == "tcp":
        if not isinstance(value, int | str) or isinstance(value, bool):
            raise health_t.error(kind, "must be a port number or '{port}'")
        target: tuple[str, ...] = (str(value),)
    elif kind == "http":
        target = (health_t.string(kind) or "",)
    else:
        target = health_t.strings(kind, ())
        if not target:
            raise health_t.error(kind, "must be a non-empty argument list")
    health_t.check_unknown()
    return HealthCheck(kind, target, timeout)


_STEP_FORMS = (
    'must be a list of steps: argument lists, e.g. [["{python}", "-m", "app.seed"]], or tables '
    'like { command = [...], timeout = "5m" }'
)


def _steps(table: ConfigTable, key: str, *, migrations: bool) -> tuple[Step, ...]:
    """``build`` / ``prestart``: argument lists, or ``{ command, timeout, migrate }`` tables."""
    raw = table.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise table.error(key, _STEP_FORMS)
    steps: list[Step] = []
    for index, entry in enumerate(raw):
        label = f"{table.key(key)}[{index}]"
        if isinstance(entry, list):
            if not entry or not all(isinstance(a, str) and a for a in entry):
                raise table.error(f"{key}[{index}]", "must be an argument list of non-empty strings")
            steps.append(Step(tuple(entry), label=label))
            continue
        if not isinstance(entry, dict):
            raise table.error(f"{key}[{index}]", _STEP_FORMS)
        step_t = ConfigTable(table.file, label, entry)
        command = step_t.argv("command") or ()
        migrate = step_t.boolean("migrate", False)
        if migrate and not migrations:
            raise step_t.error("migrate", f"a migration is a prestart step, not a {key} step")
        if not command and not migrate:
            raise step_t.error("command", "is required (or migrate = true for stagewise's own migrate)")
        timeout = step_t.seconds("timeout") or DEFAULT_STEP_TIMEOUT
        step_t.check_unknown()
        steps.append(Step(command, migrate, timeout, label))
    return tuple(steps)


def _commands(table: ConfigTable, key: str) -> tuple[tuple[str, ...], ...]:
    raw = table.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd) for cmd in raw
    ):
        raise table.error(key, 'must be a list of argument lists, e.g. [["python", "-m", "app.migrate"]]')
    return tuple(tuple(cmd) for cmd in raw)


def _check_cycles(table: ConfigTable, services: Mapping[str, ServiceConfig]) -> None:
    visiting: set[str] = set()
    done: set[str] = set()

    def visit(name: str, path: tuple[str, ...]) -> None:
        if name in done:
            return
        if name in visiting:
            cycle = " -> ".join((*path, name))
            raise table.error(f"{name}.depends_on", f"dependency cycle: {cycle}")
        visiting.add(name)
        for dependency in services[name].depends_on:
            visit(dependency, (*path, name))
        visiting.discard(name)
        done.add(name)

    for name in services:
        visit(name, ())


def read_compose(table: ConfigTable, stage_names: Mapping[str, object]) -> ComposeConfig:
    """``[compose]``: per-stage files, host-side prebuild steps, project name prefix."""
    files_t = table.section("files")
    files: dict[str, str] = {}
    for stage in stage_keys(files_t, stage_names):
        files[stage] = files_t.string(stage) or ""
    config = ComposeConfig(
        files=files,
        prebuild=_commands(table, "prebuild"),
        project_prefix=table.string("project_prefix"),
    )
    table.check_unknown()
    return config
