"""What a project's Python files say, read as text (never imported, never run).

These are heuristics with one rule: a guess that cannot be made with
confidence is left out, so the project file keeps stagewise's default and a
comment says what was seen instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

#: Folders never searched: environments, caches, build output, VCS data, stagewise's own output.
SKIP_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", "env", ".env", ".tox", ".nox", "node_modules",
        "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "build", "dist", "site-packages",
        "reports", "backups", ".stagewise", "htmlcov", ".eggs",
    }
)  # fmt: skip
_MAX_FILES = 4000
_MAX_BYTES = 256_000

_IN_PROCESS = re.compile(
    r"\bTestClient\b|\bASGITransport\b|\bWSGITransport\b|\.test_client\(|AsyncClient\(\s*app\s*="
)
_BROWSER = re.compile(r"\bplaywright\b|\bselenium\b|\bsplinter\b")
_DB_IMPORT = re.compile(
    r"^\s*(?:from|import)\s+(?:sqlalchemy|sqlmodel|psycopg2?|asyncpg|pymongo|motor|redis|databases|"
    r"tortoise|peewee|django\.db)\b",
    re.MULTILINE,
)
_APP = re.compile(
    r"^(?P<attr>[A-Za-z_]\w*)\s*(?::\s*[\w.]+\s*)?=\s*(?:[\w.]+\.)?"
    r"(?P<framework>FastAPI|Starlette|Flask|Quart|Litestar|Sanic)\(",
    re.MULTILINE,
)
_FRAMEWORK_RANK = {"FastAPI": 0, "Starlette": 1, "Litestar": 2, "Quart": 3, "Flask": 4, "Sanic": 5}
_ENV_READ = re.compile(r"""(?:getenv|environ(?:\.get)?|env)\s*[\(\[]\s*["']([A-Z_][A-Z0-9_]*)["']""")
_SETTINGS_FIELD = re.compile(r"^\s+([A-Z][A-Z0-9_]*)\s*:\s*[\w\[\], |.]+(?:=|$)", re.MULTILINE)
_LOCAL_IMPORT = re.compile(r"^\s*from\s+([A-Za-z_][\w.]*)\s+import\b", re.MULTILINE)


def python_files(root: Path, *, skip: Iterable[str] = ()) -> Iterator[Path]:
    """Python files under ``root`` (sorted, bounded), outside :data:`SKIP_DIRS` and ``skip``."""
    skipped = set(SKIP_DIRS) | set(skip)
    count = 0
    stack = [root]
    while stack and count < _MAX_FILES:
        directory = stack.pop()
        try:
            entries = sorted(directory.iterdir(), reverse=True)
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir() and not entry.is_symlink():
                if entry.name not in skipped and not entry.name.startswith("."):
                    stack.append(entry)
            elif entry.suffix == ".py" and entry.is_file():
                count += 1
                yield entry


def read_text(path: Path) -> str:
    """A source file's text ("" when unreadable; only the first 256 KB)."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(_MAX_BYTES)
    except OSError:
        return ""


def uses_in_process_client(texts: Iterable[str]) -> bool:
    """Whether tests drive the app in-process (``TestClient``, httpx ``ASGITransport``, ...)."""
    return any(_IN_PROCESS.search(text) for text in texts)


def uses_browser(texts: Iterable[str]) -> bool:
    """Whether tests drive a browser (Playwright, Selenium)."""
    return any(_BROWSER.search(text) for text in texts)


def uses_database(texts: Iterable[str]) -> bool:
    """Whether tests import a database library (SQLAlchemy, SQLModel, psycopg, ...)."""
    return any(_DB_IMPORT.search(text) for text in texts)


@dataclass(frozen=True)
class AppFound:
    """An ASGI/WSGI application object: ``module:attr`` importable from ``app_dir``."""

    module: str
    attr: str
    framework: str
    file: str
    app_dir: str
    openapi: str | None
    openapi_note: str | None
    health_path: str | None


def find_app(root: Path, skip: Iterable[str]) -> AppFound | None:
    """The project's web application object, FastAPI first, the shortest path first."""
    best: tuple[int, int, str, Path, re.Match[str], str] | None = None
    sources: list[tuple[Path, str]] = []
    for path in python_files(root, skip=skip):
        text = read_text(path)
        sources.append((path, text))
        for match in _APP.finditer(text):
            rank = (_FRAMEWORK_RANK[match.group("framework")], len(path.relative_to(root).parts))
            if best is None or rank < best[:2]:
                best = (*rank, str(path), path, match, text)
    if best is None:
        return None
    _, _, _, path, match, text = best
    package_dir = path.parent
    while (package_dir / "__init__.py").is_file() and package_dir != root:
        package_dir = package_dir.parent
    module = ".".join(path.relative_to(package_dir).with_suffix("").parts)
    framework = match.group("framework")
    call = text[match.end() : match.end() + 800]
    openapi, note = _openapi(framework, call, sources)
    attr = match.group("attr")
    health = re.search(
        rf"@{re.escape(attr)}\.(?:get|api_route|route|head)\(\s*[\"'](/[^\"']*health[^\"']*)[\"']", text
    )
    return AppFound(
        module=module,
        attr=attr,
        framework=framework,
        file=path.relative_to(root).as_posix(),
        app_dir=package_dir.relative_to(root).as_posix(),
        openapi=openapi,
        openapi_note=note,
        health_path=health.group(1) if health else None,
    )


def _openapi(framework: str, call: str, sources: list[tuple[Path, str]]) -> tuple[str | None, str | None]:
    """The OpenAPI path of the app and, when it was worked out from a constant, how."""
    if framework != "FastAPI":
        return None, None
    found = re.search(r"openapi_url\s*=\s*(f?)([\"'])(.*?)\2|openapi_url\s*=\s*None\b", call)
    if found is None:
        return "/openapi.json", None
    if found.group(2) is None:
        return None, "the app sets openapi_url=None: no OpenAPI document to fuzz"
    template = found.group(3)
    if not found.group(1):
        return template, None
    resolved = template
    for expression in re.findall(r"\{([^{}]+)\}", template):
        name = expression.split(".")[-1].strip()
        value = _constant(name, sources)
        if value is None:
            return (
                "/openapi.json",
                f"openapi_url is f{found.group(2)}{template}{found.group(2)}: set the path by hand",
            )
        resolved = resolved.replace("{" + expression + "}", value)
    return resolved, f"from openapi_url=f{found.group(2)}{template}{found.group(2)}"


def _constant(name: str, sources: list[tuple[Path, str]]) -> str | None:
    pattern = re.compile(rf"^\s*{re.escape(name)}\s*(?::[^=\n]+)?=\s*[\"']([^\"'\n]*)[\"']", re.MULTILINE)
    for _, text in sources:
        match = pattern.search(text)
        if match:
            return match.group(1)
    return None


def env_names(text: str, root: Path, search: Iterable[Path]) -> tuple[str, ...]:
    """Variables a module reads (``os.getenv``, ``os.environ[...]``, settings fields), in order.

    Local modules it imports (``from app.core.config import settings``) are read
    too, one level deep, looked up under each directory of ``search``.
    """
    names: list[str] = []

    def add(found: Iterable[str]) -> None:
        for name in found:
            if name not in names:
                names.append(name)

    add(_ENV_READ.findall(text))
    add(_SETTINGS_FIELD.findall(text))
    for module in _LOCAL_IMPORT.findall(text):
        for base in search:
            candidate = base.joinpath(*module.split("."))
            for file in (candidate.with_suffix(".py"), candidate / "__init__.py"):
                if file.is_file() and root in file.resolve().parents:
                    other = read_text(file)
                    add(_ENV_READ.findall(other))
                    add(_SETTINGS_FIELD.findall(other))
    return tuple(names)
