"""Every problem planted in the vulnerable app is found by its check, with a precise message.

One real ``stagewise test --security`` run against the app under uvicorn
(module fixture ``vuln_run``); each test reads that run's evidence. A second
run points pip-audit at a local OSV feed so the planted dependency is
reported for real (the public feeds cannot be reached from this machine).
"""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.security.locations import repository_root
from tests.helpers import free_port, run_cli
from tests.integration.security.conftest import VULNAPP
from tests.sarif_schema import sarif_problems

SHELL_LINE = next(
    i
    for i, line in enumerate((VULNAPP / "vulnapp" / "app.py").read_text().splitlines(), 1)
    if "shell=True)" in line
)

NOTES_LINE = next(
    i
    for i, line in enumerate((VULNAPP / "vulnapp" / "app.py").read_text().splitlines(), 1)
    if line.startswith('@app.post("/notes"')
)


@dataclass(frozen=True)
class Run:
    code: int
    output: str
    run_dir: Path

    @property
    def document(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.run_dir / "security" / "findings.json").read_text())
        return data

    def findings(self, finding_id: str) -> list[dict[str, Any]]:
        return [f for f in self.document["findings"] if f["id"] == finding_id]

    def check(self, name: str) -> dict[str, Any]:
        return next(c for c in self.document["checks"] if c["name"] == name)


def _security(project: Path, target: str, reports: Path, *extra: str) -> Run:
    done = run_cli(
        "test", "--security", "--target", target, "--reports-dir", str(reports), "--no-progress", *extra,
        cwd=project,
    )  # fmt: skip
    runs = sorted(p for p in reports.iterdir() if p.is_dir() and p.name != "latest")
    return Run(done.returncode, done.stdout + done.stderr, runs[-1])


@pytest.fixture(scope="module")
def vuln_run(vulnapp: str, tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _security(VULNAPP, vulnapp, tmp_path_factory.mktemp("reports"))


def test_the_gate_fails_with_exit_1_and_names_what_failed_it(vuln_run: Run) -> None:
    assert vuln_run.code == 1, vuln_run.output
    assert "gate failed:" in vuln_run.output
    assert f"B602 at vulnapp/app.py:{SHELL_LINE}" in vuln_run.output
    assert vuln_run.document["passed"] is False
    assert vuln_run.document["fail_on"] == "high"


def test_bandit_finds_the_shell_true_subprocess_call(vuln_run: Run) -> None:
    [finding] = vuln_run.findings("B602")
    assert finding["check"] == "bandit"
    assert finding["severity"] == "high"
    assert finding["location"] == f"vulnapp/app.py:{SHELL_LINE}"
    assert "shell=True" in finding["title"]
    assert 'subprocess.call(f"ping -c 1 {host}", shell=True)' in finding["evidence"]
    assert "argument list" in finding["fix"]


def test_fuzzing_finds_the_write_endpoint_without_auth(vuln_run: Run, vulnapp: str) -> None:
    [finding] = [f for f in vuln_run.findings("SW-AUTH-MISSING") if f["location"] == "POST /notes"]
    assert finding["severity"] == "high"
    assert finding["title"] == "POST /notes answers 201 without a token"
    assert f"POST {vulnapp}/notes with no Authorization header" in finding["evidence"]


def test_fuzzing_finds_the_500_on_a_malformed_body(vuln_run: Run) -> None:
    [probe] = vuln_run.findings("SW-MALFORMED-BODY")
    assert probe["location"] == "POST /import"
    assert probe["title"] == "POST /import answers 500 to a malformed JSON body"
    assert probe["severity"] == "medium"
    server_errors = {f["location"] for f in vuln_run.findings("SCHEMATHESIS-ST101")}
    assert "POST /import" in server_errors  # schemathesis's generated bodies crash it too
    assert all(f["tool"] == "schemathesis" for f in vuln_run.findings("SCHEMATHESIS-ST101"))


def test_passive_checks_find_the_stack_trace_in_the_500(vuln_run: Run, vulnapp: str) -> None:
    passive = [f for f in vuln_run.findings("SW-STACK-TRACE") if f["check"] == "passive"]
    [finding] = passive
    assert finding["location"].startswith(f"GET {vulnapp}/notes/")
    assert finding["title"] == "Python stack trace in an HTTP 500 response body"
    assert finding["severity"] == "medium"


def test_passive_checks_find_the_wildcard_cors_with_credentials(vuln_run: Run, vulnapp: str) -> None:
    [finding] = vuln_run.findings("SW-CORS-CREDENTIALS")
    assert finding["severity"] == "high"
    assert finding["location"] == f"GET {vulnapp}/"
    assert "Access-Control-Allow-Origin: '*'" in finding["evidence"]
    assert "Access-Control-Allow-Credentials: 'true'" in finding["evidence"]


def test_the_dependency_audit_never_passes_without_vulnerability_data(vuln_run: Run) -> None:
    """Here PyPI serves project pages but 404s the per-release JSON that holds vulnerability data.

    pip-audit then skips every package and still prints "No known vulnerabilities
    found" with exit 0; the check must say "not run" and why. Where PyPI's data
    is reachable, the same run must report the planted dependency instead.
    """
    check = vuln_run.check("dependencies")
    assert check["status"] in ("findings", "not-run"), check  # never "passed": requests 2.19.0 is vulnerable
    if check["status"] == "findings":  # a machine where pip-audit's default service has the data
        assert any("requests==2.19.0" in f["location"] for f in vuln_run.document["findings"])
        return
    assert check["status"] == "not-run"
    assert check["reason"].startswith("no vulnerability data reachable: ")
    if "could audit none" in check["reason"]:  # PyPI answered, without per-release data (this machine)
        assert "could audit none of the 1 package(s)" in check["reason"]
        assert "requests (2.19.0)" in check["reason"]
    assert "dependencies: not run (no vulnerability data reachable" in vuln_run.output


def test_an_unreachable_vulnerability_feed_is_not_run_with_the_reason(vulnapp: str, tmp_path: Path) -> None:
    project = tmp_path / "vulnapp"
    shutil.copytree(VULNAPP, project, ignore=shutil.ignore_patterns("__pycache__"))
    feed = f"http://127.0.0.1:{free_port()}/v1/query"
    config = project / "stagewise.toml"
    config.write_text(
        config.read_text()
        + f'checks = ["dependencies"]\n\n[security.dependencies]\nservice = "osv"\nosv_url = "{feed}"\n'
    )
    run = _security(project, vulnapp, tmp_path / "reports")
    check = run.check("dependencies")
    assert run.code == 0, run.output  # nothing found, because nothing could be looked at: not a pass
    assert check["status"] == "not-run"
    assert check["reason"].startswith("no vulnerability data reachable: ")
    assert "gate passed" in run.output
    assert "not run: dependencies" in run.output


def test_the_dependency_audit_reports_the_planted_pin_from_an_osv_feed(
    vulnapp: str, osv_feed: str, tmp_path: Path
) -> None:
    project = tmp_path / "vulnapp"
    shutil.copytree(VULNAPP, project, ignore=shutil.ignore_patterns("__pycache__"))
    config = project / "stagewise.toml"
    config.write_text(
        config.read_text()
        + f'checks = ["dependencies"]\n\n[security.dependencies]\nservice = "osv"\nosv_url = "{osv_feed}"\n'
    )
    run = _security(project, vulnapp, tmp_path / "reports")
    assert run.code == 1, run.output
    [finding] = run.findings("PYSEC-2018-28")
    assert finding["title"] == (
        "requests 2.19.0 has a known vulnerability PYSEC-2018-28 (CVE-2018-18074, GHSA-x84v-xcm2-53pg)"
    )
    assert finding["location"] == "requirements.txt: requests==2.19.0"
    assert finding["fix"] == "upgrade requests to 2.20.0 or later (pin requests>=2.20.0)"
    assert finding["severity"] == "high"
    assert run.check("dependencies")["status"] == "findings"


def test_zap_without_a_daemon_is_reported_not_run(vuln_run: Run) -> None:
    zap = vuln_run.check("zap")
    assert zap["status"] == "not-run"
    assert zap["reason"] == "no ZAP daemon configured (set security.zap.url)"
    assert "zap: not run (no ZAP daemon configured" in vuln_run.output


def test_findings_reach_sarif_junit_summary_and_the_report_page(vuln_run: Run) -> None:
    sarif = json.loads((vuln_run.run_dir / "security" / "findings.sarif").read_text())
    assert sarif["version"] == "2.1.0"
    results = sarif["runs"][0]["results"]
    shell = next(r for r in results if r["ruleId"] == "B602")
    assert shell["level"] == "error"
    location = shell["locations"][0]["physicalLocation"]
    app = (VULNAPP / "vulnapp" / "app.py").resolve().relative_to(repository_root(VULNAPP)).as_posix()
    assert location["artifactLocation"]["uri"] == app  # relative to the repository, not the project
    assert location["region"]["startLine"] == SHELL_LINE
    assert sarif_problems(sarif) == []
    # The fuzz finding on POST /notes sits at the handler, found by importing the app.
    unauthenticated = next(
        r for r in results if r["ruleId"] == "SW-AUTH-MISSING" and r["properties"]["path"] == "/notes"
    )
    assert unauthenticated["properties"]["route"] == "/notes"
    handler = unauthenticated["locations"][0]["physicalLocation"]
    assert handler["artifactLocation"]["uri"] == app
    assert handler["region"]["startLine"] == NOTES_LINE

    suite = ET.parse(vuln_run.run_dir / "junit-security.xml").getroot().find("testsuite")  # noqa: S314 - our own file
    assert suite is not None
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert cases["bandit"].find("failure") is not None
    zap_skip = cases["zap"].find("skipped")
    assert zap_skip is not None
    assert "no ZAP daemon configured" in str(zap_skip.get("message"))

    summary = json.loads((vuln_run.run_dir / "summary.json").read_text())
    [tier] = summary["tiers"]
    assert tier["name"] == "security"
    assert tier["status"] == "failed"
    assert any(f["id"] == "SW-CORS-CREDENTIALS" for f in tier["findings"])
    page = (vuln_run.run_dir / "index.html").read_text()
    assert "Security findings" in page
    assert "SW-CORS-CREDENTIALS" in page
    assert "B602" in page
    assert "<li data-check='zap' data-status='not-run'><b>zap</b>: not-run (no ZAP daemon configured" in page


def test_the_summary_groups_findings_by_severity(vuln_run: Run) -> None:
    output = vuln_run.output
    high, medium, low = output.index("HIGH ("), output.index("MEDIUM ("), output.index("LOW (")
    assert high < medium < low
    assert "(fails the gate)" in output[high:medium]
    assert "(fails the gate)" not in output[medium:]
