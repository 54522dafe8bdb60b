"""Run a child process, stream its output line by line, stop it on Ctrl+C.

The child gets its own session so that stagewise alone decides how it is
stopped: on Ctrl+C (or SIGTERM, which the CLI turns into one) the whole process
group gets SIGINT, then SIGTERM, then SIGKILL, and nothing is left behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from stagewise.errors import InterruptedRun, MissingError
from stagewise.interrupts import interrupt_once

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
        process = subprocess.Popen(
            list(command),
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise MissingError(f"cannot run {command[0]}: not found ({what})") from exc
    except PermissionError as exc:
        raise MissingError(f"cannot run {command[0]}: permission denied ({what})") from exc
    if process.stdout is None:  # pragma: no cover - PIPE always gives a stream
        raise MissingError(f"no output stream from {what}")
    # From the first Ctrl+C on, later ones are not delivered: stopping the group runs whole
    # (it escalates to SIGKILL by itself within 2 x GRACE_SECONDS).
    with interrupt_once():
        try:
            for line in process.stdout:
                on_line(line.rstrip("\n"))
            return process.wait()
        except KeyboardInterrupt:
            stop_group(process)
            raise InterruptedRun(f"interrupted: stopped {what} (pid {process.pid})") from None
        finally:
            process.stdout.close()
            if process.poll() is None:
                stop_group(process)


def stop_group(process: subprocess.Popen[str]) -> None:
    """Stop a child and its process group: SIGINT, SIGTERM, then SIGKILL."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            continue
        # The leader is gone; make sure no grandchild of the group survives it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        break
