"""The stage's front door: HAProxy on ``127.0.0.1:PORT`` in front of two slots.

The config has one backend ``app`` with two servers, ``a`` and ``b`` (the two
instances of the released service); exactly one is ``ready`` at rest, the
other in maintenance. A switch is one line on HAProxy's admin socket:
``set server app/NEW state ready; set server app/OLD state drain`` — HAProxy
runs both commands back to back, so every new request goes to NEW from then
on while requests in flight on OLD complete. :meth:`FrontDoor.drain` waits
until OLD has no session left, then puts it in maintenance.

HAProxy checks each slot itself (``option httpchk`` on the project's health
path every 200 ms, and a connection error marks a slot down at once), and
each slot has a ``backup`` twin (``a_back``, ``b_back``: the same port). A
forward switch readies OLD's twin, so when NEW dies after the switch HAProxy
sends requests (and retries of those that failed) to the old version until
stagewise switches back, instead of answering 503 in between.

HAProxy runs in the foreground (``haproxy -db``) in its own session; its pid
and kernel start time are journalled in ``frontdoor.json`` beside the stage's
other processes (:mod:`stagewise.processes`), so ``status`` and the next
release find it and a pid reused by someone else is never signalled.
"""

from __future__ import annotations

import hashlib
import json
import socket
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stagewise.errors import DeployError, MissingError
from stagewise.processes import ProcessRef, start_group, stop_group
from stagewise.tiers.resilience.haproxy import haproxy_binary

SLOTS = ("a", "b")


@dataclass(frozen=True)
class DoorState:
    """What ``frontdoor.json`` holds."""

    pid: int
    start_ticks: int
    port: int
    ports: dict[str, int]
    serving: str
    socket: str


def render(port: int, ports: dict[str, int], serving: str, socket_path: str, health_path: str) -> str:
    """The ``haproxy.cfg`` text: ``serving`` ready, the other slot and both twins in maintenance."""
    lines = [
        "# Written by stagewise: the stage's front door (see stagewise.release.frontdoor).",
        "global",
        "    nbthread 1",
        f"    stats socket {socket_path} mode 600 level admin",
        "",
        "defaults",
        "    mode http",
        "    timeout connect 2s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout check 1s",
        "    retries 3",
        # A GET the dying slot reset or never answered is sent again, to a server still up.
        "    retry-on conn-failure empty-response junk-response",
        "    option redispatch 1",
        "",
        "frontend door",
        f"    bind 127.0.0.1:{port}",
        "    http-after-response set-header X-Release-Slot %[srv_name] if { srv_name -m found }",
        "    default_backend app",
        "",
        "backend app",
        f"    option httpchk GET {health_path}",
        # Checked every 200 ms; one failed check or one refused connection takes a slot out.
        "    default-server check inter 200ms fall 1 rise 1 observe layer4 error-limit 1 on-error mark-down",
    ]
    for slot in SLOTS:
        disabled = "" if slot == serving else " disabled"
        lines.append(f"    server {slot} 127.0.0.1:{ports[slot]}{disabled}")
    for slot in SLOTS:
        lines.append(f"    server {slot}_back 127.0.0.1:{ports[slot]} backup disabled")
    return "\n".join(lines) + "\n"


def _socket_path(state_dir: Path) -> str:
    # A UNIX socket path is limited to ~107 bytes: a short one derived from the state dir.
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"stagewise-door-{digest}.sock")


class FrontDoor:
    """One stage's HAProxy, started, switched and stopped through its journal file."""

    def __init__(self, state_dir: Path, port: int, ports: dict[str, int], health_path: str = "/") -> None:
        self.state_dir = state_dir
        self.port = port
        self.ports = ports
        self.health_path = health_path
        self.journal = state_dir / "frontdoor.json"
        self.config = state_dir / "frontdoor.cfg"
        self.log = state_dir / "frontdoor.log"

    def state(self) -> DoorState | None:
        """The running front door, or None (not started, or its process is gone)."""
        try:
            data = json.loads(self.journal.read_text())
            state = DoorState(**data)
        except (OSError, ValueError, TypeError):
            return None
        if not ProcessRef(state.pid, state.start_ticks).alive():
            return None
        return state

    def start(self, serving: str) -> DoorState:
        """Start HAProxy sending everything to ``serving`` (idempotent while it runs)."""
        running = self.state()
        if running is not None:
            return running
        binary = haproxy_binary()
        if binary is None:
            raise MissingError("the front door needs HAProxy: apt-get install haproxy")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        sock = _socket_path(self.state_dir)
        Path(sock).unlink(missing_ok=True)
        self.config.write_text(render(self.port, self.ports, serving, sock, self.health_path))
        with self.log.open("ab") as log:
            process, ref = start_group([binary, "-db", "-f", str(self.config)], stdout=log)
        state = DoorState(process.pid, ref.start or 0, self.port, dict(self.ports), serving, sock)
        self.journal.write_text(json.dumps(state.__dict__))
        deadline = time.monotonic() + 10
        while not Path(sock).exists() or not _accepts(self.port):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text(errors="replace").splitlines()[-5:]
                self.stop()
                raise DeployError(
                    f"the front door (HAProxy on 127.0.0.1:{self.port}) did not start: " + " / ".join(tail)
                )
            time.sleep(0.05)
        return state

    def command(self, line: str) -> str:
        """One line on the admin socket; its answer. DeployError when HAProxy is not there."""
        state = self.state()
        if state is None:
            raise DeployError(f"the front door on 127.0.0.1:{self.port} is not running")
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(5)
            try:
                conn.connect(state.socket)
                conn.sendall(line.encode() + b"\n")
                chunks = []
                while chunk := conn.recv(65536):
                    chunks.append(chunk)
            except OSError as exc:
                raise DeployError(f"the front door's admin socket failed: {exc}") from exc
        return b"".join(chunks).decode(errors="replace")

    def switch(self, to: str, *, fallback: bool = False) -> None:
        """Send every new request to slot ``to``; the other drains (requests in flight complete).

        With ``fallback`` (a release switching forward) the other slot's backup twin is ready,
        so HAProxy falls back to it while ``to`` is down; otherwise (switching back) it is not.
        """
        state = self.state()
        if state is None:
            raise DeployError(f"the front door on 127.0.0.1:{self.port} is not running")
        other = "b" if to == "a" else "a"
        line = f"set server app/{to} state ready; set server app/{other} state drain"
        if self._has_twins():
            line += (
                f"; set server app/{to}_back state maint"
                f"; set server app/{other}_back state {'ready' if fallback else 'maint'}"
            )
        answer = self.command(line)
        if answer.strip():
            raise DeployError(f"the front door refused the switch to {to}: {answer.strip()}")
        self._record(to)

    def drain(self, slot: str, timeout: float) -> bool:
        """Wait until ``slot`` has no session, then put it in maintenance; whether it emptied in time."""
        deadline = time.monotonic() + timeout
        emptied = False
        while time.monotonic() < deadline:
            if self.sessions(slot) == 0:
                emptied = True
                break
            time.sleep(0.1)
        twin = f"; set server app/{slot}_back state maint" if self._has_twins() else ""
        self.command(f"set server app/{slot} state maint{twin}")
        return emptied

    def _has_twins(self) -> bool:
        """Whether the running HAProxy's config has the backup twins.

        A door started by an earlier stagewise has none; it keeps working (without the
        fallback) rather than refusing every switch until someone restarts it.
        """
        try:
            return "_back " in self.config.read_text()
        except OSError:
            return True

    def sessions(self, slot: str) -> int:
        """Sessions slot ``slot`` holds now, its backup twin's included (``show stat``'s ``scur``)."""
        text = self.command("show stat")
        lines = text.splitlines()
        if not lines:
            return 0
        header = lines[0].lstrip("# ").split(",")
        column = header.index("scur") if "scur" in header else 4
        return sum(
            int(row[column] or 0)
            for row in (line.split(",") for line in lines[1:])
            if len(row) > column and row[0] == "app" and row[1] in (slot, f"{slot}_back")
        )

    def serving(self) -> str | None:
        state = self.state()
        return state.serving if state else None

    def _record(self, serving: str) -> None:
        data = json.loads(self.journal.read_text())
        data["serving"] = serving
        self.journal.write_text(json.dumps(data))

    def stop(self) -> bool:
        """Stop HAProxy (TERM, grace, KILL); whether it was running."""
        try:
            data = json.loads(self.journal.read_text())
            ref = ProcessRef(int(data["pid"]), int(data["start_ticks"]))
        except (OSError, ValueError, KeyError, TypeError):
            return False
        stopped = stop_group(ref, grace=5.0)
        self.journal.unlink(missing_ok=True)
        if isinstance(data.get("socket"), str):
            Path(data["socket"]).unlink(missing_ok=True)
        return stopped


def _accepts(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


__all__ = ["SLOTS", "DoorState", "FrontDoor", "render"]
