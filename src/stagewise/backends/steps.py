"""Build and prestart steps: run live, prefixed with their step, bounded by their timeout.

A step's output reaches the sink line by line as it is written (a 300 s
retry loop in a prestart script shows its progress instead of looking like a
hang); a step that runs past its ``timeout`` is stopped (its whole process
group) and the error says so and names the key to raise. A failed step is one
line built with :func:`stagewise.cause.cause_line` from what it printed.

Also here: :func:`runs_alembic`, how stagewise sees that a plain step would
migrate a database behind the guard's back, and :class:`StepsBackend`, what a
backend that runs such steps offers the deploy operation (the local backend
does; a backend that runs prestart steps elsewhere can too).

This module imports nothing above the backends layer, so any backend can share it.
"""

from __future__ import annotations

import io
import os
import queue
import signal
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

from stagewise.cause import cause_line
from stagewise.errors import ConfigError, DeployError
from stagewise.processes import start_group, stop_group
from stagewise.project.services import Step

#: Lines of a step's output kept to name the cause of a failure.
TAIL_LINES = 200
#: After TERM, how long a stopped step gets before KILL.
STOP_GRACE_SECONDS = 5.0
_EOF = None

Sink = Callable[[str], None]


def runs_alembic(argv: Sequence[str]) -> bool:
    """Whether ``argv`` runs alembic itself: ``alembic ...``, ``.venv/bin/alembic``, ``python -m alembic``.

    A script that calls alembic inside cannot be seen from its argument list;
    such a step is declared ``migrate = true`` by the project.
    """
    for index, part in enumerate(argv):
        if os.path.basename(part) == "alembic":
            return True
        if part == "-m" and index + 1 < len(argv) and argv[index + 1].split(".")[0] == "alembic":
            return True
        if part.startswith("-malembic"):
            return True
    return False


def refuse_unguarded_migration(step: Step, stage: str, *, protected: bool, file: str) -> None:
    """On a protected stage, a plain step that runs alembic: the project-file error, with the fix."""
    if step.migrate or not protected or not runs_alembic(step.command):
        return
    command = ", ".join(f'"{part}"' for part in step.command)
    raise ConfigError(
        file,
        step.label,
        f"runs alembic on protected stage {stage} with no backup and no confirmation: write it as "
        f"{{ command = [{command}], migrate = true }} (or {{ migrate = true }} for stagewise's own "
        "migrate) in prestart",
    )


def run_step(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    sink: Sink,
    prefix: str,
    label: str,
    timeout: float,
) -> None:
    """Run one step, relaying each output line as ``"<prefix> | <line>"`` while it runs.

    Raises :class:`DeployError` when it cannot start, exits non-zero (with the
    line naming the cause) or outlives ``timeout`` (after stopping it).
    A Ctrl+C stops the step's process group, then propagates.
    """
    shown = " ".join(command)
    try:
        process, _ref = start_group(command, cwd=cwd, env=env, stdout=subprocess.PIPE)
    except FileNotFoundError as exc:
        raise DeployError(f"{label} cannot run: {command[0]} not found ({shown})") from exc
    except OSError as exc:
        raise DeployError(f"{label} cannot run: {command[0]}: {exc.strerror or exc}") from exc
    tail: deque[str] = deque(maxlen=TAIL_LINES)
    lines: queue.Queue[str | None] = queue.Queue()
    reader = threading.Thread(target=_read_lines, args=(process, lines), daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    exited_at: float | None = None
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                stop_group(process, first=(signal.SIGTERM,), grace=STOP_GRACE_SECONDS)
                _drain(lines, tail, sink, prefix)
                raise DeployError(
                    f"{label} ran longer than its timeout of {timeout:g} s and was stopped: {shown} "
                    f"(set timeout in {label} to allow more)"
                )
            try:
                line = lines.get(timeout=min(left, 0.5))
            except queue.Empty:
                # A daemon the step left behind may hold its output open: the step is done
                # when its own process has exited and nothing more came for a second.
                if process.poll() is not None:
                    exited_at = exited_at or time.monotonic()
                    if time.monotonic() - exited_at > 1.0:
                        break
                continue
            if line is _EOF:
                break
            tail.append(line)
            sink(f"{prefix} | {line}")
        code = process.wait()
    except BaseException:
        if process.poll() is None:
            stop_group(process, first=(signal.SIGTERM,), grace=STOP_GRACE_SECONDS)
        raise
    finally:
        reader.join(timeout=1)
    if code != 0:
        raise DeployError(f"{label} failed (exit {code}): {shown}: {cause_line(chr(10).join(tail))}")


def _read_lines(process: subprocess.Popen[bytes], lines: queue.Queue[str | None]) -> None:
    """Feed the child's lines to ``lines`` as they come; ``None`` once its output closes."""
    if process.stdout is None:  # pragma: no cover - start_group(stdout=PIPE) always gives a stream
        lines.put(_EOF)
        return
    with io.TextIOWrapper(process.stdout, encoding="utf-8", errors="replace") as output:
        try:
            for line in output:
                lines.put(line.rstrip("\n"))
        except (OSError, ValueError):  # the stream was closed under us while stopping
            pass
    lines.put(_EOF)


def _drain(lines: queue.Queue[str | None], tail: deque[str], sink: Sink, prefix: str) -> None:
    """Relay what a stopped step printed before it went (the reader may still hold a few lines)."""
    end = time.monotonic() + 1.0
    while time.monotonic() < end:
        try:
            line = lines.get(timeout=0.1)
        except queue.Empty:
            continue
        if line is _EOF:
            return
        tail.append(line)
        sink(f"{prefix} | {line}")


@runtime_checkable
class StepsBackend(Protocol):
    """A backend that runs prestart steps itself, so ``deploy ENV up`` can check them first.

    ``migration_steps`` raises :class:`~stagewise.errors.ConfigError` for a
    step that would run alembic unguarded on a protected stage, and returns
    the labels of the declared migration steps that ``up`` would run; after
    the caller has confirmed them on a protected stage it calls
    ``confirm_migrations``. Nothing is started by either.
    """

    def migration_steps(self) -> list[str]: ...

    def confirm_migrations(self) -> None: ...
