"""``--install-missing``: add the absent tools to an interpreter without changing anything it has.

A bare ``pip install pytest-rerunfailures`` is free to upgrade pytest (seen:
7.4 to 9.2 on a project that pinned 7). So every distribution already
installed in the interpreter becomes a constraint (``name==version``) and pip
must find tool versions that fit them, or fail and say why. The caller
(:func:`stagewise.tiers.tools.require_tools`) announces the install and
checks the result.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from stagewise.errors import MissingError

#: pip's own output in the message when it fails: its ERROR lines and the conflict they name.
_PIP_LINES = 4


def pip_install(python: str, requirements: Sequence[str], keep: Sequence[str]) -> None:
    """``python -m pip install REQUIREMENTS`` constrained to the pins ``keep`` (``name==version``)."""
    with tempfile.TemporaryDirectory(prefix="stagewise-constraints-") as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text("".join(f"{pin}\n" for pin in keep), encoding="utf-8")
        command = [python, "-m", "pip", "install", "--disable-pip-version-check", "--no-input"]
        command += ["-c", str(constraints), *requirements]
        try:
            done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise MissingError(f"could not run pip in {python}: {exc}") from exc
    if done.returncode != 0 and "No module named pip" in done.stderr:
        raise MissingError(
            f"{python} has no pip, so --install-missing cannot add {' '.join(requirements)} there: "
            "install them with the tool that made that environment (e.g. `uv pip install --python PYTHON ...`)"
        )
    if done.returncode != 0:
        raise MissingError(
            f"pip could not install {' '.join(requirements)} into {python} without changing "
            f"what is installed there: {pip_reason(done.stderr or done.stdout)}"
        )


def pip_reason(output: str) -> str:
    """pip's lines that say why (its ERROR and conflict lines, else its last lines), joined on one line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    why = ("conflict", "depends on", "requires")
    errors = [line for line in lines if line.startswith("ERROR") or any(w in line.lower() for w in why)]
    return " ".join((errors or lines)[-_PIP_LINES:]) or "(no output)"


__all__ = ["pip_install", "pip_reason"]
