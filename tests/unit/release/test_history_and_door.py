"""The release history file and the front door's HAProxy config, on real files."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from stagewise.release.frontdoor import render
from stagewise.release.history import History, ReleaseRecord


def _record(release_id: str, outcome: str) -> ReleaseRecord:
    return ReleaseRecord(
        id=release_id, stage="dev", kind="release", version=release_id, commit="c0ffee", outcome=outcome
    )


def test_history_round_trips_and_names_the_release_serving(tmp_path: Path) -> None:
    history = History(tmp_path)
    first = _record("r1", "released")
    history.save(first)
    history.save(first.with_step("build", 1.5))  # the same id: replaced, not added
    history.save(_record("r2", "running"))
    loaded = history.load()
    assert [r.id for r in loaded] == ["r1", "r2"]
    assert loaded[0].steps == (("build", 1.5),)
    assert history.serving() is not None
    assert history.serving().id == "r1"  # type: ignore[union-attr]
    assert history.find("r2") == loaded[1]
    (tmp_path / "releases.jsonl").write_text("not json\n" + (tmp_path / "releases.jsonl").read_text())
    assert [r.id for r in history.load()] == ["r1", "r2"]  # an unreadable line is skipped


def test_the_door_serves_one_slot_and_keeps_the_other_in_maintenance() -> None:
    text = render(8100, {"a": 8000, "b": 8005}, "b", "/tmp/x.sock", "/health")
    assert "bind 127.0.0.1:8100" in text
    assert "server a 127.0.0.1:8000 disabled" in text
    assert "server b 127.0.0.1:8005\n" in text
    assert "stats socket /tmp/x.sock mode 600 level admin" in text
    assert "option httpchk GET /health" in text
    assert "check inter 200ms" in text
    assert "server a_back 127.0.0.1:8000 backup disabled" in text


def test_a_release_table_names_its_key_when_wrong(tmp_path: Path) -> None:
    base = '[stages.dev]\ntiers = []\n[services.app]\ncommand = ["x"]\nport = 1\n'
    (tmp_path / "stagewise.toml").write_text(base + "[release.dev]\nport = 8100\nverify = false\n")
    config = load_project(tmp_path).releases["dev"]
    assert config.verify_disabled
    assert config.spare_port is None
    (tmp_path / "stagewise.toml").write_text(base + "[release.dev]\nverify = []\nport = 1\n")
    with pytest.raises(ConfigError, match=r"release\.dev\.verify"):
        load_project(tmp_path)
    (tmp_path / "stagewise.toml").write_text(base + "[release.nope]\nport = 1\n")
    with pytest.raises(ConfigError, match=r"release\.nope"):
        load_project(tmp_path)
