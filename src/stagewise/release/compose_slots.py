"""The released service's two containers on the compose backend, and their images.

Design. Slot ``a`` is the service's own container in the stage's compose
project (``<project>``, on the port its compose file publishes), so
``deploy ENV up`` and a first ``release`` meet, as on the local backend.
Slot ``b`` is a second compose project, ``<project>-b``, whose file stagewise
writes to ``.stagewise/<stage>/release-b.yml`` from the stage's own file as
compose renders it (``config``: variables filled in): only the released
service, with the release's image, no ``build``/``depends_on``/
``container_name``, its port published on ``spare_port`` instead, and the
stage project's networks and named volumes declared ``external`` — so the
new container reaches the same database by the same names and mounts the
same data, while ``down`` of either project never removes the other's.

Images. ``build`` runs the stage file's build of the service (with the
project's prebuild steps), then tags the image ``<repo>:<stage>-<version>``;
the history keeps that tag (the artifact) and the image id (its content
digest: there is no registry, so no repo digest). Slot ``a`` runs an image by
putting it under the compose file's image name and recreating only that
service (``up -d --no-deps --no-build``); slot ``b`` names it in its file.
After a release (or rollback) the compose file's image name is the serving
release's image, and a failed one puts the name back, so a later
``deploy ENV up`` starts what serves.

The gate's check of the old version runs the old image the same way as slot
``b`` (project ``<project>-gate``) with the service's database URL pointed
at the rehearsal's scratch database (same server, the scratch database's name).
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from stagewise.backends.base import Environment, LineSink, ServiceStatus
from stagewise.backends.compose import ComposeBackend
from stagewise.backends.compose_engine import inspect_project, run_bounded
from stagewise.errors import DeployError, MissingError, UsageError
from stagewise.operations.policy import Target
from stagewise.project.release_config import ReleaseConfig
from stagewise.release.history import ReleaseRecord
from stagewise.release.instances import Built

Say = Callable[[str], None]

#: Keys of the rendered service that the spare slot's file must not carry.
DROPPED = ("build", "depends_on", "container_name", "ports", "links", "extends", "networks")
_TAG = re.compile(r"[^A-Za-z0-9_.-]")
_PORT = re.compile(r"^(?:(?P<host>[\d.]+):)?(?P<published>\d+):(?P<target>\d+)(?:/tcp)?$")


def _yaml() -> Any:
    try:
        import yaml  # type: ignore[import-untyped]  # no stubs installed; plain dicts only
    except ImportError as exc:  # pragma: no cover - pyyaml comes with stagewise[swarm]
        raise MissingError("a release on compose needs PyYAML: pip install 'stagewise[swarm]'") from exc
    return yaml


def docker(*args: str, timeout: float = 120) -> str:
    """Run ``docker ARGS``; its stdout, or a :class:`DeployError` naming the command and why."""
    done = run_bounded(["docker", *args], timeout)
    if done.returncode != 0:
        cause = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise DeployError(f"`docker {' '.join(args)}` failed: {cause}")
    return done.stdout.strip()


def image_id(name: str) -> str | None:
    """The id of image ``name`` on the engine, or None when there is none by that name."""
    done = run_bounded(["docker", "image", "inspect", "--format", "{{.Id}}", name], 60)
    return done.stdout.strip() or None if done.returncode == 0 else None


def published(spec: Mapping[str, Any], service: str) -> tuple[int, int]:
    """The service's (host port, container port) from its rendered ``ports``; UsageError without one."""
    for entry in spec.get("ports") or []:
        if isinstance(entry, dict) and entry.get("published") and entry.get("target"):
            return int(entry["published"]), int(entry["target"])
        match = _PORT.match(str(entry))
        if match:
            return int(match["published"]), int(match["target"])
    raise UsageError(
        f'service {service} publishes no port (`ports: ["127.0.0.1:PORT:PORT"]`): '
        "the front door needs one to reach it"
    )


def release_tag(image_name: str, stage: str, version: str) -> str:
    """``REPO:STAGE-VERSION``: the tag a release's image gets (``image_name``'s repository)."""
    repo = image_name.rsplit(":", 1)[0] if ":" in image_name.rsplit("/", maxsplit=1)[-1] else image_name
    return f"{repo}:{_TAG.sub('-', f'{stage}-{version}').lstrip('.-')[:120]}"


def swap_database(url: str, scratch_url: str) -> str:
    """``url`` (as the container sees the database) with the database name of ``scratch_url``."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=urlsplit(scratch_url).path))


class ComposeSlots:
    """A compose stage's release side: its slots, images, and the gate's instance."""

    def __init__(self, target: Target, config: ReleaseConfig, environment: Environment) -> None:
        self.target, self.config = target, config
        self.main = ComposeBackend.for_stage(target.project, target.config, environment)
        self.main.health_timeout = config.health_timeout
        doc = _yaml().safe_load(self.main.rendered())
        services = dict(doc.get("services") or {}) if isinstance(doc, dict) else {}
        built = [name for name, spec in services.items() if isinstance(spec, dict) and "build" in spec]
        name = config.service or (built[0] if len(built) == 1 else None)
        if name is None or name not in services:
            raise UsageError(
                f"release.{target.stage}.service must name the service to release, one of: "
                f"{', '.join(services) or 'no services'}"
            )
        self.doc, self.service, self.spec = doc, name, dict(services[name])
        port, self.container_port = published(self.spec, name)
        self.ports = {"a": port, "b": config.spare_port or port + 1}
        v2 = self.main.binary.major == 2
        self.image_name = str(self.spec.get("image") or f"{self.main.project}{'-' if v2 else '_'}{name}")
        self.state_dir = target.project.root / ".stagewise" / target.stage

    # -- images ------------------------------------------------------------------------------

    def build(self, release_id: str, version: str, say: Say) -> Built:
        """Build the service's image, tag it for this release; the tag and the image id.

        Compose tags the build with the file's image name; that name goes back to the image
        it named before (the serving one) until the release has switched to the new one.
        """
        before = image_id(self.image_name)
        self.main.build(self.service, say)
        built = image_id(self.image_name)
        if built is None:
            raise DeployError(f"the build of {self.service} left no image named {self.image_name}")
        if before is not None and before != built:
            docker("tag", before, self.image_name)
        tag = release_tag(self.image_name, self.target.stage, version)
        docker("tag", built, tag)
        say(f"built {tag} ({built})")
        return Built(tag, image=tag, image_digest=built)

    def kept(self, record: ReleaseRecord) -> str | None:
        image = record.extra.get("artifact") or record.image
        return image if image and image_id(image) is not None else None

    def served(self, artifact: str) -> None:
        """Put the compose file's image name on the serving release's image."""
        docker("tag", artifact, self.image_name)

    # -- slots -------------------------------------------------------------------------------

    def instance(self, slot: str, artifact: str | None) -> MainSlot | SpareSlot:
        if slot == "a":
            return MainSlot(self, artifact)
        return SpareSlot(self, slot, self.ports[slot], artifact)

    def gate_instance(self, port_of: str, artifact: str | None, url: str) -> SpareSlot:
        """The old image on ``port_of``'s port, its database the rehearsal's scratch copy."""
        image = artifact or self.main_image()
        url_env = self.target.project.data.url_env
        env = dict(self.spec.get("environment") or {})
        if url_env in env:
            env[url_env] = swap_database(str(env[url_env]), url)
        return SpareSlot(self, "gate", self.ports[port_of], image, environment=env)

    def main_image(self) -> str | None:
        """The image id slot ``a``'s container runs (the old version before any release), if it runs."""
        for container in self.main_containers():
            if (container.get("State") or {}).get("Running"):
                return str(container.get("Image") or "") or None
        return None

    def main_containers(self) -> list[dict[str, Any]]:
        return [
            c
            for c in inspect_project(self.main.project)
            if (c.get("Config", {}).get("Labels") or {}).get("com.docker.compose.service") == self.service
        ]

    def running_slot(self) -> str | None:
        return next((s for s in ("a", "b") if self.instance(s, None).running()), None)

    def stop_spare(self) -> list[str]:
        stopped = [f"{name} (slot b)" for name in self.instance("b", None).down(volumes=False)]
        SpareSlot(self, "gate", self.ports["b"], None).down(volumes=False)  # a killed gate's leftover
        return stopped

    def wait_answers(self, port: int, sink: LineSink) -> None:
        """Until the health path answers 200 on the host port (compose's health is the container's view)."""
        path = self.target.project.health_path or "/"
        url = f"http://127.0.0.1:{port}{path}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + self.config.health_timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                with opener.open(url, timeout=3) as answer:
                    if answer.status == 200:
                        sink(f"{self.service} answers on {url}")
                        return
                    last = f"HTTP {answer.status}"
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code}"
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise DeployError(f"{url} did not answer 200 within {self.config.health_timeout:g}s ({last})")


class MainSlot:
    """Slot ``a``: the service's container in the stage's own compose project."""

    def __init__(self, slots: ComposeSlots, image: str | None) -> None:
        self.slots, self.image = slots, image
        self.put_back: str | None = None  # the image id the compose name had before :meth:`up`
        self.retagged = False

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        slots = self.slots
        if self.image is not None:
            self.put_back = image_id(slots.image_name)
            docker("tag", self.image, slots.image_name)
            self.retagged = True
        statuses = slots.main.recreate([slots.service], sink)
        slots.wait_answers(slots.ports["a"], sink)
        return statuses

    def down(self, volumes: bool) -> list[str]:
        """Stop and remove the container (the database and the rest stay); undo :meth:`up`'s tag."""
        slots = self.slots
        found = [str(c.get("Name", "?")).lstrip("/") for c in slots.main_containers()]
        if found:
            _remove((c["Id"] for c in slots.main_containers()), grace_seconds(slots.spec))
        if self.retagged and self.put_back is not None:
            docker("tag", self.put_back, slots.image_name)
            self.retagged = False
        return [slots.service] if found else []

    def running(self) -> bool:
        return any((c.get("State") or {}).get("Running") for c in self.slots.main_containers())

    def tail(self) -> str:
        return _logs([str(c.get("Id")) for c in self.slots.main_containers()])


class SpareSlot:
    """Slot ``b`` (or the gate's instance): the service alone in its own compose project."""

    def __init__(
        self,
        slots: ComposeSlots,
        slot: str,
        port: int,
        image: str | None,
        *,
        environment: Mapping[str, Any] | None = None,
    ) -> None:
        self.slots, self.slot, self.port, self.image = slots, slot, port, image
        self.environment = environment
        self.project = f"{slots.main.project}-{slot}"
        self.file = slots.state_dir / f"release-{slot}.yml"

    def render(self) -> dict[str, Any]:
        """The slot's compose document (see the module docstring)."""
        slots, main = self.slots, self.slots.main.project
        if self.image is None:
            raise DeployError(f"slot {self.slot} has no image to run")
        spec = {k: v for k, v in slots.spec.items() if k not in DROPPED}
        spec["image"] = self.image
        spec["ports"] = [f"127.0.0.1:{self.port}:{slots.container_port}"]
        if self.environment is not None:
            spec["environment"] = dict(self.environment)
        declared = dict(slots.doc.get("networks") or {})
        joined = slots.spec.get("networks") or ["default"]
        names = list(joined) if isinstance(joined, dict | list) else ["default"]
        spec["networks"] = names
        networks = {n: {"external": True, "name": _real(declared.get(n), main, n)} for n in names}
        declared_volumes = dict(slots.doc.get("volumes") or {})
        volumes = {
            n: {"external": True, "name": _real(declared_volumes.get(n), main, n)}
            for n in _named_volumes(spec.get("volumes") or [], declared_volumes)
        }
        doc: dict[str, Any] = {"version": str(slots.doc.get("version") or "3.9")}
        doc["services"] = {slots.service: _escaped(spec)}
        doc["networks"] = networks
        if volumes:
            doc["volumes"] = volumes
        return doc

    def backend(self) -> ComposeBackend:
        main = self.slots.main
        backend = ComposeBackend(main.environment, str(self.file), python=main.python)
        backend.project = self.project
        backend.health_timeout = main.health_timeout
        return backend

    def up(self, detach: bool, build: bool, sink: LineSink) -> list[ServiceStatus]:
        self.file.parent.mkdir(parents=True, exist_ok=True)
        self.file.touch(mode=0o600)  # the rendered environment may hold the stage's secrets
        self.file.write_text(json.dumps(self.render(), indent=2) + "\n")  # JSON is YAML
        statuses = self.backend().up(detach=True, build=False, sink=sink)
        self.slots.wait_answers(self.port, sink)
        return statuses

    def down(self, volumes: bool) -> list[str]:
        """Stop and remove this project's containers (by label: needs no file); the named volumes stay."""
        containers = inspect_project(self.project)
        if containers:
            _remove((str(c.get("Id")) for c in containers), grace_seconds(self.slots.spec))
        return [str(c.get("Name", "?")).lstrip("/") for c in containers]

    def running(self) -> bool:
        return any((c.get("State") or {}).get("Running") for c in inspect_project(self.project))

    def tail(self) -> str:
        return _logs([str(c.get("Id")) for c in inspect_project(self.project)])


def _remove(ids: Any, grace: int = 10) -> None:
    listed = [i for i in ids if i]
    if listed:
        run_bounded(["docker", "stop", "--time", str(grace), *listed], 120)
        docker("rm", "-f", *listed)


def grace_seconds(spec: Mapping[str, Any]) -> int:
    """The service's ``stop_grace_period`` in whole seconds (``1m30s``, ``10s``); 10 as compose's default."""
    text = str(spec.get("stop_grace_period") or "")
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    if not parts:
        return 10
    scale = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    return max(1, round(sum(float(n) * scale[u] for n, u in parts)))


def _logs(ids: list[str]) -> str:
    lines = []
    for container in ids:
        done = run_bounded(["docker", "logs", "--tail", "15", container], 60)
        lines.extend((done.stdout + done.stderr).splitlines())
    return "\n".join(lines) or "(no log lines)"


def _real(declared: object, project: str, name: str) -> str:
    """The engine's name of a network or volume compose declared as ``name`` in ``project``."""
    if isinstance(declared, dict):
        if declared.get("name"):
            return str(declared["name"])
        external = declared.get("external")
        if isinstance(external, dict) and external.get("name"):
            return str(external["name"])
        if external:
            return name
    return f"{project}_{name}"


def _named_volumes(entries: list[Any], declared: Mapping[str, Any]) -> list[str]:
    """The named volumes among a service's rendered ``volumes`` (``name:/path[:mode]`` or long form)."""
    names = []
    for entry in entries:
        source = entry.get("source") if isinstance(entry, dict) else str(entry).split(":", 1)[0]
        if source and str(source) in declared:
            names.append(str(source))
    return names


def _escaped(value: Any) -> Any:
    """Values as compose must read them again: a ``$`` rendered from ``$$`` doubled back."""
    if isinstance(value, str):
        return value.replace("$", "$$")
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    return value


__all__ = [
    "ComposeSlots",
    "MainSlot",
    "SpareSlot",
    "image_id",
    "published",
    "release_tag",
    "swap_database",
]
