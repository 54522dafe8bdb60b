"""The region service of the local topology, and the HTTP contract every probe relies on.

One process per region (``python -m stagewise.tiers.resilience.region_app``).
It reads from its own region's database and writes through a multi-host DSN
with ``target_session_attrs=read-write``, so after the failover manager
promotes the replica its writes find the new primary by themselves, exactly
as a libpq application in a real region does. A remote deployment that wants
the probes offers the same endpoints; every answer carries ``X-Region``:

==========================  ===================================================
``GET /health``             200 when the region can read its database, else 503
``PUT /kv/KEY``             ``{"value", "ts"}``: last-write-wins on ``ts``;
                            answers ``{"winner": bool}`` (is ours the value now)
``GET /kv/KEY``             ``{"value", "ts", "region"}`` read in this region
``POST /flow/customers``    ``{"id", "name"}``
``POST /flow/orders``       ``{"id", "customer_id", "item"}``
``GET /flow/orders/ID``     the order as this region reads it, 404 if unseen
==========================  ===================================================

Writes carry ``Authorization: Bearer TOKEN`` when the deployment has one (a
project's own service checks it; this one does not need to). examples/shop
serves the same contract (``shop/regional.py``) and runs in each region of
its local topology instead of this service.
"""

from __future__ import annotations

import argparse
import contextlib
import http.server
import json
import threading
from collections.abc import Callable
from typing import Any

Handler = Callable[[Any, dict[str, Any], str], tuple[int, dict[str, Any]]]


class Pool:
    """A few reusable connections to one DSN; a broken one is dropped, never reused."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._idle: list[Any] = []
        self._lock = threading.Lock()

    def run(self, work: Callable[[Any], Any]) -> Any:
        """Run ``work(connection)``; on a connection error, retry once on a fresh connection."""
        import psycopg

        for attempt in range(2):
            with self._lock:
                connection = self._idle.pop() if self._idle else None
            if connection is None:
                connection = psycopg.connect(self.dsn, autocommit=True, connect_timeout=1)
            try:
                result = work(connection)
            except psycopg.OperationalError:
                connection.close()
                if attempt:
                    raise
                continue
            with self._lock:
                if len(self._idle) < 8:
                    self._idle.append(connection)
                    connection = None
            if connection is not None:
                connection.close()
            return result
        raise AssertionError("unreachable")  # pragma: no cover


_UPSERT = (
    "INSERT INTO stagewise_kv (key, value, ts, region) VALUES (%s, %s, %s, %s) "
    "ON CONFLICT (key) DO UPDATE SET value = excluded.value, ts = excluded.ts, region = excluded.region "
)
_PUT_LAST_WRITE_WINS = _UPSERT + "WHERE stagewise_kv.ts < excluded.ts RETURNING value"
_PUT_LAST_COMMIT_WINS = _UPSERT + "RETURNING value"


class RegionService:
    """The endpoints of one region over its read and write pools."""

    def __init__(self, name: str, read_dsn: str, write_dsn: str, last_write_wins: bool = True) -> None:
        self.name = name
        self.last_write_wins = last_write_wins
        self.read = Pool(read_dsn)
        self.write = Pool(write_dsn)

    def health(self) -> tuple[int, dict[str, Any]]:
        self.read.run(lambda db: db.execute("SELECT 1").fetchone())
        return 200, {"region": self.name, "status": "ok"}

    def put_kv(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        value, ts = str(body["value"]), float(body["ts"])

        # Without last-write-wins the last *commit* wins, whatever its timestamp (a planted bug).
        query = _PUT_LAST_WRITE_WINS if self.last_write_wins else _PUT_LAST_COMMIT_WINS

        def work(db: Any) -> Any:
            return db.execute(query, (key, value, ts, self.name)).fetchone()

        won = self.write.run(work) is not None
        return 200, {"key": key, "value": value, "ts": ts, "region": self.name, "winner": won}

    def get_kv(self, key: str) -> tuple[int, dict[str, Any]]:
        row = self.read.run(
            lambda db: db.execute(
                "SELECT value, ts, region FROM stagewise_kv WHERE key = %s", (key,)
            ).fetchone()
        )
        if row is None:
            return 404, {"key": key, "region": self.name}
        return 200, {"key": key, "value": row[0], "ts": row[1], "written_in": row[2], "region": self.name}

    def post_customer(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.write.run(
            lambda db: db.execute(
                "INSERT INTO stagewise_customers (id, name, region) VALUES (%s, %s, %s)",
                (str(body["id"]), str(body["name"]), self.name),
            )
        )
        return 201, {"id": body["id"], "region": self.name}

    def post_order(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        self.write.run(
            lambda db: db.execute(
                "INSERT INTO stagewise_orders (id, customer_id, item, region) VALUES (%s, %s, %s, %s)",
                (str(body["id"]), str(body["customer_id"]), str(body["item"]), self.name),
            )
        )
        return 201, {"id": body["id"], "region": self.name}

    def get_order(self, order_id: str) -> tuple[int, dict[str, Any]]:
        row = self.read.run(
            lambda db: db.execute(
                "SELECT customer_id, item, region FROM stagewise_orders WHERE id = %s", (order_id,)
            ).fetchone()
        )
        if row is None:
            return 404, {"id": order_id, "region": self.name}
        return 200, {
            "id": order_id,
            "customer_id": row[0],
            "item": row[1],
            "written_in": row[2],
            "region": self.name,
        }

    def dispatch(self, method: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Route one request: the method and the path's segments (the last one a key or ID) pick the handler."""
        parts = [p for p in path.split("?", maxsplit=1)[0].split("/") if p]
        last = parts[-1] if parts else ""
        routes: dict[tuple[str, ...], Callable[[], tuple[int, dict[str, Any]]]] = {
            ("GET", "health"): self.health,
            ("PUT", "kv", "*"): lambda: self.put_kv(last, body),
            ("GET", "kv", "*"): lambda: self.get_kv(last),
            ("POST", "flow", "customers"): lambda: self.post_customer(body),
            ("POST", "flow", "orders"): lambda: self.post_order(body),
            ("GET", "flow", "orders", "*"): lambda: self.get_order(last),
        }
        shape = (method, *parts)
        handler = routes.get(shape) or routes.get((*shape[:-1], "*")) if parts else None
        if handler is None:
            return 404, {"error": f"no route {method} {path}", "region": self.name}
        return handler()


def make_server(
    service: RegionService, port: int, host: str = "127.0.0.1"
) -> http.server.ThreadingHTTPServer:
    """A threading HTTP server answering the contract above for ``service``."""

    class RequestHandler(http.server.BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            import psycopg

            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}") if length else {}
                status, payload = service.dispatch(method, self.path, body)
            except psycopg.errors.IntegrityError as exc:
                status, payload = 409, {"error": str(exc).splitlines()[0], "region": service.name}
            except psycopg.Error as exc:
                status, payload = (
                    503,
                    {"error": str(exc).strip().splitlines()[0][:200], "region": service.name},
                )
            except (ValueError, KeyError, TypeError) as exc:
                status, payload = 400, {"error": f"bad request: {exc}", "region": service.name}
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-Region", service.name)
            self.send_header("Connection", "close")
            # A client may hang up once it has the status line: HAProxy's health checks do.
            with contextlib.suppress(ConnectionResetError, BrokenPipeError):
                self.end_headers()
                self.wfile.write(data)

        def do_GET(self) -> None:
            self._answer("GET")

        def do_PUT(self) -> None:
            self._answer("PUT")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, format: str, *args: object) -> None:
            return None

    server = http.server.ThreadingHTTPServer((host, port), RequestHandler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> None:
    """Serve one region until killed (the local topology starts one per region)."""
    parser = argparse.ArgumentParser(prog="stagewise-region")
    parser.add_argument("--name", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--read-dsn", required=True)
    parser.add_argument("--write-dsn", required=True)
    parser.add_argument(
        "--no-last-write-wins",
        action="store_true",
        help="store every write, even an older one (a planted bug)",
    )
    args = parser.parse_args(argv)
    service = RegionService(args.name, args.read_dsn, args.write_dsn, not args.no_last_write_wins)
    server = make_server(service, args.port, args.host)
    server.serve_forever()


if __name__ == "__main__":
    main()
