"""Where a finding is in the repository: the file (and line) code scanning shows it at.

A finding's ``location`` is what the check saw: ``path:line`` for source,
``METHOD URL`` or ``METHOD /template`` for HTTP, ``SOURCE: name==version``
for a dependency, a test's node id for the project's own tests. Code
scanning wants a repository-relative file for every result, so:

- source: the file and line, relative to the repository root;
- HTTP: the route's handler function (file and first line) when the app
  declares the route (:mod:`stagewise.tiers.security.routes`), else the
  project file (``stagewise.toml``, or ``pyproject.toml``) — the URL, method
  and route go in the result's ``properties`` either way;
- a dependency: the requirements file (and the line) that pins it, or
  ``pyproject.toml`` for an installed environment;
- a project test: its test file.

Each location also has a ``key``: what names the same problem from one run
to the next, for the result's fingerprint. It leaves out what moves between
runs (the target's host and port, line numbers of source that moved, a pinned
version that changed, which file an HTTP finding could be placed in) and keeps
what identifies the place (file and flagged line's text, the request's method
and path with ids and query left out, file and package, the test's node id).
"""

from __future__ import annotations

import os
import re
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from stagewise.scaffold.code import SKIP_DIRS
from stagewise.tiers.security.findings import Finding
from stagewise.tiers.security.routes import RouteMap

PROJECT_FILES = ("stagewise.toml", "pyproject.toml")
_SOURCE = re.compile(r"^(?P<path>[^\s:]+):(?P<line>\d+)$")
_HTTP = re.compile(r"^(?P<method>[A-Z]+) (?P<where>\S+)$")
_PACKAGE = re.compile(r"^(?P<source>.+): (?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)$")
_SECURITY_TABLE = re.compile(r"^\s*\[(?:tool\.stagewise\.)?security[\].]")
_ID_SEGMENT = re.compile(r"^(?:\d+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27}|[0-9a-fA-F]{24,})$")


@dataclass(frozen=True)
class Located:
    """A finding's place in the repository, its stable key, and what else is known about it."""

    uri: str  # relative to the repository root, '/'-separated, percent-encoded
    line: int  # 1-based; code scanning shows no result without a line
    key: str
    logical: str | None = None
    properties: dict[str, str] = field(default_factory=dict)


def repository_root(root: Path) -> Path:
    """The nearest folder at or above ``root`` with a ``.git`` (a worktree's is a file), else ``root``."""
    resolved = root.resolve()
    for folder in (resolved, *resolved.parents):
        if (folder / ".git").exists():
            return folder
    return resolved


def _uri(path: Path) -> str:
    return urllib.parse.quote(path.as_posix(), safe="/")


def _normal_name(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


class Locator:
    """Maps findings of one project to repository files; asks for the app's routes at most once."""

    def __init__(self, root: Path, routes: Callable[[], RouteMap]) -> None:
        self.root = root.resolve()
        self.srcroot = repository_root(self.root)
        self._routes_source = routes
        self._routes: RouteMap | None = None
        existing = [self.root / name for name in PROJECT_FILES if (self.root / name).is_file()]
        self.project_file = existing[0] if existing else self.root / PROJECT_FILES[0]

    @property
    def routes(self) -> RouteMap:
        if self._routes is None:
            self._routes = self._routes_source()
        return self._routes

    @property
    def notes(self) -> list[str]:
        """What kept HTTP findings from their handler files (only when routes were asked for)."""
        routes = self._routes
        if routes is None or not routes.problem:
            return []
        if routes.from_source:
            return [f"HTTP findings placed by the route decorators in the source: {routes.problem}"]
        return [f"HTTP findings point at the project file: {routes.problem}"]

    def relative(self, path: Path) -> str | None:
        """``path`` relative to the repository root, or ``None`` when it is not the project's own file."""
        absolute = path if path.is_absolute() else self.root / path
        try:
            relative = Path(os.path.normpath(absolute)).relative_to(self.srcroot)
        except ValueError:
            return None
        if any(part in SKIP_DIRS for part in relative.parts[:-1]):
            return None  # a virtualenv or an installed package inside the checkout
        return _uri(relative)

    def _project_uri(self) -> str:
        return self.relative(self.project_file) or _uri(Path(self.project_file.name))

    def _project_line(self) -> int:
        """The ``[security]`` table's line in the project file (it configures the scan), else 1."""
        return _first_line(self.project_file, _SECURITY_TABLE) or 1

    def locate(self, finding: Finding) -> Located:
        """Where ``finding`` is; every result gets a file, the project file at the least."""
        location = finding.location.strip()
        if match := _SOURCE.match(location):
            return self._source(match["path"], int(match["line"]), location)
        if match := _HTTP.match(location):
            return self._http(match["method"], match["where"])
        if match := _PACKAGE.match(location):
            return self._package(match["source"], match["name"], match["version"])
        return self._other(location)

    def _source(self, path: str, line: int, location: str) -> Located:
        uri = self.relative(Path(path))
        if uri is None:
            return Located(
                self._project_uri(), self._project_line(), location, properties={"location": location}
            )
        text = _line_text(self.root / path, line)
        return Located(uri, max(line, 1), f"{uri} line:{text}" if text else f"{uri} line {line}")

    def _http(self, method: str, where: str) -> Located:
        properties = {"method": method}
        if "://" in where:
            parts = urllib.parse.urlsplit(where)
            path = parts.path or "/"
            properties["url"] = where
        else:
            path = where.split("?", 1)[0]
        properties["path"] = path
        # The key is the request, not the file: a run where the app could not be asked keeps the alert.
        key = f"{method} " + "/".join("{}" if _ID_SEGMENT.match(s) else s for s in path.split("/"))
        route = self.routes.find(method, path)
        file = self.relative(route.file) if route is not None else None
        if route is not None and file is not None:
            properties["route"] = route.path
            return Located(file, max(route.line, 1), key, f"{method} {route.path}", properties)
        return Located(self._project_uri(), self._project_line(), key, f"{method} {path}", properties)

    def _package(self, source: str, name: str, version: str) -> Located:
        properties = {"package": name, "version": version, "source": source}
        files = [] if source.startswith("installed in ") else [s.strip() for s in source.split(",")]
        if not files and (self.root / "pyproject.toml").is_file():
            files = ["pyproject.toml"]
        spelled = "[-_.]+".join(re.escape(part) for part in re.split(r"[-_.]+", name))
        wanted = re.compile(rf"(?:^\s*|[\"']){spelled}(?![A-Za-z0-9._-])", re.IGNORECASE)
        for file in files:
            line = _first_line(self.root / file, wanted)
            if line is not None and (uri := self.relative(Path(file))) is not None:
                return Located(uri, line, f"{uri} {_normal_name(name)}", f"{name}=={version}", properties)
        uri = (self.relative(Path(files[0])) if files else None) or self._project_uri()
        return Located(uri, 1, f"{uri} {_normal_name(name)}", f"{name}=={version}", properties)

    def _other(self, location: str) -> Located:
        """A test's node id (``tests/x.py::test_y`` or ``tests.x::test_y``), else the project file."""
        head, _, test = location.partition("::")
        name = test.split("[", 1)[0].rsplit("::", 1)[-1]  # Class::test_x[param] -> test_x
        for candidate in (head, head.replace(".", "/") + ".py"):
            if candidate and (self.root / candidate).is_file() and (uri := self.relative(Path(candidate))):
                definition = re.compile(rf"^\s*(?:async\s+)?def\s+{re.escape(name)}\b") if name else None
                line = _first_line(self.root / candidate, definition) if definition else None
                return Located(uri, line or 1, location, location)
        return Located(
            self._project_uri(), self._project_line(), location, location or None, {"location": location}
        )


def _line_text(path: Path, line: int) -> str:
    """The flagged line without its indentation ("" when unreadable): it moves with the code."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            for number, text in enumerate(handle, 1):
                if number == line:
                    return " ".join(text.split())
    except OSError:
        return ""
    return ""


def _first_line(path: Path, pattern: re.Pattern[str]) -> int | None:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return next((n for n, text in enumerate(lines, 1) if pattern.search(text)), None)


__all__ = ["PROJECT_FILES", "Located", "Locator", "repository_root"]
