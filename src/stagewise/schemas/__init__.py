"""The JSON Schemas stagewise ships: the project file and a run's ``summary.json``.

Plain files inside the package (package data), so an editor can point at them
by path; :func:`schema_path` finds them wherever the package is installed.
"""

from __future__ import annotations

from pathlib import Path

#: schema name -> file beside this module
SCHEMAS = {"toml": "stagewise.toml.schema.json", "summary": "summary.schema.json"}


def schema_path(which: str) -> Path:
    """The file of schema ``which`` (a key of :data:`SCHEMAS`)."""
    return Path(__file__).with_name(SCHEMAS[which])
