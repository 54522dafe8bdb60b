"""What the user asked ``stagewise test`` for, parsed: every tier reads its options from it.

It lives below the pipeline so each tier's ``validate``/``tools``/``run`` can
take it without importing the pipeline; :mod:`stagewise.pipeline.test_run`
re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the performance tier is imported only when a run uses it (startup time)
    from stagewise.project.profiles import ProfileConfig
    from stagewise.tiers.performance.scenarios import LoadRequest


@dataclass(frozen=True)
class TestRequest:
    """What the user asked ``stagewise test`` for, already parsed."""

    __test__ = False  # not a pytest test class, despite the name

    tiers: tuple[str, ...] = ()
    run_all: bool = False
    stage: str | None = None
    coverage: bool = False
    verbose: bool = False
    host: str | None = None
    headless: bool = True
    install_missing: bool = False
    reruns: int = 0
    reports_dir: Path | None = None
    color: bool = False
    extra_markers: str | None = None
    auto_start: bool = True
    load: LoadRequest | None = None  # --performance's flags (scenario, users, baselines, ...)
    resilience_scenario: str | None = None  # --resilience --scenario NAME
    active: bool = False  # --security: also run ZAP's active scan
    yes: bool = False  # confirms a security scan on a protected stage
    selection: tuple[str, ...] = ()  # PATH|NODEID items: each runs in the tier whose paths hold it
    selection_base: Path | None = None  # what relative items are relative to (default: the project root)
    pytest_args: tuple[str, ...] = ()  # after ``--``: reach each pytest tier after stagewise's own
    keyword: str | None = None  # ``-k EXPR``, passed to each pytest tier
    relay_output: bool = True  # pytest's own lines reach the reporter (--no-progress without -v: log only)
    profile: ProfileConfig | None = None  # --profile NAME: its budget is checked when the run ends
    shard: tuple[int, int] | None = None  # --shard K/N: this runner runs shard K of N
    changed: bool = False  # --changed [REF]: only the tests the change against REF affects
    changed_ref: str | None = None  # REF (None: the merge base with the main branch)
