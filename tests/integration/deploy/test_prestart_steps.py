"""Prestart and build steps through ``stagewise deploy``: real processes, real Alembic, real databases.

A protected stage never migrates behind the guard: a plain alembic step is
refused before anything starts; a ``migrate = true`` step backs up first and
puts the data back on failure. ``{python}`` is the project's interpreter (a
separate real venv), steps stream and stop at their timeout, and ``deploy dev
test`` leaves the dev data alone (the in-process tiers do not run).
"""

from __future__ import annotations

import os
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli
from tests.integration.dataops.conftest import pg_database  # noqa: F401 - the fixture, shared
from tests.integration.dataops.test_migrate import alembic_project, revision, rows
from tests.pyvenvs import project_venv


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def web_service(port: int, prestart: str = "", build: str = "") -> str:
    """A real HTTP server as the service; ``prestart``/``build`` are TOML step lists."""
    lines = [
        "[services.web]",
        'command = ["{python}", "-m", "http.server", "{port}", "--bind", "127.0.0.1"]',
        f"port = {port}",
        'health = { tcp = "{port}", timeout = 20 }',
    ]
    if prestart:
        lines.append(f"prestart = {prestart}")
    if build:
        lines.append(f"build = {build}")
    return "\n".join(lines) + "\n"


@pytest.fixture
def port(tmp_path: Path) -> Iterator[int]:
    chosen = free_port()
    yield chosen
    assert not port_open(chosen), "a test left the service running"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'prod.db'}"
    url: str = request.getfixturevalue("pg_database")
    return url


def with_service(root: Path, service: str) -> None:
    toml = root / "stagewise.toml"
    toml.write_text(toml.read_text() + "\n" + service)


def test_an_alembic_prestart_on_a_protected_stage_is_refused_before_anything_starts(
    make_project: ProjectFactory, tmp_path: Path, port: int
) -> None:
    url = f"sqlite:///{tmp_path / 'prod.db'}"
    root = alembic_project(make_project, url, "prod", ("0001",))
    with_service(root, web_service(port, prestart='[["{python}", "-m", "alembic", "upgrade", "head"]]'))
    done = run_cli("deploy", "prod", "up", "-d", "--yes", cwd=root)
    assert done.returncode == 3, done.stdout + done.stderr
    line = done.stderr.strip()
    assert "\n" not in line
    assert "services.web.prestart[0]: runs alembic on protected stage prod with no backup" in line
    assert '{ command = ["{python}", "-m", "alembic", "upgrade", "head"], migrate = true }' in line
    assert not (tmp_path / "prod.db").exists(), "nothing may run before the refusal"
    assert not (root / ".stagewise" / "prod").exists()
    assert not port_open(port)


def test_a_migrate_step_on_a_protected_stage_asks_backs_up_and_puts_the_data_back(
    make_project: ProjectFactory, database_url: str, port: int
) -> None:
    root = alembic_project(make_project, database_url, "prod", ("0001", "0002", "0003"))
    (root / "migrations" / "versions" / "0003.py").rename(root / "0003.py.held")
    first = run_cli("deploy", "prod", "migrate", "--to", "0001", "--yes", cwd=root)
    assert first.returncode == 0, first.stderr
    with_service(root, web_service(port, prestart="[{ migrate = true }]"))

    unconfirmed = run_cli("deploy", "prod", "up", "-d", cwd=root)
    assert unconfirmed.returncode == 2, unconfirmed.stdout + unconfirmed.stderr
    assert "refusing to migrate its database (services.web.prestart[0]) without --yes" in unconfirmed.stderr
    assert revision(database_url) == "0001"
    assert not port_open(port)

    try:
        up = run_cli("deploy", "prod", "up", "-d", "--yes", cwd=root)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "web prestart | services.web.prestart[0] is a migration" in up.stdout
        assert revision(database_url) == "0002"
        backups = sorted((root / "backups" / "prod").glob("*-0001.*"))
        assert backups, "the guarded migrate backs up first"
        assert "verified" in up.stdout
    finally:
        assert run_cli("deploy", "prod", "down", "--yes", cwd=root).returncode == 0

    # The project's own migration command, declared as one: it fails after committing a delete.
    (root / "0003.py.held").rename(root / "migrations" / "versions" / "0003.py")
    toml = root / "stagewise.toml"
    toml.write_text(
        toml.read_text().replace(
            "prestart = [{ migrate = true }]",
            'prestart = [{ command = ["{python}", "-m", "alembic", "upgrade", "head"], migrate = true }]',
        )
    )
    before = rows(database_url)
    failed = run_cli("deploy", "prod", "up", "-d", "--yes", cwd=root)
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "planted failure in 0003" in failed.stderr
    assert "the database was restored from the automatic backup" in failed.stderr
    assert rows(database_url) == before, "the rows 0003 deleted and committed must be back"
    assert revision(database_url) == "0002"
    assert "Traceback" not in failed.stderr
    assert not port_open(port)


def test_python_in_steps_is_the_projects_own_interpreter(
    make_project: ProjectFactory, tmp_path: Path, port: int
) -> None:
    """stagewise in its venv, the project (with alembic) in another: ``{python}`` is the project's."""
    python = project_venv(("alembic>=1.13,<2",))
    url = f"sqlite:///{tmp_path / 'dev.db'}"
    root = alembic_project(make_project, url, "dev", ("0001",))
    toml = root / "stagewise.toml"
    toml.write_text(f'[project]\npython = "{python}"\n' + toml.read_text())
    record = "import sys; open('python.txt', 'w').write(sys.executable)"
    env_url = f'env = {{ DATABASE_URL = "{url}" }}\n'
    with_service(
        root,
        web_service(
            port,
            prestart='[["{python}", "-m", "alembic", "upgrade", "head"]]',
            build=f'[["{{python}}", "-c", "{record}"]]',
        )
        + env_url,
    )
    try:
        up = run_cli("deploy", "dev", "up", "-d", "--build", cwd=root)
        assert up.returncode == 0, up.stdout + up.stderr
    finally:
        assert run_cli("deploy", "dev", "down", cwd=root).returncode == 0
    assert (root / "python.txt").read_text() == str(python)
    assert revision(url) == "0001"


def test_steps_stream_with_their_prefix_and_a_timeout_stops_one(
    make_project: ProjectFactory, port: int
) -> None:
    slow = "import time; print('waiting for the database', flush=True); time.sleep(120)"
    root = make_project(
        {
            "stagewise.toml": web_service(
                port,
                build='[["{python}", "-c", "print(\'compiled\')"]]',
                prestart=f'[{{ command = ["{{python}}", "-c", "{slow}"], timeout = 2 }}]',
            )
        }
    )
    built = run_cli("deploy", "dev", "build", cwd=root)
    assert built.returncode == 0, built.stderr
    assert "web build | compiled" in built.stdout
    up = run_cli("deploy", "dev", "up", "-d", cwd=root, timeout=60)
    assert up.returncode == 1, up.stdout + up.stderr
    assert "web prestart | waiting for the database" in up.stdout
    assert "services.web.prestart[0] ran longer than its timeout of 2 s and was stopped" in up.stderr
    assert not port_open(port)


CONFTEST_THAT_EMPTIES = """
import os, sqlite3
import pytest

@pytest.fixture(autouse=True)
def clean_database():
    yield
    with sqlite3.connect(os.environ["APP_DB"]) as db:
        db.execute("DELETE FROM users")
"""


def test_deploy_dev_test_leaves_the_dev_data(make_project: ProjectFactory, tmp_path: Path, port: int) -> None:
    database = tmp_path / "dev.db"
    with sqlite3.connect(database) as db:
        db.execute("CREATE TABLE users (name TEXT)")
        db.execute("INSERT INTO users VALUES ('ada'), ('grace')")
    project = {
        "stagewise.toml": (
            f'[stages.dev]\ntiers = ["unit", "integration", "api"]\nbase_url = "http://127.0.0.1:{port}"\n\n'
            + web_service(port)
        ),
        ".env.dev": f"APP_DB={database}\n",
        "tests/integration/conftest.py": CONFTEST_THAT_EMPTIES,
        "tests/integration/test_users.py": "def test_users():\n    assert True\n",
        "tests/api/test_up.py": (
            "import os, urllib.request\n\ndef test_up():\n"
            "    assert urllib.request.urlopen(os.environ['STAGEWISE_BASE_URL']).status == 200\n"
        ),
    }
    root = make_project(project)
    try:
        assert run_cli("deploy", "dev", "up", "-d", cwd=root).returncode == 0
        tested = run_cli("deploy", "dev", "test", "--reports-dir", str(tmp_path / "r1"), cwd=root)
        assert tested.returncode == 0, tested.stdout + tested.stderr
        assert "api" in tested.stdout
        assert "integration" not in tested.stdout
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 2

        # Listed on purpose, the in-process tier runs (and its conftest empties the table).
        toml = root / "stagewise.toml"
        toml.write_text(
            toml.read_text().replace(
                "[services.web]", 'deploy_tiers = ["integration", "api"]\n\n[services.web]', 1
            )
        )
        listed = run_cli("deploy", "dev", "test", "--reports-dir", str(tmp_path / "r2"), cwd=root)
        assert listed.returncode == 0, listed.stdout + listed.stderr
        assert "integration" in listed.stdout
        with sqlite3.connect(database) as db:
            assert db.execute("SELECT count(*) FROM users").fetchone()[0] == 0
    finally:
        assert run_cli("deploy", "dev", "down", cwd=root).returncode == 0
    assert os.path.exists(database)
