"""Run a lint or type-check command as one step and read the problems it names.

Linters and type checkers agree on one thing: each problem names its place as
``path:line[:col]`` (ruff's concise and full formats, flake8, mypy, pylint).
That is read from the output, whatever the command, so a failing step names
the files to open. The exit code decides the verdict: 0 passed, anything else
failed — an error (the tool could not do its job) when it named no problem
and exited with something other than 1, the code these tools use for "found
problems".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from stagewise.check.detect import StepPlan
from stagewise.errors import MissingError
from stagewise.project.env import mask_text
from stagewise.tiers.process import run_streaming
from stagewise.tiers.result import FailedTest, RecordEvidence, TestCounts, TierResult, TierStatus

#: ``path:line`` or ``path:line:col``, then the rest of the line (may be empty: ruff's ``--> a.py:1:8``).
_LOCATION = re.compile(r"(?P<path>[^\s:'\"()]+\.pyi?):(?P<line>\d+)(?::(?P<col>\d+))?:?\s*(?P<rest>.*)$")
#: How many problems a step's record keeps (the log has them all).
MAX_PROBLEMS = 50
FOUND_PROBLEMS = 1


@dataclass(frozen=True)
class Problem:
    """One problem a tool named: where, and what it said."""

    location: str
    message: str


def problems_in(lines: list[str]) -> list[Problem]:
    """Every ``path:line`` problem in a tool's output, once each, in order.

    A location with nothing after it takes the line above it as its message
    (ruff's full format puts the rule and message first); mypy's ``note:``
    lines belong to the error before them and are not problems of their own.
    """
    found: dict[str, Problem] = {}
    previous = ""
    for raw in lines:
        line = raw.strip()
        match = _LOCATION.search(line)
        if match is not None:
            location = f"{match['path'].removeprefix('./')}:{match['line']}"
            if match["col"]:
                location += f":{match['col']}"
            message = match["rest"].strip() or previous
            if not message.startswith("note:") and location not in found:
                found[location] = Problem(location, message.removeprefix("error:").strip()[:300])
        if line and not line.startswith(("-->", "|")) and not line[:1].isdigit():
            previous = line
    return list(found.values())


def run_command_step(
    step: StepPlan,
    *,
    root: Path,
    env: Mapping[str, str],
    log_path: Path,
    secrets: tuple[str, ...],
    on_line: Callable[[str], None],
) -> TierResult:
    """Run ``step.command`` in ``root`` (its output to ``log_path``); the verdict as a result.

    Raises only :class:`~stagewise.errors.InterruptedRun`.
    """
    lines: list[str] = []
    started = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:

        def line_out(line: str) -> None:
            line = mask_text(line, secrets)
            lines.append(line)
            log.write(line + "\n")
            on_line(line)

        try:
            code = run_streaming(step.command, root, env, line_out, what=f"{step.tool} ({step.name})")
        except MissingError as exc:
            return _result(
                step, TierStatus.NOT_RUN, f"not run: {exc.message}", time.monotonic() - started, log_path
            )
    duration = time.monotonic() - started
    problems = problems_in(lines)
    if code == 0:
        status, message = TierStatus.PASSED, f"{step.tool}: no problems"
    elif problems:
        shown = "; ".join(f"{p.location} {p.message}".strip() for p in problems[:3])
        more = f" (+{len(problems) - 3} more)" if len(problems) > 3 else ""
        count = f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
        status, message = TierStatus.FAILED, f"{step.tool}: {count}: {shown}{more}"
    else:
        last = next((line for line in reversed(lines) if line.strip()), "(no output)")
        status = TierStatus.FAILED if code == FOUND_PROBLEMS else TierStatus.ERROR
        message = f"{step.tool} exited {code}: {last.strip()[:300]}"
    return _result(step, status, message, duration, log_path, problems=problems, code=code)


def _result(
    step: StepPlan,
    status: TierStatus,
    message: str,
    duration: float,
    log_path: Path | None,
    *,
    problems: list[Problem] | None = None,
    code: int | None = None,
) -> TierResult:
    problems = problems or []
    ran = status is not TierStatus.NOT_RUN
    return TierResult(
        name=step.name,
        status=status,
        counts=TestCounts(
            tests=1,
            failures=1 if status is TierStatus.FAILED else 0,
            errors=1 if status is TierStatus.ERROR else 0,
            skipped=0 if ran else 1,
        ),
        duration=duration,
        message=message,
        log_path=str(log_path) if log_path else None,
        command=step.command,
        failed_tests=tuple(FailedTest(p.location, step.name, p.message) for p in problems[:MAX_PROBLEMS]),
        counted=ran or step.required,
        evidence=(
            RecordEvidence(
                "check",
                {
                    "step": step.name,
                    "tool": step.tool,
                    "command": list(step.command),
                    "exit_code": code,
                    "problems": len(problems),
                    "required": step.required,
                },
            ),
        ),
    )


def not_run_result(step: StepPlan) -> TierResult:
    """A step that cannot run: shown with its reason, counted (exit 4) only when it was asked for."""
    return _result(step, TierStatus.NOT_RUN, f"not run: {step.not_run}", 0.0, None)


__all__ = ["Problem", "not_run_result", "problems_in", "run_command_step"]
