"""The project's own interpreter: where its tests, its alembic and its ``{python}`` steps run.

stagewise may live in a venv of its own (pipx, a tools venv) while the project
pins its own pytest, alembic and drivers in another; everything that imports
the project's code runs in ``project.python``. Unset, it is stagewise's own
interpreter (the two share one venv).
"""

from __future__ import annotations

import os
import sys

from stagewise.project.model import Project


def project_python(project: Project) -> str:
    """``project.python`` resolved: a relative path is taken from the project root, a bare name from PATH."""
    if not project.python:
        return sys.executable
    if os.sep not in project.python:
        return project.python
    candidate = os.path.expanduser(project.python)
    if not os.path.isabs(candidate):
        candidate = str(project.root / candidate)
    return candidate
