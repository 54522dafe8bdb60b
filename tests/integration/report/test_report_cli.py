"""Reports from real runs: flaky tests with --reruns, `stagewise report`, live progress, Ctrl+C.

Each test runs the real CLI in a subprocess on a throwaway project (which runs
real pytest in another), with its reports under the test's own tmp_path.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import pty
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stagewise.cli.output import record_tier_line
from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli

# Fails on its first attempt in each run (the marker lives in the run's own report folder).
FLAKY = """
import os, pathlib

def test_flaky():
    marker = pathlib.Path(os.environ["STAGEWISE_REPORT_DIR"]) / "attempted"
    if not marker.exists():
        marker.write_text("1")
        raise AssertionError("first attempt fails")

def test_steady():
    assert True
"""


def summary(reports: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((reports / "latest" / "summary.json").read_text())
    return data


def history(reports: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (reports / "history.jsonl").read_text().splitlines()]


def summary_block(stdout: str) -> str:
    """The end-of-run summary: from the line `summary` to the verdict line."""
    return "summary\n" + stdout.rsplit("\nsummary\n", 1)[1]


def test_a_test_that_passes_on_rerun_is_flaky_not_passed(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"tests/unit/test_flaky.py": FLAKY})
    reports = tmp_path / "reports"
    done = run_cli("test", "--reruns", "2", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    record = summary(reports)
    unit = record["tiers"][0]
    assert (unit["tests"], unit["passed"], unit["flaky"], unit["failed"], unit["reruns"]) == (2, 1, 1, 0, 2)
    assert unit["flaky_tests"] == [{"name": "tests/unit/test_flaky.py::test_flaky", "reruns": 1}]
    assert record["flaky"] == 1
    assert record["verdict"] == "passed"
    line = history(reports)[-1]
    assert line["flaky_tests"] == [{"tier": "unit", "name": "tests/unit/test_flaky.py::test_flaky"}]
    assert line["passed"] == 1
    assert "flaky: tests/unit/test_flaky.py::test_flaky  passed after 1 rerun(s)" in done.stdout
    page = (reports / "latest" / "index.html").read_text()
    assert "<section id='flaky'>" in page
    assert "tests/unit/test_flaky.py::test_flaky" in page.split("<section id='flaky'>")[1]


def test_without_reruns_the_same_test_fails(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_flaky.py": FLAKY})
    reports = tmp_path / "reports"
    done = run_cli("test", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    unit = summary(reports)["tiers"][0]
    assert (unit["passed"], unit["failed"], unit["flaky"], unit["reruns"]) == (1, 1, 0, 0)


def test_reruns_do_not_hide_a_real_failure(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_bad.py": "def test_bad():\n    assert 1 == 2\n"})
    reports = tmp_path / "reports"
    done = run_cli("test", "--reruns", "1", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 1
    unit = summary(reports)["tiers"][0]
    assert (unit["failed"], unit["flaky"]) == (1, 0)


def test_reruns_must_be_a_small_whole_number(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_ok.py": "def test_ok():\n    pass\n"})
    for bad in ("-1", "x", "11"):
        done = run_cli("test", "--reruns", bad, "--reports-dir", str(tmp_path / "r"), cwd=root)
        assert done.returncode == 2, done.stderr
        assert "--reruns" in done.stderr


def test_terminal_summary_matches_summary_json_and_report_show(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project(
        {
            "tests/unit/test_flaky.py": FLAKY,
            "tests/integration/test_mixed.py": "def test_good():\n    pass\n\ndef test_bad():\n    assert 0, 'no'\n",
        }
    )
    reports = tmp_path / "reports"
    done = run_cli(
        "test", "--unit", "--integration", "--reruns", "1", "--reports-dir", str(reports), cwd=root
    )
    assert done.returncode == 1, done.stdout + done.stderr
    record = summary(reports)
    block = summary_block(done.stdout)
    for tier in record["tiers"]:
        assert f"  {record_tier_line(tier)}\n" in block
    numbers = {
        m.group(1): tuple(int(n) for n in m.group(2, 3, 4, 5))
        for m in re.finditer(
            r"^  (\w+)\s+\S+\s+(\d+) passed\s+(\d+) failed\s+(\d+) errors\s+(\d+) skipped", block, re.M
        )
    }
    assert numbers == {
        t["name"]: (t["passed"], t["failed"], t["errors"], t["skipped"]) for t in record["tiers"]
    }
    assert block.rstrip().endswith(f"verdict: FAILED (exit 1) · {record['run_dir']}")
    shown = run_cli("report", "show", "--reports-dir", str(reports), cwd=root)
    assert shown.returncode == 0, shown.stderr
    assert summary_block(shown.stdout) == block
    as_json = run_cli(
        "report", "show", record["run_id"][:18], "--json", "--reports-dir", str(reports), cwd=root
    )
    assert json.loads(as_json.stdout) == record


def test_report_show_errors(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_ok.py": "def test_ok():\n    pass\n"})
    nothing = run_cli("report", "show", "--reports-dir", str(tmp_path / "none"), cwd=root)
    assert nothing.returncode == 4
    assert "run `stagewise test` first" in nothing.stderr
    assert run_cli("test", cwd=root).returncode == 0  # the project's own reports/ folder
    unknown = run_cli("report", "show", "nosuchrun", cwd=root)
    assert unknown.returncode == 2
    assert "no run 'nosuchrun'" in unknown.stderr
    assert run_cli("report", cwd=root).returncode == 2
    assert run_cli("report", "show", cwd=root).returncode == 0


def test_report_flaky_ranks_tests_over_history(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_flaky.py": FLAKY})
    reports = tmp_path / "reports"
    empty = run_cli("report", "flaky", "--reports-dir", str(reports), cwd=root)
    assert empty.returncode == 0
    assert "no flaky tests in the last 0 run(s)" in empty.stdout
    for _ in range(2):
        assert run_cli("test", "--reruns", "1", "--reports-dir", str(reports), cwd=root).returncode == 0
    done = run_cli("report", "flaky", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 0, done.stderr
    assert "flakiest tests over 2 run(s)" in done.stdout
    assert re.search(
        r"^\s+2\s+2\s+100%\s+0\s+unit\s+tests/unit/test_flaky\.py::test_flaky$", done.stdout, re.M
    ), done.stdout
    as_json = json.loads(
        run_cli("report", "flaky", "--json", "--last", "1", "--reports-dir", str(reports), cwd=root).stdout
    )
    assert as_json["runs"] == 1
    assert as_json["flaky"][0]["name"] == "tests/unit/test_flaky.py::test_flaky"
    assert as_json["flaky"][0]["flaky_runs"] == 1


def test_report_open_hands_the_page_to_the_browser_and_renders_a_missing_one(
    make_project: ProjectFactory, tmp_path: Path
) -> None:
    root = make_project({"tests/unit/test_ok.py": "def test_ok():\n    pass\n"})
    reports = tmp_path / "reports"
    assert run_cli("test", "--reports-dir", str(reports), cwd=root).returncode == 0
    page = (reports / "latest" / "index.html").resolve()
    page.unlink()
    opened = tmp_path / "opened.txt"
    browser = tmp_path / "fake-browser"
    browser.write_text(f"#!{sys.executable}\nimport sys\nopen({str(opened)!r}, 'w').write(sys.argv[1])\n")
    browser.chmod(0o755)
    done = run_cli("report", "open", "--reports-dir", str(reports), cwd=root, env={"BROWSER": str(browser)})
    assert done.returncode == 0, done.stderr
    assert page.is_file()
    assert opened.read_text() == page.as_uri()
    assert done.stdout.strip() == page.as_uri()
    assert "PASSED" in page.read_text()


def run_in_terminal(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with its stdout on a pseudo-terminal, as a person at a terminal would."""
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", *args],
        cwd=cwd,
        env=cli_env({"COLUMNS": "120", "LINES": "40", **env}),
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.2)
            if ready:
                try:
                    data = os.read(leader, 65536)
                except OSError:
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(deadline - time.monotonic(), 1))
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
            process.wait()
    return code, b"".join(chunks).decode("utf-8", "replace")


SLOW_ENOUGH = """
import time, pytest

@pytest.mark.parametrize("n", range(6))
def test_step(n):
    time.sleep(0.2)
"""


def test_live_progress_on_a_terminal(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_steps.py": SLOW_ENOUGH})
    code, raw = run_in_terminal(["test", "--reports-dir", str(tmp_path / "r")], root, {"CI": "false"})
    assert code == 0, raw
    assert "\x1b[?25l" in raw  # the live display hides the cursor while it redraws itself
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", raw)
    assert "── unit tier" not in out  # the plain-line reporter was not used
    assert "✔ unit" in out
    assert "verdict: PASSED (exit 0)" in out
    assert re.search(r"unit\s+│?\s*passed\s+│?\s*6\s", out), out


def test_plain_lines_in_ci_and_with_no_progress(make_project: ProjectFactory, tmp_path: Path) -> None:
    root = make_project({"tests/unit/test_steps.py": SLOW_ENOUGH})
    for extra, env in (([], {"CI": "true"}), (["--no-progress"], {"CI": "false"})):
        code, out = run_in_terminal(["test", *extra, "--reports-dir", str(tmp_path / "r")], root, env)
        assert code == 0, out
        assert "── unit tier" in out
        assert "\nsummary\r\n  unit         passed      6 passed" in out


def test_ctrl_c_still_writes_the_page(make_project: ProjectFactory, tmp_path: Path) -> None:
    started = tmp_path / "started"
    root = make_project(
        {
            "tests/unit/test_slow.py": f"""
            import time

            def test_quick():
                pass

            def test_slow():
                open({str(started)!r}, "w").write("1")
                time.sleep(120)
            """
        }
    )
    reports = tmp_path / "reports"
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", "test", "--reports-dir", str(reports)],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not started.exists():
        assert time.monotonic() < deadline, "pytest never started"
        assert process.poll() is None
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    record = summary(reports)
    assert record["verdict"] == "interrupted"
    page = (reports / "latest" / "index.html").read_text()
    assert "data-verdict='interrupted'" in page
    assert history(reports)[-1]["verdict"] == "interrupted"


def test_reruns_without_the_plugin_is_exit_4_naming_it(make_project: ProjectFactory, tmp_path: Path) -> None:
    venv = tmp_path / "pytest-only-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    import _pytest
    import iniconfig
    import packaging
    import pluggy
    import py
    import pygments
    import pytest

    for module in (pytest, _pytest, pluggy, iniconfig, packaging, pygments, py):
        source = Path(str(module.__file__))
        source = source.parent if source.name == "__init__.py" else source
        (site / source.name).symlink_to(source)
    for dist in ("pytest", "pluggy", "iniconfig", "packaging", "pygments"):
        installed = Path(str(importlib.metadata.distribution(dist).locate_file("")))
        for info in installed.glob(f"{dist}-*.dist-info"):
            (site / info.name).symlink_to(info)
    python = venv / "bin" / "python"
    root = make_project(
        {
            "tests/unit/test_ok.py": "def test_ok():\n    pass\n",
            "stagewise.toml": f'[project]\npython = "{python}"\n',
        }
    )
    reports = tmp_path / "reports"
    assert run_cli("test", "--reports-dir", str(reports), cwd=root).returncode == 0
    done = run_cli("test", "--reruns", "2", "--reports-dir", str(reports), cwd=root)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "pytest-rerunfailures is needed for --reruns" in done.stderr
