"""A rollback that restores the pre-release backup while the serving version holds database sessions.

The app here is the kind a restore is hard on: it opens one connection when it
starts and never reopens it, and it keeps a second one inside an open
transaction holding ``items``' ACCESS SHARE lock for its whole life. The
restore swaps databases, which needs the live one free of sessions: those
sessions must neither block the swap nor leave the version serving after it
broken. Forward, the restored database is served by the version rolled back
to (started after the swap, so its sessions are new) and the stale one is
drained and stopped. When the rollback is interrupted after its restore, the
data goes back by a second restore and the version that keeps serving has
lost its sessions twice: stagewise starts it again on the spare slot and
switches to it, so it answers with the data it had, not with errors.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from stagewise.release.steps import PAUSE_ENV
from tests.helpers import cli_env
from tests.integration.release.pg_project import commit_all, pg_project
from tests.integration.release.test_release_faults import (
    ACCEPT,
    INDEX_NO_WAY_BACK,
    ROWS,
    Shop,
    _alive,
    _door,
    _journal_of,
    _revision,
    _schema,
    _scratch_databases,
)
from tests.integration.release.test_release_faults import pytestmark as faults_marks

pytestmark = faults_marks

SESSION_APP = """
import http.server, json, os, sys, threading
import psycopg
HERE = os.path.dirname(os.path.abspath(__file__))
VERSION = open(os.path.join(HERE, "VERSION")).read().strip()
URL = os.environ["DATABASE_URL"]
DB = psycopg.connect(URL, autocommit=True, application_name="app-" + VERSION)  # never reopened
HOLD = psycopg.connect(URL, application_name="app-" + VERSION + "-txn")  # a transaction left open
HOLD.execute("SELECT count(*) FROM items")
ONE = threading.Lock()
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, body = 200, b"ok"
        if self.path != "/health":
            try:
                with ONE:
                    rows = DB.execute("SELECT id, name FROM items ORDER BY id").fetchall()
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


def _sessions(url: str) -> list[tuple[str, str]]:
    """The app's sessions on the live database: (application_name, state)."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        rows = admin.execute(
            "SELECT application_name, state FROM pg_stat_activity WHERE datname = %s "
            "AND application_name LIKE 'app-%%' ORDER BY application_name",
            (name,),
        ).fetchall()
    return [(str(a), str(s)) for a, s in rows]


def _release_v2_with_writes(shop: Shop) -> tuple[Any, ...]:
    """v1 then v2 (a migration with no way back) released on the protected stage; users write after."""
    for args in (("release", "--version", "v1", "--yes"),):
        done = shop.cli(*args)
        assert done.returncode == 0, done.stdout + done.stderr
    (shop.root / "VERSION").write_text("v2\n")
    (shop.root / "migrations/versions/0002.py").write_text(_revision("0002", "0001", INDEX_NO_WAY_BACK))
    (shop.root / ".stagewise").mkdir(exist_ok=True)
    allow = ACCEPT.format(
        rule="require-concurrent-index-creation",
        statement="CREATE INDEX ix_items_name",
        reason="items is tiny",
        expires="2099-12-31",
    )
    (shop.root / ".stagewise" / "migration-allowlist.toml").write_text(allow)
    toml = (shop.root / "stagewise.toml").read_text()
    (shop.root / "stagewise.toml").write_text(
        toml.replace('tiers = ["api"]\n', 'tiers = ["api"]\nprotected = true\n', 1)
    )
    commit_all(shop.root, "v2")
    done = shop.cli("release", "--version", "v2", "--yes")
    assert done.returncode == 0, done.stdout + done.stderr
    released = shop.history()[-1]
    assert (released["outcome"], released["downgrade_proven"]) == ("released", False)
    with psycopg.connect(shop.url) as db:  # users' writes since the release
        db.execute("INSERT INTO items (id, name) VALUES (4, 'four')")
    answer = _door(shop.door)
    assert answer["version"] == "v2"
    assert len(answer["items"]) == 4
    sessions = _sessions(shop.url)
    assert ("app-v2", "idle") in sessions, sessions
    assert ("app-v2-txn", "idle in transaction") in sessions, sessions
    return _schema(shop.url)


def test_the_serving_version_s_sessions_do_not_block_a_rollback_by_restore(tmp_path: Path) -> None:
    with pg_project(tmp_path, app=SESSION_APP) as shop:
        _release_v2_with_writes(shop)
        started = time.monotonic()
        done = shop.cli("rollback", "--yes")
        took = time.monotonic() - started
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        assert "items: 3 in the backup, 4 now" in output
        assert took < 60, f"the rollback took {took:.1f} s"
        answer = _door(shop.door)
        assert answer["version"] == "v1", answer
        assert [tuple(r) for r in answer["items"]] == ROWS  # the restored data, read by v1's sessions
        assert _schema(shop.url)[0] == [("0001",)]
        assert [a for a, _ in _sessions(shop.url)] == ["app-v1", "app-v1-txn"]  # v2's are gone
        alive = _alive(shop.root / ".stagewise" / "dev")
        assert alive == {_journal_of(shop.serving()), "frontdoor.json"}, alive
        assert _scratch_databases(shop.url) == []
        assert shop.history()[-1]["outcome"] == "released"


def test_an_interrupted_rollback_after_its_restore_leaves_the_serving_version_answering(
    tmp_path: Path,
) -> None:
    with pg_project(tmp_path, app=SESSION_APP) as shop:
        before = _release_v2_with_writes(shop)
        serving_before = shop.serving()
        marker = tmp_path / "paused"
        child = subprocess.Popen(
            [sys.executable, "-m", "stagewise", "deploy", "dev", "rollback", "--yes"],
            cwd=shop.root,
            env=cli_env({PAUSE_ENV: f"start:{marker}"}),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while not marker.exists() and child.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            if not marker.exists():
                child.kill()
                out, err = child.communicate(timeout=30)
                pytest.fail(f"the rollback never reached start:\n{out}\n{err}")
            child.send_signal(signal.SIGINT)
            out, err = child.communicate(timeout=120)
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()
        assert child.returncode == 130, out + err
        assert "Traceback" not in err
        answer = _door(shop.door)  # v2 answers from fresh sessions, not with errors
        assert answer["version"] == "v2", answer
        assert [tuple(r) for r in answer["items"]] == [*ROWS, (4, "four")]
        assert "restarting v2 on slot" in out + err, out + err
        assert _schema(shop.url) == before
        assert shop.serving() != serving_before  # the restarted instance is on the other slot
        assert [a for a, _ in _sessions(shop.url)] == ["app-v2", "app-v2-txn"]
        alive = _alive(shop.root / ".stagewise" / "dev")
        assert alive == {_journal_of(shop.serving()), "frontdoor.json"}, alive
        assert _scratch_databases(shop.url) == []
        last = shop.history()[-1]
        assert (last["kind"], last["outcome"]) == ("rollback", "interrupted")
        assert str(last["detail"]).startswith("start:"), last
