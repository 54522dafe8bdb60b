"""``[data]``: where a stage's database is, how it migrates, where backups go.

```toml
[data]
alembic_ini = "alembic.ini"       # migrations run as `python -m alembic -c alembic.ini ...`
url_env = "DATABASE_URL"          # the variable alembic's env.py (and the app) read
backups_dir = "backups"
app_services = ["app"]            # stopped for a restore's swap, started again after
[data.urls]                       # per stage; ${VAR:-default} and {root}/{stage} are expanded
dev = "sqlite:///{root}/.stagewise/dev/shop.db"
staging = "postgresql://shop:${SHOP_DB_PASSWORD:-pw}@127.0.0.1:55433/shop"
[data.containers]                 # per stage: run pg_dump/pg_restore inside this compose service
staging = "db"
[data.env]                        # the URL's parts, in the variables the project's settings read
POSTGRES_SERVER = "{host}"
POSTGRES_PASSWORD = "{password}"  # {host} {port} {database} {user} {password} {url} {scheme}
```
A stage without a URL here uses ``url_env`` from its resolved environment.
``[data.env]`` exists because many projects never read one URL: their
settings (and alembic's ``env.py``) assemble it from ``POSTGRES_SERVER``,
``POSTGRES_DB``, ... With the mapping, the one URL in ``data.urls`` reaches
the tests, the services and alembic alike (see :func:`stagewise.project.env.resolve_env`).
With a container, stagewise still reads counts and checksums and swaps
databases over the URL, but the dump and restore tools are the server's own,
so a host without a matching PostgreSQL client can still back up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from stagewise.project.migration_gate import GateConfig, read_gate
from stagewise.project.table import ConfigTable
from stagewise.project.validate import ENV_NAME, NAME, stage_keys

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
_PART = re.compile(r"\{([a-z_]+)\}")
#: The placeholders a ``[data.env]`` value may use: parts of the stage's database URL.
URL_PARTS = ("host", "port", "database", "user", "password", "url", "scheme")
_DEFAULT_PORTS = {"postgresql": "5432", "postgres": "5432"}


@dataclass(frozen=True)
class DataConfig:
    """The data settings of a project (all optional)."""

    alembic_ini: str = "alembic.ini"
    url_env: str = "DATABASE_URL"
    backups_dir: str = "backups"
    app_services: tuple[str, ...] = ()
    urls: dict[str, str] = field(default_factory=dict)
    #: stage -> compose service whose own pg_dump/pg_restore do the work (no client on the host,
    #: or one older than the server).
    containers: dict[str, str] = field(default_factory=dict)
    #: variable -> template of URL parts (``"{host}"``), set from the stage's URL wherever its
    #: environment is resolved, so settings that assemble their own URL reach the same database.
    env: dict[str, str] = field(default_factory=dict)
    #: ``[data.gate]``: the migration gate's lint rules, timeouts and allow-list.
    gate: GateConfig = field(default_factory=GateConfig)


def expand(template: str, env: Mapping[str, str], root: str, stage: str) -> str:
    """Fill ``${VAR}``, ``${VAR:-default}``, ``{root}`` and ``{stage}``."""

    def variable(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        return value if value else (match.group(2) or "")

    return _VAR.sub(variable, template).replace("{root}", root).replace("{stage}", stage)


def stage_url(config: DataConfig, root: Path, stage: str, env: Mapping[str, str]) -> str | None:
    """The stage's database URL: ``data.urls.<stage>`` (expanded) or ``url_env``; ``None``: neither.

    A relative SQLite path is taken from the project root, so the tests, the
    services and the data commands all name the same file whatever their cwd.
    """
    template = config.urls.get(stage) or env.get(config.url_env)
    if not template:
        return None
    url = expand(template, env, str(root), stage)
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = f"sqlite:///{root / url[len('sqlite:///') :]}"
    return url


def url_parts(url: str) -> dict[str, str]:
    """``{host}``, ``{port}``, ... of a database URL (user and password unquoted)."""
    parts = urlsplit(url)
    scheme = parts.scheme
    base = scheme.split("+", 1)[0]
    if base == "sqlite":
        database = url[len(f"{scheme}:///") :].split("?", 1)[0]
        return dict.fromkeys(URL_PARTS, "") | {"url": url, "scheme": scheme, "database": database}
    try:
        port = str(parts.port) if parts.port else _DEFAULT_PORTS.get(base, "")
    except ValueError:  # not a number: left to the driver to refuse, with its own words
        port = ""
    return {
        "host": parts.hostname or "",
        "port": port,
        "database": unquote(parts.path.lstrip("/")),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "url": url,
        "scheme": scheme,
    }


def mapped_env(config: DataConfig, url: str) -> dict[str, str]:
    """``[data.env]`` filled from ``url``: the variables the project's own settings read."""
    parts = url_parts(url)
    return {name: _PART.sub(lambda m: parts[m.group(1)], template) for name, template in config.env.items()}


def holds_password(template: str) -> bool:
    """Whether a ``[data.env]`` value carries the bare password (its variable is then a secret).

    A ``{url}`` value is not: it is shown with its password masked, like any URL.
    """
    return "{password}" in template


def _read_env(table: ConfigTable) -> dict[str, str]:
    env_t = table.section("env")
    mapped: dict[str, str] = {}
    for name in list(env_t.data):
        if not ENV_NAME.match(name):
            raise env_t.error(name, "must be an environment variable name (letters, digits, '_')")
        template = env_t.string(name) or ""
        unknown = sorted({m.group(1) for m in _PART.finditer(template)} - set(URL_PARTS))
        if unknown:
            raise env_t.error(
                name,
                f"uses {{{unknown[0]}}}: the parts of the URL are "
                + ", ".join(f"{{{p}}}" for p in URL_PARTS),
            )
        mapped[name] = template
    env_t.check_unknown()
    return mapped


def read_data(table: ConfigTable, stage_names: Mapping[str, object]) -> DataConfig:
    """Validate ``[data]``; unknown stages in ``[data.urls]`` are config errors."""
    urls: dict[str, str] = {}
    urls_t = table.section("urls")
    for stage in stage_keys(urls_t, stage_names):
        url = urls_t.string(stage) or ""
        if not url.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")):
            raise urls_t.error(stage, "must be a sqlite:/// or postgresql:// URL")
        urls[stage] = url
    containers: dict[str, str] = {}
    containers_t = table.section("containers")
    for stage in stage_keys(containers_t, stage_names):
        service = containers_t.string(stage) or ""
        if not NAME.match(service):
            raise containers_t.error(stage, "must be a compose service name (letters, digits, '.', '_', '-')")
        containers[stage] = service
    config = DataConfig(
        alembic_ini=table.string("alembic_ini", "alembic.ini") or "alembic.ini",
        url_env=table.string("url_env", "DATABASE_URL") or "DATABASE_URL",
        backups_dir=table.string("backups_dir", "backups") or "backups",
        app_services=table.strings("app_services", ()),
        urls=urls,
        containers=containers,
        env=_read_env(table),
        gate=read_gate(table.section("gate")),
    )
    table.check_unknown()
    return config
