"""Driver errors met in the resilience tier become stagewise errors in one place."""

from __future__ import annotations

import pytest

from stagewise.errors import ExitCode, MissingError
from stagewise.tiers.resilience.dberrors import database_errors, is_driver_error
from stagewise.tiers.resilience.postgres import connect, free_port


def test_a_database_that_does_not_answer_becomes_a_missing_error_naming_the_step() -> None:
    # psycopg is in the dev install (the resilience extra): no skip, a missing driver fails here.
    url = f"postgresql://postgres@127.0.0.1:{free_port()}/postgres"  # nothing listens there
    with pytest.raises(MissingError, match=r"^creating the tables: ") as caught:  # noqa: SIM117 - the order matters
        with database_errors("creating the tables"), connect(url, timeout=1):
            pass
    assert is_driver_error(caught.value.__cause__ or caught.value)
    assert caught.value.exit_code == ExitCode.MISSING


def test_other_errors_pass_through_untouched() -> None:
    with pytest.raises(ValueError, match="not the driver"), database_errors("anything"):
        raise ValueError("not the driver")
    assert not is_driver_error(ValueError("x"))
