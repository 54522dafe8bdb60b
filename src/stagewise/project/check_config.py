"""``[check]``: what ``stagewise check`` (the quick check before a commit) runs.

The steps are ``lint`` (ruff, else flake8), ``types`` (mypy, when the project
configures it), ``unit`` (the unit tier) and ``bandit`` (the security tier's
static analysis), in that order unless ``steps`` lists others. ``lint`` and
``types`` may name their own command as an argument list (never a shell
string): it runs in the project root, its program looked for in the project's
venv first, then on PATH. A step given a command or listed in ``steps`` is one
the project asked for, so a missing tool fails the check (exit 4) instead of
being shown as "not run".
"""

from __future__ import annotations

from dataclasses import dataclass

from stagewise.project.table import ConfigTable

#: Every step ``stagewise check`` knows, in its default order.
CHECK_STEPS = ("lint", "types", "unit", "bandit")
#: The steps whose command the project file may set.
COMMAND_STEPS = ("lint", "types")


@dataclass(frozen=True)
class CheckConfig:
    """The quick check: its steps in run order, and each configured command (``None``: detected).

    ``explicit_steps``: ``steps`` was set in the project file (every listed
    step is then required, not optional).
    """

    steps: tuple[str, ...] = CHECK_STEPS
    lint: tuple[str, ...] | None = None
    types: tuple[str, ...] | None = None
    explicit_steps: bool = False

    def command(self, step: str) -> tuple[str, ...] | None:
        """The configured command of ``step`` (``lint``/``types``), else ``None``."""
        value: tuple[str, ...] | None = getattr(self, step) if step in COMMAND_STEPS else None
        return value

    def required(self, step: str) -> bool:
        """Whether the project asked for ``step`` itself (listed in ``steps`` or given a command)."""
        return self.explicit_steps or self.command(step) is not None


def read_check(table: ConfigTable) -> CheckConfig:
    """Validate ``[check]`` (absent: every step, each tool detected)."""
    steps = table.strings("steps", CHECK_STEPS)
    for step in steps:
        if step not in CHECK_STEPS:
            raise table.error("steps", f"unknown step {step!r} (steps: {', '.join(CHECK_STEPS)})")
    if len(set(steps)) != len(steps):
        twice = next(s for s in steps if steps.count(s) > 1)
        raise table.error("steps", f"lists {twice!r} twice")
    if not steps:
        raise table.error("steps", "must list at least one step")
    lint = table.argv("lint")
    types = table.argv("types")
    config = CheckConfig(
        steps=steps,
        lint=lint,
        types=types,
        explicit_steps=table.raw("steps") is not None,
    )
    for step in COMMAND_STEPS:
        if config.command(step) is not None and step not in steps:
            raise table.error(step, f"is set but {step!r} is not one of check.steps ({', '.join(steps)})")
    table.check_unknown()
    return config


__all__ = ["CHECK_STEPS", "COMMAND_STEPS", "CheckConfig", "read_check"]
