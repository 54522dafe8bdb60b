"""``stagewise ci github|gitlab``: the files are valid for their CI and have the structure it reads.

Each written file is checked by its CI's schema (check-jsonschema, offline)
and the workflow by GitHub Actions' own linter (actionlint, see
:mod:`tests.integration.ci.linters`); then parsed with PyYAML and checked
structurally: the quick check first on pull requests, jobs per tier in pyramid
order each needing every job before it, shards as a matrix merged per tier,
PostgreSQL when the data config uses it, the venv cached, reports uploaded,
each trigger mapped to its profile's tiers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ProjectFactory, requires
from tests.helpers import run_cli
from tests.integration.ci.linters import ACTIONLINT_MISSING, HAVE_ACTIONLINT, actionlint, schema_errors

SHOP = Path(__file__).resolve().parents[3] / "examples" / "shop"
SHARDED = '[profiles.main]\nshards = {e2e = 3}\n[data.urls]\nstaging = "postgresql://postgres@127.0.0.1/x"\n'
#: Profiles whose tiers are not a prefix of the pyramid: a job's trigger skips the one before it.
GAPPED = '[profiles.pr]\ntiers = ["unit", "api"]\n[profiles.main]\ntiers = ["integration"]\n'
TIERS = ["unit", "integration", "api", "e2e", "performance", "security"]


def _yaml(text: str) -> dict[str, Any]:
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def _written(root: Path, which: str, tmp_path: Path) -> Path:
    done = run_cli("ci", which, cwd=root)
    assert done.returncode == 0, done.stderr
    path = tmp_path / f"{which}.yml"
    path.write_text(done.stdout, encoding="utf-8")
    return path


def _on(workflow: dict[str, Any]) -> dict[str, Any]:
    on = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as true
    assert isinstance(on, dict)
    return on


@pytest.mark.parametrize("which", ["github", "gitlab"])
@pytest.mark.parametrize("project", ["shop", "sharded", "gapped", "plain"])
def test_written_files_pass_their_ci_schema(
    which: str, project: str, make_project: ProjectFactory, tmp_path: Path
) -> None:
    files = {"sharded": SHARDED, "gapped": GAPPED, "plain": ""}
    root = SHOP if project == "shop" else Path(make_project({"stagewise.toml": files[project]}))
    assert schema_errors(_written(root, which, tmp_path), which) == ""


@pytest.mark.parametrize("which", ["github", "gitlab"])
def test_the_schema_check_rejects_a_broken_file(which: str, tmp_path: Path) -> None:
    """The check above can fail: a job with a misspelt key is refused by the same schema."""
    broken = tmp_path / "broken.yml"
    body = (
        "on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n"
        if which == "github"
        else "a:\n  scriptz: [x]\n"
    )
    broken.write_text(body, encoding="utf-8")
    assert schema_errors(broken, which) != ""


@requires(HAVE_ACTIONLINT, ACTIONLINT_MISSING)
@pytest.mark.parametrize("project", ["shop", "sharded", "gapped"])
def test_actionlint_finds_nothing_in_the_workflow(
    project: str, make_project: ProjectFactory, tmp_path: Path
) -> None:
    files = {"sharded": SHARDED, "gapped": GAPPED}
    root = SHOP if project == "shop" else Path(make_project({"stagewise.toml": files[project]}))
    assert actionlint(_written(root, "github", tmp_path)) == []


@requires(HAVE_ACTIONLINT, ACTIONLINT_MISSING)
def test_actionlint_catches_a_job_needing_a_missing_one(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(
        "on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: [check]\n    steps:\n      - run: 'true'\n",
        encoding="utf-8",
    )
    assert [f["kind"] for f in actionlint(broken)] == ["job-needs"]


def test_github_workflow_runs_the_check_first_then_a_job_per_tier_in_pyramid_order() -> None:
    done = run_cli("ci", "github", cwd=SHOP)
    assert done.returncode == 0, done.stderr
    workflow = _yaml(done.stdout)
    on = _on(workflow)
    assert set(on) == {"pull_request", "push", "schedule"}
    assert on["push"]["branches"] == ["main"]
    jobs = workflow["jobs"]
    assert list(jobs) == ["check", *TIERS]
    check = jobs["check"]
    assert check["if"] == "github.event_name == 'pull_request'"
    assert "needs" not in check
    assert any(step.get("run") == "stagewise check" for step in check["steps"])
    install = next(step["run"] for step in check["steps"] if step.get("name") == "install")
    assert "ruff" in install  # shop configures ruff: the check's lint step is required there
    assert "bandit" in install
    assert "-e '.[test]'" in install  # the project's pytest comes from its test extra
    for index, tier in enumerate(TIERS):
        assert jobs[tier]["needs"] == ["check", *TIERS[:index]], tier
        assert "!contains(needs.*.result, 'failure')" in jobs[tier]["if"]
    assert "pull_request" in jobs["api"]["if"]
    assert "pull_request" not in jobs["e2e"]["if"]
    assert "github.event_name == 'schedule'" in jobs["performance"]["if"]
    assert "push" not in jobs["performance"]["if"]
    for name, job in jobs.items():
        uses = [step.get("uses", "") for step in job["steps"]]
        assert "actions/cache@v4" in uses, name
        upload = next(step for step in job["steps"] if step.get("uses") == "actions/upload-artifact@v4")
        assert upload["with"] == {"name": f"{name}-report", "path": "reports/"}
        assert upload["if"] == "always()"
        if name != "check":
            assert any(step.get("run") == f"stagewise test --{name} --coverage" for step in job["steps"])
            # shop's staging is PostgreSQL
            assert job["services"]["postgres"]["image"].startswith("postgres:")
    e2e_install = next(step["run"] for step in jobs["e2e"]["steps"] if step.get("name") == "install")
    assert "'stagewise[coverage,e2e]'" in e2e_install


def test_without_a_pull_request_profile_there_is_no_check_job(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[profiles.pr]\ntrigger = "push"\ntiers = ["unit"]\n'})
    # pr now answers pushes (main, after it among the built-ins, keeps them): none answers pull requests
    done = run_cli("ci", "github", cwd=root)
    assert done.returncode == 0, done.stderr
    workflow = _yaml(done.stdout)
    assert "pull_request" not in _on(workflow)
    assert "check" not in workflow["jobs"]
    assert "needs" not in workflow["jobs"]["unit"]


def test_a_job_runs_after_a_tier_its_trigger_skips(make_project: ProjectFactory, tmp_path: Path) -> None:
    """pr runs unit and api, not integration: api must still run on a pull request, after unit."""
    root = Path(make_project({"stagewise.toml": GAPPED}))
    jobs = _yaml(_written(root, "github", tmp_path).read_text())["jobs"]
    assert jobs["api"]["needs"] == ["check", "unit", "integration"]
    condition = jobs["api"]["if"]
    assert condition.startswith("${{ !cancelled()")  # a skipped need does not skip it
    assert "github.event_name == 'pull_request'" in condition
    assert "github.event_name == 'push'" not in jobs["api"]["if"]
    gitlab = _yaml(_written(root, "gitlab", tmp_path).read_text())
    assert gitlab["api"]["needs"] == [
        {"job": name, "optional": True} for name in ("check", "unit", "integration")
    ]


def test_github_shards_are_a_matrix_merged_by_a_job_of_their_own(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": SHARDED})
    done = run_cli("ci", "github", cwd=root)
    assert done.returncode == 0, done.stderr
    jobs = _yaml(done.stdout)["jobs"]
    assert jobs["e2e"]["strategy"]["matrix"]["shard"] == [1, 2, 3]
    assert "--shard ${{ matrix.shard }}/3" in jobs["e2e"]["steps"][-2]["run"]
    assert jobs["e2e"]["steps"][-1]["with"]["name"] == "e2e-${{ matrix.shard }}-report"
    assert "strategy" not in jobs["unit"]
    merge = jobs["report-e2e"]
    assert merge["needs"] == ["e2e"]
    assert "needs.e2e.result != 'skipped'" in merge["if"]  # a failed shard is still merged
    download = next(s for s in merge["steps"] if s.get("uses") == "actions/download-artifact@v4")
    assert download["with"] == {"pattern": "e2e-*-report", "path": "shards/e2e"}
    assert any(step.get("run") == "stagewise report merge shards/e2e/*" for step in merge["steps"])
    # the merge updates the recorded test times; the next run's shards split by them
    saved = next(s for s in merge["steps"] if s.get("uses") == "actions/cache/save@v4")
    assert saved["with"]["path"] == ".stagewise/durations.json"
    assert saved["with"]["key"].startswith("durations-e2e-")
    restored = next(s for s in jobs["e2e"]["steps"] if s.get("uses") == "actions/cache/restore@v4")
    assert restored["with"]["restore-keys"] == "durations-e2e-"
    steps = [s.get("uses") or s.get("run") for s in jobs["e2e"]["steps"]]
    assert steps.index("actions/cache/restore@v4") < next(i for i, s in enumerate(steps) if "--shard" in s)
    assert all(s.get("uses") != "actions/cache/restore@v4" for s in jobs["unit"]["steps"])


def test_a_profile_a_project_adds_takes_its_trigger_over(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[profiles.fast]\ntiers = ["unit"]\ntrigger = "push"\n'})
    jobs = _yaml(run_cli("ci", "github", cwd=root).stdout)["jobs"]
    assert jobs["unit"]["name"] == "unit (pr, fast, nightly)"
    assert "github.event_name == 'push'" not in jobs["integration"]["if"]
    assert jobs["e2e"]["name"] == "e2e (nightly)"


def test_a_project_without_postgresql_gets_no_service(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": ""})
    jobs = _yaml(run_cli("ci", "github", cwd=root).stdout)["jobs"]
    assert all("services" not in job for job in jobs.values())


def test_gitlab_pipeline_has_the_check_then_stages_in_order_rules_and_parallel(
    make_project: ProjectFactory,
) -> None:
    root = make_project({"stagewise.toml": SHARDED})
    done = run_cli("ci", "gitlab", cwd=root)
    assert done.returncode == 0, done.stderr
    pipeline = _yaml(done.stdout)
    assert pipeline["stages"] == ["check", *TIERS, "report"]
    assert pipeline["default"]["cache"]["paths"] == [".venv/"]
    check = pipeline["check"]
    assert check["stage"] == "check"
    assert check["script"][-1] == "stagewise check"
    assert [r["if"] for r in check["rules"]] == ['$CI_PIPELINE_SOURCE == "merge_request_event"']
    assert check["artifacts"]["reports"]["junit"].startswith("reports/")
    e2e = pipeline["e2e"]
    assert e2e["stage"] == "e2e"
    assert [n["job"] for n in e2e["needs"]] == ["check", "unit", "integration", "api"]
    assert all(n["optional"] for n in e2e["needs"])
    assert e2e["parallel"] == 3
    assert e2e["script"][-1] == (
        "stagewise test --e2e --coverage --shard $CI_NODE_INDEX/3 --reports-dir reports/e2e-$CI_NODE_INDEX"
    )
    assert e2e["artifacts"]["reports"]["junit"].startswith("reports/")
    assert e2e["services"][0]["alias"] == "postgres"
    rules = [r["if"] for r in pipeline["api"]["rules"]]
    assert any("merge_request_event" in r for r in rules)
    assert all("merge_request_event" not in r["if"] for r in pipeline["e2e"]["rules"])
    caches = {c["key"] if isinstance(c["key"], str) else "venv": c for c in e2e["cache"]}
    assert caches["durations-e2e"] == {
        "key": "durations-e2e", "paths": [".stagewise/durations.json"], "policy": "pull",
    }  # fmt: skip
    report = pipeline["report-e2e"]
    assert {"key": "durations-e2e", "paths": [".stagewise/durations.json"], "policy": "pull-push"} in report[
        "cache"
    ]
    assert report["script"][-1] == "stagewise report merge reports/e2e-*"
    assert report["needs"] == [{"job": "e2e", "artifacts": True}]
    assert {r["when"] for r in report["rules"]} == {"always"}


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
