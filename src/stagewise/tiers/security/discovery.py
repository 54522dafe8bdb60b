"""Find the target's OpenAPI document: configured, named by the app itself, or at the usual places.

FastAPI apps often serve the document somewhere other than ``/openapi.json``
(``/api/v1/openapi.json`` in the full-stack template), so looking at one place
misses them and the fuzz check reports "not run" for an API that documents
itself. The order, first answer wins:

1. ``security.fuzz.openapi`` — the project said where; nothing else is tried.
2. the app's own ``openapi_url``: ``security.fuzz.app = "module:attr"``, or the
   FastAPI app the project scan finds (:func:`stagewise.scaffold.code.find_app`),
   imported in the *project's* interpreter in a child process (its packages,
   not stagewise's; an app that cannot be imported there is only a note).
3. a short, fixed list of the places frameworks serve it (:data:`WELL_KNOWN`):
   the first that answers JSON with an ``openapi`` or ``swagger`` key.

Every request goes to the target only, and the list is bounded, so a target
without a document costs a dozen quick 404s.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.project.security import FuzzConfig
from stagewise.tiers.security.http import Unreachable, request
from stagewise.tiers.security.openapi import load_document

#: Where frameworks serve their OpenAPI (or Swagger 2) JSON, most common first.
WELL_KNOWN: tuple[str, ...] = (
    "/openapi.json",
    "/api/openapi.json",
    "/api/v1/openapi.json",
    "/api/v2/openapi.json",
    "/docs/openapi.json",
    "/api/docs/openapi.json",
    "/swagger.json",
    "/api/swagger.json",
    "/swagger/v1/swagger.json",
    "/openapi/v1.json",
    "/v3/api-docs",
    "/v2/api-docs",
)
_MARKER = "STAGEWISE-OPENAPI-URL "
#: Run in the project's interpreter: import the app and print its openapi_url (JSON, after a marker,
#: so whatever the app prints on import does not matter).
_READ_APP = """
import importlib, json, sys
sys.path[:0] = [p for p in sys.argv[3:] if p]
module, _, attr = sys.argv[1].partition(":")
app = importlib.import_module(module)
for part in attr.split("."):
    app = getattr(app, part)
url = getattr(app, "openapi_url", sys.argv[2])
root_path = getattr(app, "root_path", "") or ""
print("\\n" + "STAGEWISE-OPENAPI-URL " + json.dumps({"url": url, "root_path": str(root_path)}))
"""
_NO_ATTRIBUTE = "<no openapi_url attribute>"
_APP_TIMEOUT = 30.0


@dataclass(frozen=True)
class Discovered:
    """The document (or ``None`` and ``problem``), the URL it came from, and how it was found."""

    document: dict[str, Any] | None
    url: str = ""
    how: str = ""
    problem: str = ""


@dataclass(frozen=True)
class AppRef:
    """An importable app: ``module:attr`` and the folders that must be on ``sys.path`` for it."""

    reference: str
    search: tuple[str, ...]
    origin: str


def find_app_ref(root: Path, configured: str | None) -> AppRef | None:
    """The app to ask: the configured one, else the FastAPI app the project scan finds."""
    if configured is not None:
        search = tuple(str(p) for p in (root, root / "src") if p.is_dir())
        return AppRef(configured, search, "security.fuzz.app")
    from stagewise.scaffold.code import find_app

    found = find_app(root, skip=("tests", "test"))
    if found is None or found.framework != "FastAPI":
        return None
    return AppRef(f"{found.module}:{found.attr}", (str(root / found.app_dir),), f"the app in {found.file}")


def app_openapi_url(
    python: str, app: AppRef, cwd: Path, env: Mapping[str, str], timeout: float = _APP_TIMEOUT
) -> tuple[str | None, str]:
    """The app's ``openapi_url`` read in ``python`` (``None`` when it serves none) and a note.

    The note says what happened when no path came back (the import failed,
    the attribute is missing, ``openapi_url=None``).
    """
    command = [python, "-c", _READ_APP, app.reference, _NO_ATTRIBUTE, *app.search]
    try:
        done = subprocess.run(
            command, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"could not import {app.reference} ({app.origin}): {exc}"
    line = next((ln for ln in reversed(done.stdout.splitlines()) if ln.startswith(_MARKER)), None)
    if done.returncode != 0 or line is None:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        return None, f"could not import {app.reference} ({app.origin}) in {python}: {last[:200]}"
    data = json.loads(line[len(_MARKER) :])
    url, root_path = data.get("url"), str(data.get("root_path") or "")
    if url == _NO_ATTRIBUTE:
        return None, f"{app.reference} ({app.origin}) has no openapi_url"
    if url is None or url == "":
        return None, f"{app.reference} ({app.origin}) sets openapi_url=None: it serves no OpenAPI document"
    path = str(url)
    if root_path and not path.startswith(root_path.rstrip("/") + "/"):
        path = root_path.rstrip("/") + path
    return path, ""


def _absolute(target: str, where: str) -> str:
    return where if "://" in where else target + where


def probe_well_known(target: str, paths: tuple[str, ...] = WELL_KNOWN) -> tuple[str, dict[str, Any]] | None:
    """The first of ``paths`` on ``target`` that answers an OpenAPI/Swagger JSON document."""
    for path in paths:
        try:
            answer = request("GET", target + path, headers={"Accept": "application/json"}, timeout=5.0)
        except Unreachable:
            return None  # the target itself is gone: the checks report that
        if answer.status != 200:
            continue
        try:
            document = json.loads(answer.body)
        except ValueError:
            continue
        if isinstance(document, dict) and ("openapi" in document or "swagger" in document):
            return path, document
    return None


def discover_openapi(  # noqa: PLR0917 - the tier's resolved inputs, each needed
    target: str,
    config: FuzzConfig,
    root: Path,
    python: str,
    env: Mapping[str, str],
    log: Callable[[str], None],
    *,
    import_app: bool = True,
) -> Discovered:
    """Find and load the OpenAPI document (see the module docstring for the order).

    ``import_app=False`` (a protected stage) skips asking the app: importing it
    runs its module code with that stage's environment, which may touch live data.
    """
    if config.openapi is not None:
        url = _absolute(target, config.openapi)
        document, problem = load_document(url)
        return Discovered(document, url, "security.fuzz.openapi", problem)
    notes: list[str] = []
    app = find_app_ref(root, config.app)
    if app is not None and not import_app:
        notes.append(f"{app.reference} is not imported on a protected stage (its module code would run)")
        log(f"openapi: {notes[-1]}")
    elif app is not None:
        path, note = app_openapi_url(python, app, root, env)
        if path is not None:
            url = _absolute(target, path)
            document, problem = load_document(url)
            if document is not None:
                return Discovered(document, url, f"the openapi_url of {app.reference} ({app.origin})")
            notes.append(f"{app.reference} names {path}, but {problem}")
        else:
            notes.append(note)
        log(f"openapi: {notes[-1]}")
    found = probe_well_known(target)
    if found is not None:
        path, document = found
        if isinstance(document.get("paths"), dict):
            return Discovered(document, target + path, f"found at {path}")
        notes.append(f"{target + path} is not an OpenAPI document (no 'paths')")
    tried = ", ".join(WELL_KNOWN)
    because = f" ({'; '.join(notes)})" if notes else ""
    problem = (
        f"no OpenAPI document found on the target{because}; tried {tried}; "
        "set security.fuzz.openapi (or security.fuzz.app)"
    )
    return Discovered(None, "", "", problem)


__all__ = ["WELL_KNOWN", "AppRef", "Discovered", "app_openapi_url", "discover_openapi", "find_app_ref"]
