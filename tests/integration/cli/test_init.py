"""``stagewise init`` as a user runs it, on three real throwaway projects of different shapes."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from stagewise.project.loader import load_project
from tests.helpers import run_cli
from tests.unit.scaffold import shapes

Shape = Callable[[Path], Path]


def init(root: Path, *extra: str) -> tuple[int, str, str]:
    result = run_cli("init", "--project", str(root), *extra, cwd=root.parent, timeout=60)
    return result.returncode, result.stdout, result.stderr


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("shape", [shapes.library, shapes.fastapi_template, shapes.older_app])
def test_init_writes_once_refuses_then_forces_and_keeps_gitignore_lines_single(
    tmp_path: Path, shape: Shape
) -> None:
    root = shape(tmp_path / "project")

    before = tree(root)
    code, printed, err = init(root, "--print")
    assert (code, err) == (0, "")
    assert tree(root) == before, "--print must write nothing"
    tomllib.loads(printed)

    code, out, err = init(root)
    assert (code, err) == (0, "")
    assert out.startswith(f"wrote {root / 'stagewise.toml'}\n")
    written = (root / "stagewise.toml").read_text(encoding="utf-8")
    assert written == printed
    assert written.startswith("# stagewise.toml, written by `stagewise init`")
    assert load_project(root).config_file == root / "stagewise.toml"

    (root / "stagewise.toml").write_text(written + "# my edit\n", encoding="utf-8")
    code, out, err = init(root)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1
    assert "already exists; not overwritten (use --force" in err
    assert (root / "stagewise.toml").read_text(encoding="utf-8") == written + "# my edit\n"

    code, _, err = init(root, "--force")
    assert (code, err) == (0, "")
    assert (root / "stagewise.toml").read_text(encoding="utf-8") == written
    lines = (root / ".gitignore").read_text(encoding="utf-8").splitlines()
    for entry in ("backups/", ".stagewise/"):
        assert lines.count(entry) == 1
    assert lines.count("reports/") + lines.count("reports") == 1
    load_project(root)


def test_library_flat_tests_become_the_unit_tier(tmp_path: Path) -> None:
    root = shapes.library(tmp_path / "lib")
    assert init(root)[0] == 0
    project = load_project(root)
    assert project.tiers["unit"].paths == ("tests",)
    assert project.stages["test"].tiers == ("unit",)
    assert project.python == ".venv/bin/python"
    assert project.coverage.source == ("tiny_lib",)
    text = (root / "stagewise.toml").read_text(encoding="utf-8")
    assert "# the whole suite: no tier folders under it" in text
    assert "#   testpaths: tests" in text
    assert (root / ".gitignore").read_text(encoding="utf-8") == "reports/\nbackups/\n.stagewise/\n"


def test_fastapi_template_api_needs_no_target_and_db_url_comes_from_parts(tmp_path: Path) -> None:
    root = shapes.fastapi_template(tmp_path / "tpl")
    assert init(root)[0] == 0
    project = load_project(root)
    assert project.tiers["api"].paths == ("tests/api",)
    assert project.tiers["api"].needs_target is False
    assert project.tiers["integration"].paths == ("tests/crud", "tests/scripts")
    assert project.stages["test"].tiers == ("integration", "api")
    assert project.data.alembic_ini == "alembic.ini"
    assert "${POSTGRES_SERVER:-localhost}" in project.data.urls["staging"]
    assert project.compose.files == {"dev": "compose.yaml"}
    assert project.security.fuzz.openapi == "/api/v1/openapi.json"
    assert project.start_hint == "uvicorn app.main:app --port 8000"
    text = (root / "stagewise.toml").read_text(encoding="utf-8")
    assert "# its tests call the app in-process (TestClient): no server needed" in text
    assert "builds its URL from parts: POSTGRES_SERVER, POSTGRES_PORT" in text
    assert "changethis" not in text, "values of .env files never reach the project file"


def test_older_app_keeps_fail_under_compose_stages_and_locustfile(tmp_path: Path) -> None:
    root = shapes.older_app(tmp_path / "old")
    assert init(root)[0] == 0
    project = load_project(root)
    assert project.coverage.fail_under == 100
    assert project.coverage.source == ("app",)
    assert project.tiers["unit"].paths == ("tests/unit",)
    assert project.tiers["integration"].paths == ("tests/integration",)
    assert project.tiers["performance"].paths == ("locustfile.py",)
    assert project.compose.file_for("dev") == "docker-compose.dev.yml"
    assert project.compose.file_for("prod") == "docker-compose.prod.yml"
    assert project.stages["prod"].env_files == (".env", ".env.prod", ".env.production")
    assert project.health_path == "/healthz"
    text = (root / "stagewise.toml").read_text(encoding="utf-8")
    assert "#   pytest-xdist runs each tier in parallel (-n in addopts)" in text
    assert "# Dockerfile: Dockerfile" in text
    assert (root / ".gitignore").read_text(encoding="utf-8") == "*.pyc\nreports\nbackups/\n.stagewise/\n"


def test_missing_project_dir_is_a_usage_error(tmp_path: Path) -> None:
    code, _, err = init(tmp_path / "nope")
    assert code == 2
    assert "no such directory" in err


def test_the_written_file_runs_the_library_suite_with_stagewise_test(tmp_path: Path) -> None:
    root = shapes.library(tmp_path / "lib")
    shutil.rmtree(root / ".venv")  # a placeholder there; run in this interpreter instead
    assert init(root)[0] == 0
    result = run_cli("test", "--all", "--no-progress", cwd=root, env={"PYTHONPATH": "src"}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "3 passed" in result.stdout
