"""Locust-side load shape: plays the stages stagewise passes in ``STAGEWISE_LOAD_SHAPE``.

``STAGEWISE_LOAD_SHAPE`` is a JSON list of ``{"duration", "users",
"spawn_rate"}``; each stage holds its user count for its duration, then the
next begins, and the run ends after the last.
"""

from __future__ import annotations

import json
import os

from locust import LoadTestShape

_STAGES: list[dict[str, float]] = json.loads(os.environ.get("STAGEWISE_LOAD_SHAPE", "[]") or "[]")


class StagewiseShape(LoadTestShape):
    """The scenario's stages, in order."""

    def tick(self) -> tuple[int, float] | None:
        run_time: float = self.get_run_time()  # type: ignore[no-untyped-call]  # Locust leaves it unannotated
        elapsed = 0.0
        for stage in _STAGES:
            elapsed += float(stage["duration"])
            if run_time < elapsed:
                return int(stage["users"]), float(stage["spawn_rate"])
        return None
