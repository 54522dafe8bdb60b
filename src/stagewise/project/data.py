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
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stagewise.project.loader import _Table

_SERVICE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
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


def read_data(top: _Table, stage_names: Mapping[str, object]) -> DataConfig:
    """Validate ``[data]``; unknown stages in ``[data.urls]`` are config errors."""
    data_t = top.table("data")
    if data_t is None:
        return DataConfig()
    urls: dict[str, str] = {}
    urls_t = data_t.table("urls")
    if urls_t is not None:
        for stage in list(urls_t.data):
            if stage not in stage_names:
                raise urls_t.error(stage, f"unknown stage (stages: {', '.join(stage_names)})")
            url = urls_t.string(stage) or ""
            if not url.startswith(("sqlite:///", "postgresql://", "postgres://", "postgresql+psycopg://")):
                raise urls_t.error(stage, "must be a sqlite:/// or postgresql:// URL")
            urls[stage] = url
        urls_t.check_unknown()
    containers: dict[str, str] = {}
    containers_t = data_t.table("containers")
    if containers_t is not None:
        for stage in list(containers_t.data):
            if stage not in stage_names:
                raise containers_t.error(stage, f"unknown stage (stages: {', '.join(stage_names)})")
            service = containers_t.string(stage) or ""
            if not _SERVICE.match(service):
                raise containers_t.error(
                    stage, "must be a compose service name (letters, digits, '.', '_', '-')"
                )
            containers[stage] = service
        containers_t.check_unknown()
    config = DataConfig(
        alembic_ini=data_t.string("alembic_ini", "alembic.ini") or "alembic.ini",
        url_env=data_t.string("url_env", "DATABASE_URL") or "DATABASE_URL",
        backups_dir=data_t.string("backups_dir", "backups") or "backups",
        app_services=data_t.strings("app_services", ()),
        urls=urls,
        containers=containers,
    )
    data_t.check_unknown()
    return config
