"""The schemas reach a real install: a wheel of this checkout, no extras (tests/installed.py).

The editable dev install reads src/ directly, so only a built wheel shows
that ``schemas/*.json`` is package data and that ``stagewise schema`` and
``stagewise completion`` work with stagewise's own dependencies alone.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.installed import stagewise_venv


def _stagewise(*args: str) -> subprocess.CompletedProcess[str]:
    script = Path(stagewise_venv()).parent / "stagewise"
    return subprocess.run([str(script), *args], capture_output=True, text=True, timeout=120, check=False)


def test_the_installed_package_ships_both_schemas() -> None:
    for which in ("toml", "summary"):
        path = _stagewise("schema", which, "--path")
        assert path.returncode == 0, path.stderr
        installed = Path(path.stdout.strip())
        assert "site-packages" in installed.parts
        assert installed.is_file()
        printed = _stagewise("schema", which)
        assert json.loads(printed.stdout) == json.loads(installed.read_text(encoding="utf-8"))


def test_the_installed_package_writes_completion_scripts() -> None:
    done = _stagewise("completion", "bash")
    assert done.returncode == 0, done.stderr
    assert "complete -o default -F _stagewise stagewise" in done.stdout
