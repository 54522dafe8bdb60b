"""After the coverage tiers: combine their data once, write the reports once, apply the gates.

Each coverage tier left its own data file (:mod:`stagewise.tiers.coverage`).
One run of the project's interpreter (:mod:`stagewise.pipeline.coverage_child`)
combines them into ``.coverage`` and writes ``coverage.json``,
``coverage-html/`` and ``coverage.txt`` (the terminal table) of the combined
data, and measures each group a gate needs - every number over the files
under ``coverage.source`` only. The gates are then computed here:

- the combined ``fail_under`` (stagewise.toml; else the project's own
  ``--cov-fail-under`` in addopts; else its coverage config's
  ``[report] fail_under``) over the tiers it ``covers``; it applies only
  when all of those ran tests in this run, otherwise it is reported as not
  applicable, with the reason;
- ``[coverage.tiers]``: each tier's threshold over its own data, when it ran;
- ``[coverage.modules]``: each goal over the same data as the combined gate,
  every matched file held to it.

A gate that should apply but cannot measure fails: never a silent pass.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stagewise.pipeline.reporter import Reporter
from stagewise.project.coverage_config import module_matches
from stagewise.project.model import Project
from stagewise.scaffold.pytest_config import read_pytest_config
from stagewise.tiers.coverage import tier_data_file
from stagewise.tiers.process import run_streaming
from stagewise.tiers.result import GateResult, RunResult, TierStatus

CHILD = Path(__file__).with_name("coverage_child.py")

#: Tier outcomes in which pytest ran tests, so coverage data should exist.
TESTS_RAN = (TierStatus.PASSED, TierStatus.FAILED)

#: Group names in the child's answer: the run's combined data, and the combined gate's tiers.
RUN_GROUP = "run"
GATE_GROUP = "gate"


@dataclass(frozen=True)
class Measured:
    """One group's numbers: totals and per-file summaries, or why there are none."""

    percent: float | None
    files: Mapping[str, float] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Limit:
    """The combined gate's limit and where it came from (said in the gate's message)."""

    value: float
    origin: str


def tier_group(tier: str) -> str:
    """A tier's own group name in the child's answer."""
    return f"tier:{tier}"


def default_covers(project: Project) -> tuple[str, ...]:
    """The tiers the combined gate covers by default: those that measure coverage and have tests."""
    return tuple(
        name
        for name, tier in project.tiers.items()
        if tier.coverage and any((project.root / path).exists() for path in tier.paths)
    )


def addopts_values(root: Path, env: Mapping[str, str], option: str) -> list[str]:
    """The values of a pytest-cov option in the project's addopts, in pytest's order (the last wins).

    pytest reads the ini ``addopts`` first, then ``PYTEST_ADDOPTS``.
    """
    values: list[str] = []
    config = read_pytest_config(root)
    if config is not None:
        values += config.option(option)
    try:
        extra = shlex.split(env.get("PYTEST_ADDOPTS", ""))
    except ValueError:
        extra = []
    for index, arg in enumerate(extra):
        if arg.startswith(option + "="):
            values.append(arg.split("=", 1)[1])
        elif arg == option and index + 1 < len(extra):
            values.append(extra[index + 1])
    return values


def addopts_fail_under(root: Path, env: Mapping[str, str]) -> float | None:
    """The project's own ``--cov-fail-under`` as pytest would end up with it."""
    for value in reversed(addopts_values(root, env, "--cov-fail-under")):
        try:
            return float(value)
        except ValueError:
            continue
    return None


@dataclass
class CoverageGates:
    """Combine, report and gate the coverage of one run (called once, after its last coverage tier)."""

    project: Project
    python: str
    env: Mapping[str, str]
    run_dir: Path
    reporter: Reporter
    coverage_tiers: Sequence[str]  # the tiers planned to measure, in run order
    #: why this run measured only part of the tiers' tests (a selection, ``-k``, args after ``--``),
    #: or "": a gate meant for whole tiers does not apply to a part of them.
    partial: str = ""

    def apply(self, result: RunResult) -> None:
        """Add the coverage figures and gates to ``result``."""
        statuses = {t.name: t.status for t in result.tiers}
        ran = [name for name in self.coverage_tiers if statuses.get(name) in TESTS_RAN]
        config = self.project.coverage
        covers = config.covers or default_covers(self.project) or tuple(self.coverage_tiers)
        answer = self._measure(ran, covers) if ran else {}
        run = _group(answer, RUN_GROUP)
        result.coverage_percent = run.percent
        if ran:
            self._note(ran, run, answer)
        limit = self._limit(answer)
        missing = [name for name in covers if name not in ran]
        why = self.partial or "; ".join(self._why(name, statuses) for name in missing)
        groups = answer.get("groups")
        gate = _group(answer, GATE_GROUP) if isinstance(groups, Mapping) and GATE_GROUP in groups else run
        span = " + ".join(covers)
        if limit is not None:
            result.gates.append(self._combined(limit, span, gate, why, run))
        for tier, threshold in config.tiers.items():
            if tier in ran and not self.partial:
                result.gates.append(self._tier_gate(tier, threshold, _group(answer, tier_group(tier))))
            else:
                result.gates.append(
                    _not_applicable(
                        f"coverage {tier}",
                        threshold,
                        f"threshold {threshold:g}% of the {tier} tier",
                        self.partial or self._why(tier, statuses),
                    )
                )
        for key, goal in config.modules.items():
            if why:
                result.gates.append(
                    _not_applicable(f"coverage {key}", goal, f"goal {goal:g}% of {key} over {span}", why)
                )
            else:
                result.gates.append(self._module_gate(key, goal, gate))

    def _measure(self, ran: list[str], covers: Sequence[str]) -> Mapping[str, Any]:
        """Run the child once; its answer, or ``{"error": ...}`` when it could not run."""
        # The run's figure is over the data there is; a gate's is over exactly its tiers, or fails.
        groups: dict[str, list[str]] = {
            RUN_GROUP: [t for t in ran if tier_data_file(self.run_dir, t).is_file()]
        }
        if sorted(covers) != sorted(groups[RUN_GROUP]):
            groups[GATE_GROUP] = [t for t in covers if t in ran]
        groups.update({tier_group(tier): [tier] for tier in self.project.coverage.tiers if tier in ran})
        result_file = self.run_dir / ".coverage-result.json"
        spec = {
            "tiers": [[tier, str(tier_data_file(self.run_dir, tier))] for tier in ran],
            "groups": groups,
            "sources": list(self.project.coverage.source),
            "data_file": str(self.run_dir / ".coverage"),
            "json": str(self.run_dir / "coverage.json"),
            "html": str(self.run_dir / "coverage-html"),
            "text": str(self.run_dir / "coverage.txt"),
            "result": str(result_file),
            # The project's --cov-config, so its omit/exclude/[paths] apply here as in pytest-cov.
            "config_file": next(reversed(addopts_values(self.project.root, self.env, "--cov-config")), None),
        }
        spec_file = self.run_dir / ".coverage-spec.json"
        spec_file.write_text(json.dumps(spec), encoding="utf-8")
        result_file.unlink(missing_ok=True)
        lines: list[str] = []
        with (self.run_dir / "coverage.log").open("w", encoding="utf-8") as log:

            def relay(line: str) -> None:
                lines.append(line)
                log.write(line + "\n")

            command = [self.python, str(CHILD), str(spec_file)]
            code = run_streaming(
                command, self.project.root, self._child_env(), relay, what="coverage combine"
            )
        try:
            answer: dict[str, Any] = json.loads(result_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            last = next((line.strip() for line in reversed(lines) if line.strip()), "(no output)")
            return {"error": f"coverage could not combine the tiers' data (exit {code}): {last[:300]}"}
        return answer

    def _child_env(self) -> dict[str, str]:
        env = dict(self.env)
        env.pop("COVERAGE_FILE", None)  # the child names every data file itself
        env["PYTHONDONTWRITEBYTECODE"] = "1"  # no __pycache__ of the child beside stagewise's code
        return env

    def _note(self, ran: list[str], run: Measured, answer: Mapping[str, Any]) -> None:
        sources = ", ".join(self.project.coverage.source) or "all measured code"
        unresolved = answer.get("unresolved") or []
        if unresolved:
            self.reporter.note(
                f"coverage.source {', '.join(unresolved)}: no such folder, file or module here"
            )
        if run.percent is None:
            self.reporter.note(f"coverage of {sources} over {' + '.join(ran)}: {self._no_data(run)}")
            return
        report = answer.get("report_error")
        where = f"{self.run_dir / 'coverage-html' / 'index.html'}" if not report else f"not written: {report}"
        table = _read(self.run_dir / "coverage.txt")
        self.reporter.note(
            f"coverage of {sources} over {' + '.join(ran)}: {run.percent:.1f}% · report {where}"
            + (f"\n{table.rstrip()}" if table else "")
        )

    def _limit(self, answer: Mapping[str, Any]) -> Limit | None:
        if self.project.coverage.fail_under is not None:
            return Limit(self.project.coverage.fail_under, "coverage.fail_under")
        value = addopts_fail_under(self.project.root, self.env)
        if value is not None and value > 0:
            return Limit(value, "the project's pytest addopts --cov-fail-under")
        configured = answer.get("fail_under")
        if isinstance(configured, int | float) and not isinstance(configured, bool) and configured > 0:
            return Limit(float(configured), "the project's coverage config [report] fail_under")
        return None

    def _why(self, tier: str, statuses: Mapping[str, TierStatus]) -> str:
        status = statuses.get(tier)
        if status is None:
            return f"{tier} did not run in this run"
        return f"{tier} ran no tests ({status.value})"

    def _no_data(self, measured: Measured) -> str:
        source = ", ".join(self.project.coverage.source) or "(all code)"
        error = measured.error or "no coverage data"
        if "no coverage data was written" in error:
            return (
                "coverage was requested but no coverage data was written; does coverage.source "
                f"({source}) name code the tests import? See the tier's log for coverage's warning"
            )
        if "No data to report" in error:
            return (
                f"coverage measured no file under coverage.source ({source}); does it name code the "
                "tests import? See the tier's log for coverage's warning"
            )
        return f"coverage could not be measured: {error}"

    def _combined(self, limit: Limit, span: str, gate: Measured, why: str, run: Measured) -> GateResult:
        what = f"fail_under {limit.value:g}% ({limit.origin})"
        if why:
            now = f"; this run: {run.percent:.1f}%" if run.percent is not None else ""
            return _not_applicable("coverage", limit.value, f"{what} over {span}", why + now)
        if gate.percent is None:
            return GateResult("coverage", 0.0, limit.value, False, f"{what}: {self._no_data(gate)}")
        passed = gate.percent >= limit.value
        verb = "meets" if passed else "is below"
        message = f"coverage {_pct(gate.percent, limit.value)}% over {span} {verb} {what}"
        return GateResult("coverage", gate.percent, limit.value, passed, message)

    def _tier_gate(self, tier: str, threshold: float, measured: Measured) -> GateResult:
        name = f"coverage {tier}"
        what = f"its threshold {threshold:g}% (coverage.tiers.{tier})"
        if measured.percent is None:
            return GateResult(name, 0.0, threshold, False, f"{tier} {what}: {self._no_data(measured)}")
        passed = measured.percent >= threshold
        verb = "meets" if passed else "is below"
        message = f"coverage of the {tier} tier {_pct(measured.percent, threshold)}% {verb} {what}"
        return GateResult(name, measured.percent, threshold, passed, message)

    def _module_gate(self, key: str, goal: float, measured: Measured) -> GateResult:
        name = f"coverage {key}"
        what = f"goal {goal:g}% (coverage.modules {key!r})"
        if measured.percent is None:
            return GateResult(name, 0.0, goal, False, f"{key} {what}: {self._no_data(measured)}")
        matched = {path: percent for path, percent in measured.files.items() if module_matches(key, path)}
        if not matched:
            source = ", ".join(self.project.coverage.source) or "(all code)"
            message = f"{key} {what}: matches no measured file under coverage.source ({source})"
            return GateResult(name, 0.0, goal, False, message)
        below = {path: percent for path, percent in sorted(matched.items()) if percent < goal}
        lowest = min(matched.values())
        if below:
            named = ", ".join(f"{path} {_pct(percent, goal)}%" for path, percent in below.items())
            return GateResult(name, lowest, goal, False, f"coverage of {named} is below its {what}")
        files = next(iter(matched)) if len(matched) == 1 else f"{len(matched)} files of {key}"
        return GateResult(
            name, lowest, goal, True, f"coverage of {files} {_pct(lowest, goal)}% meets its {what}"
        )


def _group(answer: Mapping[str, Any], name: str) -> Measured:
    if "error" in answer:
        return Measured(None, error=str(answer["error"]))
    groups = answer.get("groups")
    group = groups.get(name) if isinstance(groups, Mapping) else None
    if not isinstance(group, Mapping):
        return Measured(None, error="no coverage data was written")
    if group.get("error"):
        return Measured(None, error=str(group["error"]))
    try:
        percent = float(group["totals"]["percent_covered"])
        files = {str(path): float(summary["percent_covered"]) for path, summary in group["files"].items()}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        return Measured(None, error=f"unreadable coverage figures: {exc}")
    return Measured(percent, files)


def _not_applicable(name: str, limit: float, what: str, why: str) -> GateResult:
    return GateResult(name, 0.0, limit, True, f"{what}: not applicable: {why}", applicable=False)


def _pct(percent: float, limit: float) -> str:
    """The percent as shown beside its limit: never ``80.0`` for a 79.96 that is below 80."""
    shown = f"{percent:.1f}"
    if percent < limit <= float(shown):
        shown = f"{percent:.2f}" if float(f"{percent:.2f}") < limit else f"{percent:.3f}"
    return shown


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


__all__ = ["CoverageGates", "addopts_fail_under", "default_covers"]
