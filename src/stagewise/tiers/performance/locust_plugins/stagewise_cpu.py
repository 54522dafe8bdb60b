"""Locust-side meter of the load generator itself: how busy each Locust process was.

A closed-loop load generator that is not the bottleneck spends most of its
time waiting on sockets. One that is busy (on a CPU, or waiting in the run
queue for one because the machine is full) nearly all the time is what
limits the figures, and the target's real capacity is higher than reported.
Locust's own CPU warning is a 10-second ``psutil`` reading only in its log;
this file measures every Locust process (a single one, or the master and each
worker) from ``test_start`` to ``test_stop`` and writes one JSON file per
process into ``STAGEWISE_LOCUST_GENERATOR_DIR`` when it quits:

``{"role", "pid", "wall_s", "cpu_s", "wait_s", "peak_cpu_percent"}``

``cpu_s`` is the process's CPU time (all threads), ``wait_s`` its time
runnable but waiting for a CPU (Linux ``/proc/self/schedstat``; ``null``
elsewhere), ``peak_cpu_percent`` the busiest one-second window.
"""

from __future__ import annotations

import importlib
import json
import os
import time
from typing import Any

from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

_DIR = os.environ.get("STAGEWISE_LOCUST_GENERATOR_DIR", "")
# gevent ships no type stubs; it is only ever called here, through Any.
_gevent: Any = importlib.import_module("gevent")
_state: dict[str, Any] = {"start": None, "end": None, "peak": 0.0, "greenlet": None}


def _wait_s() -> float | None:
    """Seconds this process has spent runnable but waiting for a CPU, where Linux tells."""
    try:
        with open("/proc/self/schedstat", encoding="ascii") as handle:
            return int(handle.read().split()[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return None


def _reading() -> tuple[float, float, float | None]:
    return time.monotonic(), time.process_time(), _wait_s()


def _watch_peak() -> None:
    last = _reading()
    while True:
        _gevent.sleep(1.0)
        now = _reading()
        span = now[0] - last[0]
        if span > 0:
            _state["peak"] = max(_state["peak"], 100.0 * (now[1] - last[1]) / span)
        last = now


def _role(environment: Environment) -> str:
    if isinstance(environment.runner, WorkerRunner):
        return "worker"
    if isinstance(environment.runner, MasterRunner):
        return "master"
    return "local"


def _on_test_start(environment: Environment, **_kwargs: Any) -> None:
    if not _DIR or _state["start"] is not None:
        return
    _state["start"] = _reading()
    _state["greenlet"] = _gevent.spawn(_watch_peak)


def _on_test_stop(environment: Environment, **_kwargs: Any) -> None:
    if _state["start"] is not None and _state["end"] is None:
        _state["end"] = _reading()
        if _state["greenlet"] is not None:
            _state["greenlet"].kill(block=False)


def _on_quitting(environment: Environment, **_kwargs: Any) -> None:
    start = _state["start"]
    if not _DIR or start is None:
        return
    end = _state["end"] or _reading()
    wait = end[2] - start[2] if end[2] is not None and start[2] is not None else None
    record = {
        "role": _role(environment),
        "pid": os.getpid(),
        "wall_s": round(end[0] - start[0], 4),
        "cpu_s": round(end[1] - start[1], 4),
        "wait_s": round(wait, 4) if wait is not None else None,
        "peak_cpu_percent": round(_state["peak"], 1),
    }
    os.makedirs(_DIR, exist_ok=True)
    path = os.path.join(_DIR, f"{record['role']}-{record['pid']}.json")
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(record, handle)
    os.replace(path + ".tmp", path)


# Registered through Any: Locust's EventHook.add_listener is unannotated.
_events: Any = events
_events.test_start.add_listener(_on_test_start)
_events.test_stop.add_listener(_on_test_stop)
_events.quitting.add_listener(_on_quitting)
