"""Which source file handles each HTTP route, asked of the project's own app object.

An HTTP finding (passive, ZAP, fuzz) names a URL; code scanning needs a file
in the repository. The app knows: FastAPI and Starlette keep each route's
path template and endpoint function, Flask its URL rules and view functions.
So the app is imported in a child of the project's interpreter (the one its
tests run in, with the stage's environment) and asked, and the child prints
``route -> inspect.getsourcefile(endpoint), first line``. Importing it in
stagewise's own process would run the project's code in the tool and need
its dependencies there.

The app object is the one ``stagewise init`` finds (text search, never an
import). When that cannot be done (no ``app = FastAPI()`` at module level, as
with an app factory; an import error; a timeout) the route decorators in the
source are read instead (``@router.get("/items/{id}")``): their paths lack the
prefix ``include_router`` may add, so they match a URL path's tail. No route
either way: the findings point at the project file, and the reason is kept.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import InterruptedRun
from stagewise.processes import start_group
from stagewise.scaffold.code import find_app, python_files, read_text
from stagewise.tiers.process import stop_group

TIMEOUT_SECONDS = 30.0
_MARKER = "STAGEWISE-ROUTES "
_NAME = re.compile(r"^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$")
_FRAMEWORKS = frozenset({"FastAPI", "Starlette", "Flask", "Quart"})
_DECORATOR = re.compile(
    r"^[ \t]*@[A-Za-z_][\w.]*\.(?P<verb>get|post|put|patch|delete|head|options|api_route|route)"
    r"\(\s*[\"'](?P<path>/[^\"'\n]*)[\"']",
    re.MULTILINE,
)

# Runs in the project's interpreter: argv = [module, attr, app_dir]; prints one marked JSON line.
_SCRIPT = r"""
import inspect, json, sys
module, attr, app_dir = sys.argv[1:4]
sys.path.insert(0, app_dir)
import importlib
app = getattr(importlib.import_module(module), attr)
found = []
def source(func):
    func = inspect.unwrap(func)
    try:
        return inspect.getsourcefile(func), inspect.getsourcelines(func)[1]
    except (TypeError, OSError):
        return None, 0
def walk(routes, prefix):
    for route in routes:
        path = prefix + getattr(route, "path", "")
        endpoint = getattr(route, "endpoint", None)
        children = getattr(route, "routes", None)
        if endpoint is not None and callable(endpoint):
            file, line = source(endpoint)
            if file:
                methods = sorted(getattr(route, "methods", None) or [])
                found.append({"path": path, "methods": methods, "file": file, "line": line})
        elif children:
            walk(children, path)
if hasattr(app, "url_map") and hasattr(app, "view_functions"):
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        file, line = source(view) if view is not None else (None, 0)
        if file:
            found.append({"path": rule.rule, "methods": sorted(rule.methods or []), "file": file, "line": line})
else:
    walk(getattr(app, "routes", []), "")
print("STAGEWISE-ROUTES " + json.dumps(found), flush=True)
"""


@dataclass(frozen=True)
class Route:
    """One route: its methods (empty: any), its path template, and its handler's file and line."""

    methods: frozenset[str]
    path: str
    file: Path
    line: int
    prefixed: bool = False  # read from a decorator: a router prefix may come before the path

    def matches(self, method: str, path: str, tail: bool = False) -> bool:
        """Whether ``METHOD path`` is this route's ("" = any method); ``tail``: after a router prefix."""
        if method and self.methods and method.upper() not in self.methods:
            return False
        if tail:
            return (
                self.prefixed
                and self.path != "/"
                and _template(self.path, tail=True).fullmatch(path) is not None
            )
        return path == self.path or _template(self.path).fullmatch(path) is not None


def _template(path: str, tail: bool = False) -> re.Pattern[str]:
    """``/items/{item_id}`` (Starlette) or ``/items/<int:item_id>`` (Flask) as a regex."""
    pattern = "(?:/.*)?" if tail else ""
    for part in re.split(r"(\{[^}]+\}|<[^>]+>)", path):
        if part.startswith(("{", "<")):
            converter = part[1:-1].split(":")[-1 if part.startswith("{") else 0]
            pattern += ".+" if converter == "path" else "[^/]+"
        else:
            pattern += re.escape(part)
    return re.compile(pattern)


@dataclass(frozen=True)
class RouteMap:
    """The routes the app declares, or why there are none."""

    routes: tuple[Route, ...] = ()
    problem: str = ""
    from_source: bool = False  # read from decorators, not asked of the app

    def find(self, method: str, path: str) -> Route | None:
        """The route serving ``METHOD path``: whole paths before tails, the method's own before any."""
        for tail in (False, True):
            for wanted in (method, ""):
                found = next((r for r in self.routes if r.matches(wanted, path, tail)), None)
                if found is not None:
                    return found
        return None


def discover_routes(root: Path, python: str, env: Mapping[str, str]) -> RouteMap:
    """The project's routes, from its app imported in ``python`` (never raises but InterruptedRun)."""
    imported = _ask_app(root, python, env)
    if imported.routes:
        return imported
    scanned = scan_routes(root)
    return RouteMap(scanned, imported.problem or "the app declares no routes", from_source=bool(scanned))


def source_routes(root: Path) -> RouteMap:
    """The project's routes read from its source only: nothing of the project runs."""
    scanned = scan_routes(root)
    return RouteMap(scanned, "" if scanned else "no route decorators found in the source", from_source=True)


def _ask_app(root: Path, python: str, env: Mapping[str, str]) -> RouteMap:
    app = find_app(root, ())
    if app is None:
        return RouteMap(problem="no module-level web app object found in the project's source")
    if app.framework not in _FRAMEWORKS:
        return RouteMap(problem=f"routes of a {app.framework} app are not read")
    if not (_NAME.fullmatch(app.module) and _NAME.fullmatch(app.attr)):
        return RouteMap(problem=f"app {app.module}:{app.attr} is not an importable name")
    app_dir = str((root / app.app_dir).resolve())
    command = [python, "-c", _SCRIPT, app.module, app.attr, app_dir]
    output, problem = _run(command, root, env)
    if problem:
        return RouteMap(problem=f"could not read the routes of {app.module}:{app.attr}: {problem}")
    return RouteMap(routes=_parse(output))


def scan_routes(root: Path) -> tuple[Route, ...]:
    """Routes from decorators in the source (``@app.get("/x")``, ``@router.post(\n "/y")``)."""
    found = []
    for path in python_files(root, skip=("tests", "test")):  # test apps are not the service's handlers
        text = read_text(path)
        for match in _DECORATOR.finditer(text):
            verb = match["verb"].upper()
            methods = frozenset() if verb in ("API_ROUTE", "ROUTE") else frozenset({verb})
            line = text.count("\n", 0, match.start()) + 1
            found.append(Route(methods, match["path"], path.resolve(), line, prefixed=True))
    return tuple(found)


def _run(command: list[str], root: Path, env: Mapping[str, str]) -> tuple[str, str]:
    try:
        process, _ref = start_group(command, cwd=root, env=env, stdout=subprocess.PIPE)
    except OSError as exc:
        return "", f"cannot run {command[0]}: {exc.strerror or exc}"
    try:
        out, _ = process.communicate(timeout=TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        stop_group(process)
        return "", f"importing the app took more than {TIMEOUT_SECONDS:.0f}s"
    except KeyboardInterrupt:
        stop_group(process)
        raise InterruptedRun(f"interrupted: stopped the route lookup (pid {process.pid})") from None
    text = out.decode("utf-8", errors="replace")
    if process.returncode != 0:
        last = [line for line in text.splitlines() if line.strip()][-1:] or [f"exit {process.returncode}"]
        return "", last[0].strip()[:200]
    return text, ""


def _parse(output: str) -> tuple[Route, ...]:
    for line in output.splitlines():
        if line.startswith(_MARKER):
            try:
                items = json.loads(line[len(_MARKER) :])
            except ValueError:
                return ()
            return tuple(
                Route(frozenset(i.get("methods") or ()), str(i["path"]), Path(i["file"]), int(i["line"]))
                for i in items
                if isinstance(i, dict) and "path" in i and "file" in i
            )
    return ()


__all__ = ["Route", "RouteMap", "discover_routes", "scan_routes", "source_routes"]
