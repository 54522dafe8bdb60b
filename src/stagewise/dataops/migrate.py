"""Alembic, run as the project's own ``python -m alembic`` with the env's database URL.

stagewise never imports the project's models: alembic runs in a subprocess
with ``url_env`` (DATABASE_URL) set, exactly as the app would see it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import DeployError, MissingError, UsageError
from stagewise.project.env import mask_url_password
from stagewise.tiers.tools import install_hint

_TIMEOUT = 1800  # seconds; a migration that takes longer is stopped and treated as failed
_REVISION = re.compile(r"^[A-Za-z0-9_]{1,64}$|^(head|base|heads|[+-]\d+)$")


@dataclass(frozen=True)
class Alembic:
    """How to call alembic for one environment."""

    root: Path
    ini: str
    env: Mapping[str, str]
    python: str = sys.executable

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        ini = self.root / self.ini
        if not ini.is_file():
            raise MissingError(f"{ini} does not exist: set data.alembic_ini in stagewise.toml")
        try:
            done = subprocess.run(
                [self.python, "-m", "alembic", "-c", str(ini), *args],
                cwd=self.root,
                env=dict(self.env),
                capture_output=True,
                text=True,
                check=False,
                timeout=_TIMEOUT,
                start_new_session=True,  # Ctrl+C reaches stagewise, which stops it and puts data back
            )
        except subprocess.TimeoutExpired as exc:
            raise DeployError(
                f"alembic {' '.join(args)} did not finish within {_TIMEOUT} s (stopped)"
            ) from exc
        if check and done.returncode != 0:
            if "No module named alembic" in done.stderr:
                hint = install_hint(self.python, ["alembic"])
                raise MissingError(f"alembic is not installed in {self.python}: run `{hint}`")
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise DeployError(
                f"alembic {' '.join(args)} failed: {mask_url_password(lines[-1] if lines else '?')}"
            )
        return done

    def heads(self) -> list[str]:
        return re.findall(r"^(\S+) \(head\)", self.run("heads").stdout, re.MULTILINE)

    def known_revisions(self) -> set[str]:
        """Every revision id the code's migration scripts know."""
        # ``history --verbose`` gives each revision its own "Rev: ID ..." line, merges included.
        return set(
            re.findall(r"^Rev: ([A-Za-z0-9_]+)", self.run("history", "--verbose").stdout, re.MULTILINE)
        )


def validate_revision(revision: str, flag: str) -> str:
    """Revisions reach a command line: letters, digits, '_' or head/base/+N/-N only."""
    if not _REVISION.match(revision):
        raise UsageError(
            f"{flag} {revision!r} is not a revision id (letters, digits, '_', head, base, +N, -N)"
        )
    return revision


def migrate_args(to: str | None, downgrade: str | None, sql: bool, current: str | None) -> Sequence[str]:
    """The alembic command for the requested migration."""
    if downgrade is not None:
        return ["downgrade", validate_revision(downgrade, "--downgrade")]
    target = validate_revision(to, "--to") if to else "head"
    if sql:
        return ["upgrade", f"{current}:{target}" if current else target, "--sql"]
    return ["upgrade", target]
