"""Every failure mode of ``deploy ENV release`` on real processes, real HAProxy and real PostgreSQL.

The project is a tiny real HTTP service reading a PostgreSQL table through
alembic migrations (the test makes a scratch database and drops it). One
project serves the whole module, because every failure below must leave it
exactly as it was: v1 serving at the front door, the schema and rows as
before (compared with what they were after the set-up), no scratch database
left, nothing of the new release running (only the old slot's instance and
HAProxy are alive), and the history's last record saying how it ended. A test
that leaves something behind breaks the tests after it, which is the point.

Ctrl+C is provoked at each step on the real CLI process: inside the live
migration by a migration that sleeps (and writes a marker when it runs on the
live database), at the other steps by the release's pause point
(``STAGEWISE_RELEASE_PAUSE``, see :func:`stagewise.release.steps.pause_point`),
a test hook that holds the release still at a named step and writes a marker
file once it is there.
"""

from __future__ import annotations

import json
import os
import pty
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stagewise.processes import ProcessRef, stop_group
from stagewise.release.steps import PAUSE_ENV
from stagewise.tiers.resilience.haproxy import haproxy_binary
from tests.conftest import requires
from tests.helpers import cli_env, free_port, run_cli
from tests.integration.dataops.test_migrate import ALEMBIC_INI, ENV_PY, SCRIPT_MAKO
from tests.pyvenvs import ALEMBIC_PSYCOPG, PYTEST_8, project_venv

pytestmark = [
    pytest.mark.slow,
    pytest.mark.postgres,
    requires(haproxy_binary() is not None, "needs HAProxy (apt-get install haproxy)"),
    requires(shutil.which("pg_dump") is not None, "pg_dump and pg_restore (postgresql-client)"),
]

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"

APP = """
import http.server, json, os, sys
import psycopg
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = open(os.path.join(HERE, "VERSION")).read().strip()
COLUMN = open(os.path.join(HERE, "COLUMN")).read().strip()  # what this version reads
URL = os.environ["DATABASE_URL"]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b"ok"
        if self.path != "/health":
            try:
                with psycopg.connect(URL, connect_timeout=3) as db:
                    rows = db.execute(f"SELECT id, {COLUMN} FROM items ORDER BY id").fetchall()
                body = json.dumps({"version": VERSION, "items": rows}).encode()
            except psycopg.Error as exc:
                status, body = 500, str(exc).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
"""

SMOKE = """
import json, os, urllib.request
import pytest

@pytest.mark.smoke
def test_lists_the_items():
    with urllib.request.urlopen(os.environ["TARGET_HOST"] + "/", timeout=5) as answer:
        body = json.loads(answer.read())
    assert body["version"].startswith("v"), body
    assert len(body["items"]) >= 3, body
"""

BASE = """
def upgrade():
    op.execute("CREATE TABLE items (id BIGINT PRIMARY KEY, name TEXT NOT NULL)")
    op.execute("INSERT INTO items (id, name) VALUES (1, 'one'), (2, 'two'), (3, 'three')")

def downgrade():
    op.execute("DROP TABLE items")
"""
ADD_NOTE = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")
    op.execute("UPDATE items SET note = 'new'")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""
# The live migration writes a marker and sleeps, holding items' ACCESS EXCLUSIVE lock: Ctrl+C then.
SLOW_ON_LIVE = """
from pathlib import Path
import sqlalchemy as sa
from alembic import context
LIVE = Path(__file__).resolve().parents[2] / "LIVE_DB"  # written by the test that interrupts here

def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")
    op.execute("UPDATE items SET note = 'new'")
    if context.is_offline_mode() or not LIVE.exists():
        return
    database = op.get_bind().execute(sa.text("SELECT current_database()")).scalar()
    if database == LIVE.read_text().strip():
        (LIVE.parent / "MIGRATING").write_text(database)
        op.execute("SELECT pg_sleep(4)")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""
HALF_WAY = """
def upgrade():
    op.execute("ALTER TABLE items ADD COLUMN note TEXT")
    op.execute("UPDATE items SET note = 'x'")
    op.execute("SELECT 1 / 0")

def downgrade():
    op.execute("ALTER TABLE items DROP COLUMN note")
"""
NOTES = """
def upgrade():
    op.execute("CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)")
    op.execute("INSERT INTO notes (id, body) VALUES (1, 'committed by 0002')")

def downgrade():
    op.execute("DROP TABLE notes")
"""
INDEX_NO_WAY_BACK = """
def upgrade():
    op.execute("CREATE INDEX ix_items_name ON items (name)")

def downgrade():
    raise NotImplementedError("no way back from 0002")
"""
RENAME = """
def upgrade():
    op.execute("ALTER TABLE items RENAME COLUMN name TO title")

def downgrade():
    op.execute("ALTER TABLE items RENAME COLUMN title TO name")
"""
ACCEPT = """
[[accept]]
id = "{rule}"
location = "0002: {statement}*"
reason = "{reason}"
expires = {expires}
"""
ROWS = [(1, "one"), (2, "two"), (3, "three")]


def _revision(rev: str, down: str | None, body: str) -> str:
    return f"from alembic import op\nrevision = {rev!r}\ndown_revision = {down!r}\n{body}"


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=root, check=True, capture_output=True)


@dataclass
class Shop:
    """The module's project: its root, front door, slot ports and live database."""

    root: Path
    door: int
    ports: dict[str, int]
    url: str
    baseline: tuple[Any, ...] = ()
    written: list[Path] = field(default_factory=list)

    def write(self, files: dict[str, str]) -> None:
        """Change the tree for one test; :meth:`reset` takes it back."""
        for relative, text in files.items():
            path = self.root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            self.written.append(path)
            path.write_text(text)

    def reset(self) -> None:
        _git(self.root, "checkout", "-q", "--", ".")
        tracked = set(
            subprocess.run(
                ["git", "ls-files"], cwd=self.root, capture_output=True, text=True, check=True
            ).stdout.split()
        )
        for path in self.written:
            if path.exists() and str(path.relative_to(self.root)) not in tracked:
                path.unlink()
        self.written.clear()

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return run_cli("deploy", "dev", *args, cwd=self.root)

    def serving(self) -> str:
        return str(json.loads((self.root / ".stagewise" / "dev" / "frontdoor.json").read_text())["serving"])

    def history(self) -> list[dict[str, Any]]:
        done = self.cli("releases", "--json")
        assert done.returncode == 0, done.stderr
        releases: list[dict[str, Any]] = json.loads(done.stdout)["releases"]
        return releases


def _schema(url: str) -> tuple[Any, ...]:
    """What "the data as it was" means: revision, tables and their columns, indexes, items' rows."""
    with psycopg.connect(url, connect_timeout=5) as db:
        db.execute("SET lock_timeout = '20s'")  # an interrupted migration's backend may still hold items
        revision = db.execute("SELECT version_num FROM alembic_version").fetchall()
        columns = db.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY table_name, ordinal_position"
        ).fetchall()
        indexes = db.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexname"
        ).fetchall()
        rows = db.execute("SELECT * FROM items ORDER BY id").fetchall()
    return revision, columns, indexes, rows


def _scratch_databases(url: str, settle: float = 30.0) -> list[str]:
    """The databases a restore left beside ``url``'s: none, once the detached drops are done.

    A restore's swap drops the replaced ``<db>_old_<hex>`` in a detached ``dropdb``, off
    the command's critical path, so one may still be going when the command returns: those
    are given ``settle`` seconds. A scratch database (``_restore_``) must be gone at once.
    """
    name = url.rsplit("/", 1)[1]
    deadline = time.monotonic() + settle
    while True:
        with psycopg.connect(ADMIN) as db:
            found = db.execute("SELECT datname FROM pg_database WHERE datname LIKE %s", (f"{name}_%",))
            left = [str(r[0]) for r in found.fetchall()]
        dropping = [d for d in left if d.startswith(f"{name}_old_")]
        if not dropping or len(dropping) < len(left) or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _alive(state_dir: Path) -> set[str]:
    """The journals under the stage's state dir whose process still runs."""
    alive = set()
    for journal in state_dir.glob("*.json"):
        try:
            data = json.loads(journal.read_text() or "{}")
        except ValueError:
            continue
        journalled = isinstance(data, dict) and "pid" in data and "start_ticks" in data
        if journalled and ProcessRef(int(data["pid"]), int(data["start_ticks"])).alive():
            alive.add(journal.name)
    return alive


def _listens(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _door(port: int) -> dict[str, Any]:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(f"http://127.0.0.1:{port}/", timeout=5) as answer:
        body: dict[str, Any] = json.loads(answer.read())
    return body


def _journal_of(slot: str) -> str:
    return "app.json" if slot == "a" else f"app.{slot}.json"


def assert_as_before(shop: Shop, outcome: str, failed_at: str) -> dict[str, Any]:
    """v1 serves, the data is as it was, nothing new runs, and the last record says how it ended."""
    old = shop.serving()
    new = "b" if old == "a" else "a"
    answer = _door(shop.door)
    assert answer["version"] == "v1", answer
    assert [tuple(r) for r in answer["items"]] == ROWS
    assert _schema(shop.url) == shop.baseline
    assert _scratch_databases(shop.url) == []
    alive = _alive(shop.root / ".stagewise" / "dev")
    assert alive == {_journal_of(old), "frontdoor.json"}, alive
    assert not _listens(shop.ports[new]), f"something of the new release still listens on slot {new}"
    last = shop.history()[-1]
    assert last["outcome"] == outcome, last
    if outcome != "released":
        assert str(last["detail"]).startswith(f"{failed_at}:"), last["detail"]
    return last


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    # The project's own lean venv: its smoke tests run twice a release (old version, new version).
    python = project_venv((*ALEMBIC_PSYCOPG, *PYTEST_8))
    name = f"swrelease_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True, connect_timeout=5) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    root = tmp_path_factory.mktemp("release-faults") / "shop"
    door, port, spare = free_port(), free_port(), free_port()
    files = {
        "app.py": APP,
        "VERSION": "v1\n",
        "COLUMN": "name\n",
        "tests/api/test_smoke.py": SMOKE,
        "tests/api/conftest.py": (
            "def pytest_configure(config):\n    config.addinivalue_line('markers', 'smoke: read-only')\n"
        ),
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": ENV_PY,
        "migrations/script.py.mako": SCRIPT_MAKO,
        "migrations/versions/0001.py": _revision("0001", None, BASE),
        ".gitignore": "MIGRATING\n",
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
    for relative, text in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        (root / relative).write_text(text)
    _git(root, "init", "-q")
    _git(root, "add", "-A")
    _git(root, "-c", "user.email=t@example.invalid", "-c", "user.name=t", "commit", "-qm", "v1")
    shop = Shop(root, door, {"a": port, "b": spare}, url)
    try:
        for args in (("migrate", "--yes"), ("up", "-d", "--yes"), ("release", "--version", "v1", "--yes")):
            done = shop.cli(*args)
            assert done.returncode == 0, done.stdout + done.stderr
        shop.baseline = _schema(url)
        assert shop.baseline[0] == [("0001",)]
        assert_as_before(shop, "released", "")  # the starting point every test comes back to
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


@pytest.fixture
def tree(shop: Shop) -> Iterator[Shop]:
    """The shared project, its tree put back after the test (the data must come back by itself)."""
    try:
        yield shop
    finally:
        shop.reset()


def _v2(second: str, *, third: str | None = None, allow: str = "", column: str = "name") -> dict[str, str]:
    files = {
        "VERSION": "v2\n",
        "COLUMN": column + "\n",
        "migrations/versions/0002.py": _revision("0002", "0001", second),
    }
    if third is not None:
        files["migrations/versions/0003.py"] = _revision("0003", "0002", third)
    if allow:
        files[".stagewise/migration-allowlist.toml"] = allow
    return files


def _refused(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    output = done.stdout + done.stderr
    assert done.returncode == 1, output
    assert "Traceback" not in output
    for text in expected:
        assert text in output, output
    return output


def test_a_migration_failing_half_way_in_the_rehearsal_is_refused_before_the_live_data(tree: Shop) -> None:
    tree.write(_v2(HALF_WAY))
    done = tree.cli("release", "--version", "v2", "--yes")
    _refused(done, "failed in rehearsal", "division by zero", "not touched")
    last = assert_as_before(tree, "failed", "migrate")
    assert [s["step"] for s in last["steps"]] == ["build", "migrate"]


def test_a_migration_failing_half_way_on_the_live_database_is_put_back(tree: Shop) -> None:
    # 0002 commits on the live database; 0003 then waits for a lock a reader holds there (not on
    # the rehearsal's copy) and hits lock_timeout: the release must take 0002 back too.
    tree.write(_v2(NOTES, third=ADD_NOTE))
    reader = psycopg.connect(tree.url)
    try:
        reader.execute("LOCK TABLE items IN ACCESS SHARE MODE")
        done = tree.cli("release", "--version", "v2", "--yes")
    finally:
        reader.close()
    _refused(done, "rolled back at migrate", "lock timeout")
    last = assert_as_before(tree, "failed", "migrate")
    assert last["downgrade_proven"] is True
    assert last["revision_after"] == "0001"


@pytest.mark.parametrize(
    ("expires", "refused"),
    [(None, "require-concurrent-index-creation"), ("2020-01-31", "expired on 2020-01-31")],
)
def test_a_lint_error_refuses_before_anything_starts(tree: Shop, expires: str | None, refused: str) -> None:
    allow = ""
    if expires is not None:
        allow = ACCEPT.format(
            rule="require-concurrent-index-creation",
            statement="CREATE INDEX ix_items_name",
            reason="items is tiny",
            expires=expires,
        )
    tree.write(_v2(INDEX_NO_WAY_BACK, allow=allow))
    done = tree.cli("release", "--version", "v2", "--yes")
    _refused(done, "migration gate: squawk require-concurrent-index-creation in revision 0002", refused)
    last = assert_as_before(tree, "failed", "migrate")
    assert [s["step"] for s in last["steps"]] == ["build", "migrate"]  # nothing started
    assert "squawk require-concurrent-index-creation" in last["detail"]


def test_an_old_version_that_cannot_read_the_new_schema_is_refused_before_the_switch(tree: Shop) -> None:
    allow = ACCEPT.format(
        rule="renaming-column",
        statement="ALTER TABLE items RENAME COLUMN",
        reason="v2 reads title",
        expires="2099-12-31",
    )
    tree.write(_v2(RENAME, allow=allow, column="title"))
    done = tree.cli("release", "--version", "v2", "--yes")
    _refused(done, "the version serving now breaks on the new schema", "accepted")
    last = assert_as_before(tree, "failed", "migrate")
    assert [s["step"] for s in last["steps"]] == ["build", "migrate"]  # never started, never switched
    assert "breaks on the new schema" in last["detail"]


STEPS = ("build", "migrate", "start", "switch", "verify", "drain")


@pytest.mark.parametrize("step", STEPS)
def test_ctrl_c_at_each_step_leaves_the_old_version_serving(tree: Shop, tmp_path: Path, step: str) -> None:
    tree.write(_v2(SLOW_ON_LIVE))
    if step == "migrate":
        tree.write({"LIVE_DB": tree.url.rsplit("/", 1)[1]})
    marker = tree.root / "MIGRATING" if step == "migrate" else tmp_path / "paused"
    env = cli_env({PAUSE_ENV: f"{step}:{marker}"} if step != "migrate" else None)
    child = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "release", "--version", "v2", "--yes"],
        cwd=tree.root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 180  # a gate's rehearsal on a loaded machine
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if not marker.exists():
            child.kill()
            out, err = child.communicate(timeout=30)
            pytest.fail(f"the release never reached {step}:\n{out}\n{err}")
        time.sleep(0.3)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        marker.unlink(missing_ok=True)
    assert child.returncode == 130, out + err
    assert "Traceback" not in err
    assert f"interrupted at {step}" in err, err
    last = assert_as_before(tree, "interrupted", step)
    assert last["finished_at"]


def _typed(root: Path, typed: str, *args: str) -> tuple[str, str, int]:
    """The CLI with a terminal as its stdin (a pty), ``typed`` typed at it."""
    main, terminal = pty.openpty()
    try:
        child = subprocess.Popen(
            [sys.executable, "-m", "stagewise", *args],
            cwd=root,
            env=cli_env(),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        os.write(main, typed.encode())
        out, err = child.communicate(timeout=120)
    finally:
        os.close(main)
        os.close(terminal)
    return out, err, child.returncode


def test_rollback_by_the_pre_release_backup_says_what_it_drops_and_needs_yes(tree: Shop) -> None:
    allow = ACCEPT.format(
        rule="require-concurrent-index-creation",
        statement="CREATE INDEX ix_items_name",
        reason="items is tiny",
        expires="2099-12-31",
    )
    tree.write(_v2(INDEX_NO_WAY_BACK, allow=allow))
    done = tree.cli("release", "--version", "v2", "--yes")  # the accepted finding lets it through
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted" in done.stdout + done.stderr
    released = tree.history()[-1]
    assert (released["outcome"], released["downgrade_proven"]) == ("released", False)
    assert released["backup"]
    assert _door(tree.door)["version"] == "v2"
    with psycopg.connect(tree.url) as db:  # users' writes since the release
        db.execute("INSERT INTO items (id, name) VALUES (4, 'four'), (5, 'five')")
        db.execute("DELETE FROM items WHERE id = 1")
    written = _schema(tree.url)
    toml = (tree.root / "stagewise.toml").read_text()
    tree.write(
        {"stagewise.toml": toml.replace('tiers = ["api"]\n', 'tiers = ["api"]\nprotected = true\n', 1)}
    )

    refused = tree.cli("rollback")
    output = refused.stdout + refused.stderr
    assert refused.returncode == 2, output
    assert "items: 3 in the backup, 4 now" in output
    assert "without --yes" in output
    assert "Traceback" not in output
    assert _schema(tree.url) == written  # nothing was done
    assert _door(tree.door)["version"] == "v2"
    assert tree.history()[-1]["id"] == released["id"]

    out, err, code = _typed(tree.root, "dev\n", "deploy", "dev", "rollback")  # the stage name typed
    assert code == 0, out + err
    assert "Type 'dev' to restore the pre-release backup" in out + err
    assert "items: 3 in the backup, 4 now" in out + err
    last = assert_as_before(tree, "released", "")
    assert last["kind"] == "rollback"
    assert last["revision_after"] == "0001"


def test_the_env_lock_is_held_for_the_whole_release_and_names_it(tree: Shop, tmp_path: Path) -> None:
    """Held through verification (not released after the migration, as Kamal does); --wait waits."""
    tree.write(_v2(ADD_NOTE))
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", "release", "--version", "v2", "--yes"],
        cwd=tree.root,
        env=cli_env({PAUSE_ENV: f"verify:{marker}"}),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    waiter: subprocess.Popen[str] | None = None
    try:
        deadline = time.monotonic() + 180  # a gate's rehearsal on a loaded machine
        while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert marker.exists(), "the release never reached verify"
        refused = tree.cli("migrate", "--yes")  # past the migration: the lock is still the release's
        assert refused.returncode == 1, refused.stdout + refused.stderr
        assert "deploy dev release" in refused.stderr, refused.stderr
        assert "--wait" in refused.stderr, refused.stderr
        assert "Traceback" not in refused.stderr
        waiter = subprocess.Popen(
            [sys.executable, "-m", "stagewise", "deploy", "dev", "backup", "--wait", "60"],
            cwd=tree.root,
            env=cli_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(1.0)
        assert waiter.poll() is None  # waiting for the lock, not refused
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=90)
        assert child.returncode == 130, out + err
        w_out, w_err = waiter.communicate(timeout=120)
        assert waiter.returncode == 0, w_out + w_err  # it got the lock once the release ended
    finally:
        for process in (child, waiter):
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
        marker.unlink(missing_ok=True)
    assert_as_before(tree, "interrupted", "verify")
