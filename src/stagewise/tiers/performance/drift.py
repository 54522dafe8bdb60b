"""Endurance runs: sample the target's memory while Locust runs, and measure drift.

Memory comes from the target's own Prometheus endpoint (``memory_metric`` at
``metrics_path``, which works for a remote target) or, for a local target,
from ``/proc/<pid>/status`` of the process in ``pid_file``. Drift compares
the median of the first quarter of samples with the median of the last
quarter: a steady service stays flat, a leak or a filling cache grows.
"""

from __future__ import annotations

import re
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stagewise.tiers.performance.gates import GateCheck

MemoryReader = Callable[[], float | None]
_VMRSS = re.compile(r"^VmRSS:\s+(\d+)\s+kB", re.MULTILINE)


def pid_memory_reader(pid_file: Path) -> MemoryReader:
    """Resident memory (bytes) of the process whose id is in ``pid_file``."""

    def read() -> float | None:
        try:
            pid = int(pid_file.read_text(encoding="utf-8").strip())
            status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
        except (OSError, ValueError):
            return None
        match = _VMRSS.search(status)
        return float(match.group(1)) * 1024 if match else None

    return read


def metrics_memory_reader(url: str, metric: str, timeout: float = 3.0) -> MemoryReader:
    """The value of ``metric`` (summed over its label sets) in Prometheus text at ``url``."""
    import urllib.error
    import urllib.request

    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    line = re.compile(rf"^{re.escape(metric)}(?:\{{[^}}]*\}})?\s+([0-9.eE+-]+)\s*$", re.MULTILINE)

    def read() -> float | None:
        try:
            with opener.open(url, timeout=timeout) as response:
                text = response.read(2_000_000).decode("utf-8", "replace")
        except (OSError, urllib.error.URLError, ValueError):
            return None
        values = [float(v) for v in line.findall(text)]
        return sum(values) if values else None

    return read


class MemorySampler:
    """Samples a :data:`MemoryReader` every ``interval`` seconds on a daemon thread."""

    def __init__(self, reader: MemoryReader, interval: float) -> None:
        self.reader = reader
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stagewise-memory", daemon=True)
        self._started = 0.0

    def __enter__(self) -> MemorySampler:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=self.interval + 5)

    def _run(self) -> None:
        while True:
            value = self.reader()
            if value is not None:
                self.samples.append((round(time.monotonic() - self._started, 3), value))
            if self._stop.wait(self.interval):
                return


def growth_percent(values: Sequence[float]) -> float | None:
    """Growth from the first quarter's median to the last quarter's, in percent.

    ``None`` with fewer than four samples or a zero start: too little to judge.
    """
    if len(values) < 4:
        return None
    quarter = max(len(values) // 4, 1)
    first = statistics.median(values[:quarter])
    last = statistics.median(values[-quarter:])
    if first <= 0:
        return None
    return 100.0 * (last - first) / first


def drift_check(gate: str, subject: str, values: Sequence[float], limit: float | None) -> GateCheck | None:
    """A drift gate (``memory_growth``, ``latency_drift``), or ``None`` if not judgeable."""
    if limit is None:
        return None
    growth = growth_percent(values)
    if growth is None:
        return None
    passed = growth <= limit
    sign = "<=" if passed else ">"
    return GateCheck(
        gate, subject, growth, limit, passed, f"gate {gate} on {subject}: {growth:+.1f}% {sign} {limit:g}%"
    )


__all__ = [
    "MemorySampler",
    "drift_check",
    "growth_percent",
    "metrics_memory_reader",
    "pid_memory_reader",
]
