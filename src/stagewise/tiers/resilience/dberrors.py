"""PostgreSQL driver errors met in the resilience tier, turned into stagewise errors in one place.

psycopg raises its own exception tree (``psycopg.Error``: OperationalError for
a database that does not answer, ProgrammingError, IntegrityError, ...). Where
the tier meets one while building or checking the topology it becomes a
:class:`~stagewise.errors.MissingError` (exit 4: the database the run needs is
not there or not usable), naming what was being done, with the driver's error
chained as its cause. psycopg is optional and loads lazily, so it is looked up
only if something imported it already: nothing else can raise its errors.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from stagewise.errors import MissingError


def is_driver_error(exc: BaseException) -> bool:
    """Whether ``exc`` comes from the PostgreSQL driver (psycopg)."""
    psycopg = sys.modules.get("psycopg")
    base = getattr(psycopg, "Error", None)
    return isinstance(base, type) and isinstance(exc, base)


def driver_error(exc: BaseException, what: str) -> MissingError:
    """The stagewise error for a driver error met while doing ``what``."""
    detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return MissingError(f"{what}: {detail}")


@contextmanager
def database_errors(what: str) -> Iterator[None]:
    """Within the block, a driver error becomes :func:`driver_error` (``raise ... from`` it)."""
    try:
        yield
    except Exception as exc:
        if not is_driver_error(exc):
            raise
        raise driver_error(exc, what) from exc


__all__ = ["database_errors", "driver_error", "is_driver_error"]
