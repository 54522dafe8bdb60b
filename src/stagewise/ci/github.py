"""The GitHub Actions workflow (``.github/workflows/stagewise.yml``) for a :class:`CiPlan`."""

from __future__ import annotations

from typing import Any

from stagewise.ci.plan import MARKER, POSTGRES_IMAGE, CiPlan, TierJob, test_command
from stagewise.ci.yaml_out import dump

PATH = ".github/workflows/stagewise.yml"
NIGHTLY_CRON = "0 3 * * *"
_EVENT_NAME = {"pull_request": "pull_request", "push": "push", "schedule": "schedule"}


def render(plan: CiPlan) -> str:
    """The workflow's text."""
    on: dict[str, Any] = {}
    if "pull_request" in plan.profiles:
        on["pull_request"] = {}
    if "push" in plan.profiles:
        on["push"] = {"branches": ["main"]}
    if "schedule" in plan.profiles:
        on["schedule"] = [{"cron": NIGHTLY_CRON}]
    jobs: dict[str, Any] = {job.tier: _job(plan, job) for job in plan.jobs}
    if plan.sharded:
        jobs["report"] = {
            "name": "merge the shards' reports",
            "if": "always()",
            "needs": [job.tier for job in plan.jobs],
            "runs-on": "ubuntu-latest",
            "steps": [
                *_setup(plan),
                {"uses": "actions/download-artifact@v4", "with": {"path": "reports", "merge-multiple": True}},
                {"run": "stagewise report merge"},
                _upload("stagewise-report", "reports/"),
            ],
        }
    workflow = {"name": "stagewise", "on": on, "jobs": jobs}
    return MARKER + "\n" + dump(workflow)


def _job(plan: CiPlan, job: TierJob) -> dict[str, Any]:
    runs = " || ".join(f"github.event_name == '{_EVENT_NAME[t]}'" for t in job.triggers)
    shard = "${{ matrix.shard }}" if job.shards > 1 else None
    body: dict[str, Any] = {
        "name": f"{job.tier} ({', '.join(job.profiles)})",
        "if": runs,
        "runs-on": "ubuntu-latest",
    }
    if job.needs:
        body["needs"] = job.needs
    if job.shards > 1:
        body["strategy"] = {"fail-fast": False, "matrix": {"shard": list(range(1, job.shards + 1))}}
    if plan.postgres:
        body["services"] = {
            "postgres": {
                "image": POSTGRES_IMAGE,
                "env": {"POSTGRES_HOST_AUTH_METHOD": "trust"},
                "ports": ["5432:5432"],
                "options": "--health-cmd pg_isready --health-interval 5s --health-retries 10",
            }
        }
    name = f"{job.tier}-{shard}" if shard else job.tier
    body["steps"] = [
        *_setup(plan),
        {"name": f"stagewise test --{job.tier}", "run": " ".join(test_command(job, shard))},
        _upload(f"{name}-report", "reports/"),
    ]
    return body


def _setup(plan: CiPlan) -> list[dict[str, Any]]:
    return [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": plan.python}},
        {
            "name": "cache the venv",
            "uses": "actions/cache@v4",
            "with": {"path": ".venv", "key": "venv-${{ runner.os }}-${{ hashFiles('pyproject.toml') }}"},
        },
        {
            "name": "install",
            "run": "python -m venv .venv && .venv/bin/pip install -e . stagewise && "
            'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"',
        },
    ]


def _upload(name: str, path: str) -> dict[str, Any]:
    """JUnit, coverage and the run page: all under the run's reports folder."""
    return {
        "name": "upload JUnit, coverage and the run page",
        "if": "always()",
        "uses": "actions/upload-artifact@v4",
        "with": {"name": name, "path": path},
    }
