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
```
A stage without a URL here uses ``url_env`` from its resolved environment.
With a container, stagewise still reads counts and checksums and swaps
databases over the URL, but the dump and restore tools are the server's own,
so a host without a matching PostgreSQL client can still back up.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from stagewise.project.table import ConfigTable
from stagewise.project.validate import NAME, stage_keys

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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


def expand(template: str, env: Mapping[str, str], root: str, stage: str) -> str:
    """Fill ``${VAR}``, ``${VAR:-default}``, ``{root}`` and ``{stage}``."""

    def variable(match: re.Match[str]) -> str:
        value = env.get(match.group(1))
        return value if value else (match.group(2) or "")

    return _VAR.sub(variable, template).replace("{root}", root).replace("{stage}", stage)


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
    )
    table.check_unknown()
    return config
