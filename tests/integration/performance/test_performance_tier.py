"""``stagewise test --performance``: real Locust, headless, against a real app on 127.0.0.1.

Every run is bounded: a few users for a few seconds, and ``--reports-dir``
under the test's own tmp_path.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from stagewise.tiers.junit import read_junit
from tests.conftest import ProjectFactory, requires
from tests.helpers import free_port, run_cli
from tests.integration.performance.conftest import LoadApp


def locustfile(*paths: str, wait: float = 0.05, host: str | None = None, body: str = "") -> str:
    """A locustfile with one task per path (and an optional hard-coded host to override)."""
    tasks = "".join(
        f"    @task\n    def t{i}(self):\n        self.client.get({path!r})\n" for i, path in enumerate(paths)
    )
    host_line = f"    host = {host!r}\n" if host else ""
    return (
        "from locust import HttpUser, constant, task\n\n"
        f"class Visitor(HttpUser):\n{host_line}    wait_time = constant({wait})\n{tasks}{body}"
    )


#: Generous latency limits for tests about something else: a loaded CI machine must not fail them.
LOOSE = """
[performance.gates]
p95_ms = 5000
"""

#: Every user started at once: the default ramp (one user a second) can lag behind the clock on
#: a loaded CI machine, and a test that counts users must not depend on how fast the ramp went.
SPAWN_ALL = """
[performance.scenarios.normal-load]
spawn_rate = 20
"""


def perf(root: Path, tmp_path: Path, *args: str, timeout: float = 120) -> tuple[int, str, Path]:
    """Run the CLI's performance tier; return exit code, output and the run folder."""
    reports = tmp_path / "reports"
    done = run_cli("test", "--performance", "--reports-dir", str(reports), *args, cwd=root, timeout=timeout)
    return done.returncode, done.stdout + done.stderr, reports / "latest"


def summary(run_dir: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((run_dir / "performance" / "summary.json").read_text())
    return data


def test_a_slow_endpoint_fails_the_default_p95_gate(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project({"tests/performance/locustfile.py": locustfile("/fast", "/slow")})
    code, out, run_dir = perf(root, tmp_path, "--host", load_app.url, "--users", "2", "--duration", "3")
    assert code == 1, out
    match = re.search(r"gate p95 on GET /slow: (\d+) ms > 200 ms", out)
    assert match, out
    assert int(match.group(1)) >= 300
    record = json.loads((run_dir / "summary.json").read_text())
    tier = record["tiers"][0]
    assert tier["name"] == "performance"
    assert tier["status"] == "failed"
    assert tier["message"].startswith(match.group(0))
    parsed = read_junit(run_dir / "junit-performance.xml")  # stagewise's own JUnit reader
    assert parsed is not None
    counts, failed = parsed
    assert counts.failures == len(failed) >= 1
    assert match.group(0) in [f.message for f in failed]


def test_a_failing_endpoint_fails_the_error_rate_gate(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project({"tests/performance/locustfile.py": locustfile("/fast", "/fail")})
    code, out, run_dir = perf(root, tmp_path, "--host", load_app.url, "--users", "2", "--duration", "2")
    assert code == 1, out
    assert "gate error_rate on GET /fail: 100.0% > 1%" in out
    data = summary(run_dir)
    stats = data["stats"]
    assert isinstance(stats, dict)
    assert stats["errors_by_type"], stats
    assert all("500" in error for error in stats["errors_by_type"])
    assert data["locust_exit_code"] == 7  # Locust itself reported the errors


def test_users_duration_and_host_reach_locust(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"  # the locustfile's own host, which --host must override
    root = make_project(
        {
            "tests/performance/locustfile.py": locustfile("/fast", host=dead),
            "stagewise.toml": LOOSE + SPAWN_ALL,
        }
    )
    code, out, run_dir = perf(root, tmp_path, "--host", load_app.url, "--users", "3", "--duration", "4")
    assert code == 0, out
    assert load_app.paths["/fast"] > 10
    assert set(load_app.hosts) == {load_app.url.removeprefix("http://")}
    # Locust's own evidence: the users in its stats history, the host in its HTML report.
    history = (run_dir / "performance" / "locust_stats_history.csv").read_text().splitlines()
    users_column = history[0].split(",").index("User Count")
    assert max(int(line.split(",")[users_column]) for line in history[1:]) == 3
    html = (run_dir / "performance" / "locust.html").read_text()
    template = json.loads(re.search(r"window\.templateArgs = (\{.*?\});?\n", html).group(1))  # type: ignore[union-attr]
    assert template["host"] == load_app.url
    entries = json.loads((run_dir / "performance" / "locust.json").read_text())
    span = max(e["last_request_timestamp"] for e in entries) - min(e["start_time"] for e in entries)
    assert 2.5 < span < 6, span
    data = summary(run_dir)
    assert data["command"][data["command"].index("--users") + 1] == "3"  # type: ignore[index,union-attr]
    assert data["command"][data["command"].index("--run-time") + 1] == "4s"  # type: ignore[index,union-attr]


def test_verbose_relays_locusts_own_output(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project({"tests/performance/locustfile.py": locustfile("/fast"), "stagewise.toml": LOOSE})
    quiet_code, quiet, _ = perf(root, tmp_path, "--host", load_app.url, "--users", "1", "--duration", "1")
    loud_code, loud, _ = perf(root, tmp_path, "--host", load_app.url, "--users", "1", "--duration", "1", "-v")
    assert (quiet_code, loud_code) == (0, 0), quiet + loud
    assert "Starting Locust" in loud
    assert "Starting Locust" not in quiet
    assert "GET /fast" in quiet  # stagewise's own summary table is always shown


def test_an_unreachable_target_is_exit_4(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/performance/locustfile.py": locustfile("/fast")})
    url = f"http://127.0.0.1:{free_port()}"
    code, out, _ = perf(root, tmp_path, "--host", url, "--users", "1", "--duration", "1")
    assert code == 4, out
    assert f"nothing answers at {url}" in out


def test_a_missing_locustfile_is_exit_5(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project({"README.md": "no load tests here\n"})
    code, out, _ = perf(root, tmp_path, "--host", load_app.url)
    assert code == 5, out
    assert "no performance tests: tests/performance/locustfile.py does not exist" in out


def test_a_broken_locustfile_is_a_failure_with_locusts_reason(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project({"tests/performance/locustfile.py": "from locust import HttpUser\ndef broken(:\n"})
    code, out, _ = perf(root, tmp_path, "--host", load_app.url, "--users", "1", "--duration", "1")
    assert code == 1, out
    assert "locust exited 1" in out
    assert "SyntaxError" in out or "invalid syntax" in out


def test_exceptions_in_the_locustfile_fail_the_run(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    body = "    @task\n    def broken(self):\n        raise ZeroDivisionError('planted')\n"
    root = make_project({"tests/performance/locustfile.py": locustfile("/fast", body=body)})
    code, out, _ = perf(root, tmp_path, "--host", load_app.url, "--users", "1", "--duration", "2")
    assert code == 1, out
    assert re.search(
        r"locust reported \d+ exception\(s\) in the locustfile: planted \(at: raise ZeroDivisionError", out
    ), out


BASELINE_TOML = (
    LOOSE
    + """
[performance.tolerance]
p95 = 20
min_ms = 100  # a loaded machine's noise stays under this; the planted +300 ms does not
"""
)


def test_baselines_detect_a_planted_regression_and_pass_an_unchanged_run(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project(
        {"tests/performance/locustfile.py": locustfile("/item"), "stagewise.toml": BASELINE_TOML}
    )
    args = ("--host", load_app.url, "--users", "2", "--duration", "2")
    code, out, _ = perf(root, tmp_path, *args, "--baseline")
    assert code == 4, out  # nothing saved yet: says how to record one
    assert "--save-baseline" in out
    code, out, _ = perf(root, tmp_path, *args, "--save-baseline")
    assert code == 0, out
    saved = json.loads((root / ".stagewise" / "baselines" / "normal-load.json").read_text())
    assert saved["endpoints"]["GET /item"]["p95_ms"] < 100
    code, out, _ = perf(root, tmp_path, *args, "--baseline")
    assert code == 0, out  # unchanged: no regression
    load_app.item_delay = 0.3  # planted: +300 ms
    code, out, run_dir = perf(root, tmp_path, *args, "--baseline")
    assert code == 1, out
    match = re.search(
        r"regression p95 on GET /item: (\d+) ms vs baseline (\d+) ms \(\+\d+%, tolerance \+20%\)", out
    )
    assert match, out
    assert int(match.group(1)) >= 300
    assert "gate p95 on GET /item" not in out  # the (loose) absolute gate passed; only the baseline caught it
    assert summary(run_dir)["baseline"]["compared"] is True  # type: ignore[index]


STRESS_TOML = """
[performance.gates]
p95_ms = 150

[performance.scenarios.stress]
start_users = 1
step_users = 3
max_users = 10
step_duration = 2
sustain_users = 7
"""


def test_stress_steps_up_until_a_gate_breaks_and_reports_the_breaking_point(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project(
        {"tests/performance/locustfile.py": locustfile("/serial", wait=0), "stagewise.toml": STRESS_TOML}
    )
    code, out, run_dir = perf(root, tmp_path, "--host", load_app.url, "--scenario", "stress")
    assert code == 1, out  # breaks below sustain_users = 7
    match = re.search(r"breaking point: (\d+) users \(gate p95 on GET /serial: (\d+) ms > 150 ms\)", out)
    assert match, out
    assert int(match.group(1)) in (4, 7)  # one request at a time, 50 ms each: ~50 ms per user
    assert "must sustain 7 users" in out
    data = summary(run_dir)
    assert data["breaking_point"] == int(match.group(1))
    steps = data["steps"]
    assert isinstance(steps, list)
    assert steps[0]["users"] == 1
    assert steps[-1]["passed"] is False


SPIKE_TOML = (
    LOOSE
    + """
[performance.scenarios.spike]
stages = [{ duration = 2, users = 1 }, { duration = 2, users = 4, spawn_rate = 4 }, { duration = 1, users = 1 }]
"""
)


def test_a_load_shape_plays_its_stages(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project(
        {"tests/performance/locustfile.py": locustfile("/fast"), "stagewise.toml": SPIKE_TOML}
    )
    code, out, run_dir = perf(root, tmp_path, "--host", load_app.url, "--scenario", "spike")
    assert code == 0, out
    stats = summary(run_dir)["stats"]
    assert isinstance(stats, dict)
    users = [s["users"] for s in stats["samples"]]
    assert max(users) == 4
    assert users[0] == 1
    refused = run_cli("test", "--performance", "--scenario", "spike", "--users", "9", cwd=root)
    assert refused.returncode == 2
    assert "is a load shape" in refused.stderr


ENDURANCE_TOML = (
    LOOSE
    + """
[performance.scenarios.endurance]
duration = 4
sample_interval = 0.5
max_memory_growth = 20
"""
)


def test_endurance_watches_the_targets_memory(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    load_app.leak = 0.1  # planted: resident memory grows 10% per scrape
    root = make_project(
        {"tests/performance/locustfile.py": locustfile("/fast"), "stagewise.toml": ENDURANCE_TOML}
    )
    code, out, run_dir = perf(
        root, tmp_path, "--host", load_app.url, "--scenario", "endurance", "--users", "2"
    )
    assert code == 1, out
    assert re.search(r"gate memory_growth on target: \+\d+\.\d% > 20%", out), out
    assert json.loads((run_dir / "performance" / "memory.json").read_text())
    load_app.leak = 0.0
    code, out, _ = perf(root, tmp_path, "--host", load_app.url, "--scenario", "endurance", "--users", "2")
    assert code == 0, out


def test_workers_run_locust_distributed(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    root = make_project(
        {"tests/performance/locustfile.py": locustfile("/fast"), "stagewise.toml": LOOSE + SPAWN_ALL}
    )
    code, out, run_dir = perf(
        root, tmp_path, "--host", load_app.url, "--users", "4", "--duration", "3", "--workers", "2"
    )
    assert code == 0, out
    data = summary(run_dir)
    assert "--processes" in data["command"]  # type: ignore[operator]
    stats = data["stats"]
    assert isinstance(stats, dict)
    assert stats["peak_users"] == 4
    assert stats["total"]["requests"] > 10


@pytest.mark.parametrize("flag", ["--users", "--duration", "--scenario"])
def test_performance_flags_need_the_performance_tier(make_project: ProjectFactory, flag: str) -> None:
    root = make_project({"tests/unit/test_x.py": "def test_x():\n    pass\n"})
    done = run_cli("test", "--unit", flag, "5", cwd=root)
    assert done.returncode == 2
    assert "add --performance" in done.stderr


@requires(Path("/usr/bin/python3").exists(), "needs a system Python without Locust at /usr/bin/python3")
def test_locust_runs_from_stagewise_not_the_project_interpreter(
    make_project: ProjectFactory, tmp_path: Path, load_app: LoadApp
) -> None:
    """The app's interpreter has no Locust, and needs none: Locust imports none of its code (issue 14)."""
    bare = Path("/usr/bin/python3")
    root = make_project(
        {
            "tests/performance/locustfile.py": locustfile("/fast"),
            "stagewise.toml": f'[project]\npython = "{bare}"\n',
        }
    )
    code, out, _ = perf(root, tmp_path, "--host", load_app.url, "--users", "1", "--duration", "1")
    assert code == 0, out
    assert "locust is needed" not in out
