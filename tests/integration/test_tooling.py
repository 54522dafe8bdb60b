"""The house rules, enforced in CI: ruff lint and format, mypy --strict on src/."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.helpers import REPO

BIN = Path(sys.executable).parent


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=300, check=False)


def test_ruff_lint_is_clean() -> None:
    done = run(str(BIN / "ruff"), "check", "src", "tests", "scripts", "bench", "examples/shop")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_clean() -> None:
    done = run(str(BIN / "ruff"), "format", "--check", "src", "tests", "scripts", "bench")
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_on_src() -> None:
    done = run(str(BIN / "mypy"))
    assert done.returncode == 0, done.stdout + done.stderr
