"""Throwaway PostgreSQL clusters for the local topology: a primary and a streaming replica.

Real PostgreSQL binaries (``initdb``, ``pg_ctl``, ``pg_basebackup``) on
free loopback ports, in directories under the run's state directory. As root
they run as the ``postgres`` user (``initdb`` refuses root). The replica is a
``pg_basebackup -R`` copy whose ``primary_conninfo`` may point at a link
proxy, so faults on the replication link are real TCP faults.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stagewise.errors import MissingError
from stagewise.tiers.resilience.dberrors import database_errors
from stagewise.tiers.resilience.journal import Journal, ServerEntry, run_quiet
from stagewise.tiers.tools import install_hint

PG_BIN_DIRS = ("/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin")
SCHEMA = """
CREATE TABLE IF NOT EXISTS stagewise_markers (
    token text PRIMARY KEY, written_at double precision NOT NULL, pad text NOT NULL DEFAULT ''
);
-- The lag probe's padding is random: stored as is, never compressed, so it costs its size on the link.
ALTER TABLE stagewise_markers ALTER COLUMN pad SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS stagewise_kv (
    key text PRIMARY KEY, value text NOT NULL, ts double precision NOT NULL, region text NOT NULL
);
CREATE TABLE IF NOT EXISTS stagewise_customers (id text PRIMARY KEY, name text NOT NULL, region text NOT NULL);
CREATE TABLE IF NOT EXISTS stagewise_orders (
    id text PRIMARY KEY, customer_id text NOT NULL REFERENCES stagewise_customers(id),
    item text NOT NULL, region text NOT NULL
);
"""


def pg_bin() -> Path:
    """The directory of the newest installed PostgreSQL server binaries (exit 4 if none)."""
    for directory in PG_BIN_DIRS:
        if (Path(directory) / "initdb").exists():
            return Path(directory)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise MissingError(
        "the local resilience topology needs the PostgreSQL server binaries (initdb, pg_ctl, "
        "pg_basebackup): apt-get install postgresql"
    )


def run_as() -> str | None:
    """The user clusters run as: ``postgres`` when we are root (initdb refuses root), else us."""
    return "postgres" if os.geteuid() == 0 else None


def pg_command(argv: Sequence[str], user: str | None) -> list[str]:
    """``argv`` with its tool resolved in the server bin dir, wrapped in runuser when needed."""
    command = [str(pg_bin() / argv[0]), *argv[1:]]
    if user is None:
        return command
    runuser = shutil.which("runuser")
    if runuser is None:
        raise MissingError("running PostgreSQL as root needs runuser (util-linux) to drop to 'postgres'")
    return [runuser, "-u", user, "--", *command]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def dsn(port: int, database: str = "postgres") -> str:
    return f"postgresql://postgres@127.0.0.1:{port}/{database}"


def connect(url: str, timeout: float = 2.0, autocommit: bool = True) -> Any:
    """A psycopg connection (exit 4 when psycopg is not installed).

    Its errors are psycopg's: callers that let one escape wrap the call in
    :func:`~stagewise.tiers.resilience.dberrors.database_errors`.
    """
    try:
        import psycopg
    except ImportError as exc:
        hint = install_hint(sys.executable, ["psycopg[binary]>=3.1"])
        raise MissingError(f"the resilience tier needs psycopg in {sys.executable}: run `{hint}`") from exc
    return psycopg.connect(url, autocommit=autocommit, connect_timeout=max(1, round(timeout)))


@dataclass
class Cluster:
    """One running cluster: its data directory, port and role."""

    name: str
    datadir: Path
    port: int
    user: str | None
    host: str = "127.0.0.1"
    prefix: tuple[str, ...] = ()  # e.g. ("ip", "netns", "exec", NS): where its postmaster runs

    @property
    def url(self) -> str:
        return f"postgresql://postgres@{self.host}:{self.port}/postgres"

    def start(self, journal: Journal) -> None:
        """Start the cluster and wait until it accepts connections."""
        log = self.datadir.parent / f"{self.name}.log"
        stop = ["pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w", "-t", "20"]
        journal.add(
            ServerEntry(
                f"PostgreSQL {self.name} on port {self.port}",
                argv=pg_command(stop, self.user),
                pid_file=str(self.datadir / "postmaster.pid"),
            )
        )
        command = ["pg_ctl", "start", "-D", str(self.datadir), "-l", str(log), "-w", "-t", "30"]
        done = run_quiet([*self.prefix, *pg_command(command, self.user)], timeout=40)
        if done.returncode != 0:
            tail = log.read_text(encoding="utf-8", errors="replace")[-400:] if log.exists() else ""
            raise MissingError(f"PostgreSQL {self.name} did not start: {done.stderr.strip()} {tail.strip()}")

    def stop_immediately(self) -> None:
        """A crash-like stop (SIGQUIT, no shutdown checkpoint): what a dying host looks like."""
        run_quiet(pg_command(["pg_ctl", "stop", "-D", str(self.datadir), "-m", "immediate", "-w"], self.user))

    def in_recovery(self) -> bool | None:
        """True for a standby, False for a primary, None when it does not answer."""
        try:
            with connect(self.url, timeout=1) as db:
                return bool(db.execute("SELECT pg_is_in_recovery()").fetchone()[0])
        except Exception:  # any failure means: it does not answer
            return None


def _owned_dir(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(path, user, user)
    path.chmod(0o700)


def create_primary(
    base: Path, journal: Journal, user: str | None, *, host: str = "127.0.0.1", prefix: tuple[str, ...] = ()
) -> Cluster:
    """initdb + start a primary configured for streaming replication, with the probe tables.

    It listens on ``host`` only; when that is a namespace address, its /24 is
    trusted for connections and replication (every peer there is ours).
    """
    _owned_dir(base, user)
    cluster = Cluster("primary", base / "primary", free_port(), user, host, prefix)
    done = run_quiet(
        pg_command(
            [
                "initdb",
                "-D",
                str(cluster.datadir),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
            user,
        ),
        timeout=60,
    )
    if done.returncode != 0:
        raise MissingError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
    settings = [
        f"port = {cluster.port}",
        f"listen_addresses = '{host}'",
        "unix_socket_directories = ''",
        "wal_level = replica",
        "max_wal_senders = 5",
        "wal_keep_size = '64MB'",
        "hot_standby = on",
        # The processes crash in these tests, never the machine; fsync only costs time here.
        "fsync = off",
        "full_page_writes = off",
        "max_connections = 60",
        "shared_buffers = '16MB'",
        "wal_sender_timeout = '5s'",
        "wal_receiver_status_interval = '1s'",
        "log_min_messages = warning",
    ]
    with (cluster.datadir / "postgresql.conf").open("a", encoding="utf-8") as conf:
        conf.write("\n# stagewise resilience: local topology\n" + "\n".join(settings) + "\n")
    if host != "127.0.0.1":
        subnet = host.rsplit(".", 1)[0] + ".0/24"
        with (cluster.datadir / "pg_hba.conf").open("a", encoding="utf-8") as hba:
            hba.write(f"host all all {subnet} trust\nhost replication all {subnet} trust\n")
    cluster.start(journal)
    with (
        database_errors(f"cannot create the probe tables on {cluster.name}"),
        connect(cluster.url, timeout=5) as db,
    ):
        db.execute(SCHEMA)
    return cluster


def create_replica(
    base: Path,
    primary: Cluster,
    journal: Journal,
    user: str | None,
    *,
    upstream: tuple[str, int],
    name: str,
    host: str = "127.0.0.1",
    prefix: tuple[str, ...] = (),
) -> Cluster:
    """pg_basebackup the primary into a streaming replica that follows ``upstream`` (host, port).

    ``upstream`` is the primary itself, or a link proxy in front of it.
    The replica's ``application_name`` is ``name``, which is what a
    synchronous primary waits for.
    """
    cluster = Cluster(name, base / name, free_port(), user, host, prefix)
    follow(cluster, primary, upstream)
    cluster.start(journal)
    wait_streaming(primary, name)
    return cluster


def follow(cluster: Cluster, primary: Cluster, upstream: tuple[str, int]) -> None:
    """(Re)create ``cluster``'s data directory as a pg_basebackup -R copy that streams from ``upstream``.

    The copy does not wait for a synchronous standby of its own
    (``synchronous_standby_names = ''``): once promoted it is a lone primary,
    and a lone primary that waited for a standby that is gone would stop
    accepting writes (pg_auto_failover turns synchronous replication off then).
    """
    shutil.rmtree(cluster.datadir, ignore_errors=True)
    done = run_quiet(
        pg_command(
            [
                "pg_basebackup",
                "-h",
                primary.host,
                "-p",
                str(primary.port),
                "-U",
                "postgres",
                "-D",
                str(cluster.datadir),
                "-R",
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
            cluster.user,
        ),
        timeout=120,
    )
    if done.returncode != 0:
        raise MissingError(f"pg_basebackup failed: {done.stderr.strip()}")
    with (cluster.datadir / "postgresql.auto.conf").open("a", encoding="utf-8") as conf:
        conf.write(
            f"port = {cluster.port}\n"
            f"listen_addresses = '{cluster.host}'\n"
            f"primary_conninfo = 'host={upstream[0]} port={upstream[1]} user=postgres application_name={cluster.name}'\n"
            "wal_retrieve_retry_interval = '200ms'\n"
            "synchronous_standby_names = ''\n"
        )


def make_synchronous(primary: Cluster, standby: str) -> None:
    """Make every commit on ``primary`` wait until ``standby`` has applied it (``remote_apply``).

    Set only once the standby streams: a synchronous primary with no standby
    yet would block its own first write forever.
    """
    with database_errors(f"cannot make {standby} synchronous"), connect(primary.url, timeout=5) as db:
        # Quoted: a region name like "eu-west" is not a bare identifier in this list.
        db.execute(f"ALTER SYSTEM SET synchronous_standby_names = '\"{standby}\"'")
        db.execute("ALTER SYSTEM SET synchronous_commit = 'remote_apply'")
        db.execute("SELECT pg_reload_conf()")
    wait_synchronous(primary, standby)


def wait_synchronous(primary: Cluster, standby: str, timeout: float = 10.0) -> None:
    """Wait until ``primary`` reports ``standby`` as its synchronous standby (exit 4 if never)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with database_errors("cannot read the replication state"), connect(primary.url, timeout=2) as db:
            row = db.execute(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = %s", (standby,)
            ).fetchone()
            if row and row[0] == "sync":
                return
        time.sleep(0.05)
    raise MissingError(f"the replica {standby} did not become a synchronous standby within {timeout:g} s")


def wait_streaming(primary: Cluster, name: str, timeout: float = 15.0) -> None:
    """Wait until ``primary`` reports the standby ``name`` streaming (exit 4 if it never does)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception), connect(primary.url) as db:
            row = db.execute(
                "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND state = 'streaming'",
                (name,),
            ).fetchone()
            if row and row[0]:
                return
        time.sleep(0.1)
    raise MissingError(f"the replica {name} did not start streaming from {primary.name} within {timeout:g} s")


__all__ = [
    "SCHEMA",
    "Cluster",
    "connect",
    "create_primary",
    "create_replica",
    "dsn",
    "follow",
    "free_port",
    "make_synchronous",
    "pg_bin",
    "pg_command",
    "wait_streaming",
    "wait_synchronous",
]
