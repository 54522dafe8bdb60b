"""The project file: defaults, validation errors naming file and key, discovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError, ExitCode
from stagewise.project.loader import find_project_root, load_project


def write(root: Path, name: str, text: str) -> Path:
    path = root / name
    path.write_text(text, encoding="utf-8")
    return path


def test_no_file_gives_the_specs_defaults(tmp_path: Path) -> None:
    (tmp_path / "tests" / "integration").mkdir(parents=True)  # one folder of the layered layout
    project = load_project(tmp_path)
    assert project.config_file is None
    assert project.tiers["unit"].paths == ("tests/unit",)
    assert project.tiers["integration"].paths == ("tests/integration",)
    assert project.tiers["api"].needs_target
    assert project.tiers["e2e"].browser
    assert list(project.stages) == ["dev", "test", "staging", "prod"]
    assert project.stages["prod"].protected
    assert project.stages["prod"].markers == "smoke"
    assert project.default_stage == "test"


def test_no_file_and_no_tier_folders_makes_unit_pytest_own_collection(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()  # a flat tests/ folder, as most pytest projects have
    project = load_project(tmp_path)
    assert project.tiers["unit"].paths == ()
    assert project.tiers["integration"].paths == ("tests/integration",)


def test_a_project_file_keeps_the_default_paths_without_tier_folders(tmp_path: Path) -> None:
    write(tmp_path, "stagewise.toml", '[project]\nname = "x"\n')
    assert load_project(tmp_path).tiers["unit"].paths == ("tests/unit",)


def test_stagewise_toml_overrides_and_adds_a_stage(tmp_path: Path) -> None:
    write(
        tmp_path,
        "stagewise.toml",
        """
[project]
name = "shop"
source = ["shop"]
required_env = ["API_TOKEN"]

[tiers.unit]
paths = ["t/unit"]
markers = "not slow"

[stages.qa]
tiers = ["unit", "api"]
base_url = "http://127.0.0.1:9000"

[coverage]
fail_under = 85
""",
    )
    project = load_project(tmp_path)
    assert project.name == "shop"
    assert project.tiers["unit"].paths == ("t/unit",)
    assert project.tiers["unit"].markers == "not slow"
    assert project.stages["qa"].tiers == ("unit", "api")
    assert project.stages["qa"].env_files == (".env", ".env.qa")
    assert project.coverage.source == ("shop",)
    assert project.coverage.fail_under == 85
    assert project.required_env == ("API_TOKEN",)


def test_pyproject_tool_table_is_read(tmp_path: Path) -> None:
    write(
        tmp_path, "pyproject.toml", '[project]\nname="x"\n[tool.stagewise.project]\nname = "from-pyproject"\n'
    )
    project = load_project(tmp_path)
    assert project.name == "from-pyproject"
    assert project.config_file == tmp_path / "pyproject.toml"


def test_project_root_is_found_from_a_subdirectory(tmp_path: Path) -> None:
    write(tmp_path, "stagewise.toml", "")
    sub = tmp_path / "tests" / "unit"
    sub.mkdir(parents=True)
    assert find_project_root(sub) == (tmp_path.resolve(), (tmp_path / "stagewise.toml").resolve())


@pytest.mark.parametrize(
    ("text", "key", "problem"),
    [
        ("[stages.staging]\nprotected = 'yes'\n", "stages.staging.protected", "must be true or false"),
        ("[tiers.smoke]\npaths = ['x']\n", "tiers.smoke", "unknown tier"),
        ("[stages.dev]\ntiers = ['unit', 'nope']\n", "stages.dev.tiers", "unknown tier 'nope'"),
        ("[stages.dev]\nbase_url = 'localhost'\n", "stages.dev.base_url", "not an http(s) URL"),
        ("[coverage]\nfail_under = 120\n", "coverage.fail_under", "from 0 to 100"),
        ("[project]\nnmae = 'typo'\n", "project.nmae", "unknown key"),
        ("[tiers.unit]\npaths = ['../outside']\n", "tiers.unit.paths", "inside the project"),
        ("[project]\nrequired_env = ['BAD-NAME']\n", "project.required_env", "not a valid environment"),
        ("[project\n", "(syntax)", ""),
        ("unknown_top = 1\n", "unknown_top", "unknown key"),
    ],
)
def test_invalid_files_name_the_file_and_key(tmp_path: Path, text: str, key: str, problem: str) -> None:
    path = write(tmp_path, "stagewise.toml", text)
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.exit_code == ExitCode.CONFIG
    assert str(path) in str(caught.value)
    assert caught.value.key == key
    assert problem in caught.value.problem


def test_pyproject_key_paths_carry_the_tool_prefix(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.stagewise.stages.dev]\nprotected = 1\n")
    with pytest.raises(ConfigError) as caught:
        load_project(tmp_path)
    assert caught.value.key == "tool.stagewise.stages.dev.protected"
