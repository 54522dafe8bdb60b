"""The GitLab CI file (``.gitlab-ci.yml``) for a :class:`CiPlan`."""

from __future__ import annotations

from typing import Any

from stagewise.ci.plan import MARKER, POSTGRES_IMAGE, CiPlan, TierJob, test_command
from stagewise.ci.yaml_out import dump

PATH = ".gitlab-ci.yml"
_RULE = {
    "pull_request": '$CI_PIPELINE_SOURCE == "merge_request_event"',
    "push": '$CI_PIPELINE_SOURCE == "push" && $CI_COMMIT_BRANCH == "main"',
    "schedule": '$CI_PIPELINE_SOURCE == "schedule"',
}


def render(plan: CiPlan) -> str:
    """The pipeline's text: one stage per tier, in pyramid order."""
    document: dict[str, Any] = {
        "stages": [job.tier for job in plan.jobs] + (["report"] if plan.sharded else []),
        "default": {
            "image": f"python:{plan.python}",
            "cache": {"key": {"files": ["pyproject.toml"]}, "paths": [".venv/"]},
            "before_script": [
                "python -m venv .venv",
                ".venv/bin/pip install -e . stagewise",
                'export PATH="$PWD/.venv/bin:$PATH"',
            ],
        },
    }
    for job in plan.jobs:
        document[job.tier] = _job(plan, job)
    if plan.sharded:
        document["report"] = {
            "stage": "report",
            "when": "always",
            "script": ["stagewise report merge"],
            "artifacts": {"when": "always", "paths": ["reports/"]},
        }
    return MARKER + "\n" + dump(document)


def _job(plan: CiPlan, job: TierJob) -> dict[str, Any]:
    body: dict[str, Any] = {
        "stage": job.tier,
        "rules": [{"if": _RULE[t]} for t in job.triggers],
    }
    if job.needs:
        body["needs"] = [job.needs]
    if job.shards > 1:
        body["parallel"] = job.shards
    if plan.postgres:
        body["services"] = [{"name": POSTGRES_IMAGE, "alias": "postgres"}]
        body["variables"] = {"POSTGRES_HOST_AUTH_METHOD": "trust"}
    body["script"] = [" ".join(test_command(job, "$CI_NODE_INDEX" if job.shards > 1 else None))]
    body["artifacts"] = {
        "when": "always",
        "paths": ["reports/"],
        "reports": {"junit": "reports/latest/*.xml"},
    }
    return body
