"""A compose file as ``docker stack deploy`` will read it: what Swarm ignores, said once.

The file is rendered by compose itself (``config``: variables filled in), then
each key Swarm does not honour is named (``build:`` with no ``image:``,
``depends_on``, ``container_name``, ``restart``, ...) and removed, and a
``version`` the stack loader accepts is set. Nothing is dropped silently.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stagewise.backends.compose_engine import run_bounded
from stagewise.errors import DeployError, MissingError

#: Service keys ``docker stack deploy`` ignores, and what the user gets instead.
IGNORED = {
    "depends_on": "services start in no order on Swarm: the engine restarts one until what it needs answers",
    "container_name": "Swarm names tasks itself",
    "restart": "use deploy.restart_policy",
    "links": "services reach each other by name on the stack's network",
    "network_mode": "not supported by Swarm",
    "devices": "not supported by Swarm",
    "cap_add": "not supported by Swarm 20.10",
}


def load(compose: list[str], file: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The file with its variables filled in, as compose renders it (``compose -f FILE config``)."""
    try:
        import yaml  # type: ignore[import-untyped]  # no stubs installed; used for plain dicts only
    except ImportError as exc:  # pragma: no cover - pyyaml is a dependency of the swarm backend
        raise MissingError("the swarm backend needs PyYAML: pip install 'stagewise[swarm]'") from exc
    done = run_bounded([*compose, "-f", str(file), "config"], 60, cwd=file.parent, env=dict(env))
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"{file.name} is not a valid compose file: {cause}")
    doc = yaml.safe_load(done.stdout)
    if not isinstance(doc, dict) or not isinstance(doc.get("services"), dict):
        raise DeployError(f"{file.name} has no services")
    return doc


def for_swarm(doc: Mapping[str, Any], stack: str) -> tuple[dict[str, Any], list[str]]:
    """The document ``docker stack deploy`` gets, and one note per key Swarm would ignore.

    A service with ``build:`` and no ``image:`` gets the image compose builds
    for it (``<stack>_<service>``), so the built image is the one deployed.
    """
    notes: list[str] = []
    services: dict[str, Any] = {}
    for name, raw in dict(doc["services"]).items():
        service = dict(raw)
        if "build" in service:
            if "image" not in service:
                service["image"] = f"{stack}_{name}"
                notes.append(
                    f"service {name}: build: with no image: name; Swarm deploys images, not builds: "
                    f"deploying the built image as {service['image']} (name it with image:)"
                )
            del service["build"]
        for key, why in IGNORED.items():
            if key in service:
                del service[key]
                notes.append(f"service {name}: {key} is ignored by Swarm ({why})")
        services[name] = service
    rendered = {k: v for k, v in doc.items() if k not in ("services", "version")}
    rendered["version"] = "3.8"
    rendered["services"] = services
    return rendered, notes


def write(doc: Mapping[str, Any], path: Path) -> Path:
    """Write the rendered document (YAML) where ``docker stack deploy -c`` reads it."""
    import yaml

    path.write_text(yaml.safe_dump(dict(doc), sort_keys=False))
    return path


def build_images(doc: Mapping[str, Any], stack: str) -> dict[str, str]:
    """service -> the image compose builds for it (``image:``, else ``<stack>_<service>``)."""
    return {
        name: str(s.get("image") or f"{stack}_{name}")
        for name, s in dict(doc["services"]).items()
        if isinstance(s, dict) and "build" in s
    }


def read(path: Path) -> dict[str, Any]:
    """A spec written by :func:`write`, read back."""
    import yaml

    loaded = yaml.safe_load(path.read_text())
    return dict(loaded) if isinstance(loaded, dict) else {"services": {}}
