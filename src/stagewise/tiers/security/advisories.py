"""A local copy of OSV advisories, served to pip-audit on 127.0.0.1 for one run.

On a closed network (an air-gapped CI, this machine) pip-audit reaches no
vulnerability data, so the dependency audit can only say "not run". The PyPA
advisory database is published as OSV JSON; with
``security.dependencies.advisories = PATH`` the audit runs against a copy of
it: a folder of OSV JSON files (searched recursively), one JSON file holding
an advisory or a list of them, or the ``.zip`` osv.dev publishes per
ecosystem (``PyPI/all.zip``).

pip-audit's OSV service (``--vulnerability-service osv --osv-url URL``)
POSTs ``{"package": {"name", "ecosystem"}, "version"}`` to the URL for each
package and reads ``{"vulns": [...]}`` back (``{}`` for none). The server
here answers exactly that, from the files: an advisory matches when one of
its ``affected`` entries is for ecosystem ``PyPI`` and the same package
(names compared normalised, PEP 503), and the version is listed in its
``versions`` or falls inside one of its ``ECOSYSTEM`` ranges (``introduced``
/ ``fixed`` / ``last_affected`` events, compared with :mod:`packaging.version`,
which pip-audit itself installs). Withdrawn advisories never match.

The result names how fresh the copy is: the newest ``modified`` date in it.
"""

from __future__ import annotations

import http.server
import json
import re
import threading
import zipfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

QUERY_PATH = "/v1/query"
_MAX_QUERY = 1024 * 1024
_NAME_RUN = re.compile(r"[-_.]+")


class AdvisoryProblem(ValueError):
    """The advisory copy cannot be read (missing, not JSON, not OSV): the check reports it."""


def normalise(name: str) -> str:
    """A package name as PEP 503 compares it (``Foo_Bar`` -> ``foo-bar``)."""
    return _NAME_RUN.sub("-", name).lower()


@dataclass(frozen=True)
class Advisories:
    """The advisories by normalised PyPI package name, how many, and the newest ``modified`` date."""

    source: Path
    by_package: Mapping[str, tuple[Mapping[str, Any], ...]]
    count: int
    newest: str

    def matching(self, name: str, version: str) -> list[dict[str, Any]]:
        """The advisories affecting ``name`` at ``version``, as pip-audit reads them."""
        wanted = normalise(name)
        return [
            _for_pip_audit(a, wanted) for a in self.by_package.get(wanted, ()) if affects(a, wanted, version)
        ]

    def describe(self) -> str:
        """``against advisories up to 2026-03-01 (412 advisories in vendor/osv)``."""
        newest = self.newest or "an unknown date (no 'modified' field)"
        return f"against advisories up to {newest} ({self.count} advisories in {self.source})"


def _documents(path: Path) -> Iterator[tuple[str, object]]:
    """Every parsed JSON document under ``path`` with the name to blame if it is not OSV."""
    if path.is_dir():
        files = sorted(p for p in path.rglob("*.json") if p.is_file())
        if not files:
            raise AdvisoryProblem(f"{path} holds no .json files")
        for file in files:
            yield str(file), _parse(file.read_bytes(), str(file))
    elif path.suffix == ".zip":
        try:
            with zipfile.ZipFile(path) as archive:
                for member in sorted(n for n in archive.namelist() if n.endswith(".json")):
                    yield f"{path}:{member}", _parse(archive.read(member), f"{path}:{member}")
        except zipfile.BadZipFile as exc:
            raise AdvisoryProblem(f"{path} is not a zip archive: {exc}") from exc
    else:
        yield str(path), _parse(path.read_bytes(), str(path))


def _parse(data: bytes, where: str) -> object:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise AdvisoryProblem(f"{where} is not JSON: {exc}") from exc


def load_advisories(path: Path) -> Advisories:
    """Read the copy at ``path``; :class:`AdvisoryProblem` names the file that is wrong."""
    if not path.exists():
        raise AdvisoryProblem(f"{path} does not exist")
    by_package: dict[str, list[Mapping[str, Any]]] = {}
    count = 0
    newest = ""
    try:
        for where, document in _documents(path):
            entries = document if isinstance(document, list) else [document]
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("id"), str):
                    raise AdvisoryProblem(f"{where}: not an OSV advisory (no 'id')")
                count += 1
                stamp = str(entry.get("modified") or entry.get("published") or "")[:10]
                newest = max(newest, stamp)
                for name in _pypi_packages(entry):
                    by_package.setdefault(name, []).append(entry)
    except OSError as exc:
        raise AdvisoryProblem(f"cannot read {path}: {exc}") from exc
    return Advisories(path, {k: tuple(v) for k, v in by_package.items()}, count, newest)


def _pypi_packages(advisory: Mapping[str, Any]) -> set[str]:
    names = set()
    for affected in _affected(advisory):
        package = affected.get("package")
        if isinstance(package, dict) and package.get("ecosystem") == "PyPI" and package.get("name"):
            names.add(normalise(str(package["name"])))
    return names


def _affected(advisory: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    entries = advisory.get("affected")
    return [a for a in entries if isinstance(a, dict)] if isinstance(entries, list) else []


def affects(advisory: Mapping[str, Any], name: str, version: str) -> bool:
    """Whether ``advisory`` covers PyPI package ``name`` (normalised) at ``version``."""
    if advisory.get("withdrawn"):
        return False
    from packaging.version import InvalidVersion, Version

    try:
        parsed: Version | None = Version(version)
    except InvalidVersion:
        parsed = None
    for affected in _affected(advisory):
        package = affected.get("package")
        if not isinstance(package, dict) or package.get("ecosystem") != "PyPI":
            continue
        if normalise(str(package.get("name", ""))) != name:
            continue
        listed = affected.get("versions")
        if isinstance(listed, list) and any(_same(str(v), version, parsed) for v in listed):
            return True
        if parsed is not None and any(_in_range(r, parsed) for r in affected.get("ranges") or ()):
            return True
    return False


def _same(listed: str, version: str, parsed: object) -> bool:
    from packaging.version import InvalidVersion, Version

    if listed == version:
        return True
    try:
        return parsed is not None and Version(listed) == parsed
    except InvalidVersion:
        return False


def _in_range(spec: object, version: Any) -> bool:
    """OSV's ECOSYSTEM range: events sorted by version, affected from ``introduced`` until ``fixed``."""
    from packaging.version import InvalidVersion, Version

    if not isinstance(spec, dict) or spec.get("type") != "ECOSYSTEM":
        return False
    events: list[tuple[Version, int, str]] = []
    for event in spec.get("events") or ():
        if not isinstance(event, dict):
            continue
        for kind, order in (("introduced", 0), ("fixed", 1), ("last_affected", 2)):
            if kind in event:
                raw = str(event[kind])
                try:
                    events.append((Version("0") if raw == "0" else Version(raw), order, kind))
                except InvalidVersion:
                    continue
    state = False
    for at, _, kind in sorted(events):
        if kind == "introduced" and version >= at:
            state = True
        elif (kind == "fixed" and version >= at) or (kind == "last_affected" and version > at):
            state = False
    return state


def _for_pip_audit(advisory: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A copy whose PyPI package names are normalised: pip-audit finds fix versions by exact name."""
    copy = dict(advisory)
    affected: list[Mapping[str, Any]] = []
    for entry in _affected(advisory):
        package = entry.get("package")
        if isinstance(package, dict) and normalise(str(package.get("name", ""))) == name:
            affected.append({**entry, "package": {**package, "name": name}})
        else:
            affected.append(entry)
    copy["affected"] = affected
    return copy


def _handler(advisories: Advisories) -> type[http.server.BaseHTTPRequestHandler]:
    class Query(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != QUERY_PATH:
                self._answer(404, {"message": f"only POST {QUERY_PATH} is served"})
                return
            try:
                length = min(int(self.headers.get("Content-Length", "0")), _MAX_QUERY)
                query = json.loads(self.rfile.read(length))
                package = query["package"]
                name, version = str(package["name"]), str(query["version"])
            except (ValueError, KeyError, TypeError):
                self._answer(400, {"message": "expected {package: {name, ecosystem}, version}"})
                return
            if package.get("ecosystem", "PyPI") != "PyPI":
                self._answer(200, {})
                return
            found = advisories.matching(name, version)
            self._answer(200, {"vulns": found} if found else {})

        def _answer(self, status: int, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Query


@contextmanager
def serve(advisories: Advisories) -> Iterator[str]:
    """Serve ``advisories`` on 127.0.0.1 (a free port) while the block runs; yields the query URL."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _handler(advisories))
    thread = threading.Thread(target=server.serve_forever, name="stagewise-osv", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{QUERY_PATH}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


__all__ = ["QUERY_PATH", "Advisories", "AdvisoryProblem", "affects", "load_advisories", "normalise", "serve"]
