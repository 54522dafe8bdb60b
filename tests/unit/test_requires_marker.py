"""The ``requires`` marker: a skip off CI, a failure with CI=true."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import cli_env

REPO = Path(__file__).resolve().parents[2]
PROBE = """
from tests.conftest import requires

@requires(False, "needs the unicorn service")
def test_needs_a_missing_service():
    pass
"""


def run_probe(tmp_path: Path, ci: str) -> subprocess.CompletedProcess[str]:
    probe = REPO / "tests" / "unit" / f"_probe_requires_{tmp_path.name}.py"
    probe.write_text(PROBE, encoding="utf-8")
    try:
        return subprocess.run(
            [sys.executable, "-m", "pytest", str(probe), "-q", "-rs", "-p", "no:cacheprovider"],
            cwd=REPO,
            env={**cli_env(), "CI": ci},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        probe.unlink()


def test_off_ci_a_missing_requirement_skips_with_its_reason(tmp_path: Path) -> None:
    done = run_probe(tmp_path, "")
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
    assert "needs the unicorn service" in done.stdout


def test_in_ci_a_missing_requirement_fails(tmp_path: Path) -> None:
    done = run_probe(tmp_path, "true")
    assert done.returncode == 1, done.stdout
    assert "1 error" in done.stdout  # failed in set-up: reported as an error, never a skip
    assert "needs the unicorn service; CI=true, where it must be present" in done.stdout
