"""The tool check: versions read from metadata in the probed interpreter, minimums, hints (issue 14).

The probe is real: it runs in this interpreter (which has pytest) as a child,
exactly as it runs in a project's.
"""

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

import pytest

from stagewise.errors import ExitCode, MissingError
from stagewise.pipeline.plan import holds_tests
from stagewise.tiers.install import pip_reason
from stagewise.tiers.tools import (
    PYTEST,
    PYTEST_COV,
    RERUNFAILURES,
    Tool,
    install_hint,
    missing_tools,
    probe,
    require_tools,
    version_at_least,
)

ABSENT = Tool("no_such_module_here", "no-such-package-here", "a test", "1.0")


@pytest.mark.parametrize(
    ("version", "minimum", "ok"),
    [
        ("7.4.4", "7.0", True),
        ("7.0", "7.0.0", True),
        ("6.2.5", "7.0", False),
        ("4.0.0", "4.1", False),
        ("14.0", "11", True),
        ("10.3", "11", False),
        ("0.5.2rc1", "0.4", True),
        ("0.3.9", "0.4", False),
        ("9.0.0.dev3+g1234", "9.0", True),
        ("weird", "1.0", True),  # unreadable: never refuse a tool the check cannot read
    ],
)
def test_version_at_least(version: str, minimum: str, ok: bool) -> None:
    assert version_at_least(version, minimum) is ok


def test_requirement_carries_the_minimum() -> None:
    assert PYTEST_COV.requirement == "pytest-cov>=4.0"
    assert RERUNFAILURES.requirement == "pytest-rerunfailures>=11"
    assert Tool("x", "x-pkg", "y").requirement == "x-pkg"
    assert Tool("psycopg", "psycopg", "y", "3.1", extras="binary").requirement == "psycopg[binary]>=3.1"


def test_probe_reads_versions_without_importing() -> None:
    found = probe(sys.executable, [PYTEST, ABSENT])
    assert found.versions == {"pytest": importlib.metadata.version("pytest"), ABSENT.module: None}
    assert f"pytest=={importlib.metadata.version('pytest')}" in found.installed
    assert found.absent([PYTEST, ABSENT]) == [ABSENT]
    assert missing_tools(sys.executable, [PYTEST, ABSENT]) == [ABSENT]


def test_an_absent_tool_names_interpreter_and_version() -> None:
    with pytest.raises(MissingError) as caught:
        require_tools(sys.executable, [PYTEST, ABSENT], install_missing=False)
    assert caught.value.exit_code == ExitCode.MISSING
    assert caught.value.message == (
        f"no-such-package-here is needed for a test but is not installed in {sys.executable}: "
        f"run `{sys.executable} -m pip install 'no-such-package-here>=1.0'` or pass --install-missing"
    )


def test_a_too_old_tool_is_exit_4_even_with_install_missing() -> None:
    future = Tool("pytest", "pytest", "the future tier", "999")
    notes: list[str] = []
    with pytest.raises(MissingError) as caught:
        require_tools(sys.executable, [future], install_missing=True, note=notes.append)
    version = importlib.metadata.version("pytest")
    assert f"pytest {version} is installed in {sys.executable} but the future tier needs pytest>=999" in str(
        caught.value
    )
    assert "never changes a version already installed" in str(caught.value)
    assert notes == []  # nothing was installed


def test_a_broken_interpreter_is_exit_4(tmp_path: Path) -> None:
    with pytest.raises(MissingError, match="cannot run the test interpreter"):
        probe(str(tmp_path / "no-python"), [PYTEST])


def test_the_hint_is_shell_quoted() -> None:
    assert install_hint("/p y/python", ["pytest>=7.0"]) == "'/p y/python' -m pip install 'pytest>=7.0'"


def test_holds_tests(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "test_a.py").write_text("")
    assert holds_tests(tmp_path, ["tests/unit"])
    assert holds_tests(tmp_path, ["tests/e2e", "tests/unit/test_a.py::test_x"])
    assert not holds_tests(tmp_path, ["tests/e2e"])
    assert holds_tests(tmp_path, [])  # no paths: pytest's own collection decides


def test_pip_reason_keeps_the_error_lines() -> None:
    output = (
        "Collecting x\n  Downloading x.whl\n"
        "ERROR: Cannot install x because these package versions have conflicting dependencies.\n"
        "The conflict is caused by:\n    x 2.0 depends on pytest>=8\n"
        "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io\n"
    )
    assert pip_reason(output) == (
        "ERROR: Cannot install x because these package versions have conflicting dependencies. "
        "The conflict is caused by: x 2.0 depends on pytest>=8 "
        "ERROR: ResolutionImpossible: for help visit https://pip.pypa.io"
    )
    assert pip_reason("just one line\n") == "just one line"


def test_install_missing_without_pip_says_so(tmp_path: Path) -> None:
    """A venv made without pip (as uv makes them): one clear line, not pip's traceback."""
    import subprocess

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    python = str(tmp_path / "venv" / "bin" / "python")
    notes: list[str] = []
    with pytest.raises(MissingError) as caught:
        require_tools(python, [ABSENT], install_missing=True, note=notes.append)
    assert caught.value.message.startswith(f"{python} has no pip, so --install-missing cannot add ")
    assert notes == [
        f"installing no-such-package-here>=1.0 into {python} (pip; the 0 packages already there are kept at their versions)"
    ]


@pytest.mark.parametrize("child", [False, True], ids=["in-process", "child interpreter"])
def test_a_probe_without_pins_lists_no_distributions_but_the_same_versions(child: bool) -> None:
    """The check before a run skips the (costly) listing of every distribution; an install needs it."""
    from stagewise.tiers.tools import PYTEST, probe

    # The same interpreter by another path is probed as a child (probe compares the path).
    other = "python" if Path(sys.executable).name == "python3" else "python3"
    python = str(Path(sys.executable).parent / other) if child else sys.executable
    assert (python != sys.executable) is child
    with_pins = probe(python, [PYTEST])
    without = probe(python, [PYTEST], pins=False)
    assert without.versions == with_pins.versions
    assert without.installed == ()
    assert any(pin.lower().startswith("pytest==") for pin in with_pins.installed)
