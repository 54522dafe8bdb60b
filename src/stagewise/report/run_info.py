"""Where a run came from: the git commit and the tool versions, for the report page.

Collected once per run and stored in ``summary.json`` so a page rendered later
(``stagewise report open``) still says what was tested with what. Nothing here
may fail a run: without git, or with a broken interpreter, the fields are null.
"""

from __future__ import annotations

import importlib.metadata
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from stagewise import __version__

#: Packages whose versions explain a run's result; absent ones are left out.
TOOL_PACKAGES = ("pytest", "pytest-cov", "pytest-playwright", "pytest-rerunfailures", "playwright", "locust")


def git_info(root: Path) -> dict[str, Any] | None:
    """``{"commit", "branch", "dirty"}`` for the repository holding ``root``, or ``None``."""

    def git(*args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    commit = git("log", "-1", "--format=%H")
    if not commit:
        return None
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "branch": branch, "dirty": bool(status) if status is not None else None}


def tool_versions(python: str) -> dict[str, str]:
    """Versions of Python and the test tools in the interpreter the tests ran in."""
    if python == sys.executable:
        versions = {"python": platform.python_version()}
        for name in TOOL_PACKAGES:
            try:
                versions[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                continue
    else:
        versions = _probed_versions(python)
    versions["stagewise"] = __version__
    return versions


def _probed_versions(python: str) -> dict[str, str]:
    """The tool probe's answer (remembered while nothing is installed there): no second start of it."""
    from stagewise.errors import MissingError
    from stagewise.tiers.tools import ask_interpreter

    pairs = [[name.replace("-", "_"), name] for name in TOOL_PACKAGES]
    try:
        answer = ask_interpreter(python, pairs, pins=False)
    except MissingError:
        return {}
    versions = {"python": str(answer["python"])} if answer.get("python") else {}
    for module, name in pairs:
        version = answer["tools"].get(module)
        if version:
            versions[name] = str(version)
    return versions


def collect_run_info(root: Path, python: str) -> dict[str, Any]:
    """The ``git`` and ``tool_versions`` keys of ``summary.json``."""
    return {"git": git_info(root), "tool_versions": tool_versions(python)}
