"""A business flow across regions: register in one region, order in another, read it everywhere.

The customer registers through the first region, orders through the second
(so the order depends on a row written elsewhere), and the order is then read
in every region until each one shows it. The flow passes when every step
succeeds and the order is visible everywhere within ``flow_s``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from stagewise.project.resilience import ResilienceGates
from stagewise.tiers.resilience.probes.base import ProbeContext, ProbeResult, holds
from stagewise.tiers.resilience.topology import Deployment, http_json


def probe_flow(deployment: Deployment, gates: ResilienceGates) -> ProbeResult:
    """Run the register -> order -> read-everywhere flow once and time it."""
    result = ProbeResult("flow")
    started = time.monotonic()
    regions = list(deployment.regions.values())
    home, away = regions[0], regions[1 % len(regions)]
    run = uuid.uuid4().hex[:8]
    customer, order = f"cust-{run}", f"order-{run}"
    limit = gates.flow_s if gates.flow_s is not None else 30.0
    steps: list[dict[str, object]] = []

    def step(name: str, method: str, url: str, body: object | None, want: int) -> bool:
        at = time.monotonic()
        try:
            status, payload, _ = http_json(method, url, body, headers=deployment.write_headers, timeout=5)
        except OSError as exc:
            status, payload = 0, {"error": str(exc)}
        steps.append({"step": name, "status": status, "ms": round((time.monotonic() - at) * 1000, 1)})
        if status != want:
            result.checks.append(
                holds(
                    "flow",
                    "flow",
                    False,
                    f"{name} answered {status or 'nothing'} (wanted {want}): {payload.get('error', '')}",
                )
            )
            return False
        return True

    ok = step(
        f"register customer in {home.name}",
        "POST",
        f"{home.url}/flow/customers",
        {"id": customer, "name": "Ada"},
        201,
    )
    ok = ok and step(
        f"order in {away.name}",
        "POST",
        f"{away.url}/flow/orders",
        {"id": order, "customer_id": customer, "item": "book"},
        201,
    )
    if ok:
        deadline = started + limit
        for region in regions:
            seen_at: float | None = None
            while time.monotonic() < deadline:
                try:
                    status, _payload, _ = http_json("GET", f"{region.url}/flow/orders/{order}", timeout=3)
                except OSError:
                    status = 0
                if status == 200:
                    seen_at = time.monotonic()
                    break
                time.sleep(0.01)
            steps.append({"step": f"read order in {region.name}", "visible": seen_at is not None})
            if seen_at is None:
                ok = False
                result.checks.append(
                    holds("flow", "flow", False, f"order {order} never became visible in {region.name}")
                )
    elapsed = time.monotonic() - started
    result.figures.update({"steps": steps, "completed": ok, "flow_s": round(elapsed, 3)})
    if ok:
        what = f"register in {home.name}, order in {away.name}, read everywhere took"
        result.at_most("flow_s", what, elapsed, gates.flow_s, "s")
    result.duration = elapsed
    return result


class FlowProbe:
    """The ``flow`` probe: the business flow across regions, once."""

    name = "flow"

    def run(self, context: ProbeContext) -> ProbeResult:
        return probe_flow(context.deployment, context.gates)

    def headline(self, result: ProbeResult) -> dict[str, Any]:
        """The flow's time, read everywhere."""
        return {"flow_s": result.figures.get("flow_s")}


__all__ = ["FlowProbe", "probe_flow"]
