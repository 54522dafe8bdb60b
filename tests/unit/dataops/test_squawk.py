"""The real squawk over alembic-style offline SQL: findings placed in their revision, the allow-list."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date
from pathlib import Path

import pytest

from stagewise.dataops import squawk
from stagewise.errors import ConfigError, MissingError
from stagewise.project.migration_gate import GateConfig
from stagewise.tiers.security.allowlist import AllowList, load_allowlist
from tests.conftest import requires

HAVE_SQUAWK = (Path(sys.executable).parent / "squawk").is_file() or shutil.which("squawk") is not None
needs_squawk = requires(HAVE_SQUAWK, "squawk (pip install squawk-cli, in stagewise's dev extra)")

SQL = """\
BEGIN;

-- Running upgrade 0001 -> 0002

ALTER TABLE items ADD COLUMN qty BIGINT NOT NULL;

UPDATE alembic_version SET version_num='0002' WHERE alembic_version.version_num = '0001';

-- Running upgrade 0002 -> 0003

CREATE INDEX ix_items_name ON items (name);

ALTER TABLE items ADD COLUMN note TEXT;

UPDATE alembic_version SET version_num='0003' WHERE alembic_version.version_num = '0002';

COMMIT;
"""


@needs_squawk
def test_error_rules_fail_and_each_finding_names_its_revision_and_statement() -> None:
    result = squawk.lint(SQL, GateConfig(), AllowList(None))
    by_rule = {f.rule: f for f in result.findings}
    required = by_rule["adding-required-field"]
    assert required.revision == "0002"
    assert required.statement == "ALTER TABLE items ADD COLUMN qty BIGINT NOT NULL;"
    assert required.fails
    index = by_rule["require-concurrent-index-creation"]
    assert index.revision == "0003"
    assert index.fails
    assert {f.rule for f in result.errors} == {"adding-required-field", "require-concurrent-index-creation"}
    # the gate sets both timeouts itself: squawk's rules asking for them are left out
    assert not {"require-lock-timeout", "require-statement-timeout"} & set(by_rule)


@needs_squawk
def test_a_rule_not_in_errors_is_a_warning() -> None:
    result = squawk.lint(SQL, GateConfig(errors=("adding-required-field",)), AllowList(None))
    assert [f.rule for f in result.errors] == ["adding-required-field"]
    assert "require-concurrent-index-creation" in {f.rule for f in result.warnings}


@needs_squawk
def test_an_acceptance_applies_until_its_expiry(tmp_path: Path) -> None:
    path = tmp_path / "accepted.toml"
    path.write_text(
        '[[accept]]\nid = "require-concurrent-index-creation"\nlocation = "0003: *"\n'
        'reason = "items is tiny"\nexpires = 2030-06-30\n',
        encoding="utf-8",
    )
    allowlist = load_allowlist(path, required=True)
    before = squawk.lint(SQL, GateConfig(), allowlist, today=date(2030, 6, 30))
    assert [f.rule for f in before.errors] == ["adding-required-field"]
    accepted = next(f for f in before.findings if f.accepted_by)
    assert "items is tiny" in accepted.line()
    after = squawk.lint(SQL, GateConfig(), allowlist, today=date(2030, 7, 1))
    assert {f.rule for f in after.errors} == {"adding-required-field", "require-concurrent-index-creation"}
    assert any("expired on 2030-06-30" in note for note in after.expired)


def test_a_named_allow_list_that_is_missing_is_a_config_error(tmp_path: Path) -> None:
    config = GateConfig(allowlist="ops/accepted.toml", allowlist_required=True)
    with pytest.raises(ConfigError, match=r"data\.gate\.allowlist"):
        squawk.load_gate_allowlist(tmp_path, config)
    assert squawk.load_gate_allowlist(tmp_path, GateConfig()).entries == ()


def test_missing_squawk_is_exit_4_naming_the_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # An interpreter in a folder without squawk, and a PATH without it: a real lookup that finds nothing.
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingError, match="pip install squawk-cli") as raised:
        squawk.squawk_binary()
    assert raised.value.exit_code == 4
    assert os.environ["PATH"] == str(tmp_path)
