"""Which tools an interpreter has, and every pin it holds: standard library only.

It runs as a script in the project's interpreter (which need not have
stagewise installed: ``python probe_child.py PAIRS``), or in-process when that
interpreter is stagewise's own; in-process there is no child to start, which
also spares a user whose interpreter lives in a home they cannot search.
"""

from __future__ import annotations

import importlib.util
import json
import platform
import sys


def answer(pairs: list[list[str]], pins: bool = True) -> tuple[dict[str, str | None], list[str]]:
    """Each tool's version ("" unknown, None absent) and every installed ``Name==1.0``; nothing imported.

    Listing every distribution costs tens of milliseconds in a large venv, and only an
    install needs the pins: ``pins=False`` leaves them out (an empty list).
    """
    from importlib import metadata  # imported when asked: it costs more than the rest of the probe

    found: dict[str, str | None] = {}
    for module, package in pairs:
        if importlib.util.find_spec(module) is None:
            found[module] = None
            continue
        try:
            found[module] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[module] = ""
    if not pins:
        return found, []
    held: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"]
        if name and dist.version and name.lower() not in held:
            held[name.lower()] = f"{name}=={dist.version}"
    return found, sorted(held.values())


if __name__ == "__main__":
    tools, installed = answer(json.loads(sys.argv[1]), pins=sys.argv[2:] != ["--no-pins"])
    # sys.path: what the answer depends on (stagewise.tiers.probe_cache stamps each entry).
    out = {
        "tools": tools,
        "installed": installed,
        "python": platform.python_version(),
        "sys_path": sys.path[1:],
    }
    sys.stdout.write(json.dumps(out))
