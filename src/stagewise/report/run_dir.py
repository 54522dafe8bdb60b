"""Run ids and the ``reports/<run-id>/`` folders they name."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path


def new_run_id() -> str:
    """A sortable, unique id: UTC time to the second plus a random suffix."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + os.urandom(3).hex()


def prepare_run_dir(reports_root: Path, run_id: str) -> Path:
    """Create ``reports/<run-id>/`` and point ``reports/latest`` at it atomically."""
    run_dir = reports_root / run_id
    run_dir.mkdir(parents=True, exist_ok=False)
    link = reports_root / "latest"
    temporary = reports_root / f".latest-{run_id}"
    try:
        temporary.symlink_to(run_id, target_is_directory=True)
        os.replace(temporary, link)
    except OSError:
        temporary.unlink(missing_ok=True)
    return run_dir
