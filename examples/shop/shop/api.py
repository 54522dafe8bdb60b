"""JSON API: customers, products, orders, payments. Writes need the bearer token."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, status

from shop import domain, services
from shop.deps import MetricsDep, SessionDep, WriteAuth
from shop.domain import MAX_DB_INT
from shop.models import Customer, Product
from shop.schemas import (
    CustomerIn,
    CustomerOut,
    ErrorOut,
    OrderIn,
    OrderOut,
    PaymentIn,
    ProductIn,
    ProductOut,
    ValidationErrorOut,
)

router = APIRouter()
Limit = Query(100, ge=1, le=500)
Offset = Query(0, ge=0, le=MAX_DB_INT)
Id = Annotated[int, Path(ge=1, le=MAX_DB_INT)]
NOT_FOUND: dict[int | str, dict[str, object]] = {404: {"model": ErrorOut}}
ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorOut},
    404: {"model": ErrorOut},
    409: {"model": ErrorOut},
}
# Writes that run domain rules answer 422 in two shapes: a rule broken (ErrorOut, e.g.
# amount_mismatch, invalid_quantity) or a request that failed validation (FastAPI's own body).
DOMAIN_ERRORS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    422: {"model": ErrorOut | ValidationErrorOut},
}


@router.post(
    "/customers",
    response_model=CustomerOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=WriteAuth,
    responses=ERRORS,
    tags=["customers"],
)
def create_customer(body: CustomerIn, session: SessionDep) -> Customer:
    return services.create_customer(session, body.email, body.name)


@router.get("/customers", response_model=list[CustomerOut], tags=["customers"])
def list_customers(session: SessionDep, limit: int = Limit, offset: int = Offset) -> list[Customer]:
    return services.list_rows(session, Customer, limit, offset)


@router.get(
    "/customers/{customer_id}", response_model=CustomerOut, responses=NOT_FOUND, tags=["customers"]
)
def get_customer(customer_id: Id, session: SessionDep) -> Customer:
    return services.get_or_404(session, Customer, customer_id)


@router.post(
    "/products",
    response_model=ProductOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=WriteAuth,
    responses=ERRORS,
    tags=["products"],
)
def create_product(body: ProductIn, session: SessionDep) -> Product:
    return services.create_product(session, body.name, body.price_cents, body.stock)


@router.get("/products", response_model=list[ProductOut], tags=["products"])
def list_products(session: SessionDep, limit: int = Limit, offset: int = Offset) -> list[Product]:
    return services.list_rows(session, Product, limit, offset)


@router.get(
    "/products/{product_id}", response_model=ProductOut, responses=NOT_FOUND, tags=["products"]
)
def get_product(product_id: Id, session: SessionDep) -> Product:
    return services.get_or_404(session, Product, product_id)


@router.post(
    "/orders",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=WriteAuth,
    responses=DOMAIN_ERRORS,
    tags=["orders"],
)
def create_order(body: OrderIn, session: SessionDep, metrics: MetricsDep) -> OrderOut:
    lines = [domain.LineRequest(i.product_id, i.quantity) for i in body.items]
    order = services.place_order(session, body.customer_id, lines)
    metrics.orders_created.inc()
    return OrderOut.model_validate(order)


@router.get("/orders", response_model=list[OrderOut], tags=["orders"])
def list_orders(session: SessionDep, limit: int = Limit, offset: int = Offset) -> list[OrderOut]:
    return [OrderOut.model_validate(o) for o in services.list_orders(session, limit, offset)]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=NOT_FOUND, tags=["orders"])
def get_order(order_id: Id, session: SessionDep) -> OrderOut:
    return OrderOut.model_validate(services.get_order(session, order_id))


@router.post(
    "/orders/{order_id}/payments",
    response_model=OrderOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=WriteAuth,
    responses=DOMAIN_ERRORS,
    tags=["orders"],
)
def pay_order(order_id: Id, body: PaymentIn, session: SessionDep) -> OrderOut:
    return OrderOut.model_validate(services.pay_order(session, order_id, body.amount_cents))
