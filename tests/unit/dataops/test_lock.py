"""The env lock under real contention: separate processes, thousands of attempts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stagewise.dataops.lock import env_lock
from stagewise.errors import LockedError

TAKER = """
import os, sys, time
from pathlib import Path
from stagewise.dataops.lock import env_lock
from stagewise.errors import LockedError

locks, marker, rounds = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
overlaps = taken = refused = 0

def inside():
    global overlaps, taken
    taken += 1
    try:
        fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
    except FileExistsError:
        overlaps += 1  # somebody else is inside the lock too
        return
    os.close(fd)
    time.sleep(0.0005)
    os.unlink(marker)

for _ in range(rounds):
    try:
        with env_lock(locks, "dev", f"taker {os.getpid()}"):
            inside()
    except LockedError:
        refused += 1  # contention: now wait for it
        with env_lock(locks, "dev", f"taker {os.getpid()}", wait=30):
            inside()
print(overlaps, taken, refused)
"""


def test_concurrent_takers_never_overlap(tmp_path: Path) -> None:
    takers = [
        subprocess.Popen(
            [sys.executable, "-c", TAKER, str(tmp_path / "locks"), str(tmp_path / "inside"), "300"],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = [tuple(int(x) for x in t.communicate(timeout=120)[0].split()) for t in takers]
    assert all(t.returncode == 0 for t in takers)
    assert sum(overlap for overlap, _, _ in results) == 0, results
    assert all(taken == 300 for _, taken, _ in results), results
    assert sum(refused for _, _, refused in results) > 0, "the takers must really have competed"


def test_a_lock_held_by_a_killed_process_is_free_at_once(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom pathlib import Path\nfrom stagewise.dataops.lock import env_lock\n"
            f"with env_lock(Path({str(tmp_path)!r}), 'prod', 'stagewise deploy prod restore'):\n"
            "    print('held', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    with (
        pytest.raises(
            LockedError, match=r"prod is locked by `stagewise deploy prod restore` \(pid \d+\) since "
        ),
        env_lock(tmp_path, "prod", "second"),
    ):
        pass
    os.kill(holder.pid, signal.SIGKILL)
    holder.communicate(timeout=30)
    started = time.monotonic()
    with env_lock(tmp_path, "prod", "after the crash"):
        assert time.monotonic() - started < 1
    assert (tmp_path / "prod.lock").exists(), "the lock file stays; only the kernel lock is released"
