"""The pytest-cov arguments and environment of one tier that measures coverage (``--coverage``).

Each coverage tier writes its own data file (``<run_dir>/.coverage.<tier>``),
so a tier's own number is known and the run's combined number is computed
once, after the tiers, by :mod:`stagewise.pipeline.coverage_gate`. The
project's own pytest-cov options in ``addopts`` stay as they are: its
``--cov=X`` may add data (stagewise's numbers count only ``coverage.source``)
and its ``--cov-report=X`` is still written, as bare pytest would. Two
options are overridden, placed after addopts where pytest-cov's last value
wins: ``--cov-fail-under=0`` (the fail-under is stagewise's gate, applied
once to the combined data, never per tier by pytest) and an empty
``--cov-report=`` (pytest-cov's default terminal table per tier would be
over partial data; stagewise writes the run's reports once).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class CoverageRun:
    """Coverage settings for one tier: what to measure and the tier's own data file."""

    source: tuple[str, ...]
    data_file: Path
    #: impact data (``--changed``): also measure these test folders, and record each test as a context
    impact_sources: tuple[str, ...] = ()
    contexts: bool = False


def tier_data_file(run_dir: Path, tier: str) -> Path:
    """Where a tier's coverage data goes in the run's folder (read back by the gate)."""
    return run_dir / f".coverage.{tier}"


def coverage_run(
    source: tuple[str, ...], run_dir: Path, tier: str, impact_sources: tuple[str, ...] | None = None
) -> CoverageRun:
    """The coverage settings of ``tier`` in this run; ``impact_sources`` set: it records impact data too."""
    return CoverageRun(
        source=source,
        data_file=tier_data_file(run_dir, tier),
        impact_sources=impact_sources or (),
        contexts=impact_sources is not None,
    )


def coverage_args(run: CoverageRun) -> list[str]:
    """pytest-cov's arguments for the tier (after addopts, so they win where they must).

    Recording impact data adds the test folders to what is measured (never to
    a figure: the gates count ``coverage.source`` only) and names each test's
    lines by the test (``--cov-context=test``). With no source configured a
    bare ``--cov`` already measures every file, the tests' too.
    """
    sources = [f"--cov={source}" for source in run.source] or ["--cov"]
    if run.source:
        sources += [f"--cov={extra}" for extra in run.impact_sources if extra not in run.source]
    contexts = ["--cov-context=test"] if run.contexts else []
    return [*sources, *contexts, "--cov-report=", "--cov-fail-under=0"]


def coverage_env(run: CoverageRun) -> dict[str, str]:
    """The child's environment additions: coverage's data file for this tier."""
    return {"COVERAGE_FILE": str(run.data_file)}


__all__ = ["CoverageRun", "coverage_args", "coverage_env", "coverage_run", "tier_data_file"]
