"""Which command each external step runs, found where the project's tools live.

The linter and type checker import nothing of stagewise's: they are the
project's, so they are looked for in the project's interpreter
(``project.python``) by the same probe the tiers use
(:func:`stagewise.tiers.tools.probe`: installed distributions, nothing
imported) and run as ``python -m ruff``. A configured command's program is
looked for in that interpreter's ``bin`` folder first (a venv's ruff), then
on PATH. A step that cannot run says why (:attr:`StepPlan.not_run`) — it is
never left out silently, and never reads as passed.
"""

from __future__ import annotations

import configparser
import os
import shutil
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.project.check_config import CheckConfig
from stagewise.project.model import Project
from stagewise.tiers.tools import Probe, Tool, install_hint, probe

RUFF = Tool("ruff", "ruff", "stagewise check's lint step")
FLAKE8 = Tool("flake8", "flake8", "stagewise check's lint step")
MYPY = Tool("mypy", "mypy", "stagewise check's types step")
#: flake8 (unlike ruff) walks into virtualenvs and build output unless told not to.
FLAKE8_EXCLUDE = ".venv,venv,.tox,.nox,build,dist,reports"


@dataclass(frozen=True)
class StepPlan:
    """One step as it will run: its tool and argument list, or the reason it will not run.

    ``required``: the project asked for the step itself (``[check]`` lists it
    or gives its command, or the tool's own configuration is there), so a
    tool that cannot run fails the check (exit 4) instead of being shown as
    not run.
    """

    name: str
    tool: str
    command: tuple[str, ...] = ()
    not_run: str = ""
    required: bool = False

    @property
    def runs(self) -> bool:
        return not self.not_run


def resolve_program(program: str, python: str, root: Path) -> str | None:
    """A configured command's program: a path (from the root), the venv's ``bin``, else PATH."""
    if os.sep in program:
        candidate = Path(program).expanduser()
        candidate = candidate if candidate.is_absolute() else root / candidate
        return str(candidate) if os.access(candidate, os.X_OK) and candidate.is_file() else None
    in_venv = Path(python).parent / program
    if in_venv.is_file() and os.access(in_venv, os.X_OK):
        return str(in_venv)
    return shutil.which(program)


def configured_step(name: str, command: Sequence[str], python: str, root: Path) -> StepPlan:
    """A step whose argument list the project file sets."""
    program = resolve_program(command[0], python, root)
    tool = Path(command[0]).name
    if program is None:
        where = f"{Path(python).parent} or on PATH" if os.sep not in command[0] else "at that path"
        return StepPlan(
            name, tool, tuple(command), f"{command[0]} (check.{name}) is not found in {where}", True
        )
    return StepPlan(name, tool, (program, *command[1:]), required=True)


def lint_step(project: Project, python: str, found: Probe, config: CheckConfig) -> StepPlan:
    """ruff when the project's interpreter has it, else flake8, else not run (with how to get one)."""
    command = config.command("lint")
    if command is not None:
        return configured_step("lint", command, python, project.root)
    root = project.root
    if found.versions.get(RUFF.module) is not None:
        return StepPlan(
            "lint", "ruff", (python, "-m", "ruff", "check", "."), required=config.required("lint")
        )
    if found.versions.get(FLAKE8.module) is not None:
        command = (python, "-m", "flake8", "--extend-exclude", FLAKE8_EXCLUDE, ".")
        return StepPlan("lint", "flake8", command, required=config.required("lint"))
    wanted = "ruff" if not flake8_configured(root) else "flake8"
    return StepPlan(
        "lint",
        wanted,
        not_run=f"neither ruff nor flake8 is installed in {python}: run `{install_hint(python, [wanted])}`",
        required=config.required("lint") or ruff_configured(root) or flake8_configured(root),
    )


def types_step(project: Project, python: str, found: Probe, config: CheckConfig) -> StepPlan:
    """mypy when the project configures it (and its interpreter has it); otherwise why not."""
    command = config.command("types")
    if command is not None:
        return configured_step("types", command, python, project.root)
    configured, has_files = mypy_config(project.root)
    if not configured:
        return StepPlan(
            "types",
            "mypy",
            not_run="mypy is not configured: add [tool.mypy] to pyproject.toml, a mypy.ini, "
            "or set check.types",
            required=config.required("types"),
        )
    if found.versions.get(MYPY.module) is None:
        return StepPlan(
            "types",
            "mypy",
            not_run=f"mypy is configured but not installed in {python}: run `{install_hint(python, ['mypy'])}`",
            required=True,
        )
    targets: tuple[str, ...] = ()
    if not has_files:  # mypy needs targets unless its configuration names files
        source = [s for s in project.coverage.source if (project.root / s).exists()]
        targets = tuple(source) or (".",)
    return StepPlan("types", "mypy", (python, "-m", "mypy", *targets), required=True)


def probe_linters(python: str) -> Probe:
    """One probe of the project's interpreter for every tool the external steps may use."""
    return probe(python, [RUFF, FLAKE8, MYPY], pins=False)


def mypy_config(root: Path) -> tuple[bool, bool]:
    """Whether mypy is configured in ``root``, and whether that configuration names ``files``.

    Where mypy itself looks: ``mypy.ini``, ``.mypy.ini``, ``[tool.mypy]`` in
    pyproject.toml, ``[mypy]`` in setup.cfg.
    """
    for name in ("mypy.ini", ".mypy.ini"):
        section = _ini_section(root / name, "mypy")
        if section is not None:
            return True, "files" in section
    tool = _pyproject_tool(root).get("mypy")
    if isinstance(tool, dict):
        return True, "files" in tool
    section = _ini_section(root / "setup.cfg", "mypy")
    if section is not None:
        return True, "files" in section
    return False, False


def ruff_configured(root: Path) -> bool:
    return (
        (root / "ruff.toml").is_file() or (root / ".ruff.toml").is_file() or "ruff" in _pyproject_tool(root)
    )


def flake8_configured(root: Path) -> bool:
    return (root / ".flake8").is_file() or any(
        _ini_section(root / name, "flake8") is not None for name in ("setup.cfg", "tox.ini")
    )


def _pyproject_tool(root: Path) -> dict[str, object]:
    try:
        document = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    tool = document.get("tool")
    return tool if isinstance(tool, dict) else {}


def _ini_section(path: Path, name: str) -> dict[str, str] | None:
    if not path.is_file():
        return None
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError):
        return None
    return dict(parser[name]) if parser.has_section(name) else None


__all__ = [
    "FLAKE8",
    "MYPY",
    "RUFF",
    "StepPlan",
    "configured_step",
    "flake8_configured",
    "lint_step",
    "mypy_config",
    "probe_linters",
    "resolve_program",
    "ruff_configured",
    "types_step",
]
