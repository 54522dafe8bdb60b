"""The tier's small parts on their own: gate checks, the router's choices, the link proxy, the journal.

The link proxy and the journal are exercised for real (sockets, a child
process), they are cheap enough to stay in the unit tier.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from stagewise.tiers.resilience.journal import Journal, process_start_time
from stagewise.tiers.resilience.linkproxy import LinkProxy
from stagewise.tiers.resilience.probes.base import ProbeResult, percentile
from stagewise.tiers.resilience.router import Router, RouterConfig


def test_checks_say_probe_value_and_limit_and_pass_only_within_it() -> None:
    result = ProbeResult("lag")
    result.below("lag_p99_ms", "replication lag P99 to eu-west", 152.34, 100.0, "ms")
    result.below("lag_p99_ms", "replication lag P99 to ap-south", 99.9, 100.0, "ms")
    result.at_least("availability", "availability", 98.9, 99.0, "%")
    result.at_most("rto_s", "RTO", 120.0, 120.0, "s")
    result.above("routing_accuracy", "accuracy", 95.0, 95.0, "%")
    result.at_most("weight_deviation", "off weights", 3.0, None, "pt")  # gate off: no check
    messages = [(c.passed, c.message) for c in result.checks]
    assert messages == [
        (False, "lag: replication lag P99 to eu-west 152.3 ms >= 100.0 ms"),
        (True, "lag: replication lag P99 to ap-south 99.9 ms < 100.0 ms"),
        (False, "lag: availability 98.9% < 99.0%"),
        (True, "lag: RTO 120.00 s <= 120.00 s"),
        (False, "lag: accuracy 95.0% <= 95.0%"),
    ]
    assert not result.passed


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([7.0], 95) == 7
    assert percentile([], 95) == 0


def router(weights: dict[str, float]) -> Router:
    backends = [
        {"name": n, "url": f"http://127.0.0.1:{9000 + i}", "weight": w, "location": n}
        for i, (n, w) in enumerate(weights.items())
    ]
    return Router(RouterConfig(backends=backends, health_check=False))


def test_the_router_shares_traffic_exactly_by_weight() -> None:
    chosen = router({"us": 80, "eu": 20})
    picks = Counter(b.name for b in (chosen.pick(None, set()) for _ in range(100)) if b is not None)
    assert picks == {"us": 80, "eu": 20}
    first_ten = [b.name for b in (chosen.pick(None, set()) for _ in range(10)) if b is not None]
    assert first_ten.count("eu") == 2  # smooth: the minority is spread out, not bunched at the end


def test_the_router_sends_a_located_client_to_its_region_unless_it_is_down() -> None:
    chosen = router({"us": 80, "eu": 20})
    assert {b.name for b in (chosen.pick("eu", set()) for _ in range(10)) if b is not None} == {"eu"}
    chosen.backends[1].healthy = False
    picked = chosen.pick("eu", set())
    assert picked is not None
    assert picked.name == "us"
    assert chosen.pick(None, {"us"}) is None  # nothing healthy left to redispatch to


def echo_server() -> tuple[socket.socket, int]:
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):  # a reset link ends one connection, not the server
                while data := conn.recv(1024):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return server, server.getsockname()[1]


def round_trip(port: int) -> float:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as client:
        started = time.monotonic()
        client.sendall(b"ping")
        assert client.recv(16) == b"ping"
        return time.monotonic() - started


def test_the_link_proxy_adds_latency_both_ways_and_resets_on_demand() -> None:
    server, port = echo_server()
    proxy = LinkProxy(port).start()
    try:
        assert round_trip(proxy.port) < 0.05
        proxy.set(latency_ms=60)
        assert 0.12 <= round_trip(proxy.port) < 0.5  # 60 ms each way
        proxy.set(reset=True)
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as client:
            client.sendall(b"ping")
            try:
                data = client.recv(16)
            except ConnectionResetError:
                data = b""
            assert data == b""
        proxy.clear()
        assert round_trip(proxy.port) < 0.05
    finally:
        proxy.stop()
        server.close()


def test_the_journal_of_a_dead_run_is_replayed_and_only_the_same_process_is_killed(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        journal = Journal(tmp_path, owner=(owner.pid, process_start_time(owner.pid)))
        journal.record("process", "a sleeper", pid=sleeper.pid, start=process_start_time(sleeper.pid))
        journal.record("path", "a directory", path=str(tmp_path / "made"))
        (tmp_path / "made").mkdir()
        journal.record("process", "a recycled pid", pid=sleeper.pid, start="not-its-start-time")
        # Another run in the same project while the owner still runs: nothing of it is touched.
        other = Journal(tmp_path)
        assert other.pending() == []
        assert other.live_runs() == [owner.pid]
        assert other.replay() == 0
        assert process_start_time(sleeper.pid) is not None
        # The owner dies without undoing anything (a crash): the next run reverts its journal.
        assert owner.stdin is not None
        owner.stdin.close()
        owner.wait(5)
        assert [e["what"] for e in other.pending()] == ["a sleeper", "a directory", "a recycled pid"]
        lines: list[str] = []
        assert other.replay(lines.append) == 3
        assert process_start_time(sleeper.pid) is None  # killed (and reaped by the journal)
        assert not (tmp_path / "made").exists()
        assert not journal.path.exists()
        assert "reverting 3 leftover(s)" in lines[0]
    finally:
        for child in (sleeper, owner):
            if child.poll() is None:
                child.kill()
                child.wait()


def test_the_region_service_routes_the_contracts_paths() -> None:
    from typing import Any

    from stagewise.tiers.resilience.region_app import RegionService

    calls: list[tuple[str, ...]] = []

    class Recording(RegionService):
        def health(self) -> tuple[int, dict[str, Any]]:
            calls.append(("health",))
            return 200, {}

        def put_kv(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            calls.append(("put_kv", key))
            return 200, {}

        def get_kv(self, key: str) -> tuple[int, dict[str, Any]]:
            calls.append(("get_kv", key))
            return 200, {}

        def post_customer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            calls.append(("post_customer",))
            return 201, {}

        def post_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
            calls.append(("post_order",))
            return 201, {}

        def get_order(self, order_id: str) -> tuple[int, dict[str, Any]]:
            calls.append(("get_order", order_id))
            return 200, {}

    service = Recording("eu-west", "postgresql://nowhere/x", "postgresql://nowhere/x")
    for method, path in [
        ("GET", "/health"),
        ("PUT", "/kv/k1"),
        ("GET", "/kv/k1?x=1"),
        ("POST", "/flow/customers"),
        ("POST", "/flow/orders"),
        ("GET", "/flow/orders/o-1"),
    ]:
        assert service.dispatch(method, path, {})[0] in (200, 201)
    assert calls == [
        ("health",),
        ("put_kv", "k1"),
        ("get_kv", "k1"),
        ("post_customer",),
        ("post_order",),
        ("get_order", "o-1"),
    ]
    for method, path in [("POST", "/customers"), ("GET", "/orders/o-1"), ("DELETE", "/kv/k1"), ("GET", "/")]:
        status, payload = service.dispatch(method, path, {})
        assert status == 404, (method, path)
        assert payload["error"].startswith("no route")


def test_region_service_urls_list_the_own_database_first_for_libpq_and_sqlalchemy() -> None:
    from stagewise.tiers.resilience.clusters import libpq_url as _libpq_url
    from stagewise.tiers.resilience.launch import fill as _fill
    from stagewise.tiers.resilience.postgres import Cluster

    own = Cluster("eu-west", Path("/x"), 5433, None, "10.0.0.2")
    other = Cluster("us-east", Path("/y"), 5432, None, "10.0.0.1")
    url = _libpq_url([own, other], "any")
    assert url == (
        "postgresql://postgres@/postgres?host=10.0.0.2,10.0.0.1&port=5433,5432"
        "&target_session_attrs=any&connect_timeout=1"
    )
    assert _fill("--db={read_url} {unknown} {port}", {"read_url": "U", "port": "80"}) == "--db=U {unknown} 80"


def test_journal_entries_are_typed_records_that_round_trip_and_undo_themselves(tmp_path: Path) -> None:
    from stagewise.tiers.resilience.journal import (
        ArgvEntry,
        PathEntry,
        ServerEntry,
        entry_from_record,
    )

    server = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    pid_file = tmp_path / "postmaster.pid"
    pid_file.write_text(f"{server.pid}\n/data\n", encoding="utf-8")
    stopped = tmp_path / "stop-ran"
    owner = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        journal = Journal(tmp_path, owner=(owner.pid, process_start_time(owner.pid)))
        journal.add(ServerEntry("a server", argv=["touch", str(stopped)], pid_file=str(pid_file)))
        journal.add(
            ServerEntry("a server that never started", argv=["false"], pid_file=str(tmp_path / "none"))
        )
        journal.add(ArgvEntry("a rule", argv=["true"]))
        journal.record("shiny-new-kind", "from a newer stagewise")
        records = json.loads(journal.path.read_text(encoding="utf-8"))["entries"]
        assert [r["kind"] for r in records] == ["server", "server", "argv", "shiny-new-kind"]
        assert entry_from_record(records[0]) == ServerEntry(
            "a server", ["touch", str(stopped)], str(pid_file)
        )
        assert entry_from_record({"kind": "path", "what": "d", "path": "/x", "id": 3}) == PathEntry("d", "/x")
        assert owner.stdin is not None
        owner.stdin.close()
        owner.wait(5)
        lines: list[str] = []
        assert Journal(tmp_path).replay(lines.append) == 4
        assert stopped.exists()  # its stop command ran, then its pid was killed
        assert server.wait(5) == -signal.SIGKILL
        assert any("unknown journal entry kind 'shiny-new-kind'" in line for line in lines)
    finally:
        for child in (server, owner):
            if child.poll() is None:
                child.kill()
                child.wait()
