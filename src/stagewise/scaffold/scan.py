"""Look at a project and say what it is made of: a frozen :class:`ProjectScan`.

Reads files only (never imports or runs the project's code) and never
prints; :mod:`stagewise.scaffold.render` turns the scan into a project file.
"""

from __future__ import annotations

import configparser
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from stagewise.scaffold import code
from stagewise.scaffold.pytest_config import PytestConfig, read_pytest_config

#: Folder names under tests/ and the tier each one is.
TIER_FOLDERS: dict[str, str] = {
    "unit": "unit", "units": "unit", "unit_tests": "unit", "unittests": "unit",
    "integration": "integration", "integrations": "integration", "integration_tests": "integration",
    "api": "api", "api_tests": "api", "routes": "api", "endpoints": "api",
    "e2e": "e2e", "end_to_end": "e2e", "browser": "e2e", "ui": "e2e",
    "performance": "performance", "perf": "performance", "load": "performance",
    "security": "security",
}  # fmt: skip
#: File-name suffixes (``.env.<x>``, ``compose.<x>.yml``) and the stage each one means.
STAGE_SUFFIXES: dict[str, str] = {
    "dev": "dev", "development": "dev", "local": "dev",
    "test": "test", "testing": "test", "ci": "test",
    "stag": "staging", "stage": "staging", "staging": "staging",
    "prod": "prod", "production": "prod",
}  # fmt: skip
TEMPLATE_SUFFIXES = ("example", "sample", "template", "dist", "defaults", "tpl")
PYTEST_TIERS = ("unit", "integration", "api", "e2e", "security")
_COMPOSE = re.compile(r"^(?:docker-)?compose(?:\.(?P<suffix>[\w-]+))?\.ya?ml$")
_URL_VAR = re.compile(r"(?:^|_)(?:URL|URI|DSN)$")
_PARTS: dict[str, tuple[str, ...]] = {
    "host": ("POSTGRES_SERVER", "POSTGRES_HOST", "DB_HOST", "DATABASE_HOST", "PGHOST"),
    "port": ("POSTGRES_PORT", "DB_PORT", "DATABASE_PORT", "PGPORT"),
    "user": ("POSTGRES_USER", "DB_USER", "DATABASE_USER", "PGUSER"),
    "password": ("POSTGRES_PASSWORD", "DB_PASSWORD", "DATABASE_PASSWORD", "PGPASSWORD"),
    "database": ("POSTGRES_DB", "POSTGRES_DATABASE", "DB_NAME", "DATABASE_NAME", "PGDATABASE"),
}


@dataclass(frozen=True)
class TierScan:
    """One tier found in the project: its paths, and whether it drives the app in-process."""

    name: str
    paths: tuple[str, ...]
    in_process: bool = False
    note: str = ""


@dataclass(frozen=True)
class ComposeFile:
    """A compose file and the stage its name says it is for (``None``: the base file)."""

    path: str
    stage: str | None
    suffix: str | None
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class AlembicScan:
    """Alembic's config, its env.py, and where env.py takes the database URL from."""

    ini: str
    env_py: str | None
    url_env: str | None
    url_parts: tuple[tuple[str, str], ...]
    ini_url: str | None


@dataclass(frozen=True)
class ProjectScan:
    """Everything ``stagewise init`` found; paths are relative to ``root``, POSIX style."""

    root: Path
    name: str
    source: tuple[str, ...]
    source_from: str
    python: str | None
    python_version: str | None
    pytest: PytestConfig | None
    tiers: tuple[TierScan, ...]
    flat: bool
    compose: tuple[ComposeFile, ...]
    dockerfiles: tuple[str, ...]
    env_files: tuple[str, ...]
    locustfile: str | None
    alembic: AlembicScan | None
    app: code.AppFound | None
    has_tool_table: bool

    def tier(self, name: str) -> TierScan | None:
        """The scanned tier of that name, if the project has one."""
        return next((t for t in self.tiers if t.name == name), None)


def scan_project(root: Path) -> ProjectScan:
    """Scan the project at ``root`` (a directory)."""
    root = root.resolve()
    pytest_config = read_pytest_config(root)
    pyproject = _pyproject(root)
    tiers, flat, test_dirs = _tiers(root, pytest_config)
    app = code.find_app(root, skip={*test_dirs, "tests", "test", "migrations", "alembic"})
    source, source_from = _source(root, pytest_config, pyproject, app)
    python, version = _venv(root)
    locustfile = _locustfile(root)
    if locustfile is not None and not any(t.name == "performance" for t in tiers):
        tiers = (*tiers, TierScan("performance", (locustfile,)))
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    tool = pyproject.get("tool")
    return ProjectScan(
        root=root,
        name=name if isinstance(name, str) and name.strip() else root.name,
        source=source,
        source_from=source_from,
        python=python,
        python_version=version,
        pytest=pytest_config,
        tiers=tiers,
        flat=flat,
        compose=_compose(root),
        dockerfiles=_dockerfiles(root),
        env_files=tuple(sorted(p.name for p in root.glob(".env*") if p.is_file())),
        locustfile=locustfile,
        alembic=_alembic(root),
        app=app,
        has_tool_table=isinstance(tool, dict) and "stagewise" in tool,
    )


def _pyproject(root: Path) -> dict[str, object]:
    try:
        return tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _has_tests(directory: Path) -> bool:
    return any(
        p.name.startswith("test_") or p.name.endswith("_test.py") or p.name.startswith("locustfile")
        for p in code.python_files(directory)
    )


def _texts(directory: Path, root: Path) -> list[str]:
    """The test files of a folder plus every conftest.py above it up to the root."""
    texts = [code.read_text(p) for p in code.python_files(directory)]
    for parent in directory.parents:
        if parent == root.parent:
            break
        if (parent / "conftest.py").is_file():
            texts.append(code.read_text(parent / "conftest.py"))
    return texts


def _tiers(root: Path, config: PytestConfig | None) -> tuple[tuple[TierScan, ...], bool, set[str]]:
    """The tiers of the test folders, whether the suite is flat, and the folders' names."""
    testpaths = [p for p in (config.testpaths if config else ()) if (root / p).exists()]
    roots = [root / p for p in testpaths] or [root / d for d in ("tests", "test") if (root / d).is_dir()]
    test_dirs = {p.name for p in roots}
    folders = _tier_folders(root, roots)
    if not folders:
        if not roots:
            return (), False, test_dirs
        paths = tuple(testpaths) if testpaths else tuple(_rel(root, r) for r in roots)
        return (TierScan("unit", paths, note="the whole suite: no tier folders under it"),), True, test_dirs
    others, loose, notes = _other_folders(root, roots, {path for _, path in folders})
    found: dict[str, list[str]] = {}
    for tier, path in (*folders, *others):
        found.setdefault(tier, []).append(_rel(root, path))
    if loose:
        found.setdefault("unit", []).extend(loose)
        notes["unit"] = notes.get("unit", "") + "test files at the top of the test folder; "
    tiers = (_tier_scan(root, tier, tuple(found[tier]), notes.get(tier, "")) for tier in found)
    ordered = sorted(
        (t for t in tiers if t is not None), key=lambda t: (*PYTEST_TIERS, "performance").index(t.name)
    )
    return tuple(ordered), False, test_dirs


def _tier_folders(root: Path, roots: list[Path]) -> list[tuple[str, Path]]:
    """Test roots and their sub-folders whose names are tiers (tests/unit, tests/api, ...)."""
    folders: list[tuple[str, Path]] = []
    for test_root in roots:
        tier = TIER_FOLDERS.get(test_root.name)
        if tier is not None and test_root != root:
            folders.append((tier, test_root))
        elif test_root.is_dir():
            folders.extend(
                (TIER_FOLDERS[child.name], child)
                for child in sorted(test_root.iterdir())
                if child.is_dir() and child.name in TIER_FOLDERS and _has_tests(child)
            )
    return folders


def _other_folders(
    root: Path, roots: list[Path], named: set[Path]
) -> tuple[list[tuple[str, Path]], list[str], dict[str, str]]:
    """Beside tier folders: other test folders (classified by what they import) and loose test files."""
    folders: list[tuple[str, Path]] = []
    loose: list[str] = []
    notes: dict[str, str] = {}
    for test_root in roots:
        if not test_root.is_dir() or test_root in named:
            continue
        for child in sorted(test_root.iterdir()):
            if child.is_dir() and child not in named and _has_tests(child):
                tier, why = _classify(child)
                folders.append((tier, child))
                notes[tier] = notes.get(tier, "") + f"{_rel(root, child)}: {why}; "
            elif child.is_file() and (child.name.startswith("test_") or child.name.endswith("_test.py")):
                loose.append(_rel(root, child))
    return folders, loose, notes


def _classify(folder: Path) -> tuple[str, str]:
    """The tier of a test folder whose name says none, and why."""
    # The folder's own files decide: a shared conftest's TestClient does not make crud tests api tests.
    texts = [code.read_text(p) for p in code.python_files(folder)]
    if code.uses_in_process_client(texts):
        return "api", "drives the app with an in-process client"
    if code.uses_database(texts):
        return "integration", "imports a database library"
    return "unit", "imports no database or HTTP client"


def _tier_scan(root: Path, tier: str, paths: tuple[str, ...], note: str) -> TierScan | None:
    if tier == "performance":
        locust = [
            _rel(root, p)
            for directory in paths
            for p in code.python_files(root / directory)
            if p.name.startswith("locustfile")
        ]
        return TierScan(tier, (locust[0],)) if locust else None
    in_process = False
    if tier in ("api", "e2e"):
        texts = [t for p in paths for t in _texts(root / p, root)]
        in_process = code.uses_in_process_client(texts) and not code.uses_browser(texts)
    return TierScan(tier, paths, in_process, note.rstrip("; "))


def _source(
    root: Path, config: PytestConfig | None, pyproject: dict[str, object], app: code.AppFound | None
) -> tuple[tuple[str, ...], str]:
    if config is not None:
        covered = [
            c
            for c in config.option("--cov")
            if c and not c.startswith(("tests", "test", ".")) and "/" not in c
        ]
        if covered:
            return tuple(dict.fromkeys(covered)), f"--cov in {config.file} addopts"
    if app is not None:
        return (app.module.split(".")[0],), f"the package holding the app, {app.file}"
    project = pyproject.get("project")
    name = project.get("name") if isinstance(project, dict) else None
    if isinstance(name, str):
        package = re.sub(r"[-.]+", "_", name).lower()
        for base in (root, root / "src"):
            if (base / package / "__init__.py").is_file() or (base / f"{package}.py").is_file():
                return (package,), "pyproject.toml [project].name"
    for base in (root / "src", root):
        packages = sorted(
            p.name
            for p in base.glob("*/__init__.py")
            if p.parent.name not in ("tests", "test", "docs") and p.parent.name not in code.SKIP_DIRS
        )
        if packages:
            return tuple(p for p in packages), f"the packages in {_rel(root, base) or '.'}/"
    return (), "no package found"


def _venv(root: Path) -> tuple[str | None, str | None]:
    for venv in (".venv", "venv"):
        for python in ("bin/python", "Scripts/python.exe"):
            if (root / venv / python).exists():
                return f"{venv}/{python}", _venv_version(root / venv / "pyvenv.cfg")
    return None, None


def _venv_version(cfg: Path) -> str | None:
    try:
        lines = cfg.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    for line in lines:
        key, _, value = line.partition("=")
        if key.strip() in ("version", "version_info"):
            return value.strip()
    return None


def _locustfile(root: Path) -> str | None:
    found = [p for p in code.python_files(root) if p.name.startswith("locustfile")]
    if not found:
        return None
    return _rel(root, min(found, key=lambda p: (len(p.relative_to(root).parts), str(p))))


def _compose(root: Path) -> tuple[ComposeFile, ...]:
    files: list[ComposeFile] = []
    for path in sorted(root.iterdir()):
        match = _COMPOSE.match(path.name)
        if not match or not path.is_file():
            continue
        suffix = match.group("suffix")
        stage = STAGE_SUFFIXES.get(suffix) if suffix else None
        files.append(ComposeFile(path.name, stage, suffix, _compose_services(path)))
    return tuple(files)


def _compose_services(path: Path) -> tuple[str, ...]:
    """Top-level service names of a compose file (a plain reading of its ``services:`` block)."""
    names: list[str] = []
    indent: str | None = None
    inside = False
    for line in code.read_text(path).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            inside = line.rstrip() == "services:"
            continue
        if not inside:
            continue
        current = line[: len(line) - len(line.lstrip())]
        if indent is None:
            indent = current
        match = re.match(r"^([A-Za-z0-9_.-]+)\s*:\s*$", line.strip())
        if current == indent and match:
            names.append(match.group(1))
    return tuple(names)


def _dockerfiles(root: Path) -> tuple[str, ...]:
    found = [*root.glob("Dockerfile*"), *root.glob("*/Dockerfile*")]
    return tuple(sorted(_rel(root, p) for p in found if p.is_file() and p.parent.name not in code.SKIP_DIRS))


def _alembic(root: Path) -> AlembicScan | None:
    candidates = [root / "alembic.ini", *sorted(root.glob("*/alembic.ini"))]
    ini = next((p for p in candidates if p.is_file()), None)
    if ini is None:
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read_string(code.read_text(ini))
    except configparser.Error:
        return AlembicScan(_rel(root, ini), None, None, (), None)
    location = parser.get("alembic", "script_location", fallback="alembic")
    location = location.replace("%(here)s", str(ini.parent))
    script_dir = Path(location) if Path(location).is_absolute() else ini.parent / location
    ini_url = parser.get("alembic", "sqlalchemy.url", fallback="").strip() or None
    if ini_url is not None and ini_url.startswith("driver://"):
        ini_url = None
    env_py = script_dir / "env.py"
    if not env_py.is_file():
        return AlembicScan(_rel(root, ini), None, None, (), ini_url)
    names = code.env_names(code.read_text(env_py), root, (ini.parent, root, root / "src"))
    url_env = next((n for n in names if _URL_VAR.search(n)), None)
    parts = tuple(
        (role, next(n for n in options if n in names))
        for role, options in _PARTS.items()
        if any(n in names for n in options)
    )
    return AlembicScan(_rel(root, ini), _rel(root, env_py), url_env, parts, ini_url)
