"""Which tier runs each ``PATH`` or ``NODEID`` given to ``stagewise test``.

The rules (README, "Picking tests and passing arguments to pytest"):

- an item runs in the tier whose paths hold it; when several do (``tests`` and
  ``tests/integration``), the most specific path wins, ties in pyramid order;
- an item that itself holds tier paths (``tests``, ``.``) selects each of those
  tiers, on its own paths;
- with tier flags only the flagged tiers are looked in: an item outside them,
  or a flagged tier that none of the items falls in, is a usage error;
- an item that does not exist (for a node id ``file.py::name[param]``, its file
  part), lies outside the project or in no tier's paths is a usage error.

Items are read relative to the directory the command ran in and handed to
pytest relative to the project root, where pytest runs.

A tier with no configured paths is pytest's own collection: it holds what
pytest's ``testpaths`` name (globs expanded, as pytest does), else the whole root.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from stagewise.errors import UsageError
from stagewise.plugins.tiers import selectable_tiers, tier_order
from stagewise.project.defaults import LAYERED_TIERS, default_tiers
from stagewise.project.model import Project
from stagewise.scaffold.pytest_config import read_pytest_config

_ROOT = PurePosixPath(".")
_Scope = tuple[str, PurePosixPath]  # (tier, a path it holds, relative to the root)


def select_paths(
    project: Project, items: Sequence[str], base: Path, flagged: Sequence[str]
) -> dict[str, tuple[str, ...]]:
    """Each tier that runs a part of the selection, in pyramid order, with the items it runs.

    ``flagged`` are the selectable tiers named by flags (empty: the selection
    decides the tiers).
    """
    every = [(t, s) for t in selectable_tiers() if t in project.tiers for s in tier_scopes(project, t)]
    looked_in = [(t, s) for t, s in every if t in flagged] if flagged else every
    chosen: dict[str, list[str]] = {}
    for item in dict.fromkeys(items):
        rel, node = _relative(project.root, base, item)
        placed = _place(project.root, rel, node, looked_in)
        if not placed:
            raise UsageError(
                _outside(item, rel=rel, node=node, flagged=flagged, every=every, root=project.root)
            )
        for tier, arg in placed:
            chosen.setdefault(tier, []).append(arg)
    for tier in flagged:
        if tier not in chosen:
            raise UsageError(
                f"--{tier} selects none of the given paths (its paths: {_paths(tier, every)}): "
                f"give a path under them or leave out --{tier}"
            )
    return {t: tuple(dict.fromkeys(chosen[t])) for t in tier_order() if t in chosen}


def tier_scopes(project: Project, tier: str) -> tuple[PurePosixPath, ...]:
    """The paths a tier holds: its configured paths, or for pytest's own collection, pytest's."""
    paths = project.tiers[tier].paths
    if paths:
        return tuple(PurePosixPath(p) for p in paths)
    return collection_paths(project.root)


def collection_paths(root: Path) -> tuple[PurePosixPath, ...]:
    """What a bare ``pytest`` in ``root`` collects from: its ``testpaths`` that match, else the root.

    pytest globs every ``testpaths`` entry and, when none matches, searches
    from the current directory instead; this does the same.
    """
    config = read_pytest_config(root)
    found: list[PurePosixPath] = []
    for entry in config.testpaths if config is not None else ():
        matches = sorted(root.glob(entry)) if any(c in entry for c in "*?[") else [root / entry]
        found += [PurePosixPath(m.relative_to(root).as_posix()) for m in matches if m.exists()]
    return tuple(dict.fromkeys(found)) or (_ROOT,)


def describe_collection(root: Path) -> str:
    """pytest's own collection in a few words, for the line that says a tier is it."""
    config = read_pytest_config(root)
    if config is not None and config.testpaths:
        return f"testpaths {' '.join(config.testpaths)} in {config.file}"
    return f"everything pytest finds under {root}"


def collection_note(project: Project, tier: str) -> str:
    """The one line that says a tier is pytest's own collection, and why."""
    what = f"the {tier} tier is pytest's own collection ({describe_collection(project.root)})"
    if project.config_file is None:
        folders = ", ".join(p for name in LAYERED_TIERS for p in default_tiers()[name].paths)
        return f"{what}: no stagewise.toml and none of {folders}; `stagewise init` writes one for this layout"
    return f"{what}: {_key(project, tier)} is empty in {project.config_file.name}"


def paths_hint(project: Project, tier: str) -> str:
    """Where to point a tier whose paths do not exist (added to its "does not exist" message)."""
    if project.config_file is None:
        return f" (`stagewise init` writes a stagewise.toml for this layout, or set {_key(project, tier)})"
    return f" (set {_key(project, tier)} in {project.config_file.name})"


def _key(project: Project, tier: str) -> str:
    in_pyproject = project.config_file is not None and project.config_file.name == "pyproject.toml"
    return f"{'tool.stagewise.' if in_pyproject else ''}tiers.{tier}.paths"


def _relative(root: Path, base: Path, item: str) -> tuple[PurePosixPath, str]:
    """The item's path relative to the root, and its node part (``::name[param]`` or "")."""
    file_part, sep, rest = item.partition("::")
    if not file_part:
        raise UsageError(f"{item!r}: a node id starts with its test file, e.g. tests/test_x.py::test_y")
    path = (base / file_part).resolve()
    if not path.exists():
        where = f" (the file of node id {item})" if sep else ""
        raise UsageError(f"{file_part} does not exist{where}")
    if sep and not path.is_file():
        raise UsageError(f"{item}: the part before '::' must be a test file, not a directory")
    try:
        rel = PurePosixPath(path.relative_to(root).as_posix())
    except ValueError:
        raise UsageError(f"{item} is outside the project ({root})") from None
    return rel, sep + rest


def _place(root: Path, rel: PurePosixPath, node: str, scopes: Sequence[_Scope]) -> list[tuple[str, str]]:
    """Where one item runs: the most specific tier path holding it, else the tier paths it holds."""
    holders = [(t, s) for t, s in scopes if _under(rel, s)]
    if holders:
        deepest = max(len(s.parts) for _, s in holders)
        tier = next(t for t, s in holders if len(s.parts) == deepest)  # scopes are in pyramid order
        return [(tier, rel.as_posix() + node)]
    if node:
        return []
    return [(t, s.as_posix()) for t, s in scopes if _under(s, rel) and (root / s).exists()]


def _under(path: PurePosixPath, scope: PurePosixPath) -> bool:
    """Whether ``path`` is ``scope`` or inside it (``.`` holds everything)."""
    return path.parts[: len(scope.parts)] == scope.parts


def _outside(
    item: str,
    *,
    rel: PurePosixPath,
    node: str,
    flagged: Sequence[str],
    every: Sequence[_Scope],
    root: Path,
) -> str:
    """The one line for an item no looked-in tier holds; names the tiers' paths."""
    if flagged:
        elsewhere = _place(root, rel, node, every)
        flags = ", ".join(f"--{t}" for t in flagged)
        paths = "; ".join(f"{t}: {_paths(t, every)}" for t in flagged)
        if elsewhere:
            other = elsewhere[0][0]
            return (
                f"{item} is in the {other} tier's paths, not in those of {flags} ({paths}): "
                f"add --{other} or leave out the tier flags"
            )
        return f"{item} is in no tier's paths; the tiers asked for hold: {paths}"
    tiers = dict.fromkeys(t for t, _ in every)
    return f"{item} is in no tier's paths: " + "; ".join(f"{t}: {_paths(t, every)}" for t in tiers)


def _paths(tier: str, scopes: Sequence[_Scope]) -> str:
    return ", ".join(s.as_posix() for t, s in scopes if t == tier) or "(none)"


__all__ = [
    "collection_note",
    "collection_paths",
    "describe_collection",
    "paths_hint",
    "select_paths",
    "tier_scopes",
]
