"""Was the load generator the limit? Read what ``stagewise_cpu`` measured in each Locust process.

A run's requests/s are the target's capacity only while the generator has
time to spare. Each Locust process (one, or a master and its workers) is
*busy* for the share of the run it spent on a CPU or runnable and waiting
for one; at :data:`SATURATED_PERCENT` or more it was what limited the run,
and the tier says so next to the figures (a warning, not a failure: the
figures are still true, they only measure less than the target could take).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Busy share of the run (CPU + waiting for a CPU) from which a process limited the load; Locust warns at 90% CPU.
SATURATED_PERCENT = 90.0


@dataclass(frozen=True)
class ProcessLoad:
    """One Locust process from ``test_start`` to ``test_stop``."""

    role: str  # local, master or worker
    wall_s: float
    cpu_s: float
    wait_s: float | None
    peak_cpu_percent: float

    @property
    def cpu_percent(self) -> float:
        """CPU time as a share of one core over the run."""
        return 100.0 * self.cpu_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def wait_percent(self) -> float | None:
        """Time runnable but waiting for a CPU (a full machine), where the OS tells."""
        if self.wait_s is None:
            return None
        return 100.0 * self.wait_s / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def busy_percent(self) -> float:
        """On a CPU or waiting for one: the time the process could not spend sending requests sooner."""
        return self.cpu_percent + (self.wait_percent or 0.0)


@dataclass(frozen=True)
class GeneratorLoad:
    """Every Locust process of one run."""

    processes: tuple[ProcessLoad, ...]

    @property
    def busiest(self) -> ProcessLoad:
        return max(self.processes, key=lambda p: p.busy_percent)

    @property
    def saturated(self) -> bool:
        return self.busiest.busy_percent >= SATURATED_PERCENT

    def describe(self) -> str:
        """One line for the terminal: ``load generator: 1 Locust process, CPU 34% ...``."""
        busiest = self.busiest
        count = len(self.processes)
        workers = len([p for p in self.processes if p.role == "worker"])
        shape = "1 Locust process" if count == 1 else f"{count} Locust processes (master + {workers} workers)"
        wait = busiest.wait_percent
        waited = f", waiting for a CPU {wait:.0f}%" if wait is not None else ""
        which = "" if count == 1 else f", busiest the {busiest.role}"
        return (
            f"load generator: {shape}{which}: CPU {busiest.cpu_percent:.0f}% of a core "
            f"(peak {busiest.peak_cpu_percent:.0f}%){waited}"
        )

    def warning(self, workers: int) -> str | None:
        """The warning for a saturated run (None when the generator had time to spare)."""
        if not self.saturated:
            return None
        busiest = self.busiest
        wait = busiest.wait_percent or 0.0
        if wait >= busiest.cpu_percent:
            advice = (
                "the machine's CPUs were taken by other work (the target too, if it runs here): "
                "generate the load from a machine with free cores"
            )
        elif workers:
            advice = f"add workers (--workers {workers * 2}) where cores are free, or run workers on other machines"
        else:
            advice = (
                "spread it over processes (--workers N, one per free core) or machines; "
                "FastHttpUser costs Locust less per request than HttpUser"
            )
        return (
            f"warning: the load generator was saturated ({busiest.role} process busy "
            f"{busiest.busy_percent:.0f}% of the run: CPU {busiest.cpu_percent:.0f}%, waiting for a CPU "
            f"{wait:.0f}%), so these figures show Locust's limit, not the target's; {advice}"
        )

    def as_dict(self) -> dict[str, Any]:
        busiest = self.busiest
        return {
            "processes": [
                {
                    "role": p.role,
                    "wall_s": round(p.wall_s, 3),
                    "cpu_percent": round(p.cpu_percent, 1),
                    "wait_percent": round(p.wait_percent, 1) if p.wait_percent is not None else None,
                    "busy_percent": round(p.busy_percent, 1),
                    "peak_cpu_percent": round(p.peak_cpu_percent, 1),
                }
                for p in self.processes
            ],
            "busiest_cpu_percent": round(busiest.cpu_percent, 1),
            "busiest_busy_percent": round(busiest.busy_percent, 1),
            "saturated_percent": SATURATED_PERCENT,
            "saturated": self.saturated,
        }


def read_generator(directory: Path) -> GeneratorLoad | None:
    """The processes ``stagewise_cpu`` recorded in ``directory`` (None when none did, e.g. Locust crashed)."""
    processes = []
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            wait = data.get("wait_s")
            process = ProcessLoad(
                role=str(data["role"]),
                wall_s=float(data["wall_s"]),
                cpu_s=float(data["cpu_s"]),
                wait_s=float(wait) if wait is not None else None,
                peak_cpu_percent=float(data.get("peak_cpu_percent") or 0.0),
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a process killed mid-write leaves no figure, never a crash of the tier
        if process.wall_s > 0:
            processes.append(process)
    return GeneratorLoad(tuple(processes)) if processes else None


__all__ = ["SATURATED_PERCENT", "GeneratorLoad", "ProcessLoad", "read_generator"]
