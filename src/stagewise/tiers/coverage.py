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


def tier_data_file(run_dir: Path, tier: str) -> Path:
    """Where a tier's coverage data goes in the run's folder (read back by the gate)."""
    return run_dir / f".coverage.{tier}"


def coverage_run(source: tuple[str, ...], run_dir: Path, tier: str) -> CoverageRun:
    """The coverage settings of ``tier`` in this run."""
    return CoverageRun(source=source, data_file=tier_data_file(run_dir, tier))


def coverage_args(run: CoverageRun) -> list[str]:
    """pytest-cov's arguments for the tier (after addopts, so they win where they must)."""
    sources = [f"--cov={source}" for source in run.source] or ["--cov"]
    return [*sources, "--cov-report=", "--cov-fail-under=0"]


def coverage_env(run: CoverageRun) -> dict[str, str]:
    """The child's environment additions: coverage's data file for this tier."""
    return {"COVERAGE_FILE": str(run.data_file)}


__all__ = ["CoverageRun", "coverage_args", "coverage_env", "coverage_run", "tier_data_file"]
