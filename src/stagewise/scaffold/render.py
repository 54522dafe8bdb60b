"""Turn a :class:`~stagewise.scaffold.scan.ProjectScan` into a commented ``stagewise.toml``.

Only keys the project loader accepts are written. Every value goes through
:func:`toml_value` (strings as JSON strings, which are valid TOML basic
strings), and text taken from the project that lands in a comment is cut to
one printable line, so no file content can break the TOML.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from stagewise.project.defaults import default_stages, default_tiers
from stagewise.project.services import ComposeConfig
from stagewise.scaffold.scan import STAGE_SUFFIXES, TEMPLATE_SUFFIXES, ProjectScan

TomlValue = str | bool | int | float | list[str]
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_STAGES = ("dev", "test", "staging", "prod")


def toml_value(value: TomlValue) -> str:
    """One TOML value: strings quoted and escaped, lists of strings inline."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    return "[" + ", ".join(json.dumps(v) for v in value) + "]"


def toml_key(key: str) -> str:
    """A key bare when TOML allows it, else quoted."""
    return key if _BARE_KEY.match(key) else json.dumps(key)


def comment(text: str) -> str:
    """Project-derived text made safe for a ``#`` comment: one printable line, bounded."""
    line = "".join(c if c.isprintable() else " " for c in text)
    return line if len(line) <= 200 else line[:197] + "..."


@dataclass
class _Section:
    header: str | None
    notes: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.notes.append(comment(text))

    def set(self, key: str, value: TomlValue, why: str | None = None) -> None:
        if why:
            self.lines.append(f"# {comment(why)}")
        self.lines.append(f"{toml_key(key)} = {toml_value(value)}")

    def render(self) -> str:
        out = [f"# {n}" for n in self.notes]
        if self.header:
            out.append(f"[{self.header}]")
        return "\n".join([*out, *self.lines])


def render_project_file(scan: ProjectScan) -> str:
    """The whole ``stagewise.toml`` text for ``scan`` (ends with a newline)."""
    sections = [
        _intro(scan),
        _project(scan),
        *_tiers(scan),
        *_stages(scan),
        *_coverage(scan),
        *_compose(scan),
        *_data(scan),
        *_security(scan),
    ]
    return "\n\n".join(s.render() for s in sections if s.lines or s.notes) + "\n"


def _intro(scan: ProjectScan) -> _Section:
    section = _Section(None)
    section.note("stagewise.toml, written by `stagewise init` from what it found in this project.")
    section.note("Every key is optional (stagewise has a default for each); edit freely.")
    pytest = scan.pytest
    if pytest is None:
        section.note("pytest config: none found (pytest.ini, pyproject.toml, tox.ini, setup.cfg)")
    else:
        section.note(f"pytest config: {pytest.file} {pytest.section}")
        if pytest.testpaths:
            section.note(f"  testpaths: {' '.join(pytest.testpaths)}")
        if pytest.addopts:
            section.note(f"  addopts: {' '.join(pytest.addopts)} (pytest still reads these in every tier)")
        if pytest.option("-n", "--numprocesses"):
            section.note("  pytest-xdist runs each tier in parallel (-n in addopts)")
        if pytest.marker_names:
            section.note(f"  markers: {', '.join(pytest.marker_names)}")
    if scan.dockerfiles:
        section.note(f"Dockerfile: {', '.join(scan.dockerfiles)} (built by the compose files that use it)")
    templates = [f for f in scan.env_files if f.rsplit(".", 1)[-1] in TEMPLATE_SUFFIXES]
    if scan.env_files:
        section.note(f"env files: {', '.join(scan.env_files)}; a stage reads .env, .env.<stage> (+ .local)")
    if templates:
        section.note(f"  not read (templates): {', '.join(templates)}")
    return section


def _project(scan: ProjectScan) -> _Section:
    section = _Section("project")
    section.set("name", scan.name)
    if scan.source:
        section.set("source", list(scan.source), f"what --coverage measures (from {scan.source_from})")
    else:
        section.note("no package found for project.source: --coverage measures the whole project")
    if scan.python:
        version = f", Python {scan.python_version}" if scan.python_version else ""
        section.set(
            "python", scan.python, f"pytest runs in the project's own interpreter (local venv{version})"
        )
    app = scan.app
    if app is not None:
        where = f" --app-dir {app.app_dir}" if app.app_dir not in ("", ".") else ""
        if app.framework == "Flask":
            hint = f"flask --app {app.module}:{app.attr} run --port 8000"
        else:
            hint = f"uvicorn {app.module}:{app.attr}{where} --port 8000"
        section.set(
            "start_hint", hint, f"the {app.framework} app in {app.file}; shown when the target is down"
        )
        if app.health_path:
            section.set("health_path", app.health_path, "checked before api/e2e tiers run")
    return section


def _tiers(scan: ProjectScan) -> list[_Section]:
    defaults = default_tiers()
    if not scan.tiers:
        section = _Section(None)
        section.note("no test folders found: tiers keep the defaults (tests/unit, tests/integration, ...)")
        return [section]
    sections = []
    for tier in scan.tiers:
        section = _Section(f"tiers.{tier.name}")
        if tier.note:
            section.note(tier.note)
        section.set("paths", list(tier.paths))
        if tier.in_process and defaults[tier.name].needs_target:
            section.set(
                "needs_target", False, "its tests call the app in-process (TestClient): no server needed"
            )
            if tier.name == "e2e":
                section.set("browser", False)
        sections.append(section)
    return sections


def _stages(scan: ProjectScan) -> list[_Section]:
    found = {t.name for t in scan.tiers}
    env_extra = _env_files_by_stage(scan.env_files)
    sections = []
    for name, stage in default_stages().items():
        section = _Section(f"stages.{name}")
        tiers = [t for t in stage.tiers if t in found]
        if scan.tiers and tiers != list(stage.tiers):
            missing = [t for t in stage.tiers if t not in found]
            section.set("tiers", tiers, f"no {', '.join(missing)} tests found")
        markers = scan.pytest.marker_names if scan.pytest else ()
        if stage.markers and tiers and stage.markers not in markers:
            section.note(
                f"{name} runs only tests marked {stage.markers!r}; the project registers no such marker"
            )
        extra = env_extra.get(name, [])
        if extra:
            section.set("env_files", [*stage.env_files, *extra], "later files win")
        if section.lines:
            sections.append(section)
    return sections


def _env_files_by_stage(env_files: tuple[str, ...]) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = {}
    for file in env_files:
        suffix = file[len(".env.") :] if file.startswith(".env.") else ""
        stage = STAGE_SUFFIXES.get(suffix)
        if stage is not None and suffix != stage:
            extra.setdefault(stage, []).append(file)
    return extra


def _coverage(scan: ProjectScan) -> list[_Section]:
    if scan.pytest is None:
        return []
    values = scan.pytest.option("--cov-fail-under")
    try:
        fail_under = float(values[-1]) if values else None
    except ValueError:
        fail_under = None
    if fail_under is None or not 0 <= fail_under <= 100:
        return []
    section = _Section("coverage")
    section.set(
        "fail_under",
        int(fail_under) if fail_under.is_integer() else fail_under,
        f"from --cov-fail-under in {scan.pytest.file} addopts",
    )
    return [section]


def _compose(scan: ProjectScan) -> list[_Section]:
    if not scan.compose:
        return []
    section = _Section("compose.files")
    base = next((c for c in scan.compose if c.stage is None and c.suffix is None), None)
    staged = {c.stage: c for c in scan.compose if c.stage}
    defaults = ComposeConfig()
    for stage in _STAGES:
        chosen = staged.get(stage) or (base if stage == "dev" else None)
        if chosen is None:
            continue
        why = f"services: {', '.join(chosen.services)}" if chosen.services else None
        if chosen is base:
            why = f"the base compose file, used for dev; {why or 'no services read'}"
        if chosen.path != defaults.file_for(stage) or why:
            section.set(stage, chosen.path, why)
    for other in scan.compose:
        if other.suffix and other.stage is None:
            section.note(f"{other.path}: not a stage name; stagewise passes one -f file, so it is not merged")
    return [section] if section.lines else []


def _data(scan: ProjectScan) -> list[_Section]:
    alembic = scan.alembic
    if alembic is None:
        return []
    section = _Section("data")
    section.set("alembic_ini", alembic.ini, "migrations: python -m alembic -c this file")
    section.set("backups_dir", "backups")
    urls: _Section | None = None
    if alembic.env_py is None:
        section.note(f"{alembic.ini}: its script_location has no env.py")
    if alembic.url_env:
        section.set(
            "url_env", alembic.url_env, f"{alembic.env_py} reads the database URL from {alembic.url_env}"
        )
    elif alembic.url_parts:
        parts = dict(alembic.url_parts)
        names = ", ".join(var for _, var in alembic.url_parts)
        section.note(f"{alembic.env_py} builds its URL from parts: {names} (no single URL variable)")
        if {"host", "user", "database"} <= parts.keys():
            auth = "${" + parts["user"] + "}"
            if "password" in parts:
                auth += ":${" + parts["password"] + "}"
            port = "${" + parts["port"] + ":-5432}" if "port" in parts else "5432"
            url = f"postgresql://{auth}@${{{parts['host']}:-localhost}}:{port}/${{{parts['database']}}}"
            urls = _Section("data.urls")
            urls.note("the same parts for stagewise (backup, restore), filled from each stage's env files;")
            urls.note("a password with URL-special characters (@ : / %) must be percent-encoded here")
            for stage in _STAGES:
                urls.set(stage, url)
    elif alembic.ini_url:
        section.note(f"the URL is sqlalchemy.url in {alembic.ini}; stagewise reads DATABASE_URL")
    return [section] if urls is None else [section, urls]


def _security(scan: ProjectScan) -> list[_Section]:
    app = scan.app
    if app is None or (app.openapi is None and app.openapi_note is None):
        return []
    section = _Section("security.fuzz")
    if app.openapi is None:
        section.note(app.openapi_note or "no OpenAPI document")
        return [section]
    section.set("openapi", app.openapi, app.openapi_note or f"the {app.framework} app's OpenAPI document")
    return [section]
