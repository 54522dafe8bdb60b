"""Write the project file and the ``.gitignore`` lines; check the text loads first.

Nothing here prints. An existing project file is never replaced unless asked
(:class:`~stagewise.errors.UsageError`, exit 2, otherwise), and ``.gitignore``
only ever gains the lines it lacks.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from stagewise.errors import UsageError
from stagewise.project.loader import PROJECT_FILE, load_project

GITIGNORE_LINES: tuple[str, ...] = ("reports/", "backups/", ".stagewise/")


def check_loads(text: str) -> None:
    """Load ``text`` with stagewise's own loader (a ConfigError, exit 3, if it would not)."""
    with tempfile.TemporaryDirectory(prefix="stagewise-init-") as scratch:
        Path(scratch, PROJECT_FILE).write_text(text, encoding="utf-8")
        load_project(Path(scratch))


def write_project_file(root: Path, text: str, *, force: bool, has_tool_table: bool = False) -> Path:
    """Write ``root/stagewise.toml`` atomically; refuse to replace one unless ``force``."""
    path = root / PROJECT_FILE
    if not force:
        if path.exists():
            raise UsageError(f"{path} already exists; not overwritten (use --force to replace it)")
        if has_tool_table:
            raise UsageError(
                f"{root / 'pyproject.toml'} already has [tool.stagewise]; "
                "use --force to write a stagewise.toml that takes its place"
            )
    check_loads(text)
    scratch = path.with_name(f".{PROJECT_FILE}.init-{os.getpid()}")
    scratch.write_text(text, encoding="utf-8")
    os.replace(scratch, path)
    return path


def update_gitignore(root: Path, lines: tuple[str, ...] = GITIGNORE_LINES) -> tuple[str, ...]:
    """Append the lines ``.gitignore`` lacks (``reports``, ``/reports/`` count as present)."""
    path = root / ".gitignore"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    present = {line.strip().strip("/") for line in text.splitlines()}
    missing = tuple(line for line in lines if line.strip("/") not in present)
    if not missing:
        return ()
    if text and not text.endswith("\n"):
        text += "\n"
    path.write_text(text + "".join(f"{line}\n" for line in missing), encoding="utf-8")
    return missing
