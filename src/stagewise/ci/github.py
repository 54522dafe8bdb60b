"""The GitHub Actions workflow (``.github/workflows/stagewise.yml``) for a :class:`CiPlan`.

A job that ``needs`` others is skipped when one of them was skipped, unless
its ``if`` holds a status function; so a tier's condition is "nothing before
it failed or was cancelled, and this trigger runs it" (``!cancelled()``), and
it needs every job before it (see :mod:`stagewise.ci.plan`).

A sharded tier's shards split by the test times in ``.stagewise/durations.json``,
which a fresh runner does not have: its ``report-TIER`` job saves the file the
merge updated to the Actions cache, and the next run's shards restore it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stagewise.ci.plan import CHECK_JOB, MARKER, POSTGRES_IMAGE, CheckJob, CiPlan, TierJob, test_command
from stagewise.ci.yaml_out import dump

PATH = ".github/workflows/stagewise.yml"
#: Where --shard reads the recorded test times and `report merge` folds the shards' in.
DURATIONS = ".stagewise/durations.json"
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
    jobs: dict[str, Any] = {}
    if plan.check is not None:
        jobs[CHECK_JOB] = _check_job(plan, plan.check)
    jobs.update({job.tier: _job(plan, job) for job in plan.jobs})
    for job in plan.jobs:
        if job.shards > 1:
            jobs[f"report-{job.tier}"] = _merge_job(plan, job)
    workflow = {"name": "stagewise", "on": on, "jobs": jobs}
    return MARKER + "\n" + dump(workflow)


def _events(triggers: Sequence[str]) -> str:
    return " || ".join(f"github.event_name == '{_EVENT_NAME[t]}'" for t in triggers)


def _after(needs: Sequence[str], triggers: Sequence[str]) -> str:
    """Run when this trigger runs the job and nothing it needs failed (a skipped need is fine)."""
    if not needs:
        return _events(triggers)
    return (
        "${{ !cancelled() && !contains(needs.*.result, 'failure') && "
        f"!contains(needs.*.result, 'cancelled') && ({_events(triggers)}) }}}}"
    )


def _check_job(plan: CiPlan, check: CheckJob) -> dict[str, Any]:
    """The quick check, first on a pull request: lint, types, the unit tier and bandit."""
    return {
        "name": "check (stagewise check)",
        "if": _events([check.trigger]),
        "runs-on": "ubuntu-latest",
        "steps": [
            *_setup(plan, CHECK_JOB, check.install),
            {"name": "stagewise check", "run": "stagewise check"},
            _upload(f"{CHECK_JOB}-report", "reports/"),
        ],
    }


def _job(plan: CiPlan, job: TierJob) -> dict[str, Any]:
    shard = "${{ matrix.shard }}" if job.shards > 1 else None
    body: dict[str, Any] = {
        "name": f"{job.tier} ({', '.join(job.profiles)})",
        "if": _after(job.needs, job.triggers),
        "runs-on": "ubuntu-latest",
    }
    if job.needs:
        body["needs"] = list(job.needs)
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
    durations = [_durations_restore(job.tier)] if shard else []
    body["steps"] = [
        *_setup(plan, job.tier, (job.install,)),
        *durations,
        {"name": f"stagewise test --{job.tier}", "run": " ".join(test_command(job, shard))},
        _upload(f"{name}-report", "reports/"),
    ]
    return body


def _merge_job(plan: CiPlan, job: TierJob) -> dict[str, Any]:
    """A sharded tier's shard runs merged into one verdict (each shard's artifact in its own folder)."""
    return {
        "name": f"merge the {job.tier} shards' reports",
        # a failed shard is merged too: the merged verdict is what says so
        "if": f"${{{{ !cancelled() && needs.{job.tier}.result != 'skipped' && ({_events(job.triggers)}) }}}}",
        "needs": [job.tier],
        "runs-on": "ubuntu-latest",
        "steps": [
            *_setup(plan, "report", ("stagewise",)),
            _durations_restore(job.tier),
            {
                "uses": "actions/download-artifact@v4",
                "with": {"pattern": f"{job.tier}-*-report", "path": f"shards/{job.tier}"},
            },
            {"name": f"one verdict for {job.tier}", "run": f"stagewise report merge shards/{job.tier}/*"},
            {
                "name": "keep the shards' test times for the next split",
                "if": "always()",
                "uses": "actions/cache/save@v4",
                "with": {
                    "path": DURATIONS,
                    "key": f"durations-{job.tier}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}",
                },
            },
            _upload(f"{job.tier}-merged-report", "reports/"),
        ],
    }


def _durations_restore(tier: str) -> dict[str, Any]:
    """The test times the last merge of this tier's shards kept (--shard splits by them)."""
    return {
        "name": "the test times of the last run (for --shard)",
        "uses": "actions/cache/restore@v4",
        "with": {
            "path": DURATIONS,
            "key": f"durations-{tier}-${{{{ github.run_id }}}}",
            "restore-keys": f"durations-{tier}-",
        },
    }


def _setup(plan: CiPlan, job: str, stagewise: Sequence[str]) -> list[dict[str, Any]]:
    install = " ".join(
        ["python -m venv .venv && .venv/bin/pip install", *_quoted(plan.project), *_quoted(stagewise)]
    )
    return [
        {"uses": "actions/checkout@v4"},
        {"uses": "actions/setup-python@v5", "with": {"python-version": plan.python}},
        {
            "name": "cache the venv",
            "uses": "actions/cache@v4",
            "with": {"path": ".venv", "key": _cache_key(job)},
        },
        {"name": "install", "run": install + ' && echo "$PWD/.venv/bin" >> "$GITHUB_PATH"'},
    ]


def _cache_key(job: str) -> str:
    """One venv per job: the jobs install different stagewise extras."""
    return "venv-${{ runner.os }}-" + job + "-${{ hashFiles('pyproject.toml', 'requirements*.txt') }}"


def _quoted(requirements: Sequence[str]) -> list[str]:
    """A requirement with extras is quoted for the shell (``[`` is a glob character)."""
    return [f"'{r}'" if "[" in r else r for r in requirements]


def _upload(name: str, path: str) -> dict[str, Any]:
    """JUnit, coverage and the run page: all under the run's reports folder."""
    return {
        "name": "upload JUnit, coverage and the run page",
        "if": "always()",
        "uses": "actions/upload-artifact@v4",
        "with": {"name": name, "path": path},
    }
