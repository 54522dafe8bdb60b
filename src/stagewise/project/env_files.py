"""Env files, read as python-dotenv reads them, with stagewise's line-numbered errors.

Why python-dotenv: a project's ``.env`` is shared with the app's own settings
(pydantic-settings, Flask, Django-environ all load it with python-dotenv) and
with Docker Compose. A hand-written reader disagreed with them on quotes
followed by a comment, escapes, ``${VAR}`` expansion and multi-line values, so
the tests ran against values the app never sees. The parsing and the
expansion are python-dotenv's own (:func:`dotenv.parser.parse_stream`,
:func:`dotenv.variables.parse_variables`); stagewise adds only what dotenv
leaves out:

- a statement dotenv cannot parse is a :class:`ConfigError` (exit 3) naming
  the file and the line, where python-dotenv only logs a warning and carries
  on without the variable;
- expansion runs across the stage's files, in their order, and against the
  process environment *given* (not ``os.environ``), with dotenv's
  ``load_dotenv()`` precedence: a variable set in the process environment
  wins over the files in ``${VAR}`` too, as it wins for the final value;
- each listed file is followed by its ``.local`` override (``.env`` then
  ``.env.local``, ``.env.<stage>`` then ``.env.<stage>.local``), the
  convention of Vite, Next.js and create-react-app for untracked overrides.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from stagewise.errors import ConfigError

if TYPE_CHECKING:
    from dotenv.parser import Binding

# python-dotenv is imported where a file is read: its package imports logging and more, a
# cost every `stagewise test` paid before its child started, with or without env files.

LOCAL_SUFFIX = ".local"
_NEWLINE = re.compile(r"\r\n|\n|\r")
_QUOTED_HEAD = re.compile(r"(?:export\s+)?[^=\s#]+[^\S\r\n]*=[^\S\r\n]*(?P<quote>['\"])")
#: The rest of a quoted value up to its closing quote (a backslash escapes the next character).
_CLOSED = {q: re.compile(rf"(?:\\.|[^{q}\\])*{q}", re.DOTALL) for q in "'\""}


@dataclass(frozen=True)
class FileValue:
    """A variable's value from the env files and the file that set it last."""

    value: str
    source: str


def stage_file_order(env_files: Iterable[str]) -> tuple[str, ...]:
    """The files a stage reads, in order: each listed file, then its ``.local`` override.

    A ``.local`` file that is itself listed keeps the place it is listed at (a
    project that put ``.env.local`` last, to win over ``.env.dev``, keeps that),
    and a file already ending in ``.local`` has no override of its own.
    """
    listed = tuple(env_files)
    order: list[str] = []
    for relative in listed:
        for name in (relative, f"{relative}{LOCAL_SUFFIX}"):
            if name in order or (name != relative and (name in listed or relative.endswith(LOCAL_SUFFIX))):
                continue
            order.append(name)
    return tuple(order)


def read_bindings(path: Path, label: str | None = None) -> list[tuple[str, str | None]]:
    """The ``(name, raw value)`` statements of one env file, in order, unexpanded.

    A name with no ``=`` (dotenv's "declared, no value") has the value None.
    ``label`` is how errors name the file (default: its path).
    """
    where = label or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(where, "(file)", f"cannot be read: {exc}") from exc
    bindings: list[tuple[str, str | None]] = []
    from dotenv.parser import parse_stream

    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            raise ConfigError(where, f"line {_statement_line(binding)}", _problem(binding))
        if binding.key is None:
            continue  # blank lines and comments
        if "\x00" in binding.key or "\x00" in (binding.value or ""):
            raise ConfigError(where, f"line {_statement_line(binding)}", "contains a NUL character")
        bindings.append((binding.key, binding.value))
    return bindings


def expand(raw: str, known: Mapping[str, str], process_env: Mapping[str, str]) -> str:
    """``${VAR}`` and ``${VAR:-default}`` in ``raw``, as python-dotenv expands them.

    ``known`` holds the values read so far; the process environment wins over
    them (``load_dotenv(override=False)``), as it wins for the final value. As
    in python-dotenv, the default applies only to an unset variable (an empty
    one stays empty) and a bare ``$VAR`` is left as written.
    """
    env: dict[str, str | None] = {**known, **process_env}
    from dotenv.variables import parse_variables

    return "".join(atom.resolve(env) for atom in parse_variables(raw))


def parse_env_file(path: Path, process_env: Mapping[str, str] | None = None) -> dict[str, str]:
    """One env file's variables, expanded against themselves and ``process_env`` (default: none)."""
    values: dict[str, str] = {}
    for name, raw in read_bindings(path):
        if raw is not None:
            values[name] = expand(raw, values, process_env or {})
    return values


def read_stage_files(
    root: Path, env_files: Iterable[str], process_env: Mapping[str, str]
) -> tuple[dict[str, FileValue], tuple[str, ...]]:
    """The variables a stage's env files set, with the file each came from, and the files read.

    Missing files are skipped (every one is optional); later files win.
    """
    values: dict[str, FileValue] = {}
    known: dict[str, str] = {}
    files_read: list[str] = []
    for relative in stage_file_order(env_files):
        path = root / relative
        if not path.is_file():
            continue
        files_read.append(relative)
        for name, raw in read_bindings(path):
            if raw is None:
                continue  # ``NAME`` alone sets nothing (load_dotenv skips it too)
            known[name] = expand(raw, known, process_env)
            values[name] = FileValue(known[name], relative)
    return values, tuple(files_read)


def _statement_line(binding: Binding) -> int:
    """The line the failed statement is on: dotenv counts from the blank lines before it."""
    original = binding.original.string
    leading = original[: len(original) - len(original.lstrip())]
    return binding.original.line + len(_NEWLINE.findall(leading))


def _problem(binding: Binding) -> str:
    """What is wrong with a statement, without echoing it (it may hold a secret)."""
    statement = binding.original.string.strip()
    head = _QUOTED_HEAD.match(statement)
    if head is None:
        return "expected NAME=value (python-dotenv cannot parse this line)"
    quote = head.group("quote")
    if _CLOSED[quote].match(statement, head.end()) is None:
        return f"the value's opening {quote} is never closed"
    return f"only a # comment may follow the {quote}-quoted value that starts here (is a {quote} left open?)"
