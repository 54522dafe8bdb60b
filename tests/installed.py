"""stagewise installed as a user installs it: a wheel of this checkout in a venv of its own, no extras.

The editable dev install shares its venv with pytest and every plugin, so it
cannot show that stagewise works *beside* a project rather than inside its
venv. This builds a real wheel of the working tree (pip, with build
isolation, exactly as ``pip install .`` or pipx would) and installs it into
a cached venv (tests/pyvenvs.py). The wheel's folder is named by a hash of
what goes into it (src/, pyproject.toml, README.md), so a changed source gets
a new wheel and a new venv, never a stale one; an unchanged tree reuses both.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests.helpers import REPO
from tests.pyvenvs import cache_root, project_venv

#: What the wheel is built from; nothing else in the repo reaches it.
_INPUTS = ("pyproject.toml", "README.md")


def source_hash() -> str:
    """A hash of every file the wheel is built from (caches and egg-info left out)."""
    digest = hashlib.sha256()
    files = [REPO / name for name in _INPUTS]
    files += sorted(
        p
        for p in (REPO / "src").rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and not any(s.endswith(".egg-info") for s in p.parts)
    )
    for path in files:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def stagewise_wheel() -> Path:
    """The wheel of this checkout (built once per source hash, under the venv cache)."""
    folder = cache_root() / f"stagewise-wheel-{source_hash()}"
    folder.parent.mkdir(parents=True, exist_ok=True)
    with (folder.parent / f"{folder.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        built = sorted(folder.glob("stagewise-*.whl"))
        if built:
            return built[0]
        with tempfile.TemporaryDirectory(prefix="stagewise-src-") as tmp:
            # A copy, so the build leaves no build/ or egg-info in the working tree.
            tree = Path(tmp) / "stagewise"
            shutil.copytree(
                REPO / "src", tree / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
            for name in _INPUTS:
                shutil.copy2(REPO / name, tree / name)
            out = Path(tmp) / "wheel"
            done = subprocess.run(
                [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(out), str(tree)],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if done.returncode != 0:
                last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
                raise RuntimeError(f"could not build stagewise's wheel: {last[0]}")
            folder.mkdir(exist_ok=True)
            wheel = next(out.glob("stagewise-*.whl"))
            return Path(shutil.copy2(wheel, folder / wheel.name))


def stagewise_venv() -> Path:
    """The python of a venv holding stagewise (no extras) and its own dependencies only."""
    return project_venv((str(stagewise_wheel()),))


def stagewise_pipx() -> Path:
    """The ``stagewise`` script that ``pipx install`` of this checkout's wheel made (once per source hash).

    pipx itself comes from a cached venv; its home and script folder are
    private to the cache (``PIPX_HOME``, ``PIPX_BIN_DIR``), so the machine's
    own pipx set-up, if any, is never touched.
    """
    wheel = stagewise_wheel()
    pipx = project_venv(("pipx>=1.4,<2",))
    home = cache_root() / f"pipx-{wheel.parent.name.removeprefix('stagewise-wheel-')}"
    script = home / "bin" / "stagewise"
    home.parent.mkdir(parents=True, exist_ok=True)
    with (home.parent / f"{home.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (home / ".ready").is_file():
            return script
        shutil.rmtree(home, ignore_errors=True)
        env = {**os.environ, "PIPX_HOME": str(home), "PIPX_BIN_DIR": str(home / "bin")}
        env.pop("PIP_REQUIRE_VIRTUALENV", None)
        done = subprocess.run(
            [str(pipx), "-m", "pipx", "install", "--python", sys.executable, str(wheel)],
            capture_output=True,
            text=True,
            timeout=600,
            env=env,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["(no output)"]
            raise RuntimeError(f"could not pipx-install stagewise: {last[0]}")
        (home / ".ready").write_text(str(wheel) + "\n", encoding="utf-8")
    return script
