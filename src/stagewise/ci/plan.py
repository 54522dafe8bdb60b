"""What every CI file holds, whatever the CI: the jobs per tier, their order, shards and services.

Each trigger (pull request, push to main, schedule) runs its profile: the
union of the profiles' tiers gives the jobs, in pyramid order, each needing the
one before it; a job runs only for the triggers whose profile lists its tier.
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.plugins.tiers import tier_order
from stagewise.project.model import Project
from stagewise.project.profiles import ProfileConfig

#: The first line of every file stagewise writes: ``--write`` overwrites only files that carry it.
MARKER = "# Written by `stagewise ci`; edit stagewise.toml and run it again (--write) instead of this file."
POSTGRES_IMAGE = "postgres:16"


@dataclass(frozen=True)
class TierJob:
    """One CI job: a tier, its shard count, the triggers (event names) it runs on, what it needs."""

    tier: str
    shards: int
    triggers: tuple[str, ...]
    profiles: tuple[str, ...]
    needs: str | None


@dataclass(frozen=True)
class CiPlan:
    """The jobs in pyramid order, the profile per trigger, and whether PostgreSQL is needed."""

    jobs: tuple[TierJob, ...]
    profiles: dict[str, ProfileConfig]  # trigger -> profile
    postgres: bool
    python: str = "3.12"

    @property
    def sharded(self) -> bool:
        return any(job.shards > 1 for job in self.jobs)


def ci_plan(project: Project) -> CiPlan:
    """The plan for ``project``: one job per tier any triggered profile runs."""
    by_trigger = {p.trigger: p for p in project.profiles.values() if p.trigger is not None}
    jobs: list[TierJob] = []
    for tier in tier_order():
        using = [(t, p) for t, p in sorted(by_trigger.items()) if tier in p.tiers]
        if not using:
            continue
        shards = max(p.shards.get(tier, 1) for _, p in using)
        jobs.append(
            TierJob(
                tier=tier,
                shards=shards,
                triggers=tuple(t for t, _ in using),
                profiles=tuple(p.name for _, p in using),
                needs=jobs[-1].tier if jobs else None,
            )
        )
    postgres = any(url.startswith(("postgresql", "postgres:")) for url in project.data.urls.values())
    return CiPlan(tuple(jobs), by_trigger, postgres)


def test_command(job: TierJob, shard: str | None) -> list[str]:
    """The job's command line: its tier, under the trigger's profile's stage (via the env)."""
    command = ["stagewise", "test", f"--{job.tier}", "--coverage"]
    if shard is not None:
        command += ["--shard", f"{shard}/{job.shards}"]
    return command
