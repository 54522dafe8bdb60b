"""The migration gate's old-version check on Swarm: the serving image as a one-task stack of its own.

On compose the gate starts the old image in a second compose project on the
stage's network; here it is a second stack, ``<stack>-gate``: the released
service's spec as the stage's file renders it, with the old image, one
replica, its database URL pointed at the rehearsal's scratch database (same
server, the scratch database's name, as the task sees it), the stack's
networks, volumes, configs and secrets declared ``external`` (so it reaches
the database by the same name), and its port published in ``mode: host`` on
the spare port (no routing mesh needed). Its own stack name means a
``docker stack deploy --prune`` of the stage never removes it and its
``docker stack rm`` never touches the stage.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagewise.backends.base import LineSink
from stagewise.backends.compose_engine import run_bounded
from stagewise.backends.swarm_compose import write
from stagewise.backends.swarm_engine import remove_stack, service_tasks, stack_services
from stagewise.errors import DeployError, UsageError
from stagewise.release.compose_slots import swap_database


def container_port(spec: Mapping[str, Any], image: str, service: str) -> int:
    """The port ``service`` listens on: its published target, else the one its image exposes."""
    for entry in spec.get("ports") or []:
        if isinstance(entry, dict) and entry.get("target"):
            return int(entry["target"])
        text = str(entry).split("/", 1)[0]
        if text.rsplit(":", 1)[-1].isdigit():
            return int(text.rsplit(":", 1)[-1])
    done = run_bounded(["docker", "image", "inspect", "--format", "{{json .Config.ExposedPorts}}", image], 60)
    try:
        exposed = json.loads(done.stdout or "null") or {}
    except ValueError:
        exposed = {}
    ports = sorted(int(str(key).split("/", 1)[0]) for key in exposed if str(key).split("/", 1)[0].isdigit())
    if not ports:
        raise UsageError(
            f"service {service} publishes no port and its image exposes none: "
            "the migration gate cannot reach the old version"
        )
    return ports[0]


def _external(declared: object, stack: str, name: str) -> dict[str, Any]:
    """``{external: true, name: ...}`` for a network/volume/config/secret the stage's stack made."""
    if isinstance(declared, dict):
        if declared.get("external"):
            return {"external": True, "name": str(declared.get("name") or name)}
        if declared.get("name"):
            return {"external": True, "name": str(declared["name"])}
    return {"external": True, "name": f"{stack}_{name}"}


def _used(entries: object) -> list[str]:
    """The names a service's ``networks``/``configs``/``secrets``/``volumes`` entries refer to."""
    if isinstance(entries, dict):
        return [str(k) for k in entries]
    names = []
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict):
            source = entry.get("source")
            if source and entry.get("type", "volume") == "volume":
                names.append(str(source))
        elif isinstance(entry, str):
            names.append(entry.split(":", 1)[0])
    return names


def gate_doc(
    doc: Mapping[str, Any],
    stack: str,
    service: str,
    image: str,
    *,
    url_env: str,
    scratch_url: str,
    port: int,
    target_port: int,
) -> dict[str, Any]:
    """The gate stack's spec (see the module docstring)."""
    spec = {k: v for k, v in dict(doc["services"][service]).items() if k not in ("ports", "build")}
    spec["image"] = image
    environment = spec.get("environment")
    if isinstance(environment, dict) and url_env in environment:
        spec["environment"] = {
            **environment,
            url_env: swap_database(str(environment[url_env]), scratch_url),
        }
    spec["ports"] = [{"target": target_port, "published": port, "mode": "host", "protocol": "tcp"}]
    deploy = dict(spec.get("deploy") or {})
    deploy["replicas"] = 1
    deploy["restart_policy"] = {"condition": "none"}  # one try: a version that cannot start is the answer
    deploy.pop("update_config", None)
    spec["deploy"] = deploy
    joined = spec.get("networks") or ["default"]
    spec["networks"] = joined
    out: dict[str, Any] = {"version": "3.8", "services": {service: spec}}
    networks = dict(doc.get("networks") or {})
    out["networks"] = {n: _external(networks.get(n), stack, n) for n in _used(joined)}
    for kind in ("volumes", "configs", "secrets"):
        declared = dict(doc.get(kind) or {})
        names = [n for n in _used(spec.get(kind) or []) if n in declared]
        if names:
            out[kind] = {n: _external(declared.get(n), stack, n) for n in names}
    return out


class GateStack:
    """The old version, one task in ``<stack>-gate``, for the gate's smoke run."""

    def __init__(self, stack: str, state_dir: Path, health_path: str, timeout: float) -> None:
        self.stack, self.name = stack, f"{stack}-gate"
        self.file = state_dir / "swarm" / "gate.yml"
        self.health_path, self.timeout = health_path or "/", timeout

    def up(self, doc: Mapping[str, Any], port: int, sink: LineSink) -> None:
        """Deploy it; return once its task runs and answers 200 on 127.0.0.1:``port``."""
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.touch(mode=0o600)  # the environment may hold the stage's secrets
        write(dict(doc), self.file)
        argv = ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(self.file), self.name]
        done = run_bounded(argv, 120)
        if done.returncode != 0:
            cause = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise DeployError(f"`docker stack deploy {self.name}` failed: {cause}")
        sink(f"gate | the old version as stack {self.name} on 127.0.0.1:{port}")
        self._wait(port, sink)

    def _wait(self, port: int, sink: LineSink) -> None:
        url = f"http://127.0.0.1:{port}{self.health_path}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.timeout
        last = "no task running yet"
        while time.monotonic() < deadline:
            # The port is published (mode host) once the container runs: ask it rather than wait
            # for the engine's health verdict, which on a busy node comes many seconds later.
            try:
                with opener.open(url, timeout=3) as answer:
                    if answer.status == 200:
                        sink(f"gate | the old version answers on {url}")
                        return
                    last = f"HTTP {answer.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
            rows = stack_services(self.name)
            errors = [t.error for r in rows for t in service_tasks(str(r.get("Name", ""))) if t.error]
            if errors:
                raise DeployError(f"its task failed: {errors[0]}")
            time.sleep(0.5)
        raise DeployError(f"{url} did not answer 200 within {self.timeout:g}s ({last})")

    def down(self) -> bool:
        """Remove the gate stack (and wait for its task to be gone); whether there was one."""
        if not stack_services(self.name):
            return False
        remove_stack(self.name, volumes=False)
        return True


__all__ = ["GateStack", "container_port", "gate_doc"]
