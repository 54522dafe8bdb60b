"""A small YAML writer for the CI files (block style; every string double-quoted, JSON-escaped).

Enough for mappings, lists, strings, numbers and booleans, so stagewise needs
no YAML library to write a workflow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence


def dump(value: object, indent: int = 0) -> str:
    """``value`` as YAML text, ending in a newline."""
    return "\n".join(_lines(value, indent)) + "\n"


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(str(value))


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, Mapping | list | tuple) and item:
                lines.append(f"{pad}{_key(key)}:")
                lines += _lines(item, indent + 2)
            else:
                lines.append(f"{pad}{_key(key)}: {_empty(item)}")
        return lines
    if isinstance(value, Sequence) and not isinstance(value, str):
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                inner = _lines(item, indent + 2)
                lines.append(f"{pad}- {inner[0].lstrip()}")
                lines += inner[1:]
            else:
                lines.append(f"{pad}- {_empty(item)}")
        return lines
    return [pad + _scalar(value)]


def _empty(item: object) -> str:
    if isinstance(item, Mapping):
        return "{}"
    if isinstance(item, list | tuple):
        return "[]"
    return _scalar(item)


def _key(key: object) -> str:
    text = str(key)
    return text if text.replace("_", "").replace("-", "").isalnum() else json.dumps(text)
