"""Every command's ``--json`` is its result's record in one versioned envelope: the keys are pinned."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stagewise.cli import main
from stagewise.operations.data import MigrateResult
from stagewise.operations.records import SCHEMA_VERSION, envelope
from stagewise.operations.regions import Region, RegionsUp
from tests.fakes import registered_fake

ENVELOPE = ["schema_version", "kind"]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "stagewise.toml").write_text("[project]\nname = 'envelope'\n")
    return tmp_path


def printed(capsys: pytest.CaptureFixture[str], *argv: str) -> dict[str, object]:
    assert main(list(argv)) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_the_schema_version_is_one() -> None:
    assert SCHEMA_VERSION == 1
    assert envelope("x", {"a": 1}) == {"schema_version": 1, "kind": "x", "a": 1}


def test_deploy_status_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with registered_fake():  # the CLI's --backend choices come from the registry
        data = printed(
            capsys, "deploy", "dev", "status", "--backend", "fake", "--json", "--project", str(root)
        )
    assert list(data) == [*ENVELOPE, "env", "backend", "services"]
    assert data["kind"] == "deploy.status"
    services = data["services"]
    assert isinstance(services, list)
    assert list(services[0]) == ["name", "state", "health", "pid", "port", "uptime_s", "detail", "exit_code"]


def test_env_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = printed(capsys, "env", "--stage", "dev", "--json", "--project", str(root))
    assert list(data) == [*ENVELOPE, "stage", "project_file", "files_read", "variables"]
    assert data["kind"] == "env"
    variables = data["variables"]
    assert isinstance(variables, dict)
    assert list(variables["STAGEWISE_STAGE"]) == ["value", "source", "secret"]


def test_regions_status_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = printed(capsys, "regions", "status", "--json", "--project", str(root))
    assert list(data) == [*ENVELOPE, "journals", "pending", "live_runs"]
    assert data["kind"] == "regions.status"


def test_regions_up_and_migrate_check_records() -> None:
    up = RegionsUp(
        "http://r", (Region("us-east", "primary", "http://u", "postgresql://u", 1.0, "us"),), "t", ()
    )
    assert list(envelope("regions.up", up.record())) == [*ENVELOPE, "entry_url", "regions", "token"]
    assert list(up.record()["regions"]["us-east"]) == ["role", "url", "dsn", "weight", "location"]
    check = MigrateResult("dev", "check", revision="0002", heads=("0002",))
    assert envelope("deploy.migrate.check", check.record()) == {
        "schema_version": 1,
        "kind": "deploy.migrate.check",
        "current": "0002",
        "heads": ["0002"],
        "at_head": True,
    }


def test_deploy_up_down_build_json(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project = ["--backend", "fake", "--json", "--project", str(root)]
    with registered_fake():
        up = printed(capsys, "deploy", "dev", "up", "-d", *project)
        build = printed(capsys, "deploy", "dev", "build", "app", *project)
        down = printed(capsys, "deploy", "dev", "down", *project)
    assert list(up) == [*ENVELOPE, "env", "backend", "services"]
    assert up["kind"] == "deploy.up"
    assert list(build) == [*ENVELOPE, "env", "backend", "service"]
    assert list(down) == [*ENVELOPE, "env", "backend", "stopped", "volumes"]
    assert down["stopped"] == ["app"]


def test_data_commands_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    (tmp_path / "stagewise.toml").write_text(
        "[project]\nname = 'data'\n[data.urls]\ndev = 'sqlite:///{root}/dev.db'\n"
    )
    with sqlite3.connect(tmp_path / "dev.db") as db:
        db.execute("CREATE TABLE t (v TEXT)")
    db.close()
    where = ["--json", "--project", str(tmp_path)]
    taken = printed(capsys, "deploy", "dev", "backup", *where)
    assert list(taken) == [*ENVELOPE, "env", "mode", "folder", "path", "backups"]
    listed = printed(capsys, "deploy", "dev", "backup", "--list", *where)
    assert listed["kind"] == "deploy.backup.list"
    backups = listed["backups"]
    assert isinstance(backups, list)
    assert list(backups[0]) == ["name", "size", "revision", "rows", "problem"]
    restored = printed(capsys, "deploy", "dev", "restore", *where)
    assert list(restored) == [*ENVELOPE, "env", "restored", "safety"]
    assert restored["restored"] == taken["path"]
    upgrade = MigrateResult("dev", "upgrade", revision="0003")
    assert list(upgrade.record()) == ["env", "mode", "revision", "output"]
