"""The Reporter protocol: how progress leaves the core without printing.

The CLI implements it (rich on a terminal, plain lines otherwise); tests use
a recording one. The core calls these methods and never touches stdout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from stagewise.tiers.result import TierResult


class Reporter(Protocol):
    """Receives progress events in order; must not raise."""

    def run_started(self, run_id: str, stage: str, target: str, tiers: Sequence[str]) -> None: ...

    def tier_started(self, tier: str, command: Sequence[str]) -> None: ...

    def output(self, tier: str, line: str) -> None: ...

    def tier_finished(self, result: TierResult) -> None: ...

    def note(self, message: str) -> None: ...
