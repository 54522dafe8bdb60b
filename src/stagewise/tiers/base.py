"""The ``Tier`` protocol: what every tier declares and how the pipeline runs it.

A tier is registered by name in :data:`stagewise.plugins.tiers.TIERS` (its
metadata and a lazy ``"module:attr"`` reference to an object following
:class:`Tier`). The pipeline never names a tier: it asks each planned tier for
the tools it needs, lets it validate the project and request before anything
runs, and calls ``run`` with one :class:`TierContext`. What a tier leaves
behind travels as typed evidence on its :class:`~stagewise.tiers.result.TierResult`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from stagewise.project.model import Project, StageConfig
from stagewise.tiers.browser import BrowserRun
from stagewise.tiers.request import TestRequest
from stagewise.tiers.result import TierResult
from stagewise.tiers.tools import Tool


@dataclass(frozen=True)
class TierPlan:
    """One tier as it will run: its paths, marker filter, arguments and coverage choice.

    ``paths`` are the tier's configured paths, or the part of a PATH|NODEID
    selection that falls in it (node ids included); empty paths are pytest's
    own collection (no paths on its command line). ``args`` end with the
    arguments given after ``--``. ``missing_hint`` is added to the message
    when none of the paths exists (where to set them).
    """

    name: str
    paths: tuple[str, ...]
    markers: str | None
    args: tuple[str, ...]
    needs_target: bool
    browser: bool
    coverage: bool
    missing_hint: str = ""
    #: ``--changed``: the tests to keep (the plugin's JSON document), or "" to run the paths whole
    changed_keep: str = ""
    #: ``--changed``: why nothing of this tier runs ("" when it runs); it is reported as skipped-by-change
    skipped_by_change: str = ""
    #: a whole coverage tier in a git project: also record which test touched which file (impact data)
    record_impact: bool = False
    impact_sources: tuple[str, ...] = ()  # what the impact recording measures beside coverage.source


@dataclass(frozen=True)
class ToolNeed:
    """A tool a tier needs; ``in_stagewise`` tools run in stagewise's own interpreter.

    ``check`` names the part of the tier that needs it (a security check);
    a need with no ``tool`` only records that the part runs.
    """

    tool: Tool | None
    in_stagewise: bool = False
    check: str = ""


@dataclass(frozen=True)
class TierContext:
    """Everything a tier's ``run`` may use; the same record for every tier.

    ``root`` is the project root; ``python`` the project's interpreter; ``env``
    the child environment (secrets already resolved, ``secrets`` their values
    to mask); ``run_dir`` this run's report folder; ``log`` relays one line to
    the reporter's output for this tier.
    """

    project: Project
    plan: TierPlan
    request: TestRequest
    root: Path
    python: str
    env: Mapping[str, str]
    run_dir: Path
    target: str
    run_id: str
    secrets: tuple[str, ...]
    verbose: bool
    log: Callable[[str], None]
    color: bool = False
    browser: BrowserRun | None = None


class Tier(Protocol):
    """A kind of test run; implementations are stateless and registered once."""

    @property
    def name(self) -> str: ...

    @property
    def on_request(self) -> bool:
        """Runs only when asked for by name or listed by the stage (``--all`` never pulls it in)."""
        ...

    def tools(self, project: Project, plan: TierPlan, request: TestRequest) -> Sequence[ToolNeed]:
        """The tools this tier needs for the request (checked before any tier runs, exit 4)."""
        ...

    def check_request(self, stage: StageConfig, request: TestRequest, tiers: Sequence[str]) -> None:
        """Usage errors of the request itself (exit 2), before and after tier selection.

        Called for every registered tier, first with the tiers asked for, then
        with the tiers chosen; ``tiers`` may not include this one.
        """
        ...

    def validate(self, project: Project, request: TestRequest) -> None:
        """Config and usage errors (exit 2/3) of a planned tier, before anything runs."""
        ...

    def run(self, context: TierContext) -> TierResult:
        """Run the tier; a failure is a result, never an exception (except interrupts)."""
        ...


__all__ = ["Tier", "TierContext", "TierPlan", "ToolNeed"]
