"""Helpers for stagewise's own tests: run the real CLI as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHOP = REPO / "examples" / "shop"


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The process env for a CLI run, without anything that would steer it by accident."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("STAGEWISE_", "PYTEST_", "COV_CORE"))}
    env.pop("TEST_ENVIRONMENT", None)
    env.pop("TARGET_HOST", None)
    env["NO_COLOR"] = "1"
    env.update(extra or {})
    return env


def run_cli(
    *args: str,
    cwd: Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m stagewise ARGS`` exactly as a user would, capturing output."""
    return subprocess.run(
        [sys.executable, "-m", "stagewise", *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def term_ignoring_server(port: int) -> str:
    """``python -c`` source of an HTTP server on 127.0.0.1:``port`` that ignores SIGTERM.

    Stopping it takes the whole grace period before SIGKILL: the window in which
    the Ctrl+C tests press a second time.
    """
    return (
        "import http.server, signal; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        f"http.server.HTTPServer(('127.0.0.1', {port}), http.server.SimpleHTTPRequestHandler).serve_forever()"
    )


def typed_at_a_terminal(root: Path, args: list[str], answer: bytes, timeout: float = 120) -> tuple[int, str]:
    """Run the CLI with a pseudo-terminal as stdin; type ``answer`` at its ``Type 'prod'`` prompt.

    Returns the exit code and everything it printed (stdout, then stderr).
    """
    import pty
    import select
    import time

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "stagewise", *args],
        cwd=root,
        env=cli_env(),
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    os.close(terminal)
    try:
        assert process.stdout is not None
        seen = b""
        deadline = time.monotonic() + 30
        while b"Type 'prod'" not in seen:
            assert time.monotonic() < deadline, seen
            ready, _, _ = select.select([process.stdout], [], [], 1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 1024)
                assert chunk, f"exited before prompting: {process.communicate()}"
                seen += chunk
        os.write(controller, answer)
        out, err = process.communicate(timeout=timeout)
    finally:
        os.close(controller)
        if process.poll() is None:
            process.kill()
    return process.returncode, (seen + out).decode() + err.decode()
