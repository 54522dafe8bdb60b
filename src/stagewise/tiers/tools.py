"""Check that an interpreter has the tools a tier needs, at a version stagewise's use works with.

stagewise itself needs neither pytest nor any plugin: pytest runs in the
project's interpreter (``project.python``), so the tools are looked for there,
by a small probe run in that interpreter. The probe reads installed
distributions with ``importlib.metadata`` and never imports a tool: importing
a plugin can fail or have side effects, and a too-old version must be named,
not crash. Tools that do not import the project's code (Locust, the scanners)
are looked for in stagewise's own interpreter instead (``ToolNeed.in_stagewise``).

Nothing is installed unless the user asked with ``--install-missing``
(:mod:`stagewise.tiers.install`); the error otherwise names the interpreter
and the exact command, with the version needed.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.errors import MissingError
from stagewise.tiers import probe_cache, probe_child
from stagewise.tiers.install import pip_install


@dataclass(frozen=True)
class Tool:
    """A Python package a tier needs: its import name, its pip name, and the lowest version that works.

    ``minimum`` is the oldest release whose options and behaviour stagewise
    relies on (empty: any version); it is checked from the installed
    distribution's metadata, so a too-old plugin is exit 4 naming the version
    needed instead of a usage error from inside pytest.
    """

    module: str
    package: str
    needed_for: str
    minimum: str = ""
    extras: str = ""  # installed with the package, e.g. "binary" for psycopg[binary]

    @property
    def requirement(self) -> str:
        """The pip requirement that satisfies stagewise, e.g. ``pytest-cov>=4.0``."""
        name = f"{self.package}[{self.extras}]" if self.extras else self.package
        return f"{name}>={self.minimum}" if self.minimum else name


#: pytest 7.0 is the oldest the tier's command line and its JUnit XML reading are tested with.
PYTEST = Tool("pytest", "pytest", "every pytest tier", "7.0")
#: pytest-cov 4.0 is the oldest the coverage gate is tested with (tests/integration/pipeline/
#: test_coverage_gate.py, with coverage 6.5); pytest-cov 3 raises PytestDeprecationWarning for its
#: hooks on pytest 7.2+, which fails every project that turns warnings into errors.
PYTEST_COV = Tool("pytest_cov", "pytest-cov", "--coverage", "4.0")
#: pytest-playwright 0.4: ``--browser``, ``--headed``, ``--slowmo`` and the
#: ``browser_type_launch_args`` fixture that the stagewise_browser plugin overrides.
PLAYWRIGHT = Tool("pytest_playwright", "pytest-playwright", "the e2e tier", "0.4")
#: pytest-rerunfailures 11: ``--reruns N`` with its rerun reports on pytest 7.x to 9.x
#: (pip picks a release that fits the project's pytest, e.g. 14 on pytest 7.4).
RERUNFAILURES = Tool("pytest_rerunfailures", "pytest-rerunfailures", "--reruns", "11")

#: Runs in the probed interpreter (any Python 3.8+): for each ``[module, package]`` in argv[1] the
#: installed version ("" when importable without metadata, None when absent), plus every installed
#: distribution as ``name==version`` (the constraints an install must keep).


@dataclass(frozen=True)
class Probe:
    """What one interpreter has: each probed tool's version (None: absent) and every installed pin."""

    python: str
    versions: dict[str, str | None]
    installed: tuple[str, ...]

    def absent(self, tools: Sequence[Tool]) -> list[Tool]:
        """The tools the interpreter cannot import."""
        return [t for t in tools if self.versions.get(t.module) is None]

    def too_old(self, tools: Sequence[Tool]) -> list[tuple[Tool, str]]:
        """The installed tools older than their minimum, with the version found."""
        old = []
        for tool in tools:
            version = self.versions.get(tool.module)
            if version and tool.minimum and not version_at_least(version, tool.minimum):
                old.append((tool, version))
        return old


def probe(python: str, tools: Sequence[Tool], pins: bool = True) -> Probe:
    """Ask ``python`` which of ``tools`` it has, at which versions (nothing is imported).

    ``pins=False`` skips listing every installed distribution (``installed`` is then empty):
    only an install needs them, and the listing is most of a probe's cost in a large venv.
    """
    pairs = [[t.module, t.package] for t in tools]
    if python == sys.executable:
        return _probe_here(pairs, pins)
    answer = ask_interpreter(python, pairs, pins)
    return Probe(python, dict(answer["tools"]), tuple(answer["installed"]))


def _probe_here(pairs: list[list[str]], pins: bool) -> Probe:
    """The probe in stagewise's own interpreter, remembered like another's (it reads every
    distribution's metadata, the slowest step before a run's first child starts)."""
    question = [pairs, pins, "in-process"]
    cached = probe_cache.load(sys.executable, question)
    if cached is not None:
        return Probe(sys.executable, dict(cached["tools"]), tuple(cached["installed"]))
    versions, installed = probe_child.answer(pairs, pins=pins)
    answer = {"tools": versions, "installed": installed}
    probe_cache.store(sys.executable, question, answer, sys.path[1:])  # [0]: the script or cwd
    return Probe(sys.executable, versions, tuple(installed))


def ask_interpreter(python: str, pairs: list[list[str]], pins: bool = True) -> dict[str, Any]:
    """Run the probe in another interpreter, or reuse its last answer when nothing there changed.

    The answer holds ``tools`` ({module: version | "" | None}), ``installed``
    (pins, empty with ``pins=False``) and ``python`` (its version).
    """
    question = [pairs, pins]
    cached = probe_cache.load(python, question)
    if cached is not None:
        return cached
    try:
        done = subprocess.run(
            [python, probe_child.__file__, json.dumps(pairs), *([] if pins else ["--no-pins"])],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise MissingError(f"cannot run the test interpreter {python}: {exc}") from exc
    if done.returncode != 0:
        last = done.stderr.strip().splitlines()[-1:] or ["(no output)"]
        raise MissingError(f"the test interpreter {python} does not work: {last[0][:200]}")
    try:
        loaded = json.loads(done.stdout)
        answer = {
            "tools": {str(k): v for k, v in dict(loaded["tools"]).items()},
            "installed": [str(pin) for pin in loaded["installed"]],
            "python": str(loaded.get("python", "")),
        }
        sys_path = [str(p) for p in loaded.get("sys_path", [])]
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MissingError(f"the test interpreter {python} gave an unreadable answer: {exc}") from exc
    if sys_path:
        probe_cache.store(python, question, answer, sys_path)
    return answer


def missing_tools(python: str, tools: Sequence[Tool]) -> list[Tool]:
    """The tools that ``python`` cannot import (checked without importing them)."""
    return probe(python, tools, pins=False).absent(tools) if tools else []


def version_at_least(version: str, minimum: str) -> bool:
    """``version >= minimum`` on the release numbers (``7.4.4``, ``14.0``, ``0.5.2rc1`` -> 0.5.2).

    Pre-release and local parts are ignored: the minimums are whole releases,
    and the core does without ``packaging``. An unreadable version passes
    (the check must never refuse a tool it cannot read).
    """
    have, need = _release(version), _release(minimum)
    if not have or not need:
        return True
    width = max(len(have), len(need))
    return have + (0,) * (width - len(have)) >= need + (0,) * (width - len(need))


def _release(version: str) -> tuple[int, ...]:
    match = re.match(r"\s*v?(\d+(?:\.\d+)*)", version)
    return tuple(int(part) for part in match.group(1).split(".")) if match else ()


def install_hint(python: str, requirements: Sequence[str]) -> str:
    """The command that installs ``requirements`` for ``python``, quoted for a shell.

    stagewise's own interpreter under pipx takes tools through ``pipx inject``.
    """
    venv = _pipx_venv() if python == sys.executable else None
    if venv is not None:
        return shlex.join(["pipx", "inject", venv, *requirements])
    return shlex.join([python, "-m", "pip", "install", *requirements])


def _pipx_venv() -> str | None:
    """The pipx venv's name when stagewise runs from one (pipx leaves ``pipx_metadata.json`` in it)."""
    prefix = Path(sys.prefix)
    return prefix.name if (prefix / "pipx_metadata.json").is_file() else None


def require_tools(
    python: str,
    tools: Sequence[Tool],
    install_missing: bool,
    note: Callable[[str], None] | None = None,
) -> None:
    """Raise :class:`MissingError` (exit 4) for absent or too-old tools, or install the absent ones when asked.

    A too-old tool is never upgraded, even with ``--install-missing``: its
    version is the project's choice, and the message says which is needed.
    """
    if not tools:
        return
    found = probe(python, tools, pins=False)
    old = found.too_old(tools)
    if old:
        tool, version = old[0]
        raise MissingError(
            f"{tool.package} {version} is installed in {python} but {tool.needed_for} needs "
            f"{tool.requirement}: run `{install_hint(python, [tool.requirement])}` "
            "(--install-missing never changes a version already installed)"
        )
    absent = found.absent(tools)
    if not absent:
        return
    if install_missing:
        _install(probe(python, tools), absent, note or (lambda _line: None))
        return
    first = absent[0]
    raise MissingError(
        f"{first.package} is needed for {first.needed_for} but is not installed in {python}: "
        f"run `{install_hint(python, [t.requirement for t in absent])}` or pass --install-missing"
    )


def _install(found: Probe, tools: Sequence[Tool], note: Callable[[str], None]) -> None:
    """Install the absent ``tools``, announced before and confirmed after (versions found by a new probe)."""
    python, requirements = found.python, [t.requirement for t in tools]
    note(
        f"installing {', '.join(requirements)} into {python} "
        f"(pip; the {len(found.installed)} packages already there are kept at their versions)"
    )
    try:
        pip_install(python, requirements, found.installed)
    except MissingError as exc:
        raise MissingError(
            f"{exc.message}; install a version that fits yourself (`{install_hint(python, requirements)}`)"
        ) from exc
    after = probe(python, tools)
    for tool in after.absent(tools):
        raise MissingError(
            f"pip installed {tool.requirement} into {python} but {tool.module} cannot be imported"
        )
    for tool, version in after.too_old(tools):
        raise MissingError(
            f"pip installed {tool.package} {version} into {python}, older than {tool.requirement}"
        )
    note(f"installed {', '.join(f'{t.package} {after.versions[t.module]}' for t in tools)} into {python}")


__all__ = [
    "PLAYWRIGHT",
    "PYTEST",
    "PYTEST_COV",
    "RERUNFAILURES",
    "Probe",
    "Tool",
    "install_hint",
    "missing_tools",
    "probe",
    "require_tools",
    "version_at_least",
]
