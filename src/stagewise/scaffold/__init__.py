"""``stagewise init``'s core: scan a project, render a commented project file, write it.

Layer: above ``project`` (it reads the loader's defaults and proves each file
loads), below ``cli``. Nothing here prints or exits.
"""

from stagewise.scaffold.render import render_project_file
from stagewise.scaffold.scan import ProjectScan, scan_project
from stagewise.scaffold.write import GITIGNORE_LINES, check_loads, update_gitignore, write_project_file

__all__ = [
    "GITIGNORE_LINES",
    "ProjectScan",
    "check_loads",
    "render_project_file",
    "scan_project",
    "update_gitignore",
    "write_project_file",
]
