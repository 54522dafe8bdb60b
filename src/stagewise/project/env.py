"""The env manager: a stage's environment, resolved and checked before any run.

Order of precedence, lowest first: the stage's env files in the order listed
(``.env`` then ``.env.<stage>``), each followed by its ``.local`` override
(read with python-dotenv's syntax: :mod:`stagewise.project.env_files`), then
the process environment, which wins for every variable the files set. Then
the stage's database: ``data.urls.<stage>`` as ``data.url_env`` and its parts
in the ``[data.env]`` variables, over both, so that the tests, the services
and alembic reach the one database stagewise backs up (a stray
``DATABASE_URL`` in the shell must not point a migration elsewhere).
Variables stagewise itself provides to tests (``STAGEWISE_*`` and the spec's
``TEST_ENVIRONMENT`` / ``TARGET_HOST``) are set last.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from stagewise.errors import MissingError
from stagewise.project.data import holds_password, mapped_env, stage_url, url_parts
from stagewise.project.env_files import parse_env_file, read_stage_files, stage_file_order
from stagewise.project.model import Project, StageConfig

__all__ = [
    "MASK",
    "EnvVar",
    "ResolvedEnv",
    "is_secret_name",
    "known_secrets",
    "mask_text",
    "mask_url_password",
    "parse_env_file",
    "resolve_env",
]
_SECRET_WORDS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL", "PRIVATE")
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<pw>[^@\s]+)(?P<at>@)")
MASK = "***"
#: The shortest line of a multi-line secret that is masked on its own (shorter ones are too common).
_MIN_SECRET_LINE = 8
#: Every secret value any ``resolve_env`` call in this process has seen, so that
#: text built far from the env (an error's log tail) can still be masked.
_SEEN_SECRETS: set[str] = set()


@dataclass(frozen=True)
class EnvVar:
    """One resolved variable and where its value came from."""

    name: str
    value: str
    source: str
    #: a value that is a secret whatever its name (``DB_PASS = "{password}"`` in ``[data.env]``)
    secret_value: bool = False

    @property
    def secret(self) -> bool:
        return self.secret_value or is_secret_name(self.name)

    def shown(self) -> str:
        """The value as it may appear in any output."""
        return MASK if self.secret else mask_url_password(self.value)


@dataclass(frozen=True)
class ResolvedEnv:
    """A stage's variables from files, overrides from the process, and extras."""

    stage: str
    variables: dict[str, EnvVar] = field(default_factory=dict)
    files_read: tuple[str, ...] = ()
    inherited_secrets: tuple[str, ...] = ()

    def as_child_env(self, base: Mapping[str, str]) -> dict[str, str]:
        """The environment a test process receives: the process env plus ours."""
        merged = dict(base)
        merged.update({name: var.value for name, var in self.variables.items()})
        return merged

    def secret_values(self) -> list[str]:
        """Values that must never be printed, longest first for masking.

        A multi-line secret (a key in PEM form from a quoted env-file value) is
        masked line by line too: output is masked a line at a time, so the
        whole value would never match.
        """
        values = {v.value for v in self.variables.values() if v.secret and len(v.value) >= 4}
        values.update(
            line.strip()
            for value in list(values)
            for line in value.splitlines()
            if len(line.strip()) >= _MIN_SECRET_LINE
        )
        values.update(self.inherited_secrets)
        return sorted(values, key=len, reverse=True)


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says its value is a secret."""
    upper = name.upper()
    return any(word in upper for word in _SECRET_WORDS)


def mask_url_password(value: str) -> str:
    """Hide the password part of URLs such as ``postgresql://u:pw@host/db``."""
    return _URL_PASSWORD.sub(lambda m: f"{m['head']}{MASK}{m['at']}", value)


def known_secrets() -> list[str]:
    """The secret values of every environment resolved in this process, longest first."""
    return sorted(_SEEN_SECRETS, key=len, reverse=True)


def mask_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret value (and URL password) in a line of output."""
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return mask_url_password(text)


def resolve_env(
    project: Project,
    stage: StageConfig,
    process_env: Mapping[str, str],
    provided: Mapping[str, str] | None = None,
) -> ResolvedEnv:
    """Resolve a stage's environment and check its required variables.

    Raises :class:`MissingError` (exit 4) naming the first missing variable
    and where it could be set, before anything runs.
    """
    from_files, files_read = read_stage_files(project.root, stage.env_files, process_env)
    variables = {name: EnvVar(name, found.value, found.source) for name, found in from_files.items()}
    for name in list(variables):
        if name in process_env:
            variables[name] = EnvVar(name, process_env[name], "process")
    data_variables = _data_variables(project, stage, process_env, variables)
    variables.update(data_variables)
    for name, value in (provided or {}).items():
        variables[name] = EnvVar(name, value, "stagewise")
    required = (*project.required_env, *stage.required_env)
    for name in required:
        if name not in variables and name not in process_env:
            where = " or ".join(stage_file_order(stage.env_files)) or "the environment"
            raise MissingError(
                f"stage {stage.name} needs the variable {name}: export it or set it in {where}"
            )
        if name not in variables:
            variables[name] = EnvVar(name, process_env[name], "process")
    # Secrets the tests inherit from the process (CI tokens, say) are masked too;
    # short values are skipped so that a flag like ``X_KEY=1`` cannot blank out every "1".
    inherited = tuple(v for k, v in process_env.items() if is_secret_name(k) and len(v) >= 6)
    url_var = data_variables.get(project.data.url_env) or variables.get(project.data.url_env)
    inherited = (*inherited, *_url_passwords(url_var.value if url_var is not None else ""))
    resolved = ResolvedEnv(stage.name, variables, files_read, inherited)
    _SEEN_SECRETS.update(resolved.secret_values())
    return resolved


def _data_variables(
    project: Project, stage: StageConfig, process_env: Mapping[str, str], variables: Mapping[str, EnvVar]
) -> dict[str, EnvVar]:
    """``data.urls.<stage>`` as ``url_env`` and ``[data.env]`` filled from it (empty: no URL)."""
    config = project.data
    seen = {**process_env, **{name: var.value for name, var in variables.items()}}
    url = stage_url(config, project.root, stage.name, seen)
    if url is None:
        return {}
    found: dict[str, EnvVar] = {}
    if stage.name in config.urls:
        found[config.url_env] = EnvVar(config.url_env, url, f"data.urls.{stage.name}", secret_value=False)
    for name, value in mapped_env(config, url).items():
        found[name] = EnvVar(name, value, "data.env", secret_value=holds_password(config.env[name]))
    return found


def _url_passwords(url: str) -> tuple[str, ...]:
    """The database password, as the URL spells it and unquoted, for masking wherever a child echoes it."""
    unquoted = url_parts(url)["password"] if url else ""
    spelled = urlsplit(url).password or "" if url else ""
    return tuple({p for p in (unquoted, spelled) if len(p) >= 4})
