"""The one table reader of the project file: typed reads that name the file and key path on error.

Every section of the project file (``[project]``, ``[tiers]``, ``[stages]``,
``[coverage]``, ``[browser]``, ``[data]``, ``[services]``, ``[compose]``,
``[performance]``, ``[security]``, ``[resilience]``) is read by a
``read_X(table) -> XConfig`` function on this one class, so a bad value reads
the same everywhere (``stagewise.toml: performance.gates.p95_ms: must be a
number from 0 to 3.6e+06, got -1``, exit 3) and an unknown key lists what is
allowed at that level. The shared checks on top of it (URLs, names,
environment variable names, lists of names, named sub-tables) are in
:mod:`stagewise.project.validate`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Self, overload

from stagewise.errors import ConfigError

MAX_SECONDS = 7 * 24 * 3600
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h)?\s*$")


def echo(value: object) -> str:
    """``", got VALUE"`` for a number (never a boolean), else ``""``: how a bad number is shown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return ""
    return f", got {value}"


def parse_seconds(value: object) -> float | None:
    """Seconds from ``90``, ``90.5``, ``"90s"``, ``"5m"`` or ``"2h"``; ``None`` if not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            factor = {"s": 1, None: 1, "m": 60, "h": 3600}[match.group(2)]
            return float(match.group(1)) * factor
    return None


class ConfigTable:
    """A TOML table being read; remembers its key path and the keys it read."""

    def __init__(self, file: str | Path, path: str, data: Mapping[str, object]) -> None:
        self.file = str(file)
        self.path = path
        self.data = data
        self.seen: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, name: str, problem: str) -> ConfigError:
        return ConfigError(self.file, self.key(name), problem)

    def raw(self, name: str) -> object | None:
        self.seen.add(name)
        return self.data.get(name)

    def table(self, name: str) -> Self | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, dict):
            raise self.error(name, "must be a table")
        return type(self)(self.file, self.key(name), value)

    def section(self, name: str) -> Self:
        """The sub-table ``name``, or an empty one at that key path when it is absent."""
        return self.table(name) or type(self)(self.file, self.key(name), {})

    def out_of_range(self, name: str, value: object, problem: str) -> ConfigError:
        """The error for a number outside its range; every section echoes a numeric value the same way.

        ``problem`` is the rule (``must be a number from 0 to 100``); a value
        that is a number is appended (``, got 120``), anything else (a string,
        a boolean) is not echoed.
        """
        return self.error(name, f"{problem}{echo(value)}")

    def string(self, name: str, default: str | None = None, *, choices: Sequence[str] = ()) -> str | None:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.error(name, "must be a non-empty string")
        if choices and value not in choices:
            raise self.error(name, f"must be one of {', '.join(choices)}")
        return value

    @overload
    def boolean(self, name: str, default: bool) -> bool: ...
    @overload
    def boolean(self, name: str, default: None = None) -> bool | None: ...
    def boolean(self, name: str, default: bool | None = None) -> bool | None:
        value = self.raw(name)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(name, "must be true or false")
        return value

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            raise self.out_of_range(name, value, f"must be a number from {low:g} to {high:g}")
        return float(value)

    def whole(self, name: str, low: int, high: int) -> int | None:
        value = self.raw(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise self.out_of_range(name, value, f"must be a whole number from {low} to {high}")
        return value

    def seconds(self, name: str) -> float | None:
        value = self.raw(name)
        if value is None:
            return None
        seconds = parse_seconds(value)
        if seconds is None or not 0 < seconds <= MAX_SECONDS:
            raise self.out_of_range(
                name, value, "must be seconds (a number) or a duration like '90s', '5m', '2h'"
            )
        return seconds

    def strings(self, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.raw(name)
        if value is None:
            return default
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, "must be a list of non-empty strings")
        return tuple(value)

    def argv(self, name: str) -> tuple[str, ...] | None:
        value = self.raw(name)
        if value is None:
            return None
        if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
            raise self.error(name, "must be an argument list of non-empty strings (never a shell string)")
        return tuple(value)

    def check_unknown(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise self.error(unknown[0], f"unknown key (allowed here: {', '.join(sorted(self.seen))})")
