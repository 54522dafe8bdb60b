"""Run a child process, stream its output line by line, stop it on Ctrl+C.

The child gets its own session so that stagewise alone decides how it is
stopped: on Ctrl+C (or SIGTERM, which the CLI turns into one) the whole process
group is stopped by :func:`stagewise.processes.stop_group`: SIGINT (pytest,
Locust and compose end cleanly on it), then SIGTERM, then SIGKILL, each after
a grace period, and nothing is left behind.
"""

from __future__ import annotations

import io
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stagewise.errors import InterruptedRun, MissingError
from stagewise.interrupts import interrupt_once
from stagewise.processes import start_group
from stagewise.processes import stop_group as _stop_group

GRACE_SECONDS = 5.0


def run_streaming(
    command: Sequence[str],
    cwd: Path,
    env: Mapping[str, str],
    on_line: Callable[[str], None],
    what: str = "child process",
) -> int:
    """Run ``command`` (an argument list), feeding each output line to ``on_line``.

    Returns the exit code. Raises :class:`InterruptedRun` after stopping the
    child's whole process group when interrupted.
    """
    try:
        process, _ref = start_group(command, cwd=cwd, env=env, stdout=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise MissingError(f"cannot run {command[0]}: not found ({what})") from exc
    except PermissionError as exc:
        raise MissingError(f"cannot run {command[0]}: permission denied ({what})") from exc
    if process.stdout is None:  # pragma: no cover - PIPE always gives a stream
        raise MissingError(f"no output stream from {what}")
    output = io.TextIOWrapper(process.stdout, encoding="utf-8", errors="replace")
    # From the first Ctrl+C on, later ones are not delivered: stopping the group runs whole
    # (it escalates to SIGKILL by itself within 2 x GRACE_SECONDS).
    with interrupt_once():
        try:
            for line in output:
                on_line(line.rstrip("\n"))
            return process.wait()
        except KeyboardInterrupt:
            stop_group(process)
            raise InterruptedRun(f"interrupted: stopped {what} (pid {process.pid})") from None
        finally:
            output.close()
            if process.poll() is None:
                stop_group(process)


def stop_group(process: subprocess.Popen[bytes]) -> None:
    """Stop a child and its process group: SIGINT, SIGTERM, then SIGKILL."""
    _stop_group(process, first=(signal.SIGINT, signal.SIGTERM), grace=GRACE_SECONDS)
