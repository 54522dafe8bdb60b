"""Render the CI file for a project and, when asked, write it where its CI reads it."""

from __future__ import annotations

from pathlib import Path

from stagewise.ci import github, gitlab
from stagewise.ci.plan import MARKER, ci_plan
from stagewise.errors import UsageError
from stagewise.project.model import Project

CIS = {"github": (github.render, github.PATH), "gitlab": (gitlab.render, gitlab.PATH)}


def render_ci(project: Project, which: str) -> str:
    """The CI file's text for ``which`` (github or gitlab)."""
    render, _ = CIS[which]
    return render(ci_plan(project))


def write_ci(project: Project, which: str, *, force: bool = False) -> Path:
    """Write the CI file; a file there that ``stagewise ci`` did not write is kept unless ``force``."""
    _, relative = CIS[which]
    path = project.root / relative
    if path.exists() and not force:
        try:
            first = path.read_text(encoding="utf-8").splitlines()[:1]
        except (OSError, UnicodeDecodeError):
            first = []
        if first != [MARKER]:
            raise UsageError(
                f"{relative} exists and was not written by stagewise ci: pass --force to replace it"
            )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_ci(project, which), encoding="utf-8")
    return path
