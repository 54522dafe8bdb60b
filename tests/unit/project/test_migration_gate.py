"""``[data.gate]``: defaults, durations, rule names and the allow-list path, validated once."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagewise.dataops.migrate import with_timeouts
from stagewise.errors import ConfigError
from stagewise.project.loader import load_project
from stagewise.project.migration_gate import ALWAYS_EXCLUDED, DEFAULT_ALLOWLIST, DEFAULT_ERRORS


def _load(tmp_path: Path, gate: str) -> object:
    (tmp_path / "stagewise.toml").write_text(f"[data]\n[data.gate]\n{gate}", encoding="utf-8")
    return load_project(tmp_path).data.gate


def test_defaults_fail_on_locking_and_destructive_rules(tmp_path: Path) -> None:
    gate = load_project(tmp_path).data.gate
    assert gate.lock_timeout == 5.0
    assert gate.statement_timeout == 600.0
    assert "require-concurrent-index-creation" in gate.errors
    assert "adding-required-field" in gate.errors
    assert gate.errors == DEFAULT_ERRORS
    assert gate.allowlist == DEFAULT_ALLOWLIST
    assert not gate.allowlist_required
    assert set(ALWAYS_EXCLUDED) <= set(gate.excluded)


def test_settings_are_read(tmp_path: Path) -> None:
    gate = _load(
        tmp_path,
        'lock_timeout = "2s"\nstatement_timeout = "1m"\nerrors = ["ban-drop-column"]\n'
        'exclude = ["prefer-bigint-over-int"]\nallowlist = "ops/accepted.toml"\n',
    )
    assert gate.lock_timeout == 2.0  # type: ignore[attr-defined]
    assert gate.statement_timeout == 60.0  # type: ignore[attr-defined]
    assert gate.errors == ("ban-drop-column",)  # type: ignore[attr-defined]
    assert gate.excluded == (*ALWAYS_EXCLUDED, "prefer-bigint-over-int")  # type: ignore[attr-defined]
    assert gate.allowlist == "ops/accepted.toml"  # type: ignore[attr-defined]
    assert gate.allowlist_required  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("gate", "key", "problem"),
    [
        ('lock_timeout = "soon"', "data.gate.lock_timeout", "duration"),
        ('errors = ["Ban Drop"]', "data.gate.errors", "not a squawk rule name"),
        ('allowlist = "../outside.toml"', "data.gate.allowlist", "inside the project"),
        ("colour = 1", "data.gate.colour", "unknown key"),
    ],
)
def test_bad_values_name_the_key(tmp_path: Path, gate: str, key: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        _load(tmp_path, gate)
    assert key in str(raised.value)
    assert problem in str(raised.value)


def test_timeouts_reach_libpq_through_pgoptions_keeping_the_users_own() -> None:
    env = with_timeouts({"PGOPTIONS": "-c search_path=app", "X": "1"}, 1.5, 60)
    assert env["PGOPTIONS"] == "-c search_path=app -c lock_timeout=1500 -c statement_timeout=60000"
    assert env["X"] == "1"
    assert with_timeouts({}, 5, 600)["PGOPTIONS"] == "-c lock_timeout=5000 -c statement_timeout=600000"
