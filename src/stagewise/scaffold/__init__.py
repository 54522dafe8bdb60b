"""``stagewise init``'s core: scan a project, render a commented project file, write it.

Layer: above ``project`` (it reads the loader's defaults and proves each file
loads), below ``cli``. Nothing here prints or exits.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stagewise.scaffold.render import render_project_file
    from stagewise.scaffold.scan import ProjectScan, scan_project
    from stagewise.scaffold.write import GITIGNORE_LINES, check_loads, update_gitignore, write_project_file

#: Where each public name lives. They are imported on first use: ``stagewise test`` reads
#: the pytest config through ``scaffold.pytest_config``, and importing the scanner and the
#: renderer with it added to every run's start-up (issue 20).
_HOMES = {
    "render_project_file": "render",
    "ProjectScan": "scan",
    "scan_project": "scan",
    "GITIGNORE_LINES": "write",
    "check_loads": "write",
    "update_gitignore": "write",
    "write_project_file": "write",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{home}"), name)


__all__ = [
    "GITIGNORE_LINES",
    "ProjectScan",
    "check_loads",
    "render_project_file",
    "scan_project",
    "update_gitignore",
    "write_project_file",
]
