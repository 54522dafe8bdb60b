"""Locust-side probe: what Locust's own files leave out, written as one JSON file.

Locust's ``--json-file`` has the final per-endpoint histograms but no user
count over time, no failures by type and no exceptions; its CSV files are
written on a timer and can miss the last second. This probe samples the
runner every ``STAGEWISE_LOCUST_PROBE_INTERVAL`` seconds and writes
``STAGEWISE_LOCUST_PROBE`` when Locust quits. It does nothing on workers: the
master holds the merged statistics.

It also makes ``--run-time`` mean what it says: Locust arms that timer with
``gevent.spawn_later``, which counts from the event loop's cached clock, last
read before Locust imported the locustfile. On a loaded machine that import
takes seconds, and a 4-second run stopped after 2. Refreshing the clock at
``init`` (just before the timer is armed) gives the full duration.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import WorkerRunner

_OUT = os.environ.get("STAGEWISE_LOCUST_PROBE", "")
_INTERVAL = float(os.environ.get("STAGEWISE_LOCUST_PROBE_INTERVAL", "1") or 1)
# gevent ships no type stubs; it is only ever called here, through Any.
_gevent: Any = importlib.import_module("gevent")
#: Samples in the sliding window for requests/s and percentiles.
_WINDOW = max(int(5 / _INTERVAL), 1)
_samples: list[dict[str, Any]] = []
_state: dict[str, Any] = {"greenlet": None, "started": None}


def _active(environment: Environment) -> bool:
    return bool(_OUT) and environment.runner is not None and not isinstance(environment.runner, WorkerRunner)


def _percentile(histogram: dict[int, int], fraction: float) -> float | None:
    """Locust's percentile algorithm over a histogram of rounded response times."""
    total = sum(histogram.values())
    if total == 0:
        return None
    wanted = int(total * fraction)
    processed = 0
    for response_time in sorted(histogram, reverse=True):
        processed += histogram[response_time]
        if total - processed <= wanted:
            return float(response_time)
    return 0.0


def _sample(environment: Environment) -> None:
    """Every interval: users, requests/s and p50/p95 over the last few seconds.

    Percentiles over a sliding window (the difference between two snapshots
    of the cumulative histogram) show drift that cumulative figures hide.
    """
    started = _state["started"] or time.time()
    window: list[tuple[float, int, int, dict[int, int]]] = []
    while True:
        total = environment.stats.total
        runner = environment.runner
        now = time.time()
        snapshot = (now, total.num_requests, total.num_failures, dict(total.response_times))
        window.append(snapshot)
        del window[: -(_WINDOW + 1)]
        oldest = window[0]
        span = max(now - oldest[0], 1e-6)
        delta = {k: v - oldest[3].get(k, 0) for k, v in snapshot[3].items() if v - oldest[3].get(k, 0) > 0}
        _samples.append(
            {
                "t": round(now - started, 3),
                "users": runner.user_count if runner is not None else 0,
                "rps": round((snapshot[1] - oldest[1]) / span, 3) if len(window) > 1 else 0.0,
                "fail_per_s": round((snapshot[2] - oldest[2]) / span, 3) if len(window) > 1 else 0.0,
                "p50_ms": _percentile(delta, 0.5),
                "p95_ms": _percentile(delta, 0.95),
                "requests": snapshot[1],
                "failures": snapshot[2],
            }
        )
        _gevent.sleep(_INTERVAL)


def _on_init(environment: Environment, **_kwargs: Any) -> None:
    _gevent.get_hub().loop.update_now()


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if not _active(environment) or _state["greenlet"] is not None:
        return
    _state["started"] = time.time()
    _state["greenlet"] = _gevent.spawn(_sample, environment)


def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    if not _active(environment):
        return
    greenlet = _state["greenlet"]
    if greenlet is not None:
        greenlet.kill(block=False)
    runner = environment.runner
    errors = [
        {"method": e.method, "name": e.name, "error": str(e.error), "occurrences": e.occurrences}
        for e in environment.stats.errors.values()
    ]
    exceptions = [
        {"count": e["count"], "msg": str(e["msg"]), "traceback": str(e["traceback"])[-2000:]}
        for e in (runner.exceptions.values() if runner is not None else [])
    ]
    options = environment.parsed_options
    record = {
        "host": environment.host,
        "samples": _samples,
        "peak_users": max((s["users"] for s in _samples), default=0),
        "errors": errors,
        "exceptions": exceptions,
        "options": {
            "users": getattr(options, "num_users", None),
            "spawn_rate": getattr(options, "spawn_rate", None),
            "run_time": getattr(options, "run_time", None),
            "processes": getattr(options, "processes", None),
        },
    }
    temporary = _OUT + ".tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(temporary, _OUT)


# Registered through Any: Locust's EventHook.add_listener is unannotated.
_events: Any = events
_events.init.add_listener(_on_init)
_events.test_start.add_listener(_on_test_start)
_events.quitting.add_listener(_on_quitting)
