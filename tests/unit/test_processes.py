"""stagewise.processes: start a group, track it by pid and start time, stop it with the one sequence."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from stagewise.processes import ProcessRef, start_group, start_time, stop_group

# A child that ignores SIGTERM (and SIGINT) and forks a grandchild that does the same;
# the grandchild's pid goes to stdout so the test can look for it.
STUBBORN = """
import os, signal, sys, time
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
child = os.fork()
if child == 0:
    time.sleep(60)
    os._exit(0)
print(child, flush=True)
time.sleep(60)
"""


def _sleeper(
    tmp_path: Path, source: str = "import time; time.sleep(60)", *, pipe: bool = False
) -> tuple[subprocess.Popen[bytes], ProcessRef]:
    stdout = subprocess.PIPE if pipe else subprocess.DEVNULL
    return start_group([sys.executable, "-c", source], cwd=tmp_path, stdout=stdout)


def _gone(pid: int) -> bool:
    return start_time(pid) is None


def test_a_started_child_leads_its_own_session_and_is_tracked_by_start_time(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path)
    try:
        assert ref.pid == process.pid
        assert os.getpgid(process.pid) == process.pid
        assert os.getsid(process.pid) == process.pid
        assert ref.start is not None
        assert ref.start == start_time(process.pid)
        assert ref.alive()
        assert ProcessRef.of(process.pid) == ref
        assert not ProcessRef(process.pid, ref.start + 1).alive()  # same pid, another process
        assert not ProcessRef(process.pid, None).alive()
    finally:
        process.kill()
        process.wait()
    assert not ref.alive()
    assert start_time(0) is None


def test_a_zombie_has_no_start_time(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path, "pass")
    deadline = time.monotonic() + 5
    while start_time(process.pid) is not None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert start_time(process.pid) is None  # exited, not yet reaped
    assert not ref.alive()
    process.wait()


def test_stop_sends_term_waits_the_grace_period_then_kills_the_whole_group(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path, STUBBORN, pipe=True)
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    try:
        began = time.monotonic()
        assert stop_group(ref, grace=0.5) is True
        took = time.monotonic() - began
        assert took >= 0.5  # TERM was ignored: the whole grace period, then KILL
        assert took < 5
        assert _gone(process.pid)  # killed, and reaped by the stop (it is our child)
        assert _gone(grandchild)
        process.wait(5)
    finally:
        process.stdout.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_child_that_obeys_the_first_signal_is_not_killed(tmp_path: Path) -> None:
    source = "import signal, time; signal.signal(signal.SIGINT, signal.SIG_IGN); print('ready', flush=True); time.sleep(60)"
    process, _ref = _sleeper(tmp_path, source, pipe=True)
    assert process.stdout is not None
    assert process.stdout.readline() == b"ready\n"
    process.stdout.close()
    began = time.monotonic()
    # SIGINT is ignored, SIGTERM ends it: it never gets to SIGKILL.
    assert stop_group(process, first=(signal.SIGINT, signal.SIGTERM), grace=0.5) is True
    assert 0.5 <= time.monotonic() - began < 5
    assert process.returncode == -signal.SIGTERM


def test_no_first_signal_means_sigkill_at_once(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path, STUBBORN, pipe=True)
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    process.stdout.close()
    began = time.monotonic()
    assert stop_group(ref, first=(), grace=30) is True
    assert time.monotonic() - began < 5
    assert _gone(process.pid)
    assert _gone(grandchild)
    process.wait(5)


def test_a_stopped_group_still_stops_on_term(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path)
    os.killpg(process.pid, signal.SIGSTOP)
    began = time.monotonic()
    assert stop_group(ref, grace=5) is True  # SIGCONT after TERM lets it act on it
    assert time.monotonic() - began < 4  # ended by TERM, not by the KILL after the grace period
    assert _gone(process.pid)
    process.wait(5)


def test_a_reused_pid_is_never_signalled(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path)
    try:
        assert ref.start is not None
        someone_else = ProcessRef(process.pid, ref.start - 1)  # what the pid was before reuse
        assert stop_group(someone_else, first=(), grace=0) is False
        time.sleep(0.1)
        assert process.poll() is None
        assert ref.alive()
    finally:
        process.kill()
        process.wait()


def test_a_popen_group_is_stopped_even_after_its_leader_exited(tmp_path: Path) -> None:
    # The leader exits at once; its grandchild stays in the group until the stop kills it.
    leader = "import os, sys, time\nif os.fork() == 0:\n    time.sleep(60)\n    os._exit(0)\n"
    process, _ref = _sleeper(tmp_path, leader)
    process.wait(5)
    members = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _in_group(p, process.pid)]
    assert members, "the grandchild should still be in the group"
    assert stop_group(process, grace=5) is True
    assert all(_gone(int(p.name)) for p in members)


def test_stopping_a_gone_process_does_nothing(tmp_path: Path) -> None:
    process, ref = _sleeper(tmp_path, "pass")
    process.wait(5)
    assert stop_group(ref) is False
    assert stop_group(process) is False


def _in_group(entry: Path, pgid: int) -> bool:
    try:
        fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return int(fields[2]) == pgid and fields[0] != "Z"
