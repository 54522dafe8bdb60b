"""The cause line: real failure outputs, as the tools print them."""

from __future__ import annotations

from stagewise.cause import MAX_LENGTH, cause_line

SQLALCHEMY = """\
Traceback (most recent call last):
  File "/app/.venv/lib/python3.11/site-packages/sqlalchemy/engine/base.py", line 145, in __init__
    self._dbapi_connection = engine.raw_connection()
psycopg.OperationalError: connection failed: FATAL:  database "rw_dev" does not exist

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/app/alembic/env.py", line 80, in run_migrations_online
sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: FATAL:  database "rw_dev" does not exist
(Background on this error at: https://sqlalche.me/e/20/e3q8)
"""

PYDANTIC = """\
Traceback (most recent call last):
  File "/app/app/core/config.py", line 40, in <module>
    settings = Settings()
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
SECRET_KEY
  Field required [type=missing, input_value={...}, input_type=dict]
    For further information visit https://errors.pydantic.dev/2.5/v/missing
"""


def test_the_exception_line_wins_over_the_docs_link() -> None:
    line = cause_line(SQLALCHEMY)
    assert line.startswith("sqlalchemy.exc.OperationalError:")
    assert 'database "rw_dev" does not exist' in line


def test_a_missing_setting_names_its_field() -> None:
    assert cause_line(PYDANTIC).startswith("SECRET_KEY: Field required")


def test_a_tool_error_line_is_found_when_no_exception_is_printed() -> None:
    output = "Creating network app_default\nERROR: for web  Container is unhealthy\nSome trailing note\n"
    assert cause_line(output) == "ERROR: for web  Container is unhealthy"


def test_plain_output_falls_back_to_its_last_line_and_empty_output_to_the_fallback() -> None:
    assert cause_line("step one\nstep two\n") == "step two"
    assert cause_line("", fallback="nothing printed") == "nothing printed"
    assert cause_line("\n\n  \n") == "(no output)"


def test_a_long_line_is_cut() -> None:
    line = cause_line("RuntimeError: " + "x" * 1000)
    assert len(line) == MAX_LENGTH
    assert line.endswith("…")
