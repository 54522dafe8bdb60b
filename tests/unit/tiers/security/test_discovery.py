"""Finding the OpenAPI document: configured, the app's own openapi_url, or the usual places (real servers)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from stagewise.project.security import FuzzConfig
from stagewise.tiers.security.discovery import (
    WELL_KNOWN,
    AppRef,
    app_openapi_url,
    discover_openapi,
    find_app_ref,
)
from tests.unit.tiers.security.conftest import Page, SiteFactory

DOCUMENT = json.dumps({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {"/items": {}}})
SWAGGER = json.dumps({"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}})
JSON = {"Content-Type": "application/json"}
FASTAPI_APP = 'from fastapi import FastAPI\n\napp = FastAPI(title="t", openapi_url={url})\n'


def _discover(target: str, root: Path, config: FuzzConfig | None = None) -> tuple[object, str, str, str]:
    found = discover_openapi(
        target, config or FuzzConfig(), root, sys.executable, dict(os.environ), lambda _: None
    )
    return found.document, found.url, found.how, found.problem


def test_the_document_is_found_under_api_v1(site: SiteFactory, tmp_path: Path) -> None:
    target = site({"/api/v1/openapi.json": Page(DOCUMENT, headers=JSON)})
    document, url, how, problem = _discover(target.url, tmp_path)
    assert document == json.loads(DOCUMENT)
    assert (url, how, problem) == (f"{target.url}/api/v1/openapi.json", "found at /api/v1/openapi.json", "")
    assert target.requested == [
        "/openapi.json",
        "/api/openapi.json",
        "/api/v1/openapi.json",
    ]  # first that answers


def test_html_and_json_that_is_no_openapi_are_passed_over(site: SiteFactory, tmp_path: Path) -> None:
    target = site(
        {
            "/openapi.json": Page("<html>login</html>"),
            "/api/openapi.json": Page('{"status": "ok"}', headers=JSON),
            "/swagger.json": Page(SWAGGER, headers=JSON),
        }
    )
    _, url, how, _ = _discover(target.url, tmp_path)
    assert (url, how) == (f"{target.url}/swagger.json", "found at /swagger.json")


def test_nothing_found_says_where_it_looked(site: SiteFactory, tmp_path: Path) -> None:
    target = site({})
    document, _, _, problem = _discover(target.url, tmp_path)
    assert document is None
    assert problem.startswith(
        "no OpenAPI document found on the target; tried /openapi.json, /api/openapi.json"
    )
    assert problem.endswith("set security.fuzz.openapi (or security.fuzz.app)")
    assert len(target.requested) == len(WELL_KNOWN)  # a bounded list


def test_the_configured_path_wins(site: SiteFactory, tmp_path: Path) -> None:
    target = site({"/api/v1/openapi.json": Page(DOCUMENT, headers=JSON)})
    document, _, how, problem = _discover(target.url, tmp_path, FuzzConfig(openapi="/spec.json"))
    assert document is None
    assert how == "security.fuzz.openapi"
    assert problem == f"no OpenAPI document at {target.url}/spec.json (HTTP 404); set security.fuzz.openapi"
    assert target.requested == ["/spec.json"]


def test_the_apps_own_openapi_url_is_read_in_the_projects_interpreter(
    site: SiteFactory, tmp_path: Path
) -> None:
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "__init__.py").write_text("")
    (tmp_path / "service" / "main.py").write_text(FASTAPI_APP.format(url='"/internal/spec.json"'))
    target = site({"/internal/spec.json": Page(DOCUMENT, headers=JSON)})  # not a usual place
    document, url, how, _ = _discover(target.url, tmp_path)
    assert document is not None
    assert url == f"{target.url}/internal/spec.json"
    assert how == "the openapi_url of service.main:app (the app in service/main.py)"
    configured = _discover(target.url, tmp_path, FuzzConfig(app="service.main:app"))
    assert configured[2] == "the openapi_url of service.main:app (security.fuzz.app)"


def test_an_app_without_openapi_and_one_that_cannot_be_imported_are_named(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(FASTAPI_APP.format(url="None"))
    app = find_app_ref(tmp_path, None)
    assert app == AppRef("main:app", (str(tmp_path / "."),), "the app in main.py")
    path, note = app_openapi_url(sys.executable, app, tmp_path, dict(os.environ))
    assert path is None
    assert note == "main:app (the app in main.py) sets openapi_url=None: it serves no OpenAPI document"
    broken = AppRef("missing_module:app", (str(tmp_path),), "security.fuzz.app")
    path, note = app_openapi_url(sys.executable, broken, tmp_path, dict(os.environ))
    assert path is None
    assert note.startswith("could not import missing_module:app (security.fuzz.app) in ")
    assert "ModuleNotFoundError: No module named 'missing_module'" in note


def test_on_a_protected_stage_the_app_is_not_imported(site: SiteFactory, tmp_path: Path) -> None:
    """Its module code would run with the protected stage's env: the usual places are tried instead."""
    marker = tmp_path / "imported"
    (tmp_path / "service").mkdir()
    (tmp_path / "service" / "__init__.py").write_text("")
    app = f"open({str(marker)!r}, 'w').close()\n" + FASTAPI_APP.format(url='"/internal/spec.json"')
    (tmp_path / "service" / "main.py").write_text(app)
    target = site(
        {"/internal/spec.json": Page(DOCUMENT, headers=JSON), "/openapi.json": Page(DOCUMENT, headers=JSON)}
    )
    found = discover_openapi(
        target.url, FuzzConfig(), tmp_path, sys.executable, dict(os.environ), lambda _: None, import_app=False
    )
    assert not marker.exists(), "the app was imported"
    assert (found.url, found.how) == (f"{target.url}/openapi.json", "found at /openapi.json")
    assert _discover(target.url, tmp_path)[2].startswith("the openapi_url of service.main:app")
    assert marker.exists(), "off a protected stage it is imported (so this test can fail)"
