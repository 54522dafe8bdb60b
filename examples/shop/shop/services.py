"""Database operations. Each public function is one transaction boundary owned by the caller."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from shop import domain
from shop.models import Customer, Order, OrderEvent, OrderItem, Payment, Product, utcnow

T = TypeVar("T", Customer, Product)


class NotFound(domain.DomainError):
    """A referenced row does not exist."""


class Conflict(domain.DomainError):
    """A uniqueness rule was violated (e.g. duplicate customer email)."""


def create_customer(session: Session, email: str, name: str = "") -> Customer:
    customer = Customer(email=email.strip().lower(), name=name)
    session.add(customer)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"customer with email {email!r} already exists") from None
    return customer


def get_or_create_customer(session: Session, email: str) -> Customer:
    """Storefront shoppers are identified only by email; create them on first order."""
    email = email.strip().lower()
    existing = session.scalar(select(Customer).where(Customer.email == email))
    if existing is not None:
        return existing
    try:
        return create_customer(session, email)
    except Conflict:
        # Another request created it between our SELECT and INSERT.
        found = session.scalar(select(Customer).where(Customer.email == email))
        assert found is not None
        return found


def create_product(session: Session, name: str, price_cents: int, stock: int) -> Product:
    product = Product(name=name, price_cents=price_cents, stock=stock)
    session.add(product)
    session.commit()
    return product


def get_or_404(session: Session, model: type[T], row_id: int) -> T:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{model.__name__.lower()} {row_id} not found")
    return row


def list_rows(
    session: Session, model: type[T], limit: int, offset: int, newest_first: bool = False
) -> list[T]:
    order = model.id.desc() if newest_first else model.id
    return list(session.scalars(select(model).order_by(order).limit(limit).offset(offset)))


def get_order(session: Session, order_id: int) -> Order:
    order = session.scalar(
        select(Order).options(selectinload(Order.items)).where(Order.id == order_id)
    )
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def list_orders(session: Session, limit: int, offset: int) -> list[Order]:
    stmt = select(Order).options(selectinload(Order.items)).order_by(Order.id)
    return list(session.scalars(stmt.limit(limit).offset(offset)))


def _add_event(session: Session, order: Order, event_type: str) -> None:
    payload = {
        "type": event_type,
        "order_id": order.id,
        "customer_id": order.customer_id,
        "status": order.status,
        "total_cents": order.total_cents,
    }
    session.add(OrderEvent(order_id=order.id, event_type=event_type, payload=json.dumps(payload)))


def place_order(session: Session, customer_id: int, lines: Sequence[domain.LineRequest]) -> Order:
    """Create an order and reserve stock all-or-nothing.

    Each reservation is a conditional UPDATE (`stock >= qty`), so the check and the
    decrement are one atomic statement: under concurrency the database row lock makes
    racing orders re-evaluate the condition, and exactly one can take the last unit.
    """
    merged = domain.merge_lines(lines)
    if session.get(Customer, customer_id) is None:
        raise NotFound(f"customer {customer_id} not found")
    priced: list[domain.PricedLine] = []
    try:
        for line in merged:
            result = session.execute(
                update(Product)
                .where(Product.id == line.product_id, Product.stock >= line.quantity)
                .values(stock=Product.stock - line.quantity)
                .returning(Product.price_cents)
            )
            price = result.scalar_one_or_none()
            if price is None:
                product = session.get(Product, line.product_id, populate_existing=True)
                if product is None:
                    raise NotFound(f"product {line.product_id} not found")
                domain.reserve(product.stock, line.quantity, line.product_id)
                raise AssertionError("conditional update failed but stock suffices")
            priced.append(domain.PricedLine(line.product_id, line.quantity, price))
        order = Order(
            customer_id=customer_id,
            status=domain.ORDER_PENDING,
            total_cents=domain.order_total(priced),
            items=[
                OrderItem(
                    product_id=p.product_id,
                    quantity=p.quantity,
                    unit_price_cents=p.unit_price_cents,
                )
                for p in priced
            ],
        )
        session.add(order)
        session.flush()
        _add_event(session, order, domain.EVENT_ORDER_CREATED)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    return order


def pay_order(session: Session, order_id: int, amount_cents: int) -> Order:
    """Mark an order paid; the status guard in the UPDATE makes double payment impossible."""
    order = get_order(session, order_id)
    domain.check_payment(order.status, order.total_cents, amount_cents)
    try:
        now = utcnow()
        result = session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == domain.ORDER_PENDING)
            .values(status=domain.ORDER_PAID, paid_at=now)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise domain.AlreadyPaid("order is already paid")
        session.add(Payment(order_id=order_id, amount_cents=amount_cents))
        session.flush()
        session.refresh(order)
        _add_event(session, order, domain.EVENT_ORDER_PAID)
        session.commit()
    except IntegrityError:
        session.rollback()
        raise domain.AlreadyPaid("order is already paid") from None
    except BaseException:
        session.rollback()
        raise
    return order


def events_after(session: Session, after_id: int, limit: int) -> list[OrderEvent]:
    stmt = select(OrderEvent).where(OrderEvent.id > after_id).order_by(OrderEvent.id).limit(limit)
    return list(session.scalars(stmt))


def latest_event_id(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.max(OrderEvent.id), 0))) or 0
