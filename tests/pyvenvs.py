"""Real virtual environments for throwaway projects: pytest 7, 8 and 9, made once and cached.

A project under test usually lives in a venv of its own, with its own pytest
pinned; stagewise runs its tests there through ``project.python``. The tests
that prove this need real venvs, not stagewise's. Each distinct set of
requirements is one venv, built on first use and reused by every later test
and run (``STAGEWISE_TEST_VENVS``, default ``~/.cache/stagewise-test-venvs``).
A file lock makes concurrent pytest-xdist workers wait for one build instead of
racing two.

The packages come from PyPI (this machine and CI reach it). A venv that cannot
be built fails the test that asked for it, with pip's own last line: it never
skips, because on CI a skip would hide the very seam these tests are for.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

#: Requirement sets the tests use, by name; a test may also pass its own list.
PYTEST_7 = ("pytest==7.4.4",)
PYTEST_8 = ("pytest>=8.3,<9",)
PYTEST_9 = ("pytest>=9,<10",)
PYTEST_7_RERUNS = ("pytest==7.4.4", "pytest-rerunfailures==14.0")
PYTEST_7_COV_XDIST = ("pytest==7.4.4", "pytest-cov==4.1.0", "pytest-xdist==3.5.0")
#: pytest-cov 4.0 with the oldest coverage that has a wheel for Python 3.11 (5.5 builds from source: minutes)
PYTEST_7_COV4_COVERAGE6 = ("pytest==7.4.4", "pytest-cov==4.0.0", "coverage==6.5.0")


def cache_root() -> Path:
    """Where the venvs are kept between runs."""
    configured = os.environ.get("STAGEWISE_TEST_VENVS")
    return Path(configured) if configured else Path.home() / ".cache" / "stagewise-test-venvs"


def project_venv(requirements: Sequence[str], *, python: str = sys.executable) -> Path:
    """The python of a venv holding exactly ``requirements`` (built once, then reused).

    The venv's name is a hash of the requirements and the base interpreter, so
    a changed pin gets a new venv and never a half-upgraded old one.
    """
    key = hashlib.sha256("\n".join([python, *sorted(requirements)]).encode()).hexdigest()[:16]
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    venv = root / key
    interpreter = venv / "bin" / "python"
    ready = venv / ".ready"
    with (root / f"{key}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if ready.is_file():
            return interpreter
        shutil.rmtree(venv, ignore_errors=True)
        _run([python, "-m", "venv", str(venv)], "create the venv")
        _run(
            [
                str(interpreter),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                *requirements,
            ],
            f"install {' '.join(requirements)}",
        )
        ready.write_text("\n".join(requirements) + "\n", encoding="utf-8")
    return interpreter


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
        raise RuntimeError(f"could not {what} for a test venv: {last[0]}")


#: A project's own venv for its migrations: alembic, SQLAlchemy and its PostgreSQL driver.
ALEMBIC_PSYCOPG = ("alembic==1.13.*", "sqlalchemy==2.*", "psycopg[binary]==3.*")
#: stagewise's own dependencies and nothing else: no psycopg (the ``postgres`` extra left out).
STAGEWISE_CORE_ONLY = ("pytest>=8.3,<9", "rich>=13", "python-dotenv>=1.0")
#: A project's venv with alembic and SQLAlchemy but no PostgreSQL driver.
ALEMBIC_NO_DRIVER = ("alembic==1.13.*", "sqlalchemy==2.*")
#: The record plugin's matrix: each pytest major with pytest-rerunfailures and pytest-xdist
#: (xdist off is the same venv without ``-n``).
PYTEST_7_RECORD = ("pytest==7.4.4", "pytest-rerunfailures==14.0", "pytest-xdist==3.5.0")
PYTEST_8_RECORD = ("pytest>=8.3,<9", "pytest-rerunfailures>=14", "pytest-xdist>=3.5")
PYTEST_9_RECORD = ("pytest>=9,<10", "pytest-rerunfailures>=14", "pytest-xdist>=3.5")
#: An ASGI app's venv whose api tests call it in-process (Starlette's TestClient runs on httpx).
PYTEST_8_STARLETTE = ("pytest>=8.3,<9", "starlette>=0.37,<1", "httpx>=0.27,<1")


def prebuild_all(parallel: int = 4) -> None:
    """Build every requirement set named in this module, a few at a time.

    ``scripts/test-machine.sh`` runs this in the background while apt and
    debootstrap work, so the suite finds its venvs ready; a test that gets
    there first waits on the same file lock, so nothing is built twice.
    """
    from concurrent.futures import ThreadPoolExecutor

    sets = [
        value
        for name, value in globals().items()
        if name.isupper() and isinstance(value, tuple) and all(isinstance(v, str) for v in value)
    ]
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for _ in pool.map(project_venv, sets):
            pass


if __name__ == "__main__":
    prebuild_all()
    from tests.installed import stagewise_pipx, stagewise_venv

    stagewise_venv()  # the wheel of this checkout in a venv of its own, and under pipx
    stagewise_pipx()
