"""``stagewise test`` run as a user would, on throwaway projects.

Every test here starts the real CLI in a subprocess, which runs real pytest in
another; the assertions read its exit code, its output and its report files.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import cli_env, run_cli

PASSING = """
def test_one():
    assert 1 + 1 == 2

def test_two():
    assert "a".upper() == "A"
"""
FAILING = """
def test_good():
    assert True

def test_bad():
    assert 1 == 2, "one is not two"
"""


def report(root: Path) -> dict[str, object]:
    data: dict[str, object] = json.loads((root / "reports" / "latest" / "summary.json").read_text())
    return data


def test_default_runs_unit_tests_and_passes(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_ok.py": PASSING, "tests/integration/test_never.py": FAILING})
    done = run_cli("test", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "unit         passed      2 passed   0 failed" in done.stdout
    assert "integration" not in done.stdout.split("summary")[1]
    assert "verdict: PASSED (exit 0)" in done.stdout
    summary = report(root)
    assert summary["verdict"] == "passed"
    tiers = summary["tiers"]
    assert isinstance(tiers, list)
    assert tiers[0]["passed"] == 2
    assert Path(tiers[0]["junit"]).is_file()


def test_unit_flag_is_the_same_as_the_default(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_ok.py": PASSING})
    assert run_cli("test", "--unit", cwd=root).returncode == 0
    assert report(root)["tiers"][0]["name"] == "unit"  # type: ignore[index]


def test_failing_tests_exit_1_and_name_the_test(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_mixed.py": FAILING})
    done = run_cli("test", cwd=root)
    assert done.returncode == 1
    assert "test_bad" in done.stdout
    assert "verdict: FAILED (exit 1)" in done.stdout
    assert report(root)["exit_code"] == 1


def test_erroring_fixture_is_a_failed_run(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "tests/unit/test_err.py": """
            import pytest

            @pytest.fixture
            def broken():
                raise RuntimeError("database exploded")

            def test_uses_it(broken):
                pass
            """
        }
    )
    done = run_cli("test", cwd=root)
    assert done.returncode == 1
    assert "unit         error" in done.stdout
    assert "database exploded" in done.stdout


def test_empty_suite_is_exit_5(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_nothing.py": "X = 1\n"})
    done = run_cli("test", cwd=root)
    assert done.returncode == 5
    assert "no unit tests collected in tests/unit" in done.stdout


def test_missing_tests_directory_is_exit_5_and_says_so(make_project: ProjectFactory) -> None:
    root = make_project({"README": "no tests here\n"})
    done = run_cli("test", "--integration", cwd=root)
    assert done.returncode == 5
    assert "tests/integration does not exist" in done.stdout


def test_syntax_error_in_a_test_file_fails_clearly(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_ok.py": PASSING, "tests/unit/test_broken.py": "def test(:\n"})
    done = run_cli("test", cwd=root)
    assert done.returncode == 1
    assert "unit         error" in done.stdout
    assert "test_broken.py" in done.stdout
    assert "Traceback" not in done.stderr


def test_invalid_stage_and_invalid_arg_are_exit_2(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_ok.py": PASSING})
    stage = run_cli("test", "--stage", "invalid_stage", cwd=root)
    assert stage.returncode == 2
    assert stage.stderr.strip() == (
        "stagewise: error: unknown stage 'invalid_stage': valid stages are dev, test, staging, prod"
    )
    arg = run_cli("test", "--invalid-arg", cwd=root)
    assert arg.returncode == 2
    assert "unrecognized arguments: --invalid-arg" in arg.stderr
    assert not (root / "reports").exists()


def test_unreachable_host_is_exit_4_with_how_to_start(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "tests/api/test_api.py": PASSING,
            "stagewise.toml": '[project]\nstart_hint = "uvicorn app:app --port 8000"\n',
        }
    )
    done = run_cli("test", "--api", "--host", "http://127.0.0.1:9", cwd=root)
    assert done.returncode == 4
    assert "nothing answers at http://127.0.0.1:9" in done.stdout
    assert "start it with `uvicorn app:app --port 8000`" in done.stdout


def test_verbose_lists_each_test(make_project: ProjectFactory) -> None:
    root = make_project({"tests/unit/test_ok.py": PASSING})
    quiet = run_cli("test", cwd=root)
    loud = run_cli("test", "--verbose", cwd=root)
    assert "test_ok.py::test_one PASSED" in loud.stdout
    assert "test_ok.py::test_one PASSED" not in quiet.stdout


def test_all_continues_past_a_failing_tier(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "tests/unit/test_mixed.py": FAILING,
            "tests/integration/test_ok.py": PASSING,
            "stagewise.toml": '[stages.test]\ntiers = ["unit", "integration"]\n',
        }
    )
    done = run_cli("test", "--all", cwd=root)
    assert done.returncode == 1
    tiers = {t["name"]: t["status"] for t in report(root)["tiers"]}  # type: ignore[attr-defined]
    assert tiers == {"unit": "failed", "integration": "passed"}


def test_coverage_writes_terminal_and_html_reports_and_gates(make_project: ProjectFactory) -> None:
    files = {
        "server/__init__.py": "",
        "server/calc.py": "def add(a, b):\n    return a + b\n\ndef unused(x):\n    if x:\n        return 1\n    return 2\n",
        "tests/unit/test_calc.py": "from server.calc import add\n\ndef test_add():\n    assert add(1, 2) == 3\n",
        "stagewise.toml": '[project]\nsource = ["server"]\n',
    }
    root = make_project(files)
    done = run_cli("test", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert done.returncode == 0, done.stdout
    assert "server/calc.py" in done.stdout
    assert "TOTAL" in done.stdout
    assert (root / "reports" / "latest" / "coverage-html" / "index.html").is_file()
    assert report(root)["coverage_percent"] is not None

    (root / "stagewise.toml").write_text('[project]\nsource = ["server"]\n[coverage]\nfail_under = 90\n')
    gated = run_cli("test", "--coverage", cwd=root, env={"PYTHONPATH": str(root)})
    assert gated.returncode == 1
    assert "is below fail_under 90%" in gated.stdout


def test_required_variable_missing_is_exit_4_before_anything_runs(make_project: ProjectFactory) -> None:
    root = make_project(
        {"tests/unit/test_ok.py": PASSING, "stagewise.toml": '[project]\nrequired_env = ["SHOP_API_TOKEN"]\n'}
    )
    done = run_cli("test", cwd=root)
    assert done.returncode == 4
    assert "needs the variable SHOP_API_TOKEN" in done.stderr
    assert not (root / "reports").exists()


def test_tests_receive_stage_target_and_env_files_with_secrets_masked(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            ".env": "GREETING=hello\nAPI_TOKEN=base-token-value\n",
            ".env.dev": "API_TOKEN=dev-token-value\n",
            "tests/unit/test_env.py": """
            import os

            def test_env():
                assert os.environ["STAGEWISE_STAGE"] == "dev"
                assert os.environ["TEST_ENVIRONMENT"] == "dev"
                assert os.environ["STAGEWISE_BASE_URL"] == "http://127.0.0.1:8123"
                assert os.environ["TARGET_HOST"] == "http://127.0.0.1:8123"
                assert os.environ["GREETING"] == "hello"
                assert os.environ["API_TOKEN"] == "dev-token-value"
                print("the token is", os.environ["API_TOKEN"])
            """,
            "stagewise.toml": '[stages.dev]\nbase_url = "http://127.0.0.1:8123"\n',
        }
    )
    done = run_cli("test", "--stage", "dev", "--unit", "-v", cwd=root, env={})
    assert done.returncode == 0, done.stdout
    env_out = run_cli("env", "--stage", "dev", cwd=root)
    assert env_out.returncode == 0
    assert "GREETING=hello  # .env" in env_out.stdout
    assert "API_TOKEN=***  # .env.dev" in env_out.stdout
    assert "dev-token-value" not in env_out.stdout

    failing = root / "tests" / "unit" / "test_env.py"
    failing.write_text('import os\n\ndef test_leak():\n    assert os.environ["API_TOKEN"] == "x"\n')
    leaked = run_cli("test", "--stage", "dev", "--unit", cwd=root)
    assert leaked.returncode == 1
    assert "dev-token-value" not in leaked.stdout
    assert "***" in leaked.stdout


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_pytest_and_exits_130(
    make_project: ProjectFactory, tmp_path: Path, presses: int
) -> None:
    """A second Ctrl+C lands while stagewise waits out the child's grace period (the child ignores
    SIGINT, so stopping it takes until SIGTERM); the run still stops it and records the interrupt."""
    pid_file = tmp_path / "pytest.pid"
    root = make_project(
        {
            "tests/unit/test_slow.py": f"""
            import os, signal, time

            def test_slow():
                signal.signal(signal.SIGINT, signal.SIG_IGN)
                open({str(pid_file)!r}, "w").write(str(os.getpid()))
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
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline, "pytest never started"
        assert process.poll() is None
        time.sleep(0.1)
    child = int(pid_file.read_text())
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(1)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "interrupted" in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    record = json.loads((reports / "latest" / "summary.json").read_text())
    assert (record["verdict"], record["exit_code"]) == ("interrupted", 130)


def test_missing_pytest_names_the_install_command(make_project: ProjectFactory, tmp_path: Path) -> None:
    venv = tmp_path / "bare-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    root = make_project(
        {"tests/unit/test_ok.py": PASSING, "stagewise.toml": f'[project]\npython = "{python}"\n'}
    )
    done = run_cli("test", cwd=root)
    assert done.returncode == 4
    assert f"not installed in {python}: run `{python} -m pip install 'pytest>=7.0'`" in done.stderr
    assert "--install-missing" in done.stderr


def test_missing_pytest_cov_is_exit_4_not_a_silent_run(make_project: ProjectFactory, tmp_path: Path) -> None:
    venv = tmp_path / "pytest-only-venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = next((venv / "lib").glob("python3*/site-packages"))
    import _pytest
    import iniconfig
    import packaging
    import pluggy
    import py
    import pygments

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
        {"tests/unit/test_ok.py": PASSING, "stagewise.toml": f'[project]\npython = "{python}"\n'}
    )
    plain = run_cli("test", cwd=root)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    covered = run_cli("test", "--coverage", cwd=root)
    assert covered.returncode == 4
    assert "pytest-cov is needed for --coverage" in covered.stderr


def test_headed_e2e_without_a_display_is_exit_4(make_project: ProjectFactory) -> None:
    root = make_project({"tests/e2e/test_page.py": PASSING})
    env = {"DISPLAY": "", "WAYLAND_DISPLAY": ""}
    done = run_cli("test", "--e2e", "--no-headless", "--host", "http://127.0.0.1:9", cwd=root, env=env)
    assert done.returncode == 4
    assert "--no-headless needs a display" in done.stderr
    assert "xvfb-run" in done.stderr
