"""The run record's types; they live in :mod:`stagewise.tiers.result` (below the report)."""

from __future__ import annotations

from stagewise.tiers.result import GateResult, RunResult

__all__ = ["GateResult", "RunResult"]
