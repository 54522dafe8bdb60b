"""The allow-list: accepted findings need a reason and an expiry, and stop counting as accepted on it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.tiers.security.allowlist import apply_allowlist, load_allowlist
from stagewise.tiers.security.findings import Finding

SHELL = Finding(
    "B602", "shell=True", "high", "bandit", "app/run.py:12", "subprocess.call(cmd, shell=True)", "fix"
)
CORS = Finding("SW-CORS-CREDENTIALS", "cors", "high", "passive", "GET http://x/", "*", "fix")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "allow.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_an_entry_suppresses_matching_findings_until_it_expires(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        '[[accept]]\nid = "B602"\nlocation = "app/*.py:*"\nreason = "constant input"\nexpires = 2027-01-31\n',
    )
    allowlist = load_allowlist(path, required=True)
    before, notes = apply_allowlist([SHELL, CORS], allowlist, date(2027, 1, 31))
    assert before[0].suppressed_by == f"{path}:accept[0] until 2027-01-31: constant input"
    assert before[1].suppressed_by is None  # another id is never covered
    assert notes == []
    after, notes = apply_allowlist([SHELL], allowlist, date(2027, 2, 1))
    assert after[0].suppressed_by is None
    assert notes == [
        f"{path}:accept[0] for B602 expired on 2027-01-31: it no longer suppresses; "
        "renew it with a new reason or fix the finding"
    ]


def test_the_location_glob_narrows_an_entry(tmp_path: Path) -> None:
    path = _write(
        tmp_path, '[[accept]]\nid = "B602"\nlocation = "tools/*"\nreason = "r"\nexpires = "2099-01-01"\n'
    )
    marked, _ = apply_allowlist([SHELL], load_allowlist(path, required=True), date(2026, 1, 1))
    assert marked[0].suppressed_by is None


def test_a_missing_default_file_is_an_empty_list_but_a_named_one_is_an_error(tmp_path: Path) -> None:
    assert load_allowlist(tmp_path / "absent.toml", required=False).entries == ()
    with pytest.raises(ConfigError, match="does not exist"):
        load_allowlist(tmp_path / "absent.toml", required=True)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[accept]]\nid = "B602"\nexpires = 2099-01-01\n', "accept[0].reason"),
        ('[[accept]]\nid = "B602"\nreason = "r"\n', "accept[0].expires"),
        ('[[accept]]\nid = "B602"\nreason = "r"\nexpires = "soon"\n', "accept[0].expires"),
        ('[[accept]]\nreason = "r"\nexpires = 2099-01-01\n', "accept[0].id"),
        ('[[accept]]\nid = "B602"\nreason = "r"\nexpires = 2099-01-01\nowner = "me"\n', "accept[0].owner"),
        ('accept = "all"\n', "accept"),
        ('[ignore]\nid = "x"\n', "ignore"),
    ],
)
def test_invalid_entries_name_the_file_and_key(tmp_path: Path, text: str, key: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_allowlist(path, required=False)
    assert caught.value.path == str(path)
    assert caught.value.key == key
