"""The one place a database driver's own exception becomes a stagewise error.

psycopg and sqlite3 raise their own types; a caller of :mod:`stagewise.dataops`
sees only :class:`~stagewise.errors.StagewiseError` subclasses with one line
of text (passwords in URLs masked), never a traceback.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

from stagewise.errors import DeployError, MissingError, StagewiseError
from stagewise.project.env import known_secrets, mask_text


def translate(exc: BaseException) -> StagewiseError | None:
    """The stagewise error for a driver's (or the disk's) exception; ``None`` when it is neither."""
    if isinstance(exc, sqlite3.Error):
        return DeployError(f"SQLite refused: {str(exc).strip() or type(exc).__name__}")
    if isinstance(exc, OSError):  # disk full, permissions: the file and the reason
        return MissingError(f"{exc.filename or 'a file'}: {exc.strerror or exc}")
    if isinstance(exc, Exception) and type(exc).__module__.split(".")[0] == "psycopg":
        # A driver's message starts with its cause; DETAIL/HINT/LINE context follows it.
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return DeployError(f"PostgreSQL refused: {mask_text(first, known_secrets())}")
    return None


@contextlib.contextmanager
def database_errors() -> Iterator[None]:
    """Raise :func:`translate`'s error (``from`` the original) for what the block raises."""
    try:
        yield
    except StagewiseError:
        raise
    except Exception as exc:
        mapped = translate(exc)
        if mapped is None:
            raise
        raise mapped from exc
