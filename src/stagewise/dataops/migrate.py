"""Alembic, run as the project's own ``python -m alembic`` with the env's database URL.

stagewise never imports the project's models: alembic runs in a subprocess of
the project's interpreter (``project.python``: its alembic, its driver, its
settings), with the stage's environment, the URL in ``url_env`` and its parts
in the ``[data.env]`` variables, exactly as the app would see them.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from stagewise.cause import cause_line
from stagewise.errors import DeployError, MissingError, UsageError
from stagewise.project.env import known_secrets, mask_text
from stagewise.tiers.tools import install_hint

_TIMEOUT = 1800  # seconds; a migration that takes longer is stopped and treated as failed
_REVISION = re.compile(r"^[A-Za-z0-9_]{1,64}$|^(head|base|heads|[+-]\d+)$")
_NO_MODULE = re.compile(r"No module named '?([A-Za-z0-9_.]+)'?")


@dataclass(frozen=True)
class Alembic:
    """How to call alembic for one environment: in ``python`` (the project's interpreter)."""

    root: Path
    ini: str
    env: Mapping[str, str]
    python: str
    #: Ends the database sessions of an alembic run that was stopped (its application_name).
    end_sessions: Callable[[str], None] | None = None

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        ini = self.root / self.ini
        if not ini.is_file():
            raise MissingError(f"{ini} does not exist: set data.alembic_ini in stagewise.toml")
        # Killing alembic (Ctrl+C, timeout) does not stop its server session: PostgreSQL runs the
        # statement on, holding its locks (an ALTER's ACCESS EXCLUSIVE blocks the version still
        # serving) until it next writes to the client. The run's sessions carry a name of their
        # own (libpq's PGAPPNAME), so a stopped run's are ended by name.
        name = f"stagewise-migrate-{uuid.uuid4().hex[:12]}"
        try:
            done = subprocess.run(
                [self.python, "-m", "alembic", "-c", str(ini), *args],
                cwd=self.root,
                env={**self.env, "PGAPPNAME": name},
                capture_output=True,
                text=True,
                check=False,
                timeout=_TIMEOUT,
                start_new_session=True,  # Ctrl+C reaches stagewise, which stops it and puts data back
            )
        except FileNotFoundError as exc:
            raise MissingError(
                f"the project's python {self.python} does not exist: set project.python in stagewise.toml"
            ) from exc
        except subprocess.TimeoutExpired as exc:
            self._end_sessions(name)
            raise DeployError(
                f"alembic {' '.join(args)} did not finish within {_TIMEOUT} s (stopped)"
            ) from exc
        except BaseException:  # Ctrl+C: subprocess.run killed alembic; its session must go too
            self._end_sessions(name)
            raise
        if check and done.returncode != 0:
            raise self._failure(args, done.stderr or done.stdout)
        return done

    def _end_sessions(self, name: str) -> None:
        if self.end_sessions is None:
            return
        try:
            self.end_sessions(name)
        except Exception:  # best effort: the error that stopped the run is what counts
            return

    def _failure(self, args: Sequence[str], output: str) -> Exception:
        """The one-line error: a module the project's python lacks (exit 4), else the cause line."""
        # `python -m alembic` without alembic: "<python>: No module named alembic";
        # a module env.py imports: "ModuleNotFoundError: No module named 'psycopg'".
        missing = _NO_MODULE.search(output)
        if missing and missing.group(1).split(".")[0] == "alembic":
            return MissingError(
                f"alembic is not installed for the project's python {self.python}: "
                f"run `{install_hint(self.python, ['alembic'])}` (or set project.python)"
            )
        if missing and "ModuleNotFoundError" in output:
            return MissingError(
                f"alembic {' '.join(args)} needs {missing.group(1)}, which the project's python "
                f"{self.python} lacks: install it there (`{self.python} -m pip install ...`)"
            )
        cause = mask_text(cause_line(output), known_secrets())
        return DeployError(f"alembic {' '.join(args)} failed: {cause}")

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


def expected_revisions(args: Sequence[str], heads: Sequence[str]) -> set[str | None] | None:
    """Where ``args`` (an upgrade or downgrade) must leave the database; ``None``: relative (``+1``).

    The database's own ``alembic_version`` is compared with this afterwards,
    read by stagewise over the stage's URL: alembic's success says only that
    *some* database was migrated.
    """
    target = args[1]
    if target in ("head", "heads"):
        return set(heads) or {None}
    if target == "base":
        return {None}
    if target[0] in "+-":
        return None
    return {target}


def with_timeouts(env: Mapping[str, str], lock_timeout: float, statement_timeout: float) -> dict[str, str]:
    """``env`` with ``PGOPTIONS`` setting lock_timeout and statement_timeout for every connection.

    libpq (psycopg 3 and psycopg2 alike) sends ``PGOPTIONS`` at connect, so
    alembic's connection runs its DDL with both limits whatever ``env.py``
    does: a migration queued behind a long lock fails after ``lock_timeout``
    instead of stalling every query behind it. Options already in
    ``PGOPTIONS`` are kept (ours come last, and win).
    """
    ours = (
        f"-c lock_timeout={round(lock_timeout * 1000)} -c statement_timeout={round(statement_timeout * 1000)}"
    )
    before = env.get("PGOPTIONS", "").strip()
    return {**env, "PGOPTIONS": f"{before} {ours}".strip()}
