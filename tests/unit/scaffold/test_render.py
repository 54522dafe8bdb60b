"""The rendered project file: valid TOML the loader accepts, with values quoted and comments safe."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from stagewise.scaffold import check_loads, render_project_file, scan_project
from stagewise.scaffold.render import comment, toml_key, toml_value
from tests.unit.scaffold import shapes


def load_rendered(root: Path) -> tuple[str, dict[str, object]]:
    text = render_project_file(scan_project(root))
    (root / "stagewise.toml").write_text(text, encoding="utf-8")
    return text, tomllib.loads(text)


@pytest.mark.parametrize("shape", [shapes.library, shapes.fastapi_template, shapes.older_app])
def test_every_shape_renders_a_file_the_loader_accepts(tmp_path: Path, shape: object) -> None:
    root = shape(tmp_path / "p")  # type: ignore[operator]
    text, _ = load_rendered(root)
    project = load_project(root)
    assert project.config_file == root / "stagewise.toml"
    assert text.startswith("# stagewise.toml, written by `stagewise init`")


def test_in_process_api_tier_needs_no_target(tmp_path: Path) -> None:
    root = shapes.fastapi_template(tmp_path / "p")
    text, document = load_rendered(root)
    project = load_project(root)
    assert project.tiers["api"].needs_target is False
    assert project.tiers["api"].paths == ("tests/api",)
    assert project.tiers["integration"].paths == ("tests/crud", "tests/scripts")
    assert project.security.fuzz.openapi == "/api/v1/openapi.json"
    assert project.data.urls["dev"].startswith("postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@")
    assert project.compose.files == {"dev": "compose.yaml"}
    assert "# app/alembic/env.py builds its URL from parts: POSTGRES_SERVER" in text
    assert document["project"] == {
        "name": "app",
        "source": ["app"],
        "start_hint": "uvicorn app.main:app --port 8000",
    }


def test_values_are_quoted_and_escaped() -> None:
    tricky = 'a "quoted" \\ back\nslash\t\u00e9'
    assert tomllib.loads(f"k = {toml_value(tricky)}")["k"] == tricky
    assert tomllib.loads(f"k = {toml_value(['x', tricky])}")["k"] == ["x", tricky]
    assert tomllib.loads(f"{toml_key('a.b c')} = {toml_value(True)}") == {"a.b c": True}
    assert "\n" not in comment("one\ntwo\rthree")


def test_a_hostile_project_name_stays_one_string(tmp_path: Path) -> None:
    name = 'evil"\n[stages.prod]\nprotected = false\n#'
    root = shapes.write_tree(tmp_path / "p", {"pyproject.toml": f"[project]\nname = {toml_value(name)}\n"})
    _, document = load_rendered(root)
    assert document["project"] == {"name": name}
    assert load_project(root).stages["prod"].protected is True


def test_check_loads_rejects_what_the_loader_rejects() -> None:
    with pytest.raises(ConfigError, match=r"tiers\.nope"):
        check_loads("[tiers.nope]\npaths = ['x']\n")
