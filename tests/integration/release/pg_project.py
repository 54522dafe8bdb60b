"""A throwaway PostgreSQL-backed project for release tests: made, released as v1, torn down.

The project is the fault tests' (:mod:`tests.integration.release.test_release_faults`):
a tiny HTTP service reading ``items`` through alembic migrations, with a smoke
tier; a test may replace its app or its smoke test. Each call makes its own
database, ports and git repository, so tests using it are independent (xdist-safe).
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from stagewise.processes import ProcessRef, stop_group
from tests.helpers import free_port
from tests.integration.dataops.test_migrate import ALEMBIC_INI, ENV_PY, SCRIPT_MAKO
from tests.integration.release.test_release_faults import ADMIN, APP, BASE, SMOKE, Shop, _git, _revision
from tests.pyvenvs import ALEMBIC_PSYCOPG, PYTEST_8, project_venv

CONFTEST = "def pytest_configure(config):\n    config.addinivalue_line('markers', 'smoke: read-only')\n"


def _files(python: Path, url: str, ports: tuple[int, int, int], *, app: str, smoke: str) -> dict[str, str]:
    door, port, spare = ports
    return {
        "app.py": app,
        "VERSION": "v1\n",
        "COLUMN": "name\n",
        "tests/api/test_smoke.py": smoke,
        "tests/api/conftest.py": CONFTEST,
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
        "migrations/versions/0001.py": _revision("0001", None, BASE),
        ".gitignore": "reports/\n",
        "stagewise.toml": f"""[project]
name = "shop"
python = "{python}"
health_path = "/health"
[data]
[data.urls]
dev = "{url}"
[data.gate]
lock_timeout = "1s"
[tiers.api]
paths = ["tests/api"]
[stages.dev]
tiers = ["api"]
[services.app]
command = ["{python}", "app.py", "{{port}}"]
port = {port}
env = {{ DATABASE_URL = "{url}" }}
health = {{ http = "http://127.0.0.1:{{port}}/health", timeout = 10 }}
[release.dev]
port = {door}
spare_port = {spare}
verify = ["api"]
drain = "1s"
""",
    }


@contextmanager
def pg_project(parent: Path, *, app: str = APP, smoke: str = SMOKE, commit: bool = True) -> Iterator[Shop]:
    """The project in ``parent/shop`` with v1 committed (``commit``), migrated and up; dropped after."""
    python = project_venv((*ALEMBIC_PSYCOPG, *PYTEST_8))
    name = f"swrelease_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    root = parent / "shop"
    door, port, spare = free_port(), free_port(), free_port()
    for relative, text in _files(python, url, (door, port, spare), app=app, smoke=smoke).items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    _git(root, "init", "-q")
    if commit:
        commit_all(root, "v1")
    shop = Shop(root, door, {"a": port, "b": spare}, url)
    try:
        for args in (("migrate", "--yes"), ("up", "-d", "--yes")):
            done = shop.cli(*args)
            assert done.returncode == 0, done.stdout + done.stderr
        yield shop
    finally:
        shop.cli("down", "--yes")
        for journal in (root / ".stagewise" / "dev").glob("*.json"):
            data = json.loads(journal.read_text() or "{}")
            if isinstance(data, dict) and "pid" in data and "start_ticks" in data:
                ref = ProcessRef(int(data["pid"]), int(data["start_ticks"]))
                if ref.pid > 1 and ref.alive():  # still the process the journal names
                    stop_group(ref, grace=2.0)
        with psycopg.connect(ADMIN, autocommit=True) as admin:
            for (db,) in admin.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}%",)
            ).fetchall():
                admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def commit_all(root: Path, message: str) -> str:
    """Commit the whole tree; the new commit's sha."""
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", message)
    return subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
    ).stdout.strip()
