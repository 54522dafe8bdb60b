"""The project layer: project file -> typed model, env files, stage policy."""

from stagewise.project.loader import find_project_root, load_project
from stagewise.project.model import Project, StageConfig, TierConfig

__all__ = ["Project", "StageConfig", "TierConfig", "find_project_root", "load_project"]
