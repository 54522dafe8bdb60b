"""Launching the region services (stagewise's or the project's own) and the router in front of them."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path

from stagewise.errors import MissingError
from stagewise.project.resilience import ResilienceConfig
from stagewise.tiers.resilience.clusters import libpq_url
from stagewise.tiers.resilience.deployment import Deployment, RegionEndpoint, Sites
from stagewise.tiers.resilience.haproxy import Server, check_config, haproxy_binary, render_config
from stagewise.tiers.resilience.health import wait_haproxy
from stagewise.tiers.resilience.postgres import free_port
from stagewise.tiers.resilience.supervisor import spawn


def fill(value: str, values: dict[str, str]) -> str:
    """``value`` with every ``{name}`` of ``values`` replaced (nothing else is interpreted)."""
    for name, replacement in values.items():
        value = value.replace("{" + name + "}", replacement)
    return value


def _prestart(
    deployment: Deployment, argv: list[str], name: str, *, root: Path | None, env: dict[str, str], logs: Path
) -> None:
    """Run one prestart step as a journalled child (Ctrl+C or a crash leaves nothing running)."""
    log = logs / f"{name}.log"
    try:
        started = spawn(deployment, name, argv, log, cwd=root, env=env)
    except OSError as exc:
        raise MissingError(f"region service prestart {' '.join(argv)} failed: {exc}") from exc
    assert started.process is not None  # noqa: S101 - spawn always starts one
    try:
        code = started.process.wait(300)
    except subprocess.TimeoutExpired as exc:
        raise MissingError(
            f"region service prestart {' '.join(argv)} did not finish in 300 s (log: {log})"
        ) from exc
    finally:
        deployment.journal.undo(started.entry)  # kills it if it still runs
    if code != 0:
        tail = log.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:] or [""]
        raise MissingError(f"region service prestart {' '.join(argv)} exited {code}: {tail[0][:300]}")


def start_region_services(
    deployment: Deployment,
    config: ResilienceConfig,
    sites: Sites,
    *,
    python: str,
    root: Path | None,
    logs: Path,
) -> None:
    """One service per region: the project's own (``[resilience.local.service]``) or stagewise's."""
    spec = config.local.service
    names = list(deployment.clusters)
    token = secrets.token_urlsafe(24)
    deployment.write_headers = {"Authorization": f"Bearer {token}"}
    ports = {name: free_port() for name in names}

    def values(region: str) -> dict[str, str]:
        own = deployment.clusters[region]
        others = [deployment.clusters[n] for n in names if n != region]
        return {
            "python": python,
            "root": str(root or Path.cwd()),
            "region": region,
            "host": sites.hosts[region],
            "port": str(ports[region]),
            "read_url": libpq_url([own, *others], "any"),
            "write_url": libpq_url([deployment.clusters[n] for n in names], "read-write"),
            "token": token,
        }

    if spec is not None:
        first = values(config.primary.name)
        prestart_env = {k: fill(v, first) for k, v in spec.env.items()}
        for index, step in enumerate(spec.prestart):
            argv = [fill(a, first) for a in step]
            _prestart(deployment, argv, f"prestart-{index}", root=root, env=prestart_env, logs=logs)
    for region in config.regions.values():
        filled = values(region.name)
        env: dict[str, str] | None = None
        if spec is None:
            argv = [
                python,
                "-m",
                "stagewise.tiers.resilience.region_app",
                "--name",
                region.name,
                "--host",
                filled["host"],
                "--port",
                filled["port"],
                "--read-dsn",
                filled["read_url"],
                "--write-dsn",
                filled["write_url"],
            ]
        else:
            argv = [fill(a, filled) for a in spec.command]
            env = {k: fill(v, filled) for k, v in spec.env.items()}
        spawn(
            deployment,
            region.name,
            [*sites.prefixes[region.name], *argv],
            logs / f"region-{region.name}.log",
            cwd=root if spec is not None else None,
            env=env,
        )
        deployment.regions[region.name] = RegionEndpoint(
            region.name,
            region.role,
            region.weight,
            region.where,
            f"http://{filled['host']}:{filled['port']}",
            deployment.clusters[region.name].url,
        )


def start_router(
    deployment: Deployment,
    health_check: bool,
    python: str,
    logs: Path,
    *,
    weights: dict[str, float] | None = None,
    geo: bool = True,
    router: str = "haproxy",
) -> str:
    """Start the router in front of the deployment's regions; returns its URL.

    ``router = "haproxy"`` runs HAProxy (see
    :mod:`~stagewise.tiers.resilience.haproxy`) and waits until it sees every
    region up; when ``haproxy`` is not installed, stagewise's builtin router
    (:mod:`~stagewise.tiers.resilience.router`) stands in, with a note saying
    so. ``weights`` overrides the regions' own and ``geo=False`` makes it
    ignore client locations: both plant a misconfigured router for the
    routing gates.
    """
    port = free_port()
    backends = [
        {
            "name": r.name,
            "url": r.url,
            "weight": (weights or {}).get(r.name, r.weight),
            "location": r.location,
        }
        for r in deployment.regions.values()
    ]
    name = "router" if "router" not in deployment.services else f"router-{port}"
    binary = haproxy_binary() if router == "haproxy" else None
    if router == "haproxy" and binary is None:
        deployment.notes.append(
            "router: haproxy is not installed (apt-get install haproxy); "
            "using stagewise's builtin router instead"
        )
    if binary is None:
        router_config = json.dumps({"backends": backends, "health_check": health_check, "geo": geo})
        argv = [
            python,
            "-m",
            "stagewise.tiers.resilience.router",
            "--port",
            str(port),
            "--config",
            router_config,
        ]
        spawn(deployment, name, argv, logs / f"{name}.log")
        return f"http://127.0.0.1:{port}"
    servers = [
        Server(r.name, r.url, (weights or {}).get(r.name, r.weight), r.location)
        for r in deployment.regions.values()
    ]
    # The name carries "stagewise-resilience-" so a leftover haproxy is recognisable as ours.
    config_path = (deployment.state_dir or logs) / f"stagewise-resilience-{name}.cfg"
    config_path.parent.mkdir(parents=True, exist_ok=True)
    config_path.write_text(render_config(port, servers, health_check=health_check, geo=geo), encoding="utf-8")
    problem = check_config(binary, str(config_path))
    if problem is not None:
        raise MissingError(f"haproxy rejected the router configuration {config_path}: {problem}")
    started = spawn(deployment, name, [binary, "-db", "-f", str(config_path)], logs / f"{name}.log")
    url = f"http://127.0.0.1:{port}"
    wait_haproxy(started, url, [s.name for s in servers])
    return url


def router_kind(deployment: Deployment) -> str:
    """Which router the deployment started: ``haproxy`` or ``builtin`` (``none`` for remote regions)."""
    started = deployment.services.get("router")
    if started is None:
        return "none"
    return "haproxy" if Path(started.argv[0]).name == "haproxy" else "builtin"


__all__ = ["fill", "router_kind", "start_region_services", "start_router"]
