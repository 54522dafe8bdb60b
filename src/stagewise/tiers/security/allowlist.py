"""The allow-list: findings a team has looked at and accepted, each with a reason and an expiry.

A TOML file (``security.allowlist``, default ``.stagewise/security-allowlist.toml``)::

    [[accept]]
    id = "B105"                         # the finding's id (required)
    location = "shop/settings.py:*"     # a glob on the finding's location (optional: any)
    reason = "development default; staging and prod set SHOP_API_TOKEN"   # required
    expires = 2027-01-31                # required; a TOML date or "YYYY-MM-DD"

An accepted finding still appears in every report, marked as suppressed, but
does not count against the gate. On its expiry date an entry stops
suppressing — the finding counts again and the run says which entry expired —
so an acceptance is a decision that has to be renewed, not a silence that
lasts forever. The file is validated before anything runs; a missing field
or a bad date is exit 3 naming the file and the key.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from fnmatch import fnmatchcase
from pathlib import Path

from stagewise.errors import ConfigError
from stagewise.tiers.security.findings import Finding

_KEYS = {"id", "location", "reason", "expires"}


@dataclass(frozen=True)
class Acceptance:
    """One allow-list entry."""

    key: str  # "accept[0]", for messages
    id: str
    location: str | None
    reason: str
    expires: date

    def matches(self, finding: Finding) -> bool:
        if finding.id != self.id:
            return False
        return self.location is None or fnmatchcase(finding.location, self.location)


@dataclass(frozen=True)
class AllowList:
    """The parsed file (``entries`` empty when there is none)."""

    path: Path | None
    entries: tuple[Acceptance, ...] = ()


def load_allowlist(path: Path, required: bool) -> AllowList:
    """Parse and validate the allow-list; a missing file is an empty list unless ``required``."""
    if not path.is_file():
        if required:
            raise ConfigError(str(path), "(file)", "does not exist (named by security.allowlist)")
        return AllowList(None)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "(syntax)", str(exc)) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(path), "(file)", f"cannot be read: {exc}") from exc
    unknown = sorted(set(document) - {"accept"})
    if unknown:
        raise ConfigError(str(path), unknown[0], "unknown key (allowed here: accept)")
    raw = document.get("accept", [])
    if not isinstance(raw, list):
        raise ConfigError(str(path), "accept", "must be an array of tables ([[accept]])")
    return AllowList(path, tuple(_entry(path, index, item) for index, item in enumerate(raw)))


def _entry(path: Path, index: int, item: object) -> Acceptance:
    key = f"accept[{index}]"
    if not isinstance(item, dict):
        raise ConfigError(str(path), key, "must be a table with id, reason and expires")
    unknown = sorted(set(item) - _KEYS)
    if unknown:
        raise ConfigError(
            str(path), f"{key}.{unknown[0]}", f"unknown key (allowed here: {', '.join(sorted(_KEYS))})"
        )
    for name in ("id", "reason"):
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(str(path), f"{key}.{name}", "is required (a non-empty string)")
    location = item.get("location")
    if location is not None and (not isinstance(location, str) or not location.strip()):
        raise ConfigError(str(path), f"{key}.location", "must be a non-empty string (a glob)")
    return Acceptance(
        key, item["id"], location, item["reason"].strip(), _expiry(path, key, item.get("expires"))
    )


def _expiry(path: Path, key: str, value: object) -> date:
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise ConfigError(
        str(path), f"{key}.expires", "is required: the date the acceptance ends, e.g. 2027-01-31"
    )


def acceptance_for(
    finding: Finding, allowlist: AllowList, today: date
) -> tuple[Acceptance | None, list[Acceptance]]:
    """The unexpired entry that accepts ``finding`` (or None) and the expired ones that match it.

    One matching rule for every allow-list stagewise reads (the security tier's and the
    migration gate's), so an entry means the same wherever it is written.
    """
    live = next((e for e in allowlist.entries if e.matches(finding) and e.expires >= today), None)
    if live is not None:
        return live, []
    return None, [e for e in allowlist.entries if e.matches(finding)]


def where_of(allowlist: AllowList) -> str:
    """How notes name the allow-list: its path, else the word."""
    return str(allowlist.path) if allowlist.path else "allow-list"


def apply_allowlist(
    findings: Sequence[Finding], allowlist: AllowList, today: date
) -> tuple[list[Finding], list[str]]:
    """Mark accepted findings as suppressed; returns the findings and notes on expired entries."""
    marked: list[Finding] = []
    notes: dict[str, str] = {}
    where = where_of(allowlist)
    for finding in findings:
        match, expired = acceptance_for(finding, allowlist, today)
        if match is not None:
            marked.append(
                replace(finding, suppressed_by=f"{where}:{match.key} until {match.expires}: {match.reason}")
            )
            continue
        for entry in expired:
            notes[entry.key] = (
                f"{where}:{entry.key} for {entry.id} expired on {entry.expires}: "
                "it no longer suppresses; renew it with a new reason or fix the finding"
            )
        marked.append(finding)
    return marked, list(notes.values())


__all__ = ["Acceptance", "AllowList", "acceptance_for", "apply_allowlist", "load_allowlist", "where_of"]
