"""Prometheus metrics on a per-app registry, so several apps (tests) can coexist."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


class ShopMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shop_http_requests_total",
            "HTTP requests by route template",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "shop_http_request_duration_seconds",
            "Time to first response byte by route template",
            ["method", "route"],
            registry=self.registry,
        )
        self.orders_created = Counter(
            "shop_orders_created_total", "Orders successfully created", registry=self.registry
        )
        self.sse_streams = Gauge(
            "shop_sse_active_streams", "Open SSE connections", registry=self.registry
        )


def route_label(request: Request) -> str:
    """Use the route template, not the raw path, to keep label cardinality bounded."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def metrics_middleware(
    metrics: ShopMetrics,
) -> Callable[[Request, Callable[[Request], Awaitable[Response]]], Awaitable[Response]]:
    async def middleware(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        start = time.perf_counter()
        status = 500
        try:
            response = await call_next(request)
            status = response.status_code
            return response
        finally:
            route = route_label(request)
            metrics.latency.labels(request.method, route).observe(time.perf_counter() - start)
            metrics.requests.labels(request.method, route, str(status)).inc()

    return middleware
