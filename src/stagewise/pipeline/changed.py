"""``stagewise test --changed [REF]``: which tests of each pytest tier the change can affect.

Each pytest tier is judged on its own, from its entry in
``.stagewise/impact.json`` (:mod:`stagewise.pipeline.impact`). The changed
files are those that differ from REF (:mod:`stagewise.pipeline.git_changes`)
plus those that differ from the snapshot the tier's data was recorded with:
the data describes the files as they were then, so a file changed since is
judged as part of the change. For each changed file:

- a conftest.py over the tier's folders, a project config file (stagewise.toml,
  pyproject.toml, setup.cfg, pytest.ini, tox.ini, setup.py, .coveragerc) or a
  dependency file (requirements*.txt, constraints*.txt, lock files, Pipfile):
  the tier runs whole;
- a test file of the tier: it runs whole (a deleted one runs nothing itself);
- a Python file: the tests whose setup, call or teardown executed a line of
  it; when its module shape changed (anything outside function bodies, see
  :mod:`stagewise.pipeline.module_shape`), it was deleted, or importing it
  calls its functions, also the tests that touched any file importing it,
  transitively. Every code change also runs the tier's tests that failed when
  recorded and those that start processes;
- a tier whose tests drive a running target (api, e2e): any change to code
  other than its own test files runs it whole, since the target's code runs
  in another process, out of its tests' coverage;
- anything it cannot judge runs the tier whole, and says why: a file no
  recorded test of any tier touched (also a new one), a file that is not
  Python (coverage sees only Python), no data yet, data recorded with another
  marker filter or arguments.

A test the data has never seen (a new test, a new parameter) always runs.
Files in other pytest tiers' folders are theirs to judge.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from stagewise.pipeline.git_changes import Change
from stagewise.pipeline.impact import TierImpact, is_output
from stagewise.pipeline.module_shape import function_bodies, imported_names, module_name, shape
from stagewise.pipeline.selection import tier_scopes
from stagewise.project.model import Project

CONFIG_FILES = frozenset(
    {"stagewise.toml", "pyproject.toml", "setup.cfg", "setup.py", "pytest.ini", "tox.ini", ".coveragerc"}
)
DEPENDENCY_PATTERNS = (
    "requirements*.txt",
    "requirements*.in",
    "constraints*.txt",
    "*.lock",
    "Pipfile",
    "Pipfile.lock",
    "environment.yml",
)

__all__ = ["TierChoice", "impact_filter", "judge_tiers"]


@dataclass(frozen=True)
class TierChoice:
    """What ``--changed`` runs of one tier: all of it, some tests, or nothing, and why (one line)."""

    tier: str
    whole: bool
    reason: str
    keep: frozenset[str] = frozenset()  # node ids to run
    files: frozenset[str] = frozenset()  # test files that run whole
    known: frozenset[str] = frozenset()  # every node id the data has seen (others always run)
    total: int = 0  # tests in the tier's data

    @property
    def nothing(self) -> bool:
        """No test of the tier is affected: it is reported as skipped by the change."""
        return not self.whole and not self.keep and not self.files

    def keep_document(self) -> str:
        """The JSON the pytest plugin (``stagewise_changed``) deselects by."""
        return json.dumps(
            {"keep": sorted(self.keep), "files": sorted(self.files), "known": sorted(self.known)}
        )

    def paths(self) -> tuple[str, ...]:
        """The test files pytest is given: those of the kept tests and the changed test files."""
        return tuple(sorted({n.split("::", 1)[0] for n in self.keep} | self.files))


def impact_filter(markers: str | None, args: Sequence[str]) -> list[object]:
    """What a tier's recorded tests depend on besides its paths: its marker filter and arguments."""
    return [markers or "", list(args)]


def judge_tiers(  # noqa: PLR0917 - one call site (changed_plan); each argument is a separate input
    project: Project,
    tiers: Sequence[str],
    pytest_tiers: Sequence[str],
    change: Change,
    impact: Mapping[str, TierImpact],
    current: Mapping[str, str],
    filters: Mapping[str, list[object]],
    recorded_filters: Mapping[str, object],
    *,
    remote: frozenset[str] = frozenset(),
) -> list[TierChoice]:
    """The choice for each of ``tiers`` (pytest tiers planned in this run).

    ``remote``: the tiers whose tests drive a running target (api, e2e). Their
    coverage is the test process's, never the target's, so any change to code
    outside their own test files runs them whole.
    """
    graph = _ImportGraph(project.root, current)
    scopes = {t: tier_scopes(project, t) for t in pytest_tiers}
    return [
        _Judge(project.root, tier, change, impact, current, graph, scopes, tier in remote).choice(
            filters.get(tier), recorded_filters.get(tier)
        )
        for tier in tiers
    ]


def _is_config(path: str) -> str:
    """The kind of file that changes every tier ("" for none)."""
    name = PurePosixPath(path).name
    if name in CONFIG_FILES:
        return "project config"
    if any(fnmatch.fnmatch(name, pattern) for pattern in DEPENDENCY_PATTERNS):
        return "dependencies"
    return ""


def _under(path: PurePosixPath, scope: PurePosixPath) -> bool:
    return path.parts[: len(scope.parts)] == scope.parts


def _is_test_name(path: str) -> bool:
    name = PurePosixPath(path).name
    return name.endswith(".py") and (name.startswith("test_") or name.endswith("_test.py"))


def _names(files: Iterable[str], limit: int = 3) -> str:
    listed = sorted(files)
    more = f" and {len(listed) - limit} more" if len(listed) > limit else ""
    return ", ".join(listed[:limit]) + more


class _ImportGraph:
    """Which project Python files import which (by name, over-approximated: a name matches any file it could be)."""

    def __init__(self, root: Path, current: Mapping[str, str]) -> None:
        self.root = root
        self.files = sorted(p for p, digest in current.items() if p.endswith(".py") and digest)  # "": gone
        self._importers: dict[str, set[str]] | None = None
        self.unparsable: set[str] = set()

    def _build(self) -> dict[str, set[str]]:
        by_name: dict[str, set[str]] = {}
        for path in self.files:
            parts = module_name(path).split(".")
            for i in range(len(parts)):
                by_name.setdefault(".".join(parts[i:]), set()).add(path)
        importers: dict[str, set[str]] = {}
        for path in self.files:
            try:
                source = (self.root / path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                self.unparsable.add(path)
                continue
            names = imported_names(source, path)
            if names is None:
                self.unparsable.add(path)
                continue
            for name in names:
                for target in by_name.get(name, ()):
                    if target != path:
                        importers.setdefault(target, set()).add(path)
        return importers

    def importers_of(self, path: str) -> set[str]:
        """Every file that imports ``path`` (a deleted file too, by its module name), transitively."""
        if self._importers is None:
            self._importers = self._build()
        direct = set(self._importers.get(path, ()))
        if path not in self.files:  # deleted: whoever still imports its name
            parts = module_name(path).split(".")
            wanted = {".".join(parts[i:]) for i in range(len(parts))}
            for other in self.files:
                try:
                    names = imported_names((self.root / other).read_text(encoding="utf-8"), other) or set()
                except (OSError, UnicodeDecodeError):
                    continue
                if names & wanted:
                    direct.add(other)
        found: set[str] = set()
        todo = list(direct)
        while todo:
            current = todo.pop()
            if current in found:
                continue
            found.add(current)
            todo += self._importers.get(current, ())
        found.discard(path)
        return found


@dataclass
class _Judge:
    root: Path
    tier: str
    change: Change
    impact: Mapping[str, TierImpact]
    current: Mapping[str, str]
    graph: _ImportGraph
    scopes: Mapping[str, tuple[PurePosixPath, ...]]
    remote: bool = False

    def choice(self, wanted_filter: object, recorded_filter: object) -> TierChoice:
        data = self.impact.get(self.tier)
        if data is None:
            return self._whole(
                f"no impact data for the {self.tier} tier yet (a whole `stagewise test --{self.tier} "
                "--coverage` run records it in .stagewise/impact.json)"
            )
        if wanted_filter is not None and recorded_filter != wanted_filter:
            return self._whole(
                f"the {self.tier} tier's impact data was recorded with another marker filter or arguments"
            )
        stale = {
            f
            for f in set(data.files) | set(self.current)
            if (data.files[f].sha256 if f in data.files else None) != self.current.get(f)
        }
        changed = {f for f in self.change.files | stale if not is_output(f)}
        keep: set[str] = set()
        run_files: set[str] = set()
        code_changed = False
        for path in sorted(changed):
            verdict = self._judge_file(data, path, keep, run_files)
            if isinstance(verdict, str):
                return self._whole(verdict)
            code_changed = code_changed or verdict
        if code_changed:
            keep |= data.failed | data.spawns
        keep = {n for n in keep if (self.root / n.split("::", 1)[0]).is_file()}
        run_files = {f for f in run_files if (self.root / f).is_file()}
        since = stale - self.change.files
        extra = f" (and {len(since)} changed since its data was recorded)" if since else ""
        if not keep and not run_files:
            what = f": {_names(changed)}" if changed else ""
            reason = f"nothing in the {self.tier} tier is affected by the change{extra}{what}"
        else:
            count = len(keep - {n for n in keep if n.split("::", 1)[0] in run_files})
            files = f" and {len(run_files)} changed test file(s)" if run_files else ""
            reason = (
                f"{count} of {len(data.tests)} {self.tier} test(s){files} affected by "
                f"{_names(changed)}{extra}"
            )
        return TierChoice(
            self.tier,
            whole=False,
            reason=reason,
            keep=frozenset(keep),
            files=frozenset(run_files),
            known=data.tests,
            total=len(data.tests),
        )

    def _whole(self, reason: str) -> TierChoice:
        return TierChoice(self.tier, whole=True, reason=reason)

    def _mine(self, path: PurePosixPath) -> bool:
        return any(_under(path, s) for s in self.scopes.get(self.tier, ()))

    def _others(self, path: PurePosixPath) -> bool:
        mine = max((len(s.parts) for s in self.scopes.get(self.tier, ()) if _under(path, s)), default=-1)
        return any(
            _under(path, s) and len(s.parts) > mine
            for tier, tier_scopes_ in self.scopes.items()
            if tier != self.tier
            for s in tier_scopes_
        )

    def _judge_file(  # noqa: PLR0911, PLR0912 - one rule per kind of file, in the docstring's order
        self, data: TierImpact, path: str, keep: set[str], run_files: set[str]
    ) -> str | bool:
        """A reason to run whole (str), else whether it was a code change (tests added to ``keep``)."""
        pure = PurePosixPath(path)
        kind = _is_config(path)
        if kind:
            return f"{path} changed ({kind})"
        if pure.name == "conftest.py":
            folder = pure.parent
            if any(_under(s, folder) or _under(folder, s) for s in self.scopes.get(self.tier, ())):
                return f"{path} changed (a conftest.py over its tests)"
            return False
        mine, others = self._mine(pure), self._others(pure)
        if others and not data.touches.get(path) and path not in data.imported:
            return False  # another tier's folder, unseen by this tier's tests: that tier judges it
        if not path.endswith(".py"):
            return f"{path} changed and no recorded test touched it (coverage sees Python files only)"
        exists = (self.root / path).is_file()
        test_file = mine and (_is_test_name(path) or any(n.split("::", 1)[0] == path for n in data.tests))
        if test_file and exists:
            run_files.add(path)
        state = data.files.get(path)
        if state is None and exists and not test_file:
            return f"{path} is new since the {self.tier} tier's impact data and no recorded test touched it"
        module_level = (
            not exists
            or state is None
            or state.shape is None
            or state.calls_at_import
            or self._shape_now(path) != state.shape
        )
        affected = (
            set(data.touches.get(path, ()))
            if module_level or state is None or state.functions is None
            else self._in_changed_functions(path, state.functions)
        )
        if module_level:
            for importer in self.graph.importers_of(path):
                affected |= data.touches.get(importer, frozenset())
                if importer in self.graph.unparsable:
                    return f"{importer} does not parse, so what imports {path} is unknown"
        keep |= affected
        if test_file:
            return False  # a test file: it runs itself (and what imports it); not a change of code under test
        if self.remote:
            return (
                f"{path} changed and the {self.tier} tier's tests drive a running target, whose "
                "code their coverage does not see"
            )
        if affected:
            return True
        if not self._touched_anywhere(path, module_level):
            return f"{path} changed and no recorded test touched it"
        return True  # touched by another tier's tests only: none of this tier's is affected

    def _in_changed_functions(
        self, path: str, recorded: Mapping[str, tuple[str, frozenset[str]]]
    ) -> set[str]:
        """The tests that executed a function whose body changed (the module shape being the same)."""
        try:
            now = function_bodies((self.root / path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            now = None
        if now is None:
            return set(self.impact[self.tier].touches.get(path, ()))
        affected: set[str] = set()
        for name in set(recorded) | set(now):
            old, new = recorded.get(name), now.get(name)
            if old is None or new is None:
                return set(self.impact[self.tier].touches.get(path, ()))  # cannot happen with one shape
            if old[0] != new[0]:
                affected |= old[1]
        return affected

    def _shape_now(self, path: str) -> str | None:
        try:
            return shape((self.root / path).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            return None

    def _touched_anywhere(self, path: str, module_level: bool) -> bool:
        """Whether any tier's recorded tests touched the file (or, for a module-level change, an importer)."""
        files = {path} | (self.graph.importers_of(path) if module_level else set())
        return any(data.touches.get(f) for data in self.impact.values() for f in files)
