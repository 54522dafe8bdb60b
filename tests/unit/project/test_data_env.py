"""``[data.env]``: the stage's one database URL, in the variables the project's own settings read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stagewise.errors import ConfigError
from stagewise.project.data import url_parts
from stagewise.project.env import resolve_env
from stagewise.project.loader import load_project
from tests.helpers import run_cli

TOML = """\
[data]
[data.urls]
prod = "postgresql://app:${DB_PASSWORD:-p%40ss-w0rd}@db.internal:6543/app_prod"
dev = "sqlite:///.stagewise/dev/app.db"
[data.env]
POSTGRES_SERVER = "{host}"
POSTGRES_PORT = "{port}"
POSTGRES_DB = "{database}"
POSTGRES_USER = "{user}"
DB_PASS = "{password}"
SQLALCHEMY_URL = "{url}"
DRIVER = "{scheme}+psycopg"
"""


def test_url_parts_unquote_and_default_the_port() -> None:
    assert url_parts("postgresql://u%40x:p%2Fw@h/db?sslmode=require") == {
        "host": "h",
        "port": "5432",
        "database": "db",
        "user": "u@x",
        "password": "p/w",
        "url": "postgresql://u%40x:p%2Fw@h/db?sslmode=require",
        "scheme": "postgresql",
    }
    assert url_parts("sqlite:////abs/app.db")["database"] == "/abs/app.db"


def test_the_stage_url_and_its_parts_reach_the_resolved_env(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text(TOML, encoding="utf-8")
    (tmp_path / ".env.prod").write_text("DATABASE_URL=postgresql://stale@elsewhere/db\n", encoding="utf-8")
    project = load_project(tmp_path)
    resolved = resolve_env(project, project.stages["prod"], {"POSTGRES_SERVER": "from-the-shell"})
    values = {name: var.value for name, var in resolved.variables.items()}
    url = "postgresql://app:p%40ss-w0rd@db.internal:6543/app_prod"
    assert values["DATABASE_URL"] == url, "data.urls wins: the database migrated is the one backed up"
    assert values["POSTGRES_SERVER"] == "db.internal"
    assert values["POSTGRES_PORT"] == "6543"
    assert values["POSTGRES_DB"] == "app_prod"
    assert values["POSTGRES_USER"] == "app"
    assert values["DB_PASS"] == "p@ss-w0rd"  # noqa: S105 - the test URL's, to be masked
    assert values["SQLALCHEMY_URL"] == url
    assert values["DRIVER"] == "postgresql+psycopg"
    assert resolved.variables["DATABASE_URL"].source == "data.urls.prod"
    assert resolved.variables["POSTGRES_DB"].source == "data.env"
    assert resolved.variables["DB_PASS"].secret, "a {password} value is a secret whatever its name"
    assert not resolved.variables["POSTGRES_DB"].secret
    assert resolved.variables["SQLALCHEMY_URL"].shown() == "postgresql://app:***@db.internal:6543/app_prod"
    assert "p@ss-w0rd" in resolved.secret_values()
    assert "p%40ss-w0rd" in resolved.secret_values(), "the password as the URL spells it, too"

    dev = resolve_env(project, project.stages["dev"], {})
    assert dev.variables["DATABASE_URL"].value == f"sqlite:///{tmp_path / '.stagewise/dev/app.db'}"
    assert dev.variables["POSTGRES_DB"].value == str(tmp_path / ".stagewise/dev/app.db")
    assert dev.variables["DB_PASS"].value == ""


def test_without_a_url_nothing_is_mapped(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text(
        '[data]\n[data.env]\nPOSTGRES_DB = "{database}"\n', encoding="utf-8"
    )
    project = load_project(tmp_path)
    assert "POSTGRES_DB" not in resolve_env(project, project.stages["dev"], {}).variables
    from_env = resolve_env(project, project.stages["dev"], {}, None)
    assert from_env.variables == {}
    (tmp_path / ".env.dev").write_text("DATABASE_URL=postgresql://u@h/from_dotenv\n", encoding="utf-8")
    mapped = resolve_env(project, project.stages["dev"], {})
    assert mapped.variables["POSTGRES_DB"].value == "from_dotenv"
    assert mapped.variables["DATABASE_URL"].source == ".env.dev", "url_env itself is left where it came from"


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ('POSTGRES_DB = "{db}"', "uses {db}: the parts of the URL are {host}, {port}, {database}"),
        ('"BAD-NAME" = "{host}"', "must be an environment variable name"),
        ("POSTGRES_PORT = 5432", "must be a non-empty string"),
    ],
)
def test_a_bad_mapping_is_a_config_error(tmp_path: Path, body: str, problem: str) -> None:
    (tmp_path / "stagewise.toml").write_text(f"[data]\n[data.env]\n{body}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=problem.replace("{", r"\{").replace("}", r"\}")):
        load_project(tmp_path)


def test_stagewise_env_shows_the_mapping_with_the_password_masked(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text(TOML, encoding="utf-8")
    shown = run_cli("env", "--stage", "prod", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "POSTGRES_DB=app_prod  # data.env" in shown.stdout
    assert "DB_PASS=***  # data.env" in shown.stdout
    assert "DATABASE_URL=postgresql://app:***@db.internal:6543/app_prod  # data.urls.prod" in shown.stdout
    assert "p@ss-w0rd" not in shown.stdout
    assert "p%40ss-w0rd" not in shown.stdout
    as_json = json.loads(run_cli("env", "--stage", "prod", "--json", cwd=tmp_path).stdout)
    assert as_json["variables"]["DB_PASS"] == {"value": "***", "source": "data.env", "secret": True}


def test_bad_config_exits_3(tmp_path: Path) -> None:
    (tmp_path / "stagewise.toml").write_text('[data]\n[data.env]\nX = "{nope}"\n', encoding="utf-8")
    done = run_cli("env", "--stage", "dev", cwd=tmp_path)
    assert done.returncode == 3
    assert "data.env.X" in done.stderr
    assert "Traceback" not in done.stderr
