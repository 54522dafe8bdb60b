"""Application factory. Everything stateful hangs off app.state so tests can build many apps."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from shop import __version__, api, domain, events, regional, services, storefront
from shop.db import make_engine, make_session_factory, ping
from shop.deps import Unauthorized
from shop.headers import SecurityHeaders
from shop.metrics import ShopMetrics, metrics_middleware
from shop.settings import Settings, load_settings

log = logging.getLogger("shop")
READ_ONLY_SQLSTATE = "25006"  # read_only_sql_transaction: a write reached a standby


def _error(status: int, error: str, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail, **extra}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(domain.InsufficientStock)
    async def insufficient_stock(_: Request, exc: domain.InsufficientStock) -> JSONResponse:
        return _error(
            409,
            "insufficient_stock",
            str(exc),
            product_id=exc.product_id,
            requested=exc.requested,
            available=exc.available,
        )

    @app.exception_handler(domain.AlreadyPaid)
    async def already_paid(_: Request, exc: domain.AlreadyPaid) -> JSONResponse:
        return _error(409, "already_paid", str(exc))

    @app.exception_handler(domain.AmountMismatch)
    async def amount_mismatch(_: Request, exc: domain.AmountMismatch) -> JSONResponse:
        return _error(422, "amount_mismatch", str(exc))

    @app.exception_handler(domain.InvalidQuantity)
    async def invalid_quantity(_: Request, exc: domain.InvalidQuantity) -> JSONResponse:
        return _error(422, "invalid_quantity", str(exc))

    @app.exception_handler(Unauthorized)
    async def unauthorized(_: Request, exc: Unauthorized) -> JSONResponse:
        # The same {error, detail} body as every other documented error (ErrorOut).
        response = _error(401, "unauthorized", str(exc))
        response.headers["WWW-Authenticate"] = "Bearer"
        return response

    @app.exception_handler(services.NotFound)
    async def not_found(_: Request, exc: services.NotFound) -> JSONResponse:
        return _error(404, "not_found", str(exc))

    @app.exception_handler(DBAPIError)
    async def database_error(_: Request, exc: DBAPIError) -> JSONResponse:
        # No database that takes the request right now (down, or a standby during a failover):
        # 503 with Retry-After tells clients to retry, instead of a 500 and a traceback.
        read_only = getattr(exc.orig, "sqlstate", None) == READ_ONLY_SQLSTATE
        if isinstance(exc, OperationalError) or read_only or exc.connection_invalidated:
            log.warning(
                "database unavailable: %s", (str(exc.orig or exc).strip().splitlines() or [""])[0]
            )
            response = _error(
                503, "database_unavailable", "the database is unavailable; retry shortly"
            )
            response.headers["Retry-After"] = "1"
            return response
        log.error("database error", exc_info=exc)
        return _error(500, "internal_error", "internal error")

    @app.exception_handler(services.Conflict)
    async def conflict(_: Request, exc: services.Conflict) -> JSONResponse:
        return _error(409, "conflict", str(exc))


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build an app bound to one database; creating the engine does not connect yet."""
    settings = settings or load_settings()
    engine = make_engine(settings.database_url)
    # A region reads from its own database (a replica) and writes to the primary.
    read_engine = make_engine(settings.read_database_url) if settings.read_database_url else engine
    metrics = ShopMetrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.auto_migrate:
            from shop.migrate import upgrade

            log.warning("SHOP_AUTO_MIGRATE=1: upgrading database schema to head")
            await run_in_threadpool(upgrade, settings.database_url)
        yield
        engine.dispose()
        read_engine.dispose()

    app = FastAPI(title="shop", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.read_engine = read_engine
    app.state.session_factory = make_session_factory(engine)
    app.state.metrics = metrics
    app.middleware("http")(metrics_middleware(metrics))
    app.add_middleware(SecurityHeaders)
    _install_error_handlers(app)

    @app.get("/health", tags=["ops"])
    async def health() -> JSONResponse:
        try:
            # Healthy = can serve reads here: a region whose replica answers stays in rotation.
            await run_in_threadpool(ping, read_engine)
        except (SQLAlchemyError, OSError) as exc:
            log.warning("health check failed: %s", exc)
            return JSONResponse({"status": "error", "database": "error"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    @app.get("/metrics", tags=["ops"], response_class=Response)
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(api.router)
    app.include_router(events.router)
    app.include_router(storefront.router)
    if settings.region is not None:
        _serve_region(app, settings.region)
    return app


def _serve_region(app: FastAPI, region: str) -> None:
    """Mount the region contract and name the region on every answer (``X-Region``)."""
    app.include_router(regional.router)

    @app.middleware("http")
    async def region_header(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["X-Region"] = region
        return response


app = create_app()
