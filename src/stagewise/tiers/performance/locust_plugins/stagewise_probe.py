"""Locust-side probe: what Locust's own files leave out, written as one JSON file.

Locust's ``--json-file`` has the final per-endpoint histograms but no user
count over time, no failures by type and no exceptions; its CSV files are
written on a timer and can miss the last second. This probe samples the
runner every ``STAGEWISE_LOCUST_PROBE_INTERVAL`` seconds and writes
``STAGEWISE_LOCUST_PROBE`` when Locust quits. It does nothing on workers: the
master holds the merged statistics.
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
_samples: list[dict[str, Any]] = []
_state: dict[str, Any] = {"greenlet": None, "started": None}


def _active(environment: Environment) -> bool:
    return bool(_OUT) and environment.runner is not None and not isinstance(environment.runner, WorkerRunner)


def _percentile(environment: Environment, fraction: float) -> float | None:
    try:
        value = environment.stats.total.get_current_response_time_percentile(fraction)
    except (ValueError, KeyError):  # no response-time cache or no data yet
        return None
    return float(value) if value is not None else None


def _sample(environment: Environment) -> None:
    started = _state["started"] or time.time()
    while True:
        total = environment.stats.total
        runner = environment.runner
        _samples.append(
            {
                "t": round(time.time() - started, 3),
                "users": runner.user_count if runner is not None else 0,
                "rps": round(float(total.current_rps), 3),
                "fail_per_s": round(float(total.current_fail_per_sec), 3),
                "p50_ms": _percentile(environment, 0.5),
                "p95_ms": _percentile(environment, 0.95),
                "requests": total.num_requests,
                "failures": total.num_failures,
            }
        )
        _gevent.sleep(_INTERVAL)


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
_events.test_start.add_listener(_on_test_start)
_events.quitting.add_listener(_on_quitting)
