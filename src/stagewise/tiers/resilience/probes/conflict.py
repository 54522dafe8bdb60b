"""Conflicting writes: the same record written through two regions at once.

For each key, two clients write it at the same instant, one through each of
two regions, with client timestamps a millisecond apart. Last-write-wins
promises that, once the regions have converged, every region holds the value
with the later timestamp, and that no write the service acknowledged as the
winner is lost (the stored value is the latest acknowledged winner).
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from stagewise.project.resilience import ResilienceGates
from stagewise.tiers.resilience.probes.base import ProbeContext, ProbeResult, holds
from stagewise.tiers.resilience.topology import Deployment, http_json

CONVERGE_S = 10.0


@dataclass(frozen=True)
class Answer:
    """One of the two racing writes, as the region that took it answered."""

    ts: float
    value: str
    ok: bool
    winner: bool


def _race(
    urls: list[str], key: str, writes: list[tuple[float, str]], headers: dict[str, str]
) -> list[Answer]:
    """Send the writes through their regions at the same instant (a barrier releases both)."""
    gate = threading.Barrier(len(urls))
    answers: list[Answer] = []

    def write(url: str, ts: float, value: str) -> None:
        gate.wait(5)
        try:
            status, payload, _ = http_json(
                "PUT", f"{url}/kv/{key}", {"value": value, "ts": ts}, headers=headers, timeout=3
            )
            answers.append(Answer(ts, value, status == 200, bool(payload.get("winner"))))
        except OSError:
            answers.append(Answer(ts, value, False, False))

    threads = [
        threading.Thread(target=write, args=(url, ts, value), daemon=True)
        for url, (ts, value) in zip(urls, writes, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return answers


def _read_until(url: str, key: str, want: str, deadline: float) -> str | None:
    """The value ``url`` holds for ``key`` once it is ``want``, or whatever it holds at the deadline."""
    while True:
        try:
            status, payload, _ = http_json("GET", f"{url}/kv/{key}", timeout=3)
            seen = str(payload.get("value")) if status == 200 else None
        except OSError:
            seen = None
        if seen == want or time.monotonic() >= deadline:
            return seen
        time.sleep(0.02)


def probe_conflict(deployment: Deployment, gates: ResilienceGates, keys: int = 20) -> ProbeResult:
    """Race ``keys`` pairs of writes through two regions; check every region holds each later write."""
    del gates  # a yes/no promise
    result = ProbeResult("conflict")
    started = time.monotonic()
    regions = list(deployment.regions.values())[:2]
    run = uuid.uuid4().hex[:8]
    expected: dict[str, str] = {}
    winners: dict[str, list[tuple[float, str]]] = {}
    refused = 0
    for index in range(keys):
        key = f"conflict-{run}-{index}"
        base = time.time()
        # Alternate which region carries the later timestamp, so neither wins by position.
        later = 1 if index % 2 == 0 else 0
        writes = [(base + (0.001 if i == later else 0.0), f"{r.name}-{index}") for i, r in enumerate(regions)]
        expected[key] = max(writes)[1]
        answers = _race([r.url for r in regions], key, writes, deployment.write_headers)
        refused += sum(not a.ok for a in answers)
        winners[key] = [(a.ts, a.value) for a in answers if a.ok and a.winner]
    wrong: list[str] = []
    lost: list[str] = []
    deadline = time.monotonic() + CONVERGE_S
    for region in deployment.regions.values():
        for key, want in expected.items():
            seen = _read_until(region.url, key, want, deadline)
            if seen != want:
                wrong.append(f"{region.name} holds {seen!r} for {key}, not the later write {want!r}")
            if winners[key] and seen != max(winners[key])[1]:
                lost.append(f"{key} in {region.name}")
    result.figures.update(
        {
            "keys": keys,
            "regions": [r.name for r in regions],
            "refused_writes": refused,
            "not_converged": len(wrong),
            "lost_winners": len(lost),
        }
    )
    if wrong:
        message = f"{len(wrong)} key(s) did not converge to the later write: {wrong[0]}"
        result.checks.append(holds("conflict", "last_write_wins", False, message, len(wrong)))
    elif lost:
        message = f"{len(lost)} acknowledged winning write(s) lost: {lost[0]}"
        result.checks.append(holds("conflict", "last_write_wins", False, message, len(lost)))
    else:
        message = (
            f"{keys} keys written through {regions[0].name} and {regions[1].name} at once: "
            "every region holds the later write"
        )
        result.checks.append(holds("conflict", "last_write_wins", True, message))
    if refused:
        result.notes.append(f"{refused} of {2 * keys} racing writes were refused")
    result.duration = time.monotonic() - started
    return result


class ConflictProbe:
    """The ``conflict`` probe: a yes/no promise, so nothing in the headline."""

    name = "conflict"

    def run(self, context: ProbeContext) -> ProbeResult:
        return probe_conflict(context.deployment, context.gates)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        del result
        return {}


__all__ = ["ConflictProbe", "probe_conflict"]
