"""Watching the promotion, and stagewise's own small failover manager.

:class:`PromotionWatch` only watches: it polls the replica and notes when it
left recovery, whoever promoted it (Patroni, the default manager of the local
topology — see :mod:`~stagewise.tiers.resilience.patroni`). The failover
probe reports that moment beside the RTO the clients saw.

:class:`FailoverManager` (``[resilience.local] failover = "stagewise"``, for
machines without Patroni) also promotes: poll the primary every ``interval``
seconds; once it has not answered for ``promote_after`` seconds, promote the
replica with ``pg_promote()``. The promotion is PostgreSQL's own (the replica
leaves recovery and starts a new timeline). It promotes at most once per run:
no automatic fail-back.
"""

from __future__ import annotations

import threading
import time

from stagewise.tiers.resilience.postgres import connect


class PromotionWatch:
    """A thread that notes when the replica at ``replica_url`` stops being a standby."""

    def __init__(self, replica_url: str, interval: float = 0.1) -> None:
        self.replica_url = replica_url
        self.interval = interval
        self.promoted_at: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="promotion-watch", daemon=True)

    def start(self) -> PromotionWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    def _watch(self) -> None:
        while not self._stop.is_set() and self.promoted_at is None:
            try:
                with connect(self.replica_url, timeout=1) as db:
                    if not db.execute("SELECT pg_is_in_recovery()").fetchone()[0]:
                        self.promoted_at = time.monotonic()
            except Exception:  # noqa: S110 - a replica that does not answer has not been promoted
                pass
            self._stop.wait(self.interval)


class FailoverManager(PromotionWatch):
    """A monitor thread for one primary/replica pair that promotes the replica itself."""

    def __init__(
        self, primary_url: str, replica_url: str, promote_after: float, interval: float = 0.1
    ) -> None:
        super().__init__(replica_url, interval)
        self.primary_url = primary_url
        self.promote_after = promote_after
        self.down_since: float | None = None
        self._thread = threading.Thread(target=self._run, name="failover-manager", daemon=True)

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


__all__ = ["FailoverManager", "PromotionWatch"]
