"""Check that the test interpreter has the tools a tier needs, or install them.

Nothing is installed unless the user asked with ``--install-missing``; the
error otherwise names the exact install command.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from stagewise.errors import MissingError


@dataclass(frozen=True)
class Tool:
    """A Python package a tier needs: its import name and its pip name."""

    module: str
    package: str
    needed_for: str


PYTEST = Tool("pytest", "pytest", "every pytest tier")
PYTEST_COV = Tool("pytest_cov", "pytest-cov", "--coverage")
PLAYWRIGHT = Tool("pytest_playwright", "pytest-playwright", "the e2e tier")
RERUNFAILURES = Tool("pytest_rerunfailures", "pytest-rerunfailures", "--reruns")

_CHECK = (
    "import importlib.util, sys; "
    "sys.stdout.write(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
)


def missing_tools(python: str, tools: Sequence[Tool]) -> list[Tool]:
    """The tools that ``python`` cannot import (checked without importing them)."""
    if not tools:
        return []
    if python == sys.executable:
        return [t for t in tools if importlib.util.find_spec(t.module) is None]
    try:
        done = subprocess.run(
            [python, "-c", _CHECK, *(t.module for t in tools)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingError(f"cannot run the test interpreter {python}: {exc}") from exc
    if done.returncode != 0:
        raise MissingError(f"the test interpreter {python} does not work: {done.stderr.strip()[:200]}")
    absent = set(done.stdout.split())
    return [t for t in tools if t.module in absent]


def require_tools(python: str, tools: Sequence[Tool], install_missing: bool) -> None:
    """Raise :class:`MissingError` for absent tools, or install them when asked."""
    absent = missing_tools(python, tools)
    if not absent:
        return
    packages = [t.package for t in absent]
    if install_missing:
        done = subprocess.run(
            [python, "-m", "pip", "install", *packages],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise MissingError(f"pip could not install {' '.join(packages)}: {tail[0]}")
        still = missing_tools(python, absent)
        if not still:
            return
        absent = still
        packages = [t.package for t in absent]
    first = absent[0]
    raise MissingError(
        f"{first.package} is needed for {first.needed_for} but is not installed: "
        f"run `{python} -m pip install {' '.join(packages)}` or pass --install-missing"
    )
