"""Read ``[services.*]`` and ``[compose]`` from the project file (see ``services``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from stagewise.project.services import (
    HEALTH_KINDS,
    SERVICE_NAME,
    ComposeConfig,
    HealthCheck,
    ServiceConfig,
)

if TYPE_CHECKING:
    from stagewise.project.loader import _Table

BACKENDS = ("local", "compose")


def read_services(top: _Table, stage_names: Mapping[str, object]) -> dict[str, ServiceConfig]:
    """Every ``[services.NAME]`` table, with dependencies checked for existence and cycles."""
    services_t = top.table("services")
    if services_t is None:
        return {}
    services: dict[str, ServiceConfig] = {}
    for name in list(services_t.data):
        service_t = services_t.table(name)
        if service_t is None:
            raise services_t.error(name, "must be a table")
        if not SERVICE_NAME.match(name):
            raise services_t.error(name, "service names are lower-case letters, digits, '_' or '-'")
        services[name] = _service(service_t, name, stage_names)
    for service in services.values():
        for dependency in service.depends_on:
            if dependency not in services:
                raise services_t.error(
                    f"{service.name}.depends_on",
                    f"unknown service {dependency!r} (services: {', '.join(services)})",
                )
    _check_cycles(services_t, services)
    return services


def _service(table: _Table, name: str, stage_names: Mapping[str, object]) -> ServiceConfig:
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
    stages = table.strings("stages", ())
    for stage in stages:
        if stage not in stage_names:
            raise table.error("stages", f"unknown stage {stage!r} (stages: {', '.join(stage_names)})")
    service = ServiceConfig(
        name=name,
        command=command,
        cwd=table.string("cwd", ".") or ".",
        env=env,
        port=port,
        stage_ports=stage_ports,
        health=_health(table),
        depends_on=table.strings("depends_on", ()),
        build=_commands(table, "build"),
        prestart=_commands(table, "prestart"),
        data=table.strings("data", ()),
        stages=stages,
    )
    for path in (service.cwd, *service.data):
        if path.startswith("/") or ".." in path.split("/"):
            raise table.error(
                "data" if path != service.cwd else "cwd", f"{path!r} must stay inside the project"
            )
    table.check_unknown()
    return service


def _port(table: _Table, stage_names: Mapping[str, object]) -> tuple[int | None, dict[str, int]]:
    raw = table.raw("port")
    if raw is None:
        return None, {}
    if isinstance(raw, int) and not isinstance(raw, bool) and 1 <= raw <= 65535:
        return raw, {}
    if isinstance(raw, dict):
        ports: dict[str, int] = {}
        for stage, value in raw.items():
            if stage not in stage_names:
                raise table.error(f"port.{stage}", f"unknown stage (stages: {', '.join(stage_names)})")
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 65535:
                raise table.error(f"port.{stage}", "must be a port number from 1 to 65535")
            ports[stage] = value
        return None, ports
    raise table.error("port", "must be a port number from 1 to 65535, or a table of stage = port")


def _health(table: _Table) -> HealthCheck | None:
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


def _commands(table: _Table, key: str) -> tuple[tuple[str, ...], ...]:
    raw = table.raw(key)
    if raw is None:
        return ()
    if not isinstance(raw, list) or not all(
        isinstance(cmd, list) and cmd and all(isinstance(a, str) for a in cmd) for cmd in raw
    ):
        raise table.error(key, 'must be a list of argument lists, e.g. [["python", "-m", "app.migrate"]]')
    return tuple(tuple(cmd) for cmd in raw)


def _check_cycles(table: _Table, services: Mapping[str, ServiceConfig]) -> None:
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


def read_compose(top: _Table, stage_names: Mapping[str, object]) -> ComposeConfig:
    """``[compose]``: per-stage files, host-side prebuild steps, project name prefix."""
    compose_t = top.table("compose")
    if compose_t is None:
        return ComposeConfig()
    files_t = compose_t.table("files")
    files: dict[str, str] = {}
    if files_t is not None:
        for stage in list(files_t.data):
            if stage not in stage_names:
                raise files_t.error(stage, f"unknown stage (stages: {', '.join(stage_names)})")
            files[stage] = files_t.string(stage) or ""
        files_t.check_unknown()
    config = ComposeConfig(
        files=files,
        prebuild=_commands(compose_t, "prebuild"),
        project_prefix=compose_t.string("project_prefix"),
    )
    compose_t.check_unknown()
    return config
