"""The checks every section of the project file shares, defined once.

Each reads through a :class:`~stagewise.project.table.ConfigTable`, so an
error names the file and the key path and is exit code 3. The names a section
accepts come from the plug-point registries (:mod:`stagewise.plugins`) or
from what the file itself defines (its stages, its tiers); both are passed
as ``allowed``, a registry or a sequence of names.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePosixPath
from typing import Any

from stagewise.project.table import ConfigTable
from stagewise.registry import Registry

#: Stage, scenario and compose service names: what may appear in a file name or a command line.
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
#: Resilience names (regions, scenarios, faults): lower-case, short, safe as a host or namespace name.
LOWER_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
URL = re.compile(r"^https?://[^\s/]+(/\S*)?$")

#: What a section accepts as names: a plug-point registry, or names the file defines.
Allowed = Registry[Any] | Iterable[str]
#: Says what is wrong with a sub-table's name, or ``None`` when it is fine.
NameCheck = Callable[[str], str | None]


def names_of(allowed: Allowed) -> tuple[str, ...]:
    """The names ``allowed`` holds, in its order."""
    if isinstance(allowed, Registry):
        return allowed.names()
    return tuple(allowed)


def one_of(table: ConfigTable, key: str, allowed: Allowed, default: str | None = None) -> str | None:
    """A string that must be one of ``allowed`` (``must be one of local, compose``)."""
    return table.string(key, default, choices=names_of(allowed))


def url(table: ConfigTable, key: str, default: str | None = None) -> str | None:
    """An http(s) URL (``'ftp://x' is not an http(s) URL``)."""
    value = table.string(key, default)
    if value is not None and not URL.match(value):
        raise table.error(key, f"{value!r} is not an http(s) URL")
    return value


def env_name(table: ConfigTable, key: str, *, noun: str = "a valid environment variable name") -> str | None:
    """One environment variable name (``'MY TOKEN' is not a valid environment variable name``)."""
    value = table.string(key)
    if value is not None and not ENV_NAME.match(value):
        raise table.error(key, f"{value!r} is not {noun}")
    return value


def env_names(table: ConfigTable, key: str) -> tuple[str, ...]:
    """A list of environment variable names (default: none)."""
    values = table.strings(key, ())
    for value in values:
        if not ENV_NAME.match(value):
            raise table.error(key, f"{value!r} is not a valid environment variable name")
    return values


def names_in(
    table: ConfigTable, key: str, allowed: Allowed, default: tuple[str, ...], *, what: str, plural: str
) -> tuple[str, ...]:
    """A list of names each in ``allowed`` (``unknown check 'x' (checks: bandit, ...)``)."""
    values = table.strings(key, default)
    known = names_of(allowed)
    for value in values:
        if value not in known:
            raise table.error(key, f"unknown {what} {value!r} ({plural}: {', '.join(known)})")
    return values


def inside_project(path: str) -> bool:
    """Whether ``path`` is relative and does not climb out of the project (no ``..``)."""
    parts = PurePosixPath(path)
    return not parts.is_absolute() and ".." not in parts.parts


def matching(pattern: re.Pattern[str], problem: str) -> NameCheck:
    """A name check: ``problem`` unless the name matches ``pattern``."""
    return lambda name: None if pattern.match(name) else problem


def member(allowed: Allowed, problem: str) -> NameCheck:
    """A name check: ``problem`` unless the name is one of ``allowed``."""
    known = names_of(allowed)
    return lambda name: None if name in known else problem


def named_tables(parent: ConfigTable, check: NameCheck) -> Iterator[tuple[str, ConfigTable]]:
    """Every ``[parent.NAME]`` sub-table, in file order, after checking it is a table and its name.

    The one loop for "for each named sub-table: check the name, build";
    each sub-table is yielded (and built by the caller) before the next
    name is checked, so the first bad entry is the one reported.
    """
    for name in list(parent.data):
        sub = parent.table(name)
        if sub is None:
            raise parent.error(name, "must be a table")
        problem = check(name)
        if problem is not None:
            raise parent.error(name, problem)
        yield name, sub


def stage_keys(table: ConfigTable, stages: Mapping[str, object]) -> Iterator[str]:
    """The keys of a per-stage table (``[data.urls]``), each a known stage; then no key is unknown."""
    for stage in list(table.data):
        if stage not in stages:
            raise table.error(stage, f"unknown stage (stages: {', '.join(stages)})")
        yield stage
    table.check_unknown()


__all__ = [
    "ENV_NAME",
    "LOWER_NAME",
    "NAME",
    "URL",
    "Allowed",
    "NameCheck",
    "env_name",
    "env_names",
    "inside_project",
    "matching",
    "member",
    "named_tables",
    "names_in",
    "names_of",
    "one_of",
    "stage_keys",
    "url",
]
