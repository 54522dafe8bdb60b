"""The scan of real throwaway projects: what each shape is made of."""

from __future__ import annotations

from pathlib import Path

from stagewise.scaffold.scan import scan_project
from tests.unit.scaffold import shapes


def test_library_with_flat_tests_is_one_unit_tier_of_its_testpaths(tmp_path: Path) -> None:
    scan = scan_project(shapes.library(tmp_path / "lib"))
    assert scan.flat
    assert [(t.name, t.paths) for t in scan.tiers] == [("unit", ("tests",))]
    assert scan.name == "tiny-lib"
    assert scan.source == ("tiny_lib",)
    assert scan.python == ".venv/bin/python"
    assert scan.python_version == "3.12.3"
    assert scan.pytest is not None
    assert scan.pytest.testpaths == ("tests",)
    assert scan.pytest.marker_names == ("slow", "network")
    assert scan.alembic is None
    assert scan.app is None
    assert scan.compose == ()


def test_fastapi_template_api_tier_runs_in_process_and_db_folders_are_integration(tmp_path: Path) -> None:
    scan = scan_project(shapes.fastapi_template(tmp_path / "tpl"))
    api = scan.tier("api")
    integration = scan.tier("integration")
    assert api is not None
    assert api.paths == ("tests/api",)
    assert api.in_process
    assert integration is not None
    assert integration.paths == ("tests/crud", "tests/scripts")
    assert scan.tier("unit") is None  # tests/utils holds no tests
    assert scan.alembic is not None
    assert scan.alembic.env_py == "app/alembic/env.py"
    assert scan.alembic.url_env is None
    assert dict(scan.alembic.url_parts) == {
        "host": "POSTGRES_SERVER",
        "port": "POSTGRES_PORT",
        "user": "POSTGRES_USER",
        "password": "POSTGRES_PASSWORD",
        "database": "POSTGRES_DB",
    }
    assert scan.app is not None
    assert (scan.app.module, scan.app.attr, scan.app.framework) == ("app.main", "app", "FastAPI")
    assert scan.app.openapi == "/api/v1/openapi.json"
    assert [(c.path, c.stage, c.services) for c in scan.compose] == [
        ("compose.override.yaml", None, ("backend",)),
        ("compose.yaml", None, ("db", "backend")),
    ]
    assert scan.env_files == (".env",)
    assert scan.dockerfiles == ("Dockerfile",)


def test_older_app_reads_pytest_ini_addopts_compose_stages_and_locustfile(tmp_path: Path) -> None:
    scan = scan_project(shapes.older_app(tmp_path / "old"))
    assert [(t.name, t.paths) for t in scan.tiers] == [
        ("unit", ("tests/unit",)),
        ("integration", ("tests/integration",)),
        ("performance", ("locustfile.py",)),
    ]
    assert scan.pytest is not None
    assert scan.pytest.file == "pytest.ini"
    assert scan.pytest.option("--cov-fail-under") == ("100",)
    assert scan.pytest.option("-n", "--numprocesses") == ("auto",)
    assert scan.source == ("app",)
    assert scan.locustfile == "locustfile.py"
    assert {c.path: c.stage for c in scan.compose} == {
        "docker-compose.dev.yml": "dev",
        "docker-compose.prod.yml": "prod",
    }
    assert scan.app is not None
    assert scan.app.framework == "Flask"
    assert scan.app.health_path == "/healthz"
    assert scan.python is None


def test_database_url_variable_read_by_env_py_is_found(tmp_path: Path) -> None:
    root = shapes.write_tree(
        tmp_path / "p",
        {
            "alembic.ini": "[alembic]\nscript_location = %(here)s/migrations\n",
            "migrations/env.py": "import os\nurl = os.environ['DATABASE_URL']\n",
        },
    )
    scan = scan_project(root)
    assert scan.alembic is not None
    assert scan.alembic.url_env == "DATABASE_URL"
    assert scan.alembic.env_py == "migrations/env.py"


def test_project_without_tests_or_config_has_no_tiers(tmp_path: Path) -> None:
    root = tmp_path / "empty"
    root.mkdir()
    scan = scan_project(root)
    assert scan.tiers == ()
    assert scan.pytest is None
    assert scan.source == ()
    assert scan.name == "empty"


def test_httpx_asgi_transport_is_in_process_and_a_url_client_is_not(tmp_path: Path) -> None:
    in_process = shapes.write_tree(
        tmp_path / "asgi",
        {
            "tests/unit/test_a.py": "def test_a():\n    assert True\n",
            "tests/api/test_api.py": (
                "import httpx\nfrom app import app\n\n"
                "def test_api():\n    transport = httpx.ASGITransport(app=app)\n    assert transport\n"
            ),
        },
    )
    api = scan_project(in_process).tier("api")
    assert api is not None
    assert api.in_process
    remote = shapes.write_tree(
        tmp_path / "remote",
        {
            "tests/api/test_api.py": (
                "import os, httpx\n\ndef test_api():\n    assert httpx.get(os.environ['TARGET_HOST'])\n"
            ),
        },
    )
    api = scan_project(remote).tier("api")
    assert api is not None
    assert not api.in_process
