"""An api tier of in-process TestClient tests, in the project's own venv: no server, no target (issue 14).

The project is the shape of a FastAPI template (an ASGI app, api tests that
drive it through Starlette's TestClient), in a real venv with its own pytest;
stagewise runs from its own. ``stagewise init`` must see that these tests need
no server, and ``stagewise test --api`` must then pass with nothing listening
at the target; the same project without that setting stops with exit 4,
which is what makes the first half mean something.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ProjectFactory
from tests.helpers import free_port, run_cli
from tests.pyvenvs import PYTEST_8_STARLETTE, project_venv

APP = {
    "app/__init__.py": "",
    "app/main.py": (
        "from starlette.applications import Starlette\n"
        "from starlette.responses import JSONResponse\n"
        "from starlette.routing import Route\n\n\n"
        "async def health(request):\n"
        "    return JSONResponse({'status': 'ok'})\n\n\n"
        "app = Starlette(routes=[Route('/health', health)])\n"
    ),
    "tests/api/test_health.py": (
        "from starlette.testclient import TestClient\n\n"
        "from app.main import app\n\n\n"
        "def test_health():\n"
        "    with TestClient(app) as client:\n"
        "        assert client.get('/health').json() == {'status': 'ok'}\n\n\n"
        "def test_missing_route():\n"
        "    with TestClient(app) as client:\n"
        "        assert client.get('/nope').status_code == 404\n"
    ),
    "pyproject.toml": '[project]\nname = "app"\nversion = "0.1"\n\n[tool.pytest.ini_options]\npythonpath = ["."]\n',
}


def with_python(toml: str, python: Path) -> str:
    """The written file with ``project.python`` set to the project's venv (init found no ``.venv``)."""
    lines = [line for line in toml.splitlines() if not line.startswith("python =")]
    at = lines.index("[project]") + 1
    return "\n".join([*lines[:at], f'python = "{python}"', *lines[at:]]) + "\n"


def test_init_sees_in_process_api_tests_and_the_tier_runs_with_no_server(
    make_project: ProjectFactory,
) -> None:
    python = project_venv(PYTEST_8_STARLETTE)
    root = make_project(APP)
    nobody = f"http://127.0.0.1:{free_port()}"  # nothing listens here

    written = run_cli("init", "--project", str(root), cwd=root.parent, timeout=60)
    assert written.returncode == 0, written.stderr
    toml = (root / "stagewise.toml").read_text()
    assert "needs_target = false" in toml, toml
    (root / "stagewise.toml").write_text(with_python(toml, python))

    done = run_cli("test", "--api", "--host", nobody, "--no-progress", cwd=root, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    api = next(t for t in record["tiers"] if t["name"] == "api")
    assert (api["status"], api["passed"], api["failed"]) == ("passed", 2, 0)

    needs_target = (
        (root / "stagewise.toml").read_text().replace("needs_target = false", "needs_target = true")
    )
    (root / "stagewise.toml").write_text(needs_target)
    unreachable = run_cli("test", "--api", "--host", nobody, "--no-progress", cwd=root, timeout=180)
    assert unreachable.returncode == 4, unreachable.stdout + unreachable.stderr
