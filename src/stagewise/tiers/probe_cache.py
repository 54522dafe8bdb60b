"""Remembered answers of the tool probe, so a run does not start the project's interpreter to ask again.

Why: asking another interpreter which tools it has means starting it (50-200 ms,
more on a loaded machine) before every run, for an answer that changes only when
something is installed or removed there. An answer is kept with a stamp of
everything it depends on: the interpreter file itself and every entry of that
interpreter's ``sys.path`` (its site-packages directories change their mtime
whenever pip adds, removes or upgrades a distribution, an editable install or a
``.pth`` file), plus the environment variables that change ``sys.path``. Any
change in the stamp, and the interpreter is asked again. The cache lives in
``$XDG_CACHE_HOME/stagewise/probes`` (default ``~/.cache``); a cache that cannot
be read or written is never an error, only a probe that runs.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

#: Variables that change the probed interpreter's ``sys.path`` (and so its answer).
_PATH_VARIABLES = ("PYTHONPATH", "PYTHONHOME", "PYTHONNOUSERSITE", "PYTHONUSERBASE", "PYTHONSAFEPATH")
_VERSION = 1


def cache_dir() -> Path:
    """Where probe answers are kept (``STAGEWISE_PROBE_CACHE`` overrides, ``off`` disables)."""
    override = os.environ.get("STAGEWISE_PROBE_CACHE", "")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "stagewise" / "probes"


def _enabled() -> bool:
    return os.environ.get("STAGEWISE_PROBE_CACHE", "") != "off"


def _stamp(path: str) -> list[Any]:
    """``[path, mtime_ns, size]`` of what a path names now (``None``s when it does not exist)."""
    try:
        info = os.stat(path)
    except OSError:
        return [path, None, None]
    return [path, info.st_mtime_ns, info.st_size if not os.path.isdir(path) else 0]


def _located(python: str) -> str | None:
    """The interpreter's path: a bare name is looked up on PATH (``None``: not found, not cached)."""
    found = python if os.sep in python else shutil.which(python)
    return os.path.abspath(found) if found else None


def _key(python: str, question: Sequence[Any]) -> str:
    return json.dumps([_VERSION, python, list(question), [os.environ.get(v) for v in _PATH_VARIABLES]])


def _entry_file(key: str) -> Path:
    # crc32, not hashlib: importing hashlib loads OpenSSL, on every run. The entry holds its
    # whole key, so two keys sharing a file name only ever replace each other's entry.
    return cache_dir() / f"{zlib.crc32(key.encode()):08x}-{len(key)}.json"


def _stamps(python: str, sys_path: Sequence[str]) -> list[list[Any]]:
    # The interpreter as named (a venv's symlink) and what it points to, then its sys.path.
    own = [python, os.path.realpath(python)]
    return [_stamp(p) for p in own] + [_stamp(p) for p in sys_path if p]


def load(python: str, question: Sequence[Any]) -> dict[str, Any] | None:
    """The answer kept for ``question`` to ``python``, if nothing it depends on changed since."""
    located = _located(python) if _enabled() else None
    if located is None:
        return None
    python = located
    key = _key(python, question)
    try:
        entry = json.loads(_entry_file(key).read_text(encoding="utf-8"))
        if entry["key"] != key or entry["stamps"] != _stamps(python, entry["sys_path"]):
            return None
        answer = entry["answer"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return answer if isinstance(answer, dict) else None


def store(python: str, question: Sequence[Any], answer: dict[str, Any], sys_path: Sequence[str]) -> None:
    """Keep ``answer`` (given with the interpreter's ``sys.path``); failures to write are ignored."""
    located = _located(python) if _enabled() else None
    if located is None:
        return
    python = located
    key = _key(python, question)
    target = _entry_file(key)
    entry = {"key": key, "stamps": _stamps(python, sys_path), "sys_path": list(sys_path), "answer": answer}
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        partial.write_text(json.dumps(entry), encoding="utf-8")
        os.replace(partial, target)  # readers see the old entry or the new one, never half of one
    except OSError:
        return
