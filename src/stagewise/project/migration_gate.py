"""``[data.gate]``: the migration gate's settings (lint rules, timeouts, the allow-list).

```toml
[data.gate]
lock_timeout = "5s"            # SET lock_timeout for every migration (the gate's rehearsal and migrate)
statement_timeout = "10m"      # SET statement_timeout likewise
errors = ["adding-required-field", "require-concurrent-index-creation"]   # squawk rules that fail
exclude = ["prefer-bigint-over-int"]     # squawk rules not checked at all
allowlist = ".stagewise/migration-allowlist.toml"   # accepted findings: rule, revision, reason, expiry
```

Every squawk rule not in ``errors`` (default :data:`DEFAULT_ERRORS`: the rules
about locks that block reads or writes and changes that destroy data or break
the version still serving) is a warning: reported, never failing. squawk's own
``require-lock-timeout`` and ``require-statement-timeout`` are always left out:
stagewise sets both for the migration's connection (``PGOPTIONS``), where a
linter reading the SQL cannot see them.
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.project.table import ConfigTable
from stagewise.project.validate import inside_project

#: Locking (a table rewrite or a lock that blocks writes) and destructive or incompatible changes.
DEFAULT_ERRORS: tuple[str, ...] = (
    "adding-field-with-default",
    "adding-foreign-key-constraint",
    "adding-not-nullable-field",
    "adding-required-field",
    "adding-serial-primary-key-field",
    "ban-drop-column",
    "ban-drop-database",
    "ban-drop-not-null",
    "ban-drop-table",
    "ban-truncate-cascade",
    "changing-column-type",
    "constraint-missing-not-valid",
    "disallowed-unique-constraint",
    "renaming-column",
    "renaming-table",
    "require-concurrent-index-creation",
    "require-concurrent-index-deletion",
)
#: Rules the gate's own settings satisfy (it sets both timeouts on the migration's connection).
ALWAYS_EXCLUDED: tuple[str, ...] = ("require-lock-timeout", "require-statement-timeout")
DEFAULT_ALLOWLIST = ".stagewise/migration-allowlist.toml"
_RULE_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789-")


@dataclass(frozen=True)
class GateConfig:
    """The gate's settings, every one optional."""

    lock_timeout: float = 5.0
    statement_timeout: float = 600.0
    errors: tuple[str, ...] = DEFAULT_ERRORS
    exclude: tuple[str, ...] = ()
    allowlist: str = DEFAULT_ALLOWLIST
    #: True when ``allowlist`` was named in the project file (then it must exist).
    allowlist_required: bool = False

    @property
    def excluded(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*ALWAYS_EXCLUDED, *self.exclude)))


def _rules(table: ConfigTable, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    rules = table.strings(name, default)
    for rule in rules:
        if not set(rule) <= _RULE_CHARS:
            raise table.error(name, f"{rule!r} is not a squawk rule name (lower-case words joined by '-')")
    return rules


def read_gate(table: ConfigTable) -> GateConfig:
    """Validate ``[data.gate]`` (exit 3 naming the key on a bad value)."""
    allowlist = table.string("allowlist")
    if allowlist is not None and not inside_project(allowlist):
        raise table.error("allowlist", "must be a path inside the project (relative, no '..')")
    config = GateConfig(
        lock_timeout=table.seconds("lock_timeout") or GateConfig.lock_timeout,
        statement_timeout=table.seconds("statement_timeout") or GateConfig.statement_timeout,
        errors=_rules(table, "errors", DEFAULT_ERRORS),
        exclude=_rules(table, "exclude", ()),
        allowlist=allowlist or DEFAULT_ALLOWLIST,
        allowlist_required=allowlist is not None,
    )
    table.check_unknown()
    return config
