"""The security tier's exit codes and guards: unreachable target, protected stages, config, allow-list.

Each test runs the real CLI on a throwaway project; the target is a real
static HTTP server on 127.0.0.1 (``static_site``) or a port nothing listens on.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli

INSECURE = 'import subprocess\n\n\ndef run(cmd: str) -> int:\n    return subprocess.call(f"echo {cmd}", shell=True)\n'
ONLY_BANDIT = '[project]\nsource = ["app"]\n\n[security]\nchecks = ["bandit"]\nallowlist = "accepted.toml"\n'


def _accept(expires: str, reason: str = "the input is a constant in every caller") -> str:
    return f'[[accept]]\nid = "B602"\nlocation = "app/*.py:*"\nreason = "{reason}"\nexpires = {expires}\n'


def test_an_unreachable_target_is_exit_4_and_says_so(make_project: ProjectFactory) -> None:
    root = make_project({"app/main.py": INSECURE})
    target = f"http://127.0.0.1:{free_port()}"
    done = run_cli("test", "--security", "--target", target, "--no-progress", cwd=root)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"nothing answers at {target}" in done.stdout


def test_active_on_a_protected_stage_without_yes_is_refused_before_anything_runs(
    make_project: ProjectFactory,
) -> None:
    root = make_project({"stagewise.toml": '[stages.prod]\ntiers = ["security"]\n'})
    done = run_cli("test", "--security", "--active", "--stage", "prod", "--no-progress", cwd=root)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (
        "prod is protected: refusing to run an active security scan (--active) against it without --yes"
        in (done.stderr)
    )
    assert not (root / "reports").exists()  # refused before a run folder, a tool or a request


def test_yes_lets_a_protected_stage_scan_through_the_guard(make_project: ProjectFactory) -> None:
    port = free_port()
    root = make_project(
        {"stagewise.toml": f'[stages.prod]\ntiers = ["security"]\nbase_url = "http://127.0.0.1:{port}"\n'}
    )
    done = run_cli("test", "--security", "--active", "--yes", "--stage", "prod", "--no-progress", cwd=root)
    assert done.returncode == 4, done.stdout + done.stderr  # past the guard: the (absent) target is next
    assert "protected" not in done.stderr


def test_active_without_the_security_tier_is_a_usage_error(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_x.py": "def test_x():\n    pass\n"})
    done = run_cli("test", "--unit", "--active", cwd=root)
    assert done.returncode == 2
    assert "--active applies to the security tier: add --security" in done.stderr


def test_an_invalid_security_key_is_exit_3_naming_file_and_key(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": "[security.fuzz]\nmax_exampels = 5\n"})
    done = run_cli("test", "--security", cwd=root)
    assert done.returncode == 3
    assert f"{root / 'stagewise.toml'}: security.fuzz.max_exampels: unknown key" in done.stderr


def test_an_allowlist_entry_without_a_reason_is_exit_3(
    make_project: ProjectFactory, static_site: str
) -> None:
    root = make_project(
        {
            "stagewise.toml": ONLY_BANDIT,
            "app/main.py": INSECURE,
            "accepted.toml": _accept("2099-01-01", reason=""),
        }
    )
    done = run_cli("test", "--security", "--target", static_site, cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    assert f"{root / 'accepted.toml'}: accept[0].reason: is required" in done.stderr


@pytest.mark.parametrize(("expires", "code"), [("2099-01-01", 0), ("2020-01-01", 1)])
def test_an_accepted_finding_passes_until_its_entry_expires(
    make_project: ProjectFactory, static_site: str, expires: str, code: int
) -> None:
    root = make_project(
        {"stagewise.toml": ONLY_BANDIT, "app/main.py": INSECURE, "accepted.toml": _accept(expires)}
    )
    done = run_cli(
        "test", "--security", "--target", static_site, "--reports-dir", str(root / "out"), cwd=root
    )
    assert done.returncode == code, done.stdout + done.stderr
    [run_dir] = [p for p in (root / "out").iterdir() if p.name != "latest" and p.is_dir()]
    document = json.loads((run_dir / "security" / "findings.json").read_text())
    [finding] = [f for f in document["findings"] if f["id"] == "B602"]
    if code == 0:
        assert "until 2099-01-01: the input is a constant in every caller" in finding["suppressed_by"]
        assert document["counts"]["high"] == 0
        assert "B602 subprocess call with shell=True" in done.stdout
        assert "[accepted]" in done.stdout
    else:
        assert finding["suppressed_by"] is None
        assert document["counts"]["high"] == 1
        assert "accept[0] for B602 expired on 2020-01-01: it no longer suppresses" in done.stdout


def test_the_gate_level_is_configurable(make_project: ProjectFactory, static_site: str) -> None:
    low_only = 'import subprocess\n\n\ndef run() -> int:\n    return subprocess.call(["true"])\n'
    config = '[project]\nsource = ["app"]\n\n[security]\nchecks = ["bandit"]\nfail_on = "low"\n'
    root = make_project({"stagewise.toml": config, "app/main.py": low_only})
    done = run_cli("test", "--security", "--target", static_site, cwd=root)
    assert done.returncode == 1, done.stdout  # B404/B603 are low: they fail a gate at "low"
    assert "gate failed:" in done.stdout
    assert "at or above low" in done.stdout
    (root / "stagewise.toml").write_text(config.replace('"low"', '"medium"'))
    assert run_cli("test", "--security", "--target", static_site, cwd=root).returncode == 0


def test_the_projects_own_security_tests_run_and_can_fail_the_tier(
    make_project: ProjectFactory, static_site: str
) -> None:
    test = "import os\n\n\ndef test_target_is_https():\n    assert os.environ['STAGEWISE_BASE_URL'].startswith('https://')\n"
    root = make_project(
        {"stagewise.toml": '[security]\nchecks = ["passive"]\n', "tests/security/test_rules.py": test}
    )
    done = run_cli("test", "--security", "--target", static_site, cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "SW-PROJECT-TEST" in done.stdout
    assert "test_target_is_https" in done.stdout


def test_target_and_host_must_agree(make_project: ProjectFactory) -> None:
    root = make_project({})
    done = run_cli(
        "test", "--security", "--host", "http://127.0.0.1:1", "--target", "http://127.0.0.1:2", cwd=root
    )
    assert done.returncode == 2
    assert "disagree" in done.stderr


def test_the_report_page_shows_findings_by_severity(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project(
        {"stagewise.toml": ONLY_BANDIT.replace('allowlist = "accepted.toml"\n', ""), "app/main.py": INSECURE}
    )
    run_cli("test", "--security", "--target", static_site, "--reports-dir", str(root / "out"), cwd=root)
    page = (root / "out" / "latest" / "index.html").read_text()
    assert "<section id='findings'>" in page
    assert "data-severity='high'" in page
    assert "B602" in page
    assert "pass an argument list with shell=False" in page  # the fix travels with the finding


def test_a_configured_zap_daemon_that_does_not_answer_is_exit_4(
    make_project: ProjectFactory, static_site: str
) -> None:
    zap = f"http://127.0.0.1:{free_port()}"
    root = make_project(
        {"stagewise.toml": f'[security]\nchecks = ["zap"]\n\n[security.zap]\nurl = "{zap}"\n'}
    )
    done = run_cli("test", "--security", "--target", static_site, "--no-progress", cwd=root)
    assert done.returncode == 4, done.stdout + done.stderr
    assert f"zap: not run (the ZAP daemon at {zap} does not answer" in done.stdout


def test_verbose_relays_the_tools_own_output(make_project: ProjectFactory, static_site: str) -> None:
    root = make_project(
        {"stagewise.toml": '[security]\nchecks = ["dependencies"]\n', "requirements.txt": "pip\n"}
    )
    quiet = run_cli("test", "--security", "--target", static_site, "--no-progress", cwd=root)
    loud = run_cli("test", "--security", "--target", static_site, "--no-progress", "--verbose", cwd=root)
    marker = "--no-deps is supported"  # pip-audit's own warning, relayed only with --verbose
    assert marker not in quiet.stdout
    assert marker in loud.stdout
    assert (root / "reports" / "latest" / "security.log").read_text().count(marker) == 1
