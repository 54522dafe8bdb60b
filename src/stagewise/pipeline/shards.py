"""``stagewise test --shard K/N``: the pipeline's half of splitting a run across N runners.

The split itself happens inside pytest (``pytest_plugins/stagewise_shard.py``),
over the tests pytest collected, by the durations in
``.stagewise/durations.json`` (:mod:`stagewise.pipeline.durations`). This
module parses the flag, names the child's environment, and reads back a
shard that had to refuse (fewer tests than shards) as a usage error.
"""

from __future__ import annotations

import json
from pathlib import Path

from stagewise.errors import UsageError
from stagewise.pipeline.durations import durations_path
from stagewise.tiers.pytest_plugins.stagewise_shard import DURATIONS_ENV, SHARD_ENV, parse, split

__all__ = ["parse_shard", "refused_shard", "shard_env", "split"]


def parse_shard(spec: str) -> tuple[int, int]:
    """``"K/N"`` -> ``(K, N)``, or a usage error naming the form."""
    parsed = parse(spec.strip())
    if parsed is None:
        raise UsageError(f"--shard {spec}: expected K/N with 1 <= K <= N, e.g. --shard 2/4")
    return parsed


def shard_env(root: Path, shard: tuple[int, int]) -> dict[str, str]:
    """The pytest child's environment for shard ``K/N`` of the project at ``root``."""
    return {SHARD_ENV: f"{shard[0]}/{shard[1]}", DURATIONS_ENV: str(durations_path(root))}


def refused_shard(run_dir: Path) -> str | None:
    """The one line for a tier whose shard refused to run (fewer tests than shards), else ``None``."""
    for record in sorted(run_dir.glob("*.attempts.jsonl")):
        for line in record.read_text(encoding="utf-8", errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if isinstance(event, dict) and event.get("event") == "shard" and event.get("refused"):
                tier = record.name.removeprefix("junit-").removesuffix(".attempts.jsonl")
                count = event.get("count")
                return (
                    f"--shard {event.get('index')}/{count}: the {tier} tier has only "
                    f"{event.get('total')} test(s) for {count} shards, so a shard would be empty; "
                    f"use at most --shard K/{event.get('total')}"
                )
    return None
