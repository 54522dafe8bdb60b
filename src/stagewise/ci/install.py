"""What a CI job installs into its fresh venv before running stagewise.

A job starts with nothing: the project (with its test extra, when its
pyproject.toml has one, or its requirements files), stagewise with the extras
its tier needs (pytest-cov for ``--coverage``, pytest-playwright for e2e,
locust, the scanners), and for the quick check the linters and type checker
its steps will look for. Without them the job would stop at exit 4 (a tool
missing), which is no use as a pipeline.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from stagewise.check.detect import flake8_configured, mypy_config, ruff_configured
from stagewise.project.model import Project

#: An optional-dependencies group holding the project's test tools, first found wins.
TEST_EXTRAS = ("test", "tests", "testing", "dev")
#: Requirements files installed when the project is not a package.
REQUIREMENTS = ("requirements.txt", "requirements-dev.txt", "requirements-test.txt")
#: stagewise's extras per tier (beyond ``coverage``, which every pytest tier job uses).
TIER_EXTRAS = {"e2e": ("coverage", "e2e"), "performance": ("perf",), "security": ("security",)}
#: The check's external tools, by the program name a ``[check]`` command starts with.
CHECK_TOOLS = ("ruff", "flake8", "mypy")


def project_install(root: Path) -> tuple[str, ...]:
    """pip arguments that install the project: ``-e .[test]``, ``-e .``, or its requirements files."""
    if (root / "pyproject.toml").is_file() or (root / "setup.py").is_file():
        extra = next((e for e in TEST_EXTRAS if e in _extras(root)), None)
        return ("-e", f".[{extra}]" if extra else ".")
    arguments: list[str] = []
    for name in REQUIREMENTS:
        if (root / name).is_file():
            arguments += ["-r", name]
    return tuple(arguments)


def tier_install(tier: str) -> str:
    """The stagewise requirement a tier's job installs, e.g. ``stagewise[coverage,e2e]``."""
    return f"stagewise[{','.join(TIER_EXTRAS.get(tier, ('coverage',)))}]"


def check_install(project: Project) -> tuple[str, ...]:
    """stagewise and the tools ``stagewise check`` will run in this project (ruff, mypy, bandit...)."""
    config = project.check
    tools: list[str] = []
    if "lint" in config.steps:
        command = config.command("lint")
        tools.append(_tool(command[0]) if command else "flake8" if _flake8_only(project.root) else "ruff")
    if "types" in config.steps:
        command = config.command("types")
        if command or mypy_config(project.root)[0]:
            tools.append(_tool(command[0]) if command else "mypy")
    if "bandit" in config.steps:
        tools.append("bandit")
    return ("stagewise[coverage]", *[t for t in dict.fromkeys(tools) if t])


def _tool(program: str) -> str:
    """A configured command's program as a package to install, when it is one of the known tools."""
    name = Path(program).name
    return name if name in CHECK_TOOLS else ""


def _flake8_only(root: Path) -> bool:
    return flake8_configured(root) and not ruff_configured(root)


def _extras(root: Path) -> set[str]:
    try:
        document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return set()
    project = document.get("project")
    extras = project.get("optional-dependencies") if isinstance(project, dict) else None
    return set(extras) if isinstance(extras, dict) else set()
