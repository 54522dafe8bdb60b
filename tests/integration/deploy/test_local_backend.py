"""``stagewise deploy`` on the local backend: real processes, real ports, real signals.

Services here are small real servers (``python -m http.server``) or the shop
itself, on free ports; every test checks that nothing it started survives.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ProjectFactory
from tests.helpers import cli_env, free_port, run_cli, term_ignoring_server, typed_at_a_terminal


def http_service_toml(port: int, extra: str = "", health: str | None = None) -> str:
    health = health or '{ http = "http://127.0.0.1:{port}/", timeout = 20 }'
    return f"""
[stages.dev]
base_url = "http://127.0.0.1:{port}"

[services.web]
command = ["{{python}}", "-m", "http.server", "{{port}}", "--bind", "127.0.0.1"]
port = {port}
health = {health}
build = [["{{python}}", "-c", "open('built.txt', 'w').write('{{stage}}')"]]
data = ["data"]
{extra}
"""


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie (PID 1 here may not reap orphans)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
def web_project(make_project: ProjectFactory) -> Iterator[tuple[Path, int]]:
    port = free_port()
    root = make_project({"stagewise.toml": http_service_toml(port), "data/keep.txt": "x"})
    yield root, port
    run_cli("deploy", "dev", "down", cwd=root)
    assert not port_open(port), "a test left the service running"


def test_up_detached_status_and_down(web_project: tuple[Path, int]) -> None:
    root, port = web_project
    up = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "web | healthy" in up.stdout
    assert port_open(port)
    status = run_cli("deploy", "dev", "status", "--json", cwd=root)
    services = json.loads(status.stdout)["services"]
    assert services[0]["name"] == "web"
    assert services[0]["state"] == "running"
    assert services[0]["health"] == "healthy"
    assert services[0]["port"] == port
    pid = services[0]["pid"]
    assert (root / ".stagewise" / "dev" / "web.log").is_file()
    again = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert "already running" in again.stdout
    down = run_cli("deploy", "dev", "down", cwd=root)
    assert down.returncode == 0
    assert "stopped web" in down.stdout
    assert not port_open(port)
    assert not alive(pid)
    assert (root / "data" / "keep.txt").exists()
    nothing = run_cli("deploy", "dev", "down", cwd=root)
    assert nothing.returncode == 0
    assert "nothing was running" in nothing.stdout


def test_down_volumes_deletes_the_data(web_project: tuple[Path, int]) -> None:
    root, _ = web_project
    assert run_cli("deploy", "dev", "up", "-d", cwd=root).returncode == 0
    done = run_cli("deploy", "dev", "down", "--volumes", cwd=root)
    assert done.returncode == 0
    assert not (root / "data").exists()
    assert not (root / ".stagewise" / "dev").exists()


def test_up_build_and_build_service(web_project: tuple[Path, int]) -> None:
    root, _ = web_project
    built = run_cli("deploy", "dev", "build", "web", cwd=root)
    assert built.returncode == 0, built.stderr
    assert (root / "built.txt").read_text() == "dev"
    (root / "built.txt").unlink()
    assert run_cli("deploy", "dev", "up", "-d", "--build", cwd=root).returncode == 0
    assert (root / "built.txt").exists()


def test_unknown_service_and_shell_metacharacters_are_rejected(web_project: tuple[Path, int]) -> None:
    root, port = web_project
    for name in ("nope", "web; touch pwned", "$(touch pwned)"):
        done = run_cli("deploy", "dev", "logs", name, cwd=root)
        assert done.returncode == 2, done.stderr
        assert "services are web" in done.stderr
    assert not (root / "pwned").exists()
    assert not port_open(port)


def test_metacharacters_in_a_configured_service_name_are_a_config_error(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": '[services."web;rm -rf x"]\ncommand = ["true"]\n'})
    done = run_cli("deploy", "dev", "status", cwd=root)
    assert done.returncode == 3
    assert "service names are lower-case letters" in done.stderr


def test_a_service_that_never_becomes_healthy(make_project: ProjectFactory) -> None:
    port, wrong = free_port(), free_port()
    health = f'{{ http = "http://127.0.0.1:{wrong}/", timeout = 2 }}'
    root = make_project({"stagewise.toml": http_service_toml(port, health=health)})
    done = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert done.returncode == 1
    assert "service web not healthy after 2s" in done.stderr
    assert "last log lines" in done.stderr
    assert not port_open(port), "the unhealthy service was left running"


def test_a_port_already_taken(make_project: ProjectFactory) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        root = make_project({"stagewise.toml": http_service_toml(port)})
        done = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert done.returncode == 1
    assert f"port {port} for service web is already in use" in done.stderr


def test_a_service_that_exits_during_start(make_project: ProjectFactory) -> None:
    root = make_project(
        {
            "stagewise.toml": """
[services.crash]
command = ["{python}", "-c", "import sys; print('config missing'); sys.exit(3)"]
health = { tcp = 9, timeout = 10 }
"""
        }
    )
    done = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert done.returncode == 1
    assert "service crash exited during start-up" in done.stderr
    assert "config missing" in done.stderr


def start_foreground(root: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "stagewise", "deploy", "dev", *args],
        cwd=root,
        env=cli_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_port(port: int, process: subprocess.Popen[str], up: bool = True) -> None:
    deadline = time.monotonic() + 30
    while port_open(port) != up:
        assert process.poll() is None or not up, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)


def test_foreground_up_streams_logs_and_ctrl_c_stops_everything(web_project: tuple[Path, int]) -> None:
    root, port = web_project
    process = start_foreground(root, "up")
    wait_port(port, process)
    subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/"], capture_output=True, check=False)
    time.sleep(0.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, out + err
    assert "web | " in out
    assert "interrupted: stopped web" in err
    assert not port_open(port)


def test_a_second_ctrl_c_while_a_stubborn_service_stops_still_kills_it(make_project: ProjectFactory) -> None:
    """The service ignores TERM, so stopping it waits out the grace period before KILL; a user
    pressing Ctrl+C again in that wait must not cut the stop short and leave it running."""
    port = free_port()
    script = term_ignoring_server(port)
    toml = f'[services.stubborn]\ncommand = ["{{python}}", "-c", "{script}"]\nport = {port}\nhealth = {{ tcp = {port} }}\n'
    root = make_project({"stagewise.toml": toml})
    process = start_foreground(root, "up")
    try:
        assert process.stdout is not None
        for line in process.stdout:  # healthy: the CLI now follows the logs
            if "stubborn | healthy" in line:
                break
        process.send_signal(signal.SIGINT)
        time.sleep(1)  # stagewise has sent TERM and waits for the grace period
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 130, out + err
        assert "interrupted: stopped stubborn" in err
        assert not port_open(port), "the second Ctrl+C left the service running"
    finally:
        run_cli("deploy", "dev", "down", cwd=root)  # a failed run must not leave it behind


def test_foreground_up_notices_a_crash_after_start(make_project: ProjectFactory) -> None:
    port = free_port()
    script = (
        "import http.server, threading, time, sys; "
        f"s = http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler); "
        "threading.Thread(target=s.serve_forever, daemon=True).start(); time.sleep(2); "
        "print('fatal: lost the database', flush=True); sys.exit(1)"
    )
    toml = f'[services.flaky]\ncommand = ["{{python}}", "-c", "{script}"]\nport = {port}\nhealth = {{ tcp = {port} }}\n'
    root = make_project({"stagewise.toml": toml})
    process = start_foreground(root, "up")
    out, err = process.communicate(timeout=60)
    assert process.returncode == 1, out + err
    assert "service flaky stopped unexpectedly" in err
    assert "fatal: lost the database" in err + out


def test_logs_and_logs_follow_exit_cleanly_on_ctrl_c(web_project: tuple[Path, int]) -> None:
    root, port = web_project
    assert run_cli("deploy", "dev", "up", "-d", cwd=root).returncode == 0
    subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/marker-one"], capture_output=True, check=False)
    logs = run_cli("deploy", "dev", "logs", "web", cwd=root)
    assert logs.returncode == 0
    assert "marker-one" in logs.stdout
    follower = start_foreground(root, "logs", "-f")
    time.sleep(1.0)
    subprocess.run(["curl", "-s", f"http://127.0.0.1:{port}/marker-two"], capture_output=True, check=False)
    time.sleep(1.0)
    follower.send_signal(signal.SIGINT)
    out, err = follower.communicate(timeout=20)
    assert follower.returncode == 130
    assert "marker-two" in out
    assert "Traceback" not in err
    assert port_open(port), "following logs must not stop the service"


def test_protected_down_volumes_refuses_without_yes(make_project: ProjectFactory) -> None:
    port = free_port()
    toml = http_service_toml(port).replace("[stages.dev]", "[stages.prod]")
    root = make_project({"stagewise.toml": toml, "data/keep.txt": "precious"})
    done = run_cli("deploy", "prod", "down", "--volumes", cwd=root)
    assert done.returncode == 2
    assert "prod is protected: refusing to delete its data" in done.stderr
    assert (root / "data").exists()


def test_grammar_errors(make_project: ProjectFactory) -> None:
    root = make_project({"stagewise.toml": http_service_toml(free_port())})
    bare = run_cli("deploy", cwd=root)
    assert bare.returncode == 2
    for command in ("up", "down", "build", "logs", "status", "test"):
        assert command in bare.stderr
    invalid = run_cli("deploy", "invalid_cmd", cwd=root)
    assert invalid.returncode == 2
    assert "unknown command or environment 'invalid_cmd'" in invalid.stderr
    sub = run_cli("deploy", "dev", "invalid_sub_cmd", cwd=root)
    assert sub.returncode == 2
    assert "unknown command 'invalid_sub_cmd' for dev: commands are up, down" in sub.stderr
    env = run_cli("deploy", "unknown_env", "up", cwd=root)
    assert env.returncode == 2
    assert "unknown environment 'unknown_env': environments are dev, test, staging, prod" in env.stderr
    flag = run_cli("deploy", "dev", "up", "--bogus", cwd=root)
    assert flag.returncode == 2
    assert "stagewise deploy dev up -h" in flag.stderr


def test_a_secret_in_the_log_tail_of_an_error_is_masked(make_project: ProjectFactory) -> None:
    token = "tok-" + os.urandom(8).hex()
    script = "import os, sys; print('using token', os.environ['SHOP_API_TOKEN'], flush=True); sys.exit(3)"
    root = make_project(
        {
            "stagewise.toml": f'[services.leaky]\ncommand = ["{{python}}", "-c", "{script}"]\nhealth = {{ tcp = 9, timeout = 10 }}\n',
            ".env.dev": f"SHOP_API_TOKEN={token}\n",
        }
    )
    done = run_cli("deploy", "dev", "up", "-d", cwd=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "service leaky exited during start-up" in done.stderr
    assert "using token ***" in done.stderr, done.stderr
    assert token not in done.stderr + done.stdout
    assert token in (root / ".stagewise" / "dev" / "leaky.log").read_text(), "the service did print it"


def test_ctrl_d_at_the_confirmation_prompt_is_not_confirmed(make_project: ProjectFactory) -> None:
    """On a terminal the prompt asks for the stage name; Ctrl+D (EOF) confirms nothing."""
    port = free_port()
    toml = http_service_toml(port).replace("[stages.dev]", "[stages.prod]")
    root = make_project({"stagewise.toml": toml, "data/keep.txt": "precious"})
    # Ctrl+D: end of input at the start of a line
    code, text = typed_at_a_terminal(root, ["deploy", "prod", "down", "--volumes"], b"\x04", timeout=30)
    assert code == 2, text
    assert "not confirmed: nothing done on prod" in text
    assert "Traceback" not in text
    assert (root / "data" / "keep.txt").read_text() == "precious"
