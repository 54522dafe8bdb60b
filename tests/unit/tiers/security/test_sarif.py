"""findings.sarif as code scanning reads it: schema-valid, every result in a repository file, stable fingerprints.

The findings are made by the checks' own converters (bandit's, pip-audit's,
schemathesis's and ZAP's result records, the passive checks over real
``Answer`` objects) in a throwaway git repository holding a project in a
sub-folder; HTTP findings are mapped through a tiny FastAPI app, imported
for real in a child interpreter.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from email.message import Message
from pathlib import Path
from typing import Any

import pytest

from stagewise.tiers.security.checks import bandit, dependencies, fuzz, passive, zap
from stagewise.tiers.security.evidence import stack_trace_finding
from stagewise.tiers.security.findings import Finding
from stagewise.tiers.security.http import Answer
from stagewise.tiers.security.locations import Locator
from stagewise.tiers.security.routes import RouteMap, discover_routes
from stagewise.tiers.security.sarif import FINGERPRINT, project_sarif, sarif_document
from stagewise.tiers.security.sarif_rules import OWN_RULES
from tests.conftest import requires
from tests.sarif_schema import SCHEMA_AVAILABLE, SCHEMA_MISSING, sarif_problems

HAS_FASTAPI = importlib.util.find_spec("fastapi") is not None
needs_schema = requires(SCHEMA_AVAILABLE, SCHEMA_MISSING)
needs_fastapi = requires(HAS_FASTAPI, "fastapi is not installed in this interpreter (dev venv has it)")

APP = """\
import subprocess

from fastapi import FastAPI

app = FastAPI()


@app.get("/")
def index() -> dict[str, str]:
    return {"ok": "yes"}


@app.post("/notes")
def create_note() -> dict[str, str]:
    return {}


@app.get("/notes/{note_id}")
def read_note(note_id: int) -> dict[str, int]:
    return {"id": note_id}


def ping(host: str) -> int:
    return subprocess.call(f"ping {host}", shell=True)
"""


SECURITY_TABLE = 5  # the [security] line of the project file _project writes
NO_APP = APP[APP.index("def ping") :].replace("def ping", "import subprocess\n\n\ndef ping")


def _line(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if needle in line)


def _project(tmp_path: Path, app: str = APP) -> Path:
    """A git repository with the project in ``svc/`` (so repository paths differ from project paths)."""
    repo = tmp_path / "repo"
    project = repo / "svc"
    (project / "app").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (project / "stagewise.toml").write_text(
        '[project]\nname = "svc"\nsource = ["app"]\n\n[security]\nfail_on = "high"\n'
    )
    (project / "requirements.txt").write_text("fastapi>=0.100\nrequests==2.19.0\n")
    (project / "app" / "__init__.py").write_text("")
    (project / "app" / "main.py").write_text(app)
    return project


def _answer(url: str, status: int, body: str = "", **headers: str) -> Answer:
    message = Message()
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    return Answer("GET", url, status, message, body.encode())


def _findings(project: Path, target: str) -> list[Finding]:
    """One finding of every kind, built the way each check builds it."""
    shell_line = _line((project / "app" / "main.py").read_text(), "shell=True")
    source = bandit.to_finding(
        {
            "test_id": "B602",
            "test_name": "subprocess_popen_with_shell_equals_true",
            "issue_severity": "HIGH",
            "issue_confidence": "HIGH",
            "issue_text": "subprocess call with shell=True identified, security issue.",
            "filename": str(project / "app" / "main.py"),
            "line_number": shell_line,
            "code": f"{shell_line} return subprocess.call(...)",
            "more_info": "https://bandit.readthedocs.io/en/1.8.0/plugins/b602_subprocess_popen_with_shell_equals_true.html",
        },
        project,
    )
    [dependency], _, _ = dependencies.to_findings(
        {
            "dependencies": [
                {
                    "name": "requests",
                    "version": "2.19.0",
                    "vulns": [
                        {"id": "PYSEC-2018-28", "fix_versions": ["2.20.0"], "aliases": ["CVE-2018-18074"]}
                    ],
                }
            ]
        },
        "requirements.txt",
    )
    schemathesis = fuzz.to_finding(
        {"code": "ST101", "title": "Server error", "operation": "GET /notes/{note_id}", "status": "500"}
    )
    home = _answer(f"{target}/", 200, "{}", Content_Type="application/json")
    headers = passive.header_findings([home], https=False)
    cors = passive.cors_findings(
        _answer(
            f"{target}/notes/7?x=1",
            200,
            Access_Control_Allow_Origin="*",
            Access_Control_Allow_Credentials="true",
        )
    )
    crash = _answer(
        f"{target}/notes/abc", 500, 'Traceback (most recent call last):\n  File "x.py", line 1, in f'
    )
    trace = stack_trace_finding(crash, "passive", crash.where())
    docs = stack_trace_finding(_answer(f"{target}/docs", 500, crash.text), "passive", f"GET {target}/docs")
    alert = zap.to_finding(
        {
            "pluginId": "10038",
            "alert": "CSP Header Not Set",
            "risk": "Medium",
            "method": "POST",
            "url": f"{target}/notes",
        }
    )
    test = Finding(
        "SW-PROJECT-TEST", "project security test failed", "high", "tests", "tests/security/test_auth.py::test_x",
        "assert 200 == 401", "make it pass", "pytest",
    )  # fmt: skip
    assert trace is not None
    assert docs is not None
    return [source, dependency, schemathesis, *headers, *cors, trace, docs, alert, test]


def _sarif(project: Path, target: str = "http://127.0.0.1:8000") -> dict[str, Any]:
    return project_sarif(
        _findings(project, target), root=project, python=sys.executable, env={"PATH": "/usr/bin:/bin"},
        tool_version="0.1.0",
    )  # fmt: skip


def _by_rule(log: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for result in log["runs"][0]["results"]:
        found.setdefault(result["ruleId"], []).append(result)
    return found


def _where(result: dict[str, Any]) -> tuple[str, int]:
    physical = result["locations"][0]["physicalLocation"]
    return physical["artifactLocation"]["uri"], physical["region"]["startLine"]


@needs_schema
@needs_fastapi
def test_every_kind_of_finding_is_valid_sarif_in_a_repository_file(tmp_path: Path) -> None:
    project = _project(tmp_path)
    log = _sarif(project)
    assert sarif_problems(log) == []
    run = log["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": (tmp_path / "repo").resolve().as_uri() + "/"}}
    results = _by_rule(log)
    app = (project / "app" / "main.py").read_text()
    assert _where(results["B602"][0]) == ("svc/app/main.py", _line(app, "shell=True"))
    assert _where(results["PYSEC-2018-28"][0]) == ("svc/requirements.txt", 2)
    # HTTP findings sit at the handler of their route, found through the app itself.
    notes = _line(app, '@app.get("/notes/{note_id}")')
    assert _where(results["SCHEMATHESIS-ST101"][0]) == ("svc/app/main.py", notes)
    traces = {r["properties"]["path"]: r for r in results["SW-STACK-TRACE"]}
    trace, docs = traces["/notes/abc"], traces["/docs"]
    assert _where(trace) == ("svc/app/main.py", notes)
    assert trace["properties"]["route"] == "/notes/{note_id}"
    assert trace["properties"]["url"] == "http://127.0.0.1:8000/notes/abc"
    assert _where(results["SW-CORS-CREDENTIALS"][0]) == ("svc/app/main.py", notes)
    assert _where(results["SW-HEADER-NOSNIFF"][0]) == ("svc/app/main.py", _line(app, '@app.get("/")'))
    assert _where(results["ZAP-10038"][0]) == ("svc/app/main.py", _line(app, '@app.post("/notes")'))
    # /docs is FastAPI's own handler (in site-packages): the project file, with the URL kept.
    assert _where(docs) == ("svc/stagewise.toml", SECURITY_TABLE)
    assert docs["properties"]["url"] == "http://127.0.0.1:8000/docs"
    assert _where(results["SW-PROJECT-TEST"][0])[0] == "svc/stagewise.toml"  # the test file does not exist


@needs_fastapi
def test_fingerprints_stay_across_runs_ports_and_moved_code(tmp_path: Path) -> None:
    project = _project(tmp_path)
    first = _sarif(project, "http://127.0.0.1:8000")
    main = project / "app" / "main.py"
    main.write_text('"""Moved down by a docstring."""\n\n' + main.read_text())
    second = _sarif(project, "http://127.0.0.1:39211")

    def prints(log: dict[str, Any]) -> list[tuple[str, str]]:
        return [(r["ruleId"], r["partialFingerprints"][FINGERPRINT]) for r in log["runs"][0]["results"]]

    assert prints(first) == prints(second)
    assert len({p for _, p in prints(first)}) == len(prints(first))  # one problem, one fingerprint
    # A run where the app cannot be asked puts HTTP findings in another file, under the same fingerprint.
    main.write_text(NO_APP)
    third = _sarif(project, "http://127.0.0.1:8000")
    http = {rule for rule, _ in prints(first) if not rule.startswith(("B", "PYSEC", "SW-PROJECT"))}
    assert _where(_by_rule(third)["ZAP-10038"][0])[0] == "svc/stagewise.toml"
    assert {p for p in prints(third) if p[0] in http} == {p for p in prints(first) if p[0] in http}
    before, after = _where(_by_rule(first)["B602"][0])[1], _where(_by_rule(second)["B602"][0])[1]
    assert after == before + 2  # the line moved, the fingerprint did not


@needs_schema
def test_without_an_app_http_findings_point_at_the_project_file(tmp_path: Path) -> None:
    project = _project(tmp_path, app=NO_APP)
    log = _sarif(project)
    assert sarif_problems(log) == []
    for rule in ("SW-STACK-TRACE", "SW-CORS-CREDENTIALS", "ZAP-10038", "SCHEMATHESIS-ST101"):
        for result in _by_rule(log)[rule]:
            assert _where(result) == ("svc/stagewise.toml", SECURITY_TABLE), rule
            assert result["properties"]["path"].startswith("/")
    [invocation] = log["runs"][0]["invocations"]
    [note] = invocation["toolExecutionNotifications"]
    assert note["message"]["text"] == (
        "HTTP findings point at the project file: no module-level web app object found in the project's source"
    )


FACTORY = """\
from fastapi import APIRouter, FastAPI

router = APIRouter()


@router.get("/items/{item_id}")
def read_item(item_id: int) -> dict[str, int]:
    return {"id": item_id}


@router.post(
    "/items",
    status_code=201,
)
def create_item() -> dict[str, str]:
    return {}


def create_app() -> FastAPI:
    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    return app
"""


def test_an_app_factory_is_placed_by_its_route_decorators(tmp_path: Path) -> None:
    """No module-level app to import: the decorators' paths match the tail of the URL path."""
    project = _project(tmp_path, app=FACTORY)
    (project / "tests").mkdir()
    (project / "tests" / "test_fake.py").write_text('@app.get("/items")\ndef fake(): ...\n')
    locator = Locator(project, lambda: discover_routes(project, sys.executable, {"PATH": "/usr/bin:/bin"}))
    read = locator.locate(Finding("SW-X", "t", "low", "passive", "GET http://h:1/api/v1/items/7", "e", "f"))
    assert (read.uri, read.line, read.properties["route"]) == (
        "svc/app/main.py",
        _line(FACTORY, "@router.get"),
        "/items/{item_id}",
    )
    create = locator.locate(Finding("SW-AUTH-MISSING", "t", "high", "fuzz", "POST /api/v1/items", "e", "f"))
    assert (create.uri, create.line) == ("svc/app/main.py", _line(FACTORY, "@router.post"))
    root = locator.locate(Finding("SW-X", "t", "low", "passive", "GET http://h:1/", "e", "f"))
    assert (root.uri, root.line) == ("svc/stagewise.toml", SECURITY_TABLE)  # "/" is no route's tail
    assert locator.notes == [
        "HTTP findings placed by the route decorators in the source: "
        "no module-level web app object found in the project's source"
    ]


def test_an_app_that_cannot_be_imported_gives_the_reason_and_no_routes(tmp_path: Path) -> None:
    project = _project(
        tmp_path, app="from fastapi import FastAPI\nraise RuntimeError('no DATABASE_URL')\napp = FastAPI()\n"
    )
    routes = discover_routes(project, sys.executable, {"PATH": "/usr/bin:/bin"})
    assert routes.routes == ()
    assert routes.problem == "could not read the routes of app.main:app: RuntimeError: no DATABASE_URL"


def test_a_project_without_stagewise_toml_uses_pyproject_and_no_repository_means_the_project(
    tmp_path: Path,
) -> None:
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\ndependencies = ["requests>=2"]\n')
    locator = Locator(tmp_path, RouteMap)
    finding = Finding("SW-HEADER-NOSNIFF", "t", "low", "passive", "GET http://h:1/a b", "e", "f")
    located = locator.locate(finding)
    assert (located.uri, located.line) == ("pyproject.toml", 1)
    installed = Finding(
        "PYSEC-1", "t", "high", "dependencies", "installed in /v/bin/python: requests==2.0", "e", "f"
    )
    assert (locator.locate(installed).uri, locator.locate(installed).line) == ("pyproject.toml", 3)
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_auth.py").write_text(
        "import x\n\n\nclass TestA:\n    def test_login(self): ...\n"
    )
    for node in ("tests/test_auth.py::TestA::test_login[a]", "tests.test_auth::test_login"):
        failed = Finding("SW-PROJECT-TEST", "t", "high", "tests", node, "e", "f")
        located = locator.locate(failed)
        assert (located.uri, located.line, located.key) == ("tests/test_auth.py", 5, node)
    spaced = Finding("B101", "t", "low", "bandit", "my%20app/x.py:3", "e", "f")
    assert locator.locate(spaced).uri == "my%2520app/x.py"  # percent-encoded: a URI, not a path


@needs_schema
def test_rules_carry_descriptions_help_links_levels_and_security_severity(tmp_path: Path) -> None:
    project = _project(tmp_path, app=NO_APP)
    log = _sarif(project)
    rules = {r["id"]: r for r in log["runs"][0]["tool"]["driver"]["rules"]}
    for rule in rules.values():
        assert rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["help"]["text"]
    assert rules["B602"]["helpUri"].endswith("b602_subprocess_popen_with_shell_equals_true.html")
    assert rules["ZAP-10038"]["helpUri"] == "https://www.zaproxy.org/docs/alerts/10038/"
    assert rules["PYSEC-2018-28"]["helpUri"] == "https://osv.dev/vulnerability/PYSEC-2018-28"
    assert rules["SW-CORS-CREDENTIALS"]["fullDescription"]["text"] == OWN_RULES["SW-CORS-CREDENTIALS"].full
    assert rules["B602"]["properties"]["security-severity"] == "8.0"
    assert rules["B602"]["defaultConfiguration"] == {"level": "error"}
    results = _by_rule(log)
    assert results["B602"][0]["level"] == "error"
    assert results["SW-STACK-TRACE"][0]["level"] == "warning"
    assert results["SW-HEADER-NOSNIFF"][0]["level"] == "note"
    for result in log["runs"][0]["results"]:
        assert log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]


def test_suppressed_findings_keep_their_justification(tmp_path: Path) -> None:
    accepted = Finding(
        "SW-CORS-CREDENTIALS", "w", "high", "passive", "GET http://x/", "*", "f", "", "allow.toml:accept[0]"
    )
    log = sarif_document([accepted], "0.1.0", Locator(tmp_path, RouteMap))
    [result] = log["runs"][0]["results"]
    assert result["suppressions"] == [{"kind": "external", "justification": "allow.toml:accept[0]"}]


def test_every_rule_stagewise_reports_is_described() -> None:
    """A new SW-* id in a check without a description here would reach code scanning undescribed."""
    import re

    source = Path(passive.__file__).parent.parent
    ids = {
        found
        for path in source.rglob("*.py")
        for found in re.findall(r"\"(SW-[A-Z][A-Z-]*[A-Z])\"", path.read_text())
    }
    assert ids, "no SW-* ids found: the search is broken"
    assert sorted(ids - set(OWN_RULES)) == []


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("GET http://127.0.0.1:1/items/42?page=2", "GET /items/{}"),
        ("GET http://127.0.0.1:2/items/42", "GET /items/{}"),
        ("DELETE /items/{item_id}", "DELETE /items/{item_id}"),
        ("GET http://h/users/0b0c5a4e-64a3-4f0e-9d0b-6f1f0b3b7f11", "GET /users/{}"),
    ],
)
def test_http_keys_leave_out_the_host_the_query_and_ids(tmp_path: Path, location: str, expected: str) -> None:
    finding = Finding("SW-X", "t", "low", "passive", location, "e", "f")
    assert Locator(tmp_path, RouteMap).locate(finding).key == expected


@needs_schema
def test_the_check_itself_rejects_what_code_scanning_would(tmp_path: Path) -> None:
    """The old output (a URL as the file, no fingerprint) and a schema break are both caught."""
    finding = Finding("SW-HEADER-NOSNIFF", "nosniff", "low", "passive", "GET http://x/", "none", "send it")
    log = sarif_document([finding], "0.1.0", Locator(tmp_path, RouteMap))
    assert sarif_problems(log) == []
    result = log["runs"][0]["results"][0]
    result["locations"][0]["physicalLocation"]["artifactLocation"] = {"uri": "http://x/"}
    del result["partialFingerprints"]
    result["level"] = "fatal"
    assert sarif_problems(log) == [
        "runs/0/results/0/level: 'fatal' is not one of ['none', 'note', 'warning', 'error']",
        "result 0 (SW-HEADER-NOSNIFF): no relative file: 'http://x/'",
        "result 0: uriBaseId None not in the run",
        "result 0 (SW-HEADER-NOSNIFF): no partialFingerprints",
    ]


@needs_fastapi
def test_a_protected_stage_places_routes_from_the_source_without_importing_the_app(tmp_path: Path) -> None:
    """Importing the app runs its module code with the stage's env; on prod that must not happen."""
    marker = tmp_path / "imported"
    project = _project(tmp_path, f"open({str(marker)!r}, 'w').close()\n" + APP)
    findings = _findings(project, "http://127.0.0.1:8000")
    log = project_sarif(
        findings, root=project, python=sys.executable, env={"PATH": "/usr/bin:/bin"},
        tool_version="0.1.0", import_app=False,
    )  # fmt: skip
    assert not marker.exists(), "the app was imported"
    app = (project / "app" / "main.py").read_text()
    notes = _line(app, '@app.get("/notes/{note_id}")')
    assert _where(_by_rule(log)["SCHEMATHESIS-ST101"][0]) == ("svc/app/main.py", notes)
    project_sarif(
        findings, root=project, python=sys.executable, env={"PATH": "/usr/bin:/bin"}, tool_version="0.1.0"
    )
    assert marker.exists(), "off a protected stage the app is imported (the marker proves the test can fail)"
