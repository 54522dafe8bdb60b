"""What every CI file holds, whatever the CI: the jobs per tier, their order, shards and services.

Each trigger (pull request, push to main, schedule) runs its profile: the
union of the profiles' tiers gives the jobs, in pyramid order; a job runs only
for the triggers whose profile lists its tier. On a pull request the quick
check (``stagewise check``) runs first. Every job needs *all* the jobs before
it, not only the one before: a job left out by its trigger is skipped, and a
job that needs only a skipped one could not tell that skip from one caused by
a failure further up; needing them all, a job runs when none of them failed.
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.ci.install import check_install, project_install, tier_install
from stagewise.plugins.tiers import tier_order
from stagewise.project.model import Project
from stagewise.project.profiles import ProfileConfig

#: The first line of every file stagewise writes: ``--write`` overwrites only files that carry it.
MARKER = "# Written by `stagewise ci`; edit stagewise.toml and run it again (--write) instead of this file."
POSTGRES_IMAGE = "postgres:16"
#: The quick check's job (and GitLab stage) name.
CHECK_JOB = "check"
#: The trigger the quick check runs on.
CHECK_TRIGGER = "pull_request"


@dataclass(frozen=True)
class TierJob:
    """One CI job: a tier, its shard count, the triggers (event names) it runs on, the jobs it needs.

    ``install``: the stagewise requirement the job installs beside the project.
    """

    tier: str
    shards: int
    triggers: tuple[str, ...]
    profiles: tuple[str, ...]
    needs: tuple[str, ...]
    install: str = "stagewise[coverage]"


@dataclass(frozen=True)
class CheckJob:
    """The quick check's job: on pull requests, before every tier; what it installs."""

    install: tuple[str, ...]
    trigger: str = CHECK_TRIGGER


@dataclass(frozen=True)
class CiPlan:
    """The jobs in pyramid order, the profile per trigger, and whether PostgreSQL is needed.

    ``check``: the quick check's job, or ``None`` when no profile answers pull
    requests. ``project``: the pip arguments that install the project itself.
    """

    jobs: tuple[TierJob, ...]
    profiles: dict[str, ProfileConfig]  # trigger -> profile
    postgres: bool
    python: str = "3.12"
    check: CheckJob | None = None
    project: tuple[str, ...] = ("-e", ".")

    @property
    def sharded(self) -> bool:
        return any(job.shards > 1 for job in self.jobs)


def ci_plan(project: Project) -> CiPlan:
    """The plan for ``project``: one job per tier any triggered profile runs."""
    by_trigger = {p.trigger: p for p in project.profiles.values() if p.trigger is not None}
    check = CheckJob(check_install(project)) if CHECK_TRIGGER in by_trigger else None
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
                needs=(*([CHECK_JOB] if check else []), *(j.tier for j in jobs)),
                install=tier_install(tier),
            )
        )
    postgres = any(url.startswith(("postgresql", "postgres:")) for url in project.data.urls.values())
    return CiPlan(tuple(jobs), by_trigger, postgres, check=check, project=project_install(project.root))


def test_command(job: TierJob, shard: str | None) -> list[str]:
    """The job's command line: its tier, with coverage."""
    command = ["stagewise", "test", f"--{job.tier}", "--coverage"]
    if shard is not None:
        command += ["--shard", f"{shard}/{job.shards}"]
    return command
