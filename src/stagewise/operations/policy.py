"""The stage policy every deploy and data operation goes through.

- A destructive step (``down --volumes``, ``migrate``, ``restore``) on a
  protected stage runs only when the caller's :data:`Confirm` callback says
  yes; a refusal raises before anything is touched.
- Operations that change something hold the env lock
  (:func:`stagewise.dataops.lock.env_lock`) for their whole duration;
  read-only ones (``status``, ``logs``, ``migrate --check``…) take neither.
- The automatic verified backup before ``migrate``/``restore`` on a
  protected stage, and the put-back on failure, are in
  :mod:`stagewise.dataops.operations`, which refuses to run without the lock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from stagewise.dataops.lock import env_lock, project_locks
from stagewise.errors import UsageError
from stagewise.project.model import Project, StageConfig

#: ``confirm(env, what)``: may ``what`` ("migrate its database") be done on the protected ``env``?
#: It may also raise a :class:`~stagewise.errors.UsageError` that says why it cannot ask.
Confirm = Callable[[str, str], bool]


def refuse(env: str, what: str) -> bool:
    """A :data:`Confirm` that never agrees (library callers that must not touch a protected stage)."""
    return False


def agree(env: str, what: str) -> bool:
    """A :data:`Confirm` that always agrees (``--yes``)."""
    return True


@dataclass(frozen=True)
class Target:
    """The environment an operation acts on.

    ``env`` is the environment its children get (already resolved); ``label``
    is what a second taker of the lock is told holds it.
    """

    project: Project
    stage: str
    env: Mapping[str, str] = field(default_factory=dict)
    backend: str | None = None
    wait: float = 0.0
    label: str = ""

    @property
    def config(self) -> StageConfig:
        """The stage's configuration (a usage error names the valid stages)."""
        if self.stage not in self.project.stages:
            raise UsageError(
                f"unknown environment {self.stage!r}: environments are {', '.join(self.project.stages)}"
            )
        return self.project.stages[self.stage]

    def lock_label(self, command: str) -> str:
        return self.label or f"stagewise deploy {self.stage} {command}"


def confirm_protected(target: Target, what: str, confirm: Confirm) -> None:
    """On a protected stage, ask ``confirm``; a "no" raises and nothing is done."""
    stage = target.config
    if stage.protected and not confirm(stage.name, what):
        raise UsageError(f"not confirmed: nothing done on {stage.name}")


@contextmanager
def guarded(
    target: Target, command: str, *, destructive: str | None = None, confirm: Confirm = refuse
) -> Iterator[None]:
    """Confirm ``destructive`` (if given) on a protected stage, then hold the env lock."""
    if destructive is not None:
        confirm_protected(target, destructive, confirm)
    with env_lock(project_locks(target.project.root), target.stage, target.lock_label(command), target.wait):
        yield
