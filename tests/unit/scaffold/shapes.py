"""Three throwaway projects of different shapes, written as real files (shared with the CLI tests)."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    """Write ``{relative path: text}`` under ``root`` and return it."""
    root.mkdir(parents=True, exist_ok=True)
    for relative, text in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


def library(root: Path) -> Path:
    """A library: src/ layout, a flat tests/ with sub-packages, pytest testpaths in pyproject."""
    return write_tree(
        root,
        {
            "pyproject.toml": """
                [project]
                name = "tiny-lib"
                version = "1.0"

                [tool.pytest.ini_options]
                testpaths = ["tests"]
                addopts = "-ra --strict-markers"
                markers = ["slow: takes long", "network: needs the internet"]
            """,
            "src/tiny_lib/__init__.py": "def add(a, b):\n    return a + b\n",
            "tests/__init__.py": "",
            "tests/test_add.py": "from tiny_lib import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
            "tests/parsing/__init__.py": "",
            "tests/parsing/test_parse.py": "def test_parse():\n    assert int('3') == 3\n",
            "tests/models/test_models.py": "def test_model():\n    assert True\n",
            ".venv/bin/python": "",
            ".venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.12.3\n",
        },
    )


def fastapi_template(root: Path) -> Path:
    """A FastAPI + PostgreSQL template: tests/api, tests/crud, tests/scripts on a TestClient."""
    return write_tree(
        root,
        {
            "pyproject.toml": """
                [project]
                name = "app"
                version = "0.1.0"

                [tool.pytest.ini_options]
                addopts = "-ra"
            """,
            "app/__init__.py": "",
            "app/core/__init__.py": "",
            "app/core/config.py": """
                from pydantic_settings import BaseSettings


                class Settings(BaseSettings):
                    API_V1_STR: str = "/api/v1"
                    PROJECT_NAME: str = "Full Stack"
                    POSTGRES_SERVER: str
                    POSTGRES_PORT: int = 5432
                    POSTGRES_USER: str
                    POSTGRES_PASSWORD: str = ""
                    POSTGRES_DB: str = ""


                settings = Settings()
            """,
            "app/main.py": """
                from fastapi import FastAPI

                from app.core.config import settings

                app = FastAPI(
                    title=settings.PROJECT_NAME,
                    openapi_url=f"{settings.API_V1_STR}/openapi.json",
                )
            """,
            "alembic.ini": """
                [alembic]
                script_location = app/alembic

                [loggers]
                keys = root
            """,
            "app/alembic/env.py": """
                import os

                from alembic import context


                def get_url():
                    user = os.getenv("POSTGRES_USER", "postgres")
                    password = os.getenv("POSTGRES_PASSWORD", "")
                    server = os.getenv("POSTGRES_SERVER", "db")
                    port = os.getenv("POSTGRES_PORT", "5432")
                    db = os.getenv("POSTGRES_DB", "app")
                    return f"postgresql+psycopg://{user}:{password}@{server}:{port}/{db}"
            """,
            "compose.yaml": """
                services:
                  db:
                    image: postgres:17
                  backend:
                    build: .
                    depends_on:
                      - db
            """,
            "compose.override.yaml": "services:\n  backend:\n    ports:\n      - '8000:8000'\n",
            "Dockerfile": "FROM python:3.12-slim\n",
            ".env": "POSTGRES_SERVER=localhost\nPOSTGRES_USER=postgres\nPOSTGRES_PASSWORD=changethis\n",
            "tests/__init__.py": "",
            "tests/conftest.py": """
                import pytest
                from fastapi.testclient import TestClient
                from sqlmodel import Session

                from app.main import app


                @pytest.fixture
                def client():
                    with TestClient(app) as c:
                        yield c
            """,
            "tests/api/__init__.py": "",
            "tests/api/routes/test_items.py": """
                from fastapi.testclient import TestClient


                def test_items(client: TestClient) -> None:
                    assert client is not None
            """,
            "tests/crud/test_user.py": "from sqlmodel import Session\n\ndef test_user():\n    assert Session\n",
            "tests/scripts/test_backend_pre_start.py": "import sqlmodel\n\ndef test_start():\n    assert sqlmodel\n",
            "tests/utils/user.py": "def random_user():\n    return 'u'\n",
        },
    )


def older_app(root: Path) -> Path:
    """An older app: pytest.ini addopts with cov/fail-under/xdist, unit + integration, two compose files."""
    return write_tree(
        root,
        {
            "pytest.ini": """
                [pytest]
                addopts = --cov=app --cov-fail-under=100 -n auto
                markers =
                    integration: talks to the database
            """,
            "app/__init__.py": "",
            "app/server.py": """
                from flask import Flask

                app = Flask(__name__)


                @app.get("/healthz")
                def health():
                    return "ok"
            """,
            "tests/unit/test_server.py": "def test_ok():\n    assert True\n",
            "tests/integration/test_db.py": "def test_db():\n    assert True\n",
            "docker-compose.dev.yml": "services:\n  web:\n    build: .\n  db:\n    image: postgres:13\n",
            "docker-compose.prod.yml": "services:\n  web:\n    image: registry.example/app:latest\n",
            "locustfile.py": "from locust import HttpUser\n\nclass User(HttpUser):\n    pass\n",
            "Dockerfile": "FROM python:3.9\n",
            ".env.production": "SECRET=x\n",
            ".env.example": "SECRET=\n",
            ".gitignore": "*.pyc\nreports\n",
        },
    )
