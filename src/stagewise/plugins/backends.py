"""The registry of deploy backends: each entry's metadata and its lazy implementation.

``implementation`` is ``"module:Class"``; the class has a classmethod
``for_stage(project, stage, environment)`` that builds it for one stage (see
:func:`stagewise.backends.registry.make_backend`). Reading the names imports
no backend, so the project loader and ``--help`` stay fast.
"""

from __future__ import annotations

from typing import NamedTuple

from stagewise.registry import Registry


class Spec(NamedTuple):
    """One backend: its name, what it runs on, the tool it needs, and where it lives."""

    name: str
    implementation: str = ""
    summary: str = ""
    #: The external tool the backend drives (``None``: nothing beyond Python).
    tool: str | None = None


BACKENDS: Registry[Spec] = Registry("backend")
BACKENDS.register(
    Spec(
        "local",
        "stagewise.backends.local:LocalBackend",
        "the project's [services.*] as processes on this machine",
    )
)
BACKENDS.register(
    Spec(
        "compose",
        "stagewise.backends.compose:ComposeBackend",
        "one Docker Compose project per stage",
        tool="docker",
    )
)
BACKENDS.register(
    Spec(
        "swarm",
        "stagewise.backends.swarm:SwarmBackend",
        "one Docker Swarm stack per stage (the stage's compose file)",
        tool="docker",
    )
)
