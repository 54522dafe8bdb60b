"""Public storefront: product list and a plain HTML form checkout (works without JS)."""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from shop import domain, pages, services
from shop.deps import MetricsDep, SessionDep
from shop.metrics import ShopMetrics
from shop.models import Product

router = APIRouter(include_in_schema=False)
MAX_FORM_BYTES = 10_000
STOREFRONT_PRODUCTS = 200


def _products(session: Session) -> list[Product]:
    return services.list_rows(session, Product, STOREFRONT_PRODUCTS, 0, newest_first=True)


@router.get("/", response_class=HTMLResponse)
def storefront(session: SessionDep) -> HTMLResponse:
    return HTMLResponse(pages.storefront(_products(session)))


@router.post("/shop/checkout", response_class=HTMLResponse)
async def checkout(request: Request, session: SessionDep, metrics: MetricsDep) -> HTMLResponse:
    """Parse the urlencoded form by hand: avoids a python-multipart dependency."""
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        return await run_in_threadpool(_error, session, "Form too large.", {}, 413)
    fields = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    return await run_in_threadpool(_place, session, metrics, fields)


def _place(session: Session, metrics: ShopMetrics, fields: dict[str, str]) -> HTMLResponse:
    """Blocking DB work, run off the event loop."""
    email = fields.get("email", "").strip()
    try:
        product_id = int(fields.get("product_id", ""))
        quantity = int(fields.get("quantity", ""))
    except ValueError:
        return _error(session, "Please choose a product and a whole-number quantity.", fields, 422)
    if "@" not in email or quantity <= 0:
        return _error(session, "Please enter a valid email and a positive quantity.", fields, 422)
    try:
        customer = services.get_or_create_customer(session, email)
        order = services.place_order(
            session, customer.id, [domain.LineRequest(product_id, quantity)]
        )
    except domain.InsufficientStock as exc:
        return _error(
            session,
            f"Sorry, only {exc.available} left in stock (you asked for {exc.requested}).",
            fields,
            409,
        )
    except services.NotFound:
        return _error(session, "That product no longer exists.", fields, 404)
    metrics.orders_created.inc()
    return HTMLResponse(pages.confirmation(order), status_code=201)


def _error(session: Session, message: str, fields: dict[str, str], status: int) -> HTMLResponse:
    return HTMLResponse(pages.storefront(_products(session), message, fields), status_code=status)
