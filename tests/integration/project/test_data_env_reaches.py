"""The one URL in ``data.urls`` reaches the tests and the services, as its ``[data.env]`` parts.

No database is needed: what is checked is the environment the children get,
from a real ``stagewise test`` (pytest in a subprocess) and a real ``deploy
dev up`` (a local service process).
"""

from __future__ import annotations

import json
import time

from tests.conftest import ProjectFactory
from tests.helpers import run_cli

TOML = """\
[data]
[data.urls]
dev = "postgresql://app:pw-for-dev-15@db.example:6543/app_dev"
[data.env]
POSTGRES_SERVER = "{host}"
POSTGRES_PORT = "{port}"
POSTGRES_DB = "{database}"
POSTGRES_PASSWORD = "{password}"

[services.recorder]
command = ["{python}", "-c", "import json, os, time; json.dump({k: v for k, v in os.environ.items() if k.startswith(('POSTGRES_', 'DATABASE_'))}, open('seen.json', 'w')); time.sleep(120)"]
stages = ["dev"]
"""


def test_the_tests_and_a_service_see_the_stage_url_and_its_parts(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "stagewise.toml": TOML,
            ".env.dev": "POSTGRES_DB=stale_from_dotenv\n",
            "tests/unit/test_sees.py": """
            import os

            def test_the_parts():
                assert os.environ["DATABASE_URL"] == "postgresql://app:pw-for-dev-15@db.example:6543/app_dev"
                assert os.environ["POSTGRES_SERVER"] == "db.example"
                assert os.environ["POSTGRES_PORT"] == "6543"
                assert os.environ["POSTGRES_DB"] == "app_dev"
                assert os.environ["POSTGRES_PASSWORD"] == "pw-for-dev-15"
            """,
        }
    )
    tested = run_cli("test", "--stage", "dev", "--unit", "-v", cwd=root, env={})
    assert tested.returncode == 0, tested.stdout + tested.stderr

    up = run_cli("deploy", "dev", "up", "-d", cwd=root)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        seen_file = root / "seen.json"
        deadline = time.monotonic() + 20
        while not seen_file.is_file() or not seen_file.read_text():
            assert time.monotonic() < deadline, "the service never wrote its env"
            time.sleep(0.1)
        time.sleep(0.2)
        seen = json.loads(seen_file.read_text())
    finally:
        down = run_cli("deploy", "dev", "down", cwd=root)
    assert down.returncode == 0, down.stderr
    assert seen == {
        "DATABASE_URL": "postgresql://app:pw-for-dev-15@db.example:6543/app_dev",
        "POSTGRES_SERVER": "db.example",
        "POSTGRES_PORT": "6543",
        "POSTGRES_DB": "app_dev",
        "POSTGRES_PASSWORD": "pw-for-dev-15",
    }
