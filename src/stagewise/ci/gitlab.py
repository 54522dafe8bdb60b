"""The GitLab CI file (``.gitlab-ci.yml``) for a :class:`CiPlan`.

Every ``needs`` entry is ``optional``: a job its trigger's rules leave out of
the pipeline would otherwise make GitLab refuse the whole pipeline. A job
runs (``on_success``) only when every job it needs that is in the pipeline
passed, so a failure anywhere before it stops it. A sharded tier's shards
pull the recorded test times from a cache of their own that their merge job
pushes after folding the shards' times in.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stagewise.ci.plan import CHECK_JOB, MARKER, POSTGRES_IMAGE, CheckJob, CiPlan, TierJob, test_command
from stagewise.ci.yaml_out import dump

PATH = ".gitlab-ci.yml"
_RULE = {
    "pull_request": '$CI_PIPELINE_SOURCE == "merge_request_event"',
    "push": '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"',
    "schedule": '$CI_PIPELINE_SOURCE == "schedule"',
}
#: Where JUnit files are, for GitLab's test report (a shard keeps its run under reports/TIER-K/).
JUNIT = "reports/**/junit-*.xml"


def render(plan: CiPlan) -> str:
    """The pipeline's text: the quick check's stage, then one stage per tier, in pyramid order."""
    sharded = [job for job in plan.jobs if job.shards > 1]
    document: dict[str, Any] = {
        "stages": ([CHECK_JOB] if plan.check else [])
        + [job.tier for job in plan.jobs]
        + (["report"] if sharded else []),
        "default": {
            "image": f"python:{plan.python}",
            "cache": _venv_cache(),
            "before_script": ["python -m venv .venv", 'export PATH="$PWD/.venv/bin:$PATH"'],
        },
    }
    if plan.check is not None:
        document[CHECK_JOB] = _check_job(plan, plan.check)
    for job in plan.jobs:
        document[job.tier] = _job(plan, job)
    for job in sharded:
        document[f"report-{job.tier}"] = {
            "stage": "report",
            "rules": [{"if": _RULE[t], "when": "always"} for t in job.triggers],
            "needs": [{"job": job.tier, "artifacts": True}],
            "cache": [_venv_cache(), _durations_cache(job.tier, "pull-push")],
            "script": [_install(plan, ("stagewise",)), f"stagewise report merge reports/{job.tier}-*"],
            "artifacts": {"when": "always", "paths": ["reports/"]},
        }
    return MARKER + "\n" + dump(document)


def _venv_cache() -> dict[str, Any]:
    """One venv per stage: the jobs install different stagewise extras."""
    return {"key": {"files": ["pyproject.toml"], "prefix": "$CI_JOB_STAGE"}, "paths": [".venv/"]}


def _durations_cache(tier: str, policy: str) -> dict[str, Any]:
    """The test times --shard splits by: the shards pull them, the merge (which updates them) pushes."""
    return {"key": f"durations-{tier}", "paths": [".stagewise/durations.json"], "policy": policy}


def _install(plan: CiPlan, stagewise: Sequence[str]) -> str:
    quoted = [f"'{r}'" if "[" in r else r for r in (*plan.project, *stagewise)]
    return " ".join(["pip install", *quoted])


def _needs(needs: Sequence[str]) -> list[dict[str, Any]]:
    return [{"job": name, "optional": True} for name in needs]


def _artifacts() -> dict[str, Any]:
    return {"when": "always", "paths": ["reports/"], "reports": {"junit": JUNIT}}


def _check_job(plan: CiPlan, check: CheckJob) -> dict[str, Any]:
    return {
        "stage": CHECK_JOB,
        "rules": [{"if": _RULE[check.trigger]}],
        "script": [_install(plan, check.install), "stagewise check"],
        "artifacts": _artifacts(),
    }


def _job(plan: CiPlan, job: TierJob) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stage": job.tier,
        "rules": [{"if": _RULE[t]} for t in job.triggers],
    }
    if job.needs:
        body["needs"] = _needs(job.needs)
    command = test_command(job, "$CI_NODE_INDEX" if job.shards > 1 else None)
    if job.shards > 1:
        body["parallel"] = job.shards
        body["cache"] = [_venv_cache(), _durations_cache(job.tier, "pull")]
        command += ["--reports-dir", f"reports/{job.tier}-$CI_NODE_INDEX"]  # one folder per shard to merge
    if plan.postgres:
        body["services"] = [{"name": POSTGRES_IMAGE, "alias": "postgres"}]
        body["variables"] = {"POSTGRES_HOST_AUTH_METHOD": "trust"}
    body["script"] = [_install(plan, (job.install,)), " ".join(command)]
    body["artifacts"] = _artifacts()
    return body
