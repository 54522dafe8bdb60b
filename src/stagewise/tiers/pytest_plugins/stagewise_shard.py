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

Shared setup (:func:`shared_setups`): a module-scoped fixture runs in the
setup of the first test of its module that a run reaches, so a test's
recorded time holds all of it, while every shard that runs any test of the
module pays it again. So every run also records, per test, the setup time of
the fixtures wider than a function that its setup ran (:func:`install_fixture_times`,
a ``fixture`` event with the scope). The split takes them off the test: the
module's share (class, module, package scope) becomes a cost of the module,
paid once by a shard when it takes the module's first test, and the session
share is dropped (every shard pays it once whatever it runs). So a module with
an expensive fixture stays together unless balance needs it apart, and the
loads balanced are what the shards will really spend.
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


#: The fixture scopes whose setup a shard pays once per module it runs tests of ("session": once in all).
MODULE_SCOPES = ("class", "module", "package")


def module_of(nodeid: str) -> str:
    """The file part of a node id (``tests/test_a.py::TestX::test_y`` -> ``tests/test_a.py``)."""
    return nodeid.split("::", 1)[0]


def shared_setups(
    nodeids: Sequence[str], durations: Mapping[str, float], fixtures: Mapping[str, Mapping[str, float]]
) -> tuple[dict[str, float], dict[str, float]]:
    """Each known test's own seconds, and each module's shared fixture seconds.

    ``fixtures`` maps a node id to the seconds its setup spent in wider-scoped
    fixtures, by scope (``{"module": 1.5, "session": 0.3}``).
    """
    own = {n: max(float(durations[n]), 0.0) for n in nodeids if n in durations}
    shared: dict[str, float] = {}
    for nodeid in sorted(own):
        scopes = fixtures.get(nodeid) or {}
        module = sum(max(float(scopes.get(scope, 0.0)), 0.0) for scope in MODULE_SCOPES)
        session = max(float(scopes.get("session", 0.0)), 0.0)
        own[nodeid] = max(own[nodeid] - module - session, 0.0)
        if module > 0:  # the largest: merged shard runs record the same fixture on one test per shard
            shared[module_of(nodeid)] = max(shared.get(module_of(nodeid), 0.0), module)
    return own, shared


def split(
    nodeids: Sequence[str],
    durations: Mapping[str, float],
    count: int,
    fixtures: Mapping[str, Mapping[str, float]] | None = None,
) -> list[list[str]]:
    """The node ids of each of ``count`` shards (each list in the order given)."""
    unique = sorted(set(nodeids))
    own, shared = shared_setups(unique, durations, fixtures or {})
    known = sorted(own, key=lambda n: (-own[n], n))
    new = [n for n in unique if n not in own]
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    present: list[set[str]] = [set() for _ in range(count)]
    for nodeid in known:
        module = module_of(nodeid)

        def cost(i: int, module: str = module, seconds: float = own[nodeid]) -> float:
            return loads[i] + seconds + (0.0 if module in present[i] else shared.get(module, 0.0))

        index = min(range(count), key=lambda i: (cost(i), len(shards[i]), i))
        loads[index] = cost(index)
        present[index].add(module)
        shards[index].append(nodeid)
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


def _durations() -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """The recorded test times and wider-scoped fixture times (``{}`` each when there is no file)."""
    path = os.environ.get(DURATIONS_ENV)
    if not path:
        return {}, {}
    try:
        data = json.loads(open(path, encoding="utf-8").read())  # noqa: SIM115 - read once
    except (OSError, ValueError):
        return {}, {}
    if not isinstance(data, dict):
        return {}, {}
    fixtures = data.get("fixtures")
    scoped = {str(k): _seconds(v) for k, v in (fixtures.items() if isinstance(fixtures, dict) else ())}
    return _seconds(data.get("tests")), scoped


def _seconds(table: object) -> dict[str, float]:
    if not isinstance(table, dict):
        return {}
    return {str(k): float(v) for k, v in table.items() if isinstance(v, int | float)}


def install_fixture_times(config: pytest.Config, emit: Callable[[dict[str, Any]], None]) -> None:
    """Record the setup time of each fixture wider than a function, on the test whose setup ran it."""
    config.pluginmanager.register(_fixture_times_class()(emit), "stagewise_fixture_times")


def _fixture_times_class() -> type[Any]:
    import time

    import pytest

    class FixtureTimes:
        """A ``fixture`` event per wider-scoped fixture set up: the test, the scope, the seconds."""

        def __init__(self, emit: Callable[[dict[str, Any]], None]) -> None:
            self.emit = emit
            self.current = ""

        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item: pytest.Item) -> None:
            self.current = item.nodeid

        @pytest.hookimpl(hookwrapper=True)
        def pytest_fixture_setup(self, fixturedef: Any, request: Any) -> Any:
            started = time.perf_counter()
            yield
            scope = str(getattr(fixturedef, "scope", "function"))
            if scope != "function" and self.current:
                self.emit(
                    {
                        "event": "fixture",
                        "nodeid": self.current,
                        "scope": scope,
                        "name": str(getattr(fixturedef, "argname", "")),
                        "duration": time.perf_counter() - started,
                    }
                )

    return FixtureTimes


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
                tests, fixtures = _durations()
                keep = set(split(nodeids, tests, self.count, fixtures)[self.index - 1])
            event["selected"] = len(keep)
            self.emit(event)
            dropped = [item for item in items if item.nodeid not in keep]
            if dropped:
                items[:] = [item for item in items if item.nodeid in keep]
                config.hook.pytest_deselected(items=dropped)

    return ShardPlugin
