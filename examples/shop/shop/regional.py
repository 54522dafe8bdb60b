"""The region contract: what stagewise's resilience probes need from the shop in each region.

Mounted only when ``SHOP_REGION`` names the region this instance serves
(``stagewise test --resilience`` starts one shop per region of its local
topology). Every answer then carries ``X-Region``. Reads go to the region's
own database (``DATABASE_READ_URL``, a replica), writes to the primary
(``DATABASE_URL``, a multi-host URL that follows a failover), so what the
probes measure — replication lag seen by users, last-write-wins, an order
visible everywhere — is what this service really does.

==========================  ===================================================
``PUT /kv/KEY``             ``{"value", "ts"}``: last-write-wins on ``ts``;
                            answers ``{"winner": bool}`` (is ours the value now)
``GET /kv/KEY``             the value as this region reads it
``POST /flow/customers``    ``{"id", "name"}``
``POST /flow/orders``       ``{"id", "customer_id", "item"}``
``GET /flow/orders/ID``     the order as this region reads it, 404 if unseen
==========================  ===================================================

Writes need the bearer token, like every other write of the shop.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from shop.deps import WriteAuth
from shop.schemas import ErrorOut

router = APIRouter(tags=["regions"])
ID_PATTERN = (
    r"^[A-Za-z0-9._:-]+$"  # keys and ids: what the GET paths accept, so every id reads back
)
Key = Annotated[str, Path(min_length=1, max_length=200, pattern=ID_PATTERN)]
_CONFLICT = "the id exists already, or the customer it names does not"

_PUT = text(
    "INSERT INTO region_kv (key, value, ts, region) VALUES (:key, :value, :ts, :region) "
    "ON CONFLICT (key) DO UPDATE SET "
    "value = excluded.value, ts = excluded.ts, region = excluded.region "
    "WHERE region_kv.ts < excluded.ts RETURNING value"
)


class KvIn(BaseModel):
    value: str = Field(max_length=10_000)
    ts: float = Field(ge=0, le=1e12)


class CustomerIn(BaseModel):
    id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    name: str = Field(max_length=200)


class OrderIn(BaseModel):
    id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    customer_id: str = Field(min_length=1, max_length=200, pattern=ID_PATTERN)
    item: str = Field(max_length=200)


def _engines(request: Request) -> tuple[Engine, Engine, str]:
    state = request.app.state
    return state.engine, state.read_engine, state.settings.region


def _write(engine: Engine, statement: Any, params: dict[str, Any]) -> Any:
    with engine.begin() as conn:
        result = conn.execute(statement, params)
        return result.first() if result.returns_rows else None


def _read(engine: Engine, statement: Any, params: dict[str, Any]) -> Any:
    with engine.connect() as conn:
        return conn.execute(statement, params).first()


@router.put("/kv/{key}", dependencies=WriteAuth, responses={401: {"model": ErrorOut}})
async def put_kv(key: Key, body: KvIn, request: Request) -> dict[str, Any]:
    """Store ``body`` unless a later timestamp is already stored (last-write-wins)."""
    engine, _, region = _engines(request)
    params = {"key": key, "value": body.value, "ts": body.ts, "region": region}
    won = await run_in_threadpool(_write, engine, _PUT, params)
    return {
        "key": key,
        "value": body.value,
        "ts": body.ts,
        "region": region,
        "winner": won is not None,
    }


@router.get("/kv/{key}", responses={404: {"model": ErrorOut}})
async def get_kv(key: Key, request: Request) -> JSONResponse:
    row, region = await _read_here(
        request, "SELECT value, ts, region FROM region_kv WHERE key = :key", {"key": key}
    )
    if row is None:
        return _not_found(f"no key {key}", region)
    return JSONResponse(
        {"key": key, "value": row[0], "ts": row[1], "written_in": row[2], "region": region}
    )


async def _read_here(request: Request, statement: str, params: dict[str, Any]) -> tuple[Any, str]:
    """One row as this region's own database has it (None when unseen), and the region's name."""
    _, reader, region = _engines(request)
    return await run_in_threadpool(_read, reader, text(statement), params), region


def _not_found(detail: str, region: str) -> JSONResponse:
    return JSONResponse({"error": "not_found", "detail": detail, "region": region}, 404)


async def _insert(request: Request, statement: str, params: dict[str, Any]) -> JSONResponse:
    engine, _, region = _engines(request)
    try:
        await run_in_threadpool(_write, engine, text(statement), {**params, "region": region})
    except IntegrityError:
        # A generic detail: the database's own message would name its constraints and tables.
        return JSONResponse({"error": "conflict", "detail": _CONFLICT, "region": region}, 409)
    return JSONResponse({"id": params["id"], "region": region}, status.HTTP_201_CREATED)


@router.post(
    "/flow/customers",
    dependencies=WriteAuth,
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def post_customer(body: CustomerIn, request: Request) -> JSONResponse:
    return await _insert(
        request,
        "INSERT INTO region_customers (id, name, region) VALUES (:id, :name, :region)",
        body.model_dump(),
    )


@router.post(
    "/flow/orders",
    dependencies=WriteAuth,
    status_code=status.HTTP_201_CREATED,
    responses={401: {"model": ErrorOut}, 409: {"model": ErrorOut}},
)
async def post_order(body: OrderIn, request: Request) -> JSONResponse:
    return await _insert(
        request,
        "INSERT INTO region_orders (id, customer_id, item, region) "
        "VALUES (:id, :customer_id, :item, :region)",
        body.model_dump(),
    )


@router.get("/flow/orders/{order_id}", responses={404: {"model": ErrorOut}})
async def get_order(order_id: Key, request: Request) -> JSONResponse:
    row, region = await _read_here(
        request,
        "SELECT customer_id, item, region FROM region_orders WHERE id = :id",
        {"id": order_id},
    )
    if row is None:
        return _not_found(f"no order {order_id}", region)
    return JSONResponse(
        {
            "id": order_id,
            "customer_id": row[0],
            "item": row[1],
            "written_in": row[2],
            "region": region,
        }
    )
