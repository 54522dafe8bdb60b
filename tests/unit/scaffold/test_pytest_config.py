"""pytest's own configuration, found in the file pytest itself would use."""

from __future__ import annotations

from pathlib import Path

from stagewise.scaffold.pytest_config import read_pytest_config
from tests.unit.scaffold.shapes import write_tree


def test_pytest_ini_wins_over_pyproject(tmp_path: Path) -> None:
    write_tree(
        tmp_path,
        {
            "pytest.ini": "[pytest]\ntestpaths = a b\naddopts = -x --cov app\n",
            "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['c']\n",
        },
    )
    config = read_pytest_config(tmp_path)
    assert config is not None
    assert config.file == "pytest.ini"
    assert config.testpaths == ("a", "b")
    assert config.option("--cov") == ("app",)


def test_setup_cfg_and_tox_ini_sections(tmp_path: Path) -> None:
    write_tree(tmp_path, {"setup.cfg": "[tool:pytest]\nmarkers =\n    slow: long\n    db\n"})
    config = read_pytest_config(tmp_path)
    assert config is not None
    assert config.marker_names == ("slow", "db")
    write_tree(tmp_path, {"tox.ini": "[tox]\n[pytest]\naddopts = --numprocesses=4\n"})
    config = read_pytest_config(tmp_path)
    assert config is not None
    assert config.file == "tox.ini"
    assert config.option("-n", "--numprocesses") == ("4",)


def test_pyproject_without_pytest_table_and_a_broken_file_are_absent(tmp_path: Path) -> None:
    write_tree(tmp_path, {"pyproject.toml": "[project]\nname = 'x'\n", "tox.ini": "not ini ["})
    assert read_pytest_config(tmp_path) is None
