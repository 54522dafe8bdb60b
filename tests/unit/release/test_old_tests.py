"""Which tests the gate runs on the old version: its commit's, or the current tree's and why (real git)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from stagewise.release.history import ReleaseRecord
from stagewise.release.old_tests import old_smoke_tests, why_not


def _git(root: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, str]:
    """A repository whose project lives in a subdirectory (as examples/shop does), one commit."""
    project = tmp_path / "repo" / "app"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "test_smoke.py").write_text("OLD = True\n")
    (project / "tests" / "conftest.py").write_text("# old conftest\n")
    (tmp_path / "repo" / "elsewhere.txt").write_text("not the project's\n")
    _git(tmp_path / "repo", "init", "-q")
    _git(tmp_path / "repo", "add", "-A")
    _git(tmp_path / "repo", "-c", "user.email=t@x.invalid", "-c", "user.name=t", "commit", "-qm", "one")
    return project, _git(project, "rev-parse", "HEAD")


def _record(commit: str | None, version: str = "v1", **extra: str) -> ReleaseRecord:
    return ReleaseRecord(
        id=f"r-{version}", stage="dev", kind="release", version=version, commit=commit, extra=extra
    )


def test_the_commit_s_tree_is_extracted_and_removed_after(repo: tuple[Path, str]) -> None:
    project, commit = repo
    (project / "tests" / "test_smoke.py").write_text("OLD = False\n")  # the tree moved on
    with old_smoke_tests(project, _record(commit)) as tests:
        assert tests.root is not None, tests.source
        assert not tests.fallback
        assert (tests.root / "tests" / "test_smoke.py").read_text() == "OLD = True\n"
        assert (tests.root / "tests" / "conftest.py").is_file()
        assert not (tests.root / "elsewhere.txt").exists()  # the project's directory only
        assert tests.source == f"the tests of v1 at commit {commit[:12]}"
        kept = tests.root
    assert not kept.exists()


@pytest.mark.parametrize(
    ("record", "reason"),
    [
        (None, "no release serves"),
        (_record(None), "has no commit"),
        (_record("0" * 40, dirty="true"), "made from a dirty tree"),
        (_record("0" * 40, version="abc-dirty"), "made from a dirty tree"),
        (_record("1" * 40), "is not in the repository (history rewritten?)"),
    ],
)
def test_without_the_commit_s_tests_it_falls_back_and_says_why(
    repo: tuple[Path, str], record: ReleaseRecord | None, reason: str
) -> None:
    project, _ = repo
    assert reason in (why_not(project, record) or "")
    with old_smoke_tests(project, record) as tests:
        assert tests.fallback
        assert tests.root is None
        assert tests.source.startswith("the current tree's tests (fallback: ")
        assert reason in tests.source


def test_outside_git_the_commit_is_unreachable(tmp_path: Path) -> None:
    assert "is not in the repository" in (why_not(tmp_path, _record("2" * 40)) or "")
