"""The gate smoke-tests the version serving now with that version's own tests (issue 16, point 3).

A new release changes both the schema and the smoke test: the new test asks
for something only the new version does, so it fails against the old version
even on a schema the old version reads well. The gate must run the old
release's tests (the tree at its commit) against the old version on the
rehearsed schema, so the release goes through; when that commit cannot give
them (the old release was made from a dirty tree), it falls back to the
current tree's tests, says so, and here that refuses the release - which is
also what proves the new test fails against the old version. A rollback to the
old version verifies it the same way: with its own tests, not the current tree's.
"""

from __future__ import annotations

from pathlib import Path

from tests.integration.release.pg_project import commit_all, pg_project
from tests.integration.release.test_release_faults import (
    ADD_NOTE,
    ROWS,
    _door,
    _revision,
    _schema,
)
from tests.integration.release.test_release_faults import pytestmark as faults_marks

pytestmark = faults_marks

# v2's smoke test: only v2 answers with its version as "v2" (v1 says "v1").
NEW_SMOKE = """
import json, os, urllib.request
import pytest

@pytest.mark.smoke
def test_the_new_version_answers():
    with urllib.request.urlopen(os.environ["TARGET_HOST"] + "/", timeout=5) as answer:
        body = json.loads(answer.read())
    assert body["version"] == "v2", body
"""


def _v2(root: Path) -> None:
    (root / "VERSION").write_text("v2\n")
    (root / "tests/api/test_smoke.py").write_text(NEW_SMOKE)
    (root / "migrations/versions/0002.py").write_text(_revision("0002", "0001", ADD_NOTE))


def test_the_old_version_is_checked_with_its_own_tests_at_its_commit_and_a_rollback_too(
    tmp_path: Path,
) -> None:
    with pg_project(tmp_path) as shop:
        v1 = shop.cli("release", "--version", "v1", "--yes")
        assert v1.returncode == 0, v1.stdout + v1.stderr
        first = shop.history()[-1]
        assert "dirty" not in first["extra"], first
        _v2(shop.root)
        commit_all(shop.root, "v2: a note column and a smoke test only v2 passes")

        done = shop.cli("release", "--version", "v2", "--yes")
        output = done.stdout + done.stderr
        assert done.returncode == 0, output
        expected = f"smoke-tested with the tests of v1 at commit {first['commit'][:12]}"
        assert expected in output, output
        assert "the version serving now passes its smoke tests on the new schema" in output
        record = shop.history()[-1]
        assert record["outcome"] == "released", record
        assert record["extra"]["old_version_tests"] == f"the tests of v1 at commit {first['commit'][:12]}"
        answer = _door(shop.door)
        assert answer["version"] == "v2"
        assert [r[:2] for r in answer["items"]] == [list(r) for r in ROWS]
        assert _schema(shop.url)[0] == [("0002",)]

        # Back to v1: its verification must run v1's tests too (v2's fail on v1 by design).
        back = shop.cli("rollback")
        output = back.stdout + back.stderr
        assert back.returncode == 0, output
        assert (
            f"rolled back to is smoke-tested with the tests of v1 at commit {first['commit'][:12]}" in output
        )
        record = shop.history()[-1]
        assert (record["kind"], record["outcome"]) == ("rollback", "released"), record
        assert record["extra"]["verify_tests"] == f"the tests of v1 at commit {first['commit'][:12]}"
        assert _door(shop.door)["version"] == "v1"
        assert _schema(shop.url)[0] == [("0001",)]


def test_a_dirty_old_release_falls_back_to_the_current_tests_and_says_so(tmp_path: Path) -> None:
    with pg_project(tmp_path) as shop:
        (shop.root / "NOTES").write_text("not committed when v1 was released\n")
        v1 = shop.cli("release", "--version", "v1", "--yes")
        assert v1.returncode == 0, v1.stdout + v1.stderr
        first = shop.history()[-1]
        assert first["extra"].get("dirty") == "true", first
        baseline = _schema(shop.url)
        _v2(shop.root)
        commit_all(shop.root, "v2")

        done = shop.cli("release", "--version", "v2", "--yes")
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output
        fallback = f"the current tree's tests (fallback: release {first['id']} was made from a dirty tree"
        assert fallback in output, output
        assert "the version serving now breaks on the new schema" in output, output
        record = shop.history()[-1]
        assert record["outcome"] == "failed", record
        assert record["extra"]["old_version_tests"].startswith(fallback), record
        assert _door(shop.door)["version"] == "v1"
        assert _schema(shop.url) == baseline


def test_a_version_started_by_up_is_not_checked_with_the_new_code(tmp_path: Path) -> None:
    """On local, `up` runs the tree as it was: once the tree moved on, that code is gone."""
    with pg_project(tmp_path) as shop:
        baseline = _schema(shop.url)
        _v2(shop.root)
        commit_all(shop.root, "v2")
        done = shop.cli("release", "--version", "v2", "--yes")
        output = done.stdout + done.stderr
        assert done.returncode == 1, output
        assert "Traceback" not in output
        assert "was started by `deploy dev up`, not by a release, so its code is not kept" in output
        assert "smoke-tested with" not in output  # nothing was started to check
        record = shop.history()[-1]
        assert (record["outcome"], record["steps"][-1]["step"]) == ("failed", "migrate")
        assert _schema(shop.url) == baseline
        assert _door(shop.ports["a"])["version"] == "v1"  # the service `up` started still serves
