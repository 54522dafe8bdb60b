"""pytest plugin half of ``stagewise test --shard K/N``: keep this shard's tests, deselect the rest.

Standalone (it imports nothing from stagewise) so any test interpreter can
load it; ``stagewise_record`` registers it when ``STAGEWISE_SHARD`` is set.
The split is computed here, from the tests pytest actually collected, so it
works the same on pytest 7, 8 and 9 and on every xdist worker: every runner
collects the same node ids and computes the same split.

The split (:func:`split`): longest processing time first over the tests
with a recorded duration (``STAGEWISE_DURATIONS``, a JSON file of node id ->
seconds, setup and teardown counted with the test), each to the shard with
the least time so far; then tests without a duration, each to the shard with
the fewest tests (round-robin when the shards are even). Ties break by node
id and shard index, so the result depends on nothing but its input. With
fewer tests than shards nothing is run and a ``shard`` event says so; the
pipeline turns it into a usage error.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pytest is imported only inside pytest (install): stagewise's core imports split/parse
    import pytest

SHARD_ENV = "STAGEWISE_SHARD"
DURATIONS_ENV = "STAGEWISE_DURATIONS"


def split(nodeids: Sequence[str], durations: Mapping[str, float], count: int) -> list[list[str]]:
    """The node ids of each of ``count`` shards (each list in the order given)."""
    unique = sorted(set(nodeids))
    known = sorted((n for n in unique if n in durations), key=lambda n: (-float(durations[n]), n))
    new = [n for n in unique if n not in durations]
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for nodeid in known:
        index = min(range(count), key=lambda i: (loads[i], len(shards[i]), i))
        shards[index].append(nodeid)
        loads[index] += max(float(durations[nodeid]), 0.0)
    for nodeid in new:
        index = min(range(count), key=lambda i: (len(shards[i]), loads[i], i))
        shards[index].append(nodeid)
    order = {n: i for i, n in enumerate(nodeids)}
    return [sorted(s, key=order.__getitem__) for s in shards]


def parse(spec: str) -> tuple[int, int] | None:
    """``"K/N"`` -> ``(K, N)`` with 1 <= K <= N, else ``None``."""
    index, sep, count = spec.partition("/")
    if not sep or not index.isdigit() or not count.isdigit():
        return None
    k, n = int(index), int(count)
    return (k, n) if 1 <= k <= n else None


def _durations() -> dict[str, float]:
    path = os.environ.get(DURATIONS_ENV)
    if not path:
        return {}
    try:
        data = json.loads(open(path, encoding="utf-8").read())  # noqa: SIM115 - read once
    except (OSError, ValueError):
        return {}
    tests = data.get("tests", {}) if isinstance(data, dict) else {}
    return {str(k): float(v) for k, v in tests.items() if isinstance(v, int | float)}


def install(config: pytest.Config, emit: Callable[[dict[str, Any]], None]) -> None:
    """Register the shard plugin when ``STAGEWISE_SHARD`` names a valid ``K/N``."""
    parsed = parse(os.environ.get(SHARD_ENV, ""))
    if parsed is not None:
        plugin = _plugin_class()(parsed[0], parsed[1], emit)
        config.pluginmanager.register(plugin, "stagewise_shard_split")


def _plugin_class() -> type[Any]:
    """The plugin class, made inside pytest only: its hook marker needs pytest imported."""
    import pytest  # here, not at the top: this module is also imported where pytest is absent

    class ShardPlugin:
        """Deselects the tests that belong to the other shards."""

        def __init__(self, index: int, count: int, emit: Callable[[dict[str, Any]], None]) -> None:
            self.index = index
            self.count = count
            self.emit = emit

        @pytest.hookimpl(trylast=True)  # after -k/-m and other plugins: split what would run
        def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
            nodeids = [item.nodeid for item in items]
            event: dict[str, Any] = {
                "event": "shard",
                "index": self.index,
                "count": self.count,
                "total": len(set(nodeids)),
            }
            if len(set(nodeids)) < self.count:
                keep: set[str] = set()
                event["refused"] = True
            else:
                keep = set(split(nodeids, _durations(), self.count)[self.index - 1])
            event["selected"] = len(keep)
            self.emit(event)
            dropped = [item for item in items if item.nodeid not in keep]
            if dropped:
                items[:] = [item for item in items if item.nodeid in keep]
                config.hook.pytest_deselected(items=dropped)

    return ShardPlugin
