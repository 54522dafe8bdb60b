"""Server-Sent Events for orders, backed by the order_events table so clients can resume."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool

from shop import domain, services
from shop.deps import MetricsDep, SettingsDep
from shop.metrics import ShopMetrics

router = APIRouter()
POLL_SECONDS = 0.25
BATCH = 100


def _latest(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return services.latest_event_id(session)


def _fetch(factory: sessionmaker[Session], after_id: int, limit: int) -> list[tuple[int, str, str]]:
    with factory() as session:
        rows = services.events_after(session, after_id, limit)
        return [(r.id, r.event_type, r.payload) for r in rows]


async def stream_events(
    request: Request,
    factory: sessionmaker[Session],
    metrics: ShopMetrics,
    after_id: int,
    heartbeat: float,
    limit: int | None,
    max_seconds: float | None,
) -> AsyncIterator[str]:
    """Poll the event log; stop on disconnect, after `limit` events or `max_seconds`."""
    loop = asyncio.get_running_loop()
    metrics.sse_streams.inc()
    try:
        # An immediate first frame tells clients the subscription point is fixed.
        yield domain.format_sse_comment("connected")
        started = last_write = loop.time()
        sent = 0
        while not await request.is_disconnected():
            want = BATCH if limit is None else min(BATCH, limit - sent)
            for event_id, event_type, payload in await run_in_threadpool(
                _fetch, factory, after_id, want
            ):
                yield domain.format_sse(json.loads(payload), event_type, event_id)
                after_id = event_id
                sent += 1
                last_write = loop.time()
            if limit is not None and sent >= limit:
                return
            now = loop.time()
            if max_seconds is not None and now - started >= max_seconds:
                return
            if now - last_write >= heartbeat:
                yield domain.format_sse_comment("heartbeat")
                last_write = now
            pause = min(POLL_SECONDS, heartbeat)
            if max_seconds is not None:
                pause = min(pause, max(0.0, max_seconds - (now - started)))
            await asyncio.sleep(pause)
    finally:
        metrics.sse_streams.dec()


@router.get(
    "/events/orders",
    tags=["events"],
    response_class=StreamingResponse,
    responses={200: {"description": "server-sent events", "content": {"text/event-stream": {}}}},
)
async def order_events(
    request: Request,
    settings: SettingsDep,
    metrics: MetricsDep,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    since: Annotated[int | None, Query(ge=0, description="resume point if no header")] = None,
    limit: Annotated[int | None, Query(ge=1, le=10_000, description="stop after N")] = None,
    max_seconds: Annotated[float | None, Query(gt=0, le=86_400)] = None,
) -> StreamingResponse:
    """Stream order.created / order.paid events.

    Without a resume point the stream starts at 'now' (live tail); with Last-Event-ID
    (or ?since=) it replays everything after that id first.
    """
    factory: sessionmaker[Session] = request.app.state.session_factory
    resume = domain.parse_last_event_id(last_event_id)
    if resume is None:
        resume = since
    if resume is None:
        resume = await run_in_threadpool(_latest, factory)
    body = stream_events(
        request, factory, metrics, resume, settings.sse_heartbeat_seconds, limit, max_seconds
    )
    return StreamingResponse(
        body,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
