"""The released service's two instances on the local backend, and their artifacts.

Slot ``a`` listens on the service's own port and keeps the local backend's
state files (``.stagewise/<stage>/<service>.json``), so ``deploy ENV up`` and
a first ``release`` meet; slot ``b`` listens on ``spare_port`` and keeps
``<service>.b.json``. Both fill ``{state_dir}`` the same, so they share the
stage's data. A slot runs its release's *artifact*: a copy of the service's
directory as it was when the release was made (the files git tracks or would
track, as they are on disk), under ``.stagewise/<stage>/artifacts/<id>/``;
``rollback`` starts the previous one from there.
"""

from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

from stagewise.backends.base import Environment
from stagewise.backends.local import LocalBackend
from stagewise.errors import DeployError
from stagewise.project.model import Project, StageConfig
from stagewise.project.services import ServiceConfig


class SlotBackend(LocalBackend):
    """A :class:`LocalBackend` for one service in one slot, running one artifact."""

    def __init__(
        self,
        environment: Environment,
        service: ServiceConfig,
        project: Project,
        stage: StageConfig,
        *,
        slot: str,
        port: int,
        artifact: Path | None,
    ) -> None:
        # The slot's instance never migrates by itself: the release migrated first.
        pinned = dataclasses.replace(
            service,
            stage_ports={**service.stage_ports, environment.stage: port},
            prestart=tuple(step for step in service.prestart if not step.migrate),
        )
        super().__init__(environment, {service.name: pinned}, project, stage)
        self.slot = slot
        self.artifact = artifact

    def _state_file(self, name: str) -> Path:
        return self.state_dir / (f"{name}.json" if self.slot == "a" else f"{name}.{self.slot}.json")

    def log_file(self, name: str) -> Path:
        return self.state_dir / (f"{name}.log" if self.slot == "a" else f"{name}.{self.slot}.log")

    def _cwd(self, service: ServiceConfig) -> Path:
        if self.artifact is None:
            return super()._cwd(service)
        return self.artifact / self._fill(service.cwd, service)

    def tail(self) -> str:
        """The last lines of this slot's log."""
        return "\n".join(self._tail(name) for name in self.all_services)

    def running(self) -> bool:
        """Whether this slot's instance runs now."""
        return any(self._running(name) is not None for name in self.all_services)


def git_commit(root: Path) -> tuple[str | None, bool]:
    """The project's HEAD commit and whether the work tree differs from it (None outside git)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=False, timeout=10
        )
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", ".", ":!.stagewise"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None, False
    if head.returncode != 0:
        return None, False
    return head.stdout.strip(), bool(dirty.stdout.strip())


def make_artifact(root: Path, target: Path) -> Path:
    """Copy the project's files (tracked and untracked-not-ignored, as on disk) to ``target``."""
    listing = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--", "."],
        cwd=root,
        capture_output=True,
        check=False,
        timeout=60,
    )
    if listing.returncode != 0:
        raise DeployError(f"a release of the local backend needs the project in git: {root} is not")
    if target.exists():
        shutil.rmtree(target)
    for name in filter(None, listing.stdout.decode().split("\0")):
        source = root / name
        if not source.is_file() or ".stagewise" in Path(name).parts:
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
    target.mkdir(parents=True, exist_ok=True)
    return target


__all__ = ["SlotBackend", "git_commit", "make_artifact"]
