"""The load generator's own figures: what stagewise_cpu wrote -> busy share, saturation, the warning."""

from __future__ import annotations

import json
from pathlib import Path

from stagewise.tiers.performance.generator import SATURATED_PERCENT, read_generator


def meter(directory: Path, role: str, pid: int, *, wall: float, cpu: float, wait: float | None) -> None:
    directory.mkdir(exist_ok=True)
    record = {
        "role": role,
        "pid": pid,
        "wall_s": wall,
        "cpu_s": cpu,
        "wait_s": wait,
        "peak_cpu_percent": 71.5,
    }
    (directory / f"{role}-{pid}.json").write_text(json.dumps(record))


def test_a_generator_with_time_to_spare_is_described_and_not_warned_about(tmp_path: Path) -> None:
    meter(tmp_path, "local", 10, wall=10.0, cpu=3.4, wait=1.2)
    load = read_generator(tmp_path)
    assert load is not None
    assert load.busiest.cpu_percent == 34.0
    assert load.busiest.wait_percent == 12.0
    assert not load.saturated
    assert load.warning(0) is None
    assert load.describe() == (
        "load generator: 1 Locust process: CPU 34% of a core (peak 72%), waiting for a CPU 12%"
    )
    assert load.as_dict()["busiest_busy_percent"] == 46.0


def test_a_busy_process_is_saturated_and_the_warning_says_what_to_do(tmp_path: Path) -> None:
    meter(tmp_path, "local", 10, wall=10.0, cpu=9.3, wait=0.2)
    load = read_generator(tmp_path)
    assert load is not None
    assert load.saturated
    warning = load.warning(0)
    assert warning is not None
    assert warning.startswith("warning: the load generator was saturated (local process busy 95% of the run")
    assert "these figures show Locust's limit, not the target's" in warning
    assert "--workers N" in warning


def test_waiting_for_a_cpu_counts_as_busy_and_blames_the_machine(tmp_path: Path) -> None:
    """A generator starved of CPU by other work limits the run just as surely as a busy one."""
    meter(tmp_path, "local", 10, wall=10.0, cpu=3.0, wait=6.5)
    load = read_generator(tmp_path)
    assert load is not None
    assert load.saturated
    warning = load.warning(0) or ""
    assert "waiting for a CPU 65%" in warning
    assert "taken by other work" in warning


def test_workers_the_busiest_process_decides(tmp_path: Path) -> None:
    meter(tmp_path, "master", 1, wall=10.0, cpu=0.5, wait=0.1)
    meter(tmp_path, "worker", 2, wall=10.0, cpu=9.6, wait=0.0)
    meter(tmp_path, "worker", 3, wall=10.0, cpu=4.0, wait=0.0)
    load = read_generator(tmp_path)
    assert load is not None
    assert [p.role for p in load.processes] == ["master", "worker", "worker"]
    assert load.busiest.role == "worker"
    assert load.saturated
    assert "3 Locust processes (master + 2 workers), busiest the worker: CPU 96%" in load.describe()
    assert "--workers 4" in (load.warning(2) or "")


def test_no_schedstat_means_cpu_alone(tmp_path: Path) -> None:
    meter(tmp_path, "local", 10, wall=4.0, cpu=2.0, wait=None)
    load = read_generator(tmp_path)
    assert load is not None
    assert load.busiest.wait_percent is None
    assert load.busiest.busy_percent == 50.0
    assert "waiting" not in load.describe()


def test_nothing_recorded_or_broken_files_give_no_figure_and_no_crash(tmp_path: Path) -> None:
    assert read_generator(tmp_path / "missing") is None
    (tmp_path / "local-1.json").write_text("{not json")
    (tmp_path / "local-2.json").write_text(json.dumps({"role": "local"}))
    assert read_generator(tmp_path) is None
    meter(tmp_path, "local", 3, wall=0.0, cpu=0.0, wait=0.0)  # never ran a test: no figure
    assert read_generator(tmp_path) is None


def test_the_threshold_is_locusts() -> None:
    assert SATURATED_PERCENT == 90.0
