"""Errors at the CLI boundary from the real operating system: one line and an exit code, no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import cli_env, run_cli

UNIT_TEST = "def test_ok():\n    assert True\n"


@pytest.fixture
def shared_project() -> Iterator[Path]:
    """A project an unprivileged user can read (pytest's tmp dirs are private to root)."""
    root = Path(tempfile.mkdtemp(prefix="stagewise-oserror-"))
    try:
        (root / "tests" / "unit").mkdir(parents=True)
        (root / "tests" / "unit" / "test_ok.py").write_text(UNIT_TEST)
        (root / "stagewise.toml").write_text("[stages.dev]\n")
        for path in (root, *root.rglob("*")):
            path.chmod(0o755 if path.is_dir() else 0o644)
        yield root
    finally:
        shutil.rmtree(root)


def as_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user without write access (root ignores permission bits)."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv is not None, "setpriv (util-linux) is needed to drop root for this test"
        prefix = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "stagewise", *args],
        cwd=cwd,
        env=cli_env({"HOME": str(cwd)}),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_an_unwritable_reports_dir_is_one_line_and_exit_4(shared_project: Path) -> None:
    reports = shared_project / "reports"
    reports.mkdir(mode=0o555)
    reports.chmod(0o555)
    done = as_unprivileged("test", "--unit", "--stage", "dev", cwd=shared_project)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"stagewise: error: cannot use {reports}/"), lines[0]
    assert "Permission denied" in lines[0]
    assert not any(reports.iterdir())


def test_a_reports_path_through_a_file_is_one_line_and_exit_4(shared_project: Path) -> None:
    (shared_project / "not-a-dir").write_text("a file where a directory is expected\n")
    done = run_cli(
        "test", "--unit", "--reports-dir", str(shared_project / "not-a-dir" / "reports"), cwd=shared_project
    )
    assert done.returncode == 4, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    assert f"cannot use {shared_project / 'not-a-dir' / 'reports'}" in done.stderr
    assert "Not a directory" in done.stderr
