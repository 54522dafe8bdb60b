"""The local topology's failover manager: it watches the primary and promotes the replica.

It does what pg_auto_failover's monitor or Patroni does, in the smallest
form: poll the primary every ``interval`` seconds; once it has not answered
for ``promote_after`` seconds, promote the replica with ``pg_promote()``.
The promotion is PostgreSQL's own (the replica leaves recovery and starts a
new timeline); stagewise measures what clients see of it, it does not fake
it. It promotes at most once per run: no automatic fail-back.
"""

from __future__ import annotations

import threading
import time

from stagewise.tiers.resilience.postgres import connect


class FailoverManager:
    """A monitor thread for one primary/replica pair."""

    def __init__(
        self, primary_url: str, replica_url: str, promote_after: float, interval: float = 0.1
    ) -> None:
        self.primary_url = primary_url
        self.replica_url = replica_url
        self.promote_after = promote_after
        self.interval = interval
        self.down_since: float | None = None
        self.promoted_at: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="failover-manager", daemon=True)

    def start(self) -> FailoverManager:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _primary_answers(self) -> bool:
        try:
            with connect(self.primary_url, timeout=1) as db:
                db.execute("SELECT 1").fetchone()
            return True
        except Exception:  # any failure means: the primary does not answer
            return False

    def _run(self) -> None:
        while not self._stop.is_set() and self.promoted_at is None:
            now = time.monotonic()
            if self._primary_answers():
                self.down_since = None
            else:
                self.down_since = self.down_since or now
                if now - self.down_since >= self.promote_after:
                    self._promote()
            self._stop.wait(self.interval)

    def _promote(self) -> None:
        try:
            with connect(self.replica_url, timeout=2) as db:
                db.execute("SELECT pg_promote(wait => true, wait_seconds => 30)")
            self.promoted_at = time.monotonic()
        except Exception as exc:  # reported by the failover probe; retried at the next poll
            self.error = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


__all__ = ["FailoverManager"]
