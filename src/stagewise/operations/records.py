"""One versioned envelope for every command's ``--json``.

The record's own keys sit at the top level beside ``schema_version`` and
``kind``, so a reader of the unversioned output keeps working. Bump
:data:`SCHEMA_VERSION` when a key changes meaning or goes away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

SCHEMA_VERSION = 1


def envelope(kind: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``{"schema_version": 1, "kind": kind, **record}``."""
    return {"schema_version": SCHEMA_VERSION, "kind": kind, **record}
