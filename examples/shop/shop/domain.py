"""Pure business rules and wire formatting, kept free of I/O so they unit-test instantly."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

ORDER_PENDING = "pending"
ORDER_PAID = "paid"
EVENT_ORDER_CREATED = "order.created"
EVENT_ORDER_PAID = "order.paid"


class DomainError(Exception):
    """Base class for rule violations that map to 4xx responses."""


class InsufficientStock(DomainError):
    """Raised when an order asks for more units than are in stock."""

    def __init__(self, product_id: int, requested: int, available: int) -> None:
        self.product_id = product_id
        self.requested = requested
        self.available = available
        super().__init__(
            f"Not enough stock for product {product_id}: "
            f"requested {requested}, available {available}"
        )


#: The largest value an INTEGER column holds on PostgreSQL (and so on every store the shop uses).
MAX_DB_INT = 2**31 - 1


class InvalidQuantity(DomainError):
    """Raised for zero or negative quantities, which would otherwise *add* stock."""


class AlreadyPaid(DomainError):
    """Raised when paying an order twice."""


class AmountMismatch(DomainError):
    """Raised when a payment amount differs from the order total."""


@dataclass(frozen=True)
class LineRequest:
    product_id: int
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    quantity: int
    unit_price_cents: int

    @property
    def subtotal_cents(self) -> int:
        return self.quantity * self.unit_price_cents


def merge_lines(lines: Iterable[LineRequest]) -> list[LineRequest]:
    """Combine duplicate products and sort by id.

    Merging makes the stock check see the real total per product; sorting gives every
    transaction the same row-lock order, which prevents deadlocks on PostgreSQL.
    """
    totals: dict[int, int] = {}
    for line in lines:
        if line.quantity <= 0:
            raise InvalidQuantity(f"quantity must be positive, got {line.quantity}")
        totals[line.product_id] = totals.get(line.product_id, 0) + line.quantity
    if not totals:
        raise InvalidQuantity("an order needs at least one item")
    return [LineRequest(pid, qty) for pid, qty in sorted(totals.items())]


def reserve(available: int, requested: int, product_id: int) -> int:
    """Return stock left after reserving `requested` units, or raise InsufficientStock."""
    if requested <= 0:
        raise InvalidQuantity(f"quantity must be positive, got {requested}")
    if requested > available:
        raise InsufficientStock(product_id, requested, available)
    return available - requested


def order_total(lines: Iterable[PricedLine]) -> int:
    """Order total in cents; integers avoid float rounding on money.

    A total the database cannot store is refused here (422), not left to fail in the
    INSERT as a 500.
    """
    total = sum(line.subtotal_cents for line in lines)
    if total > MAX_DB_INT:
        raise InvalidQuantity(
            f"order total {total} cents exceeds the largest amount ({MAX_DB_INT})"
        )
    return total


def check_payment(status: str, total_cents: int, amount_cents: int) -> None:
    """Validate a payment attempt against the order state."""
    if status == ORDER_PAID:
        raise AlreadyPaid("order is already paid")
    if amount_cents != total_cents:
        raise AmountMismatch(f"amount {amount_cents} does not match order total {total_cents}")


def format_sse(
    data: Mapping[str, Any], event: str | None = None, event_id: int | None = None
) -> str:
    """Render one SSE frame. JSON is compact and single-line, but split defensively."""
    parts: list[str] = []
    if event_id is not None:
        parts.append(f"id: {event_id}")
    if event is not None:
        if "\n" in event or "\r" in event:
            raise ValueError("event name must be a single line")
        parts.append(f"event: {event}")
    body = json.dumps(data, separators=(",", ":"), sort_keys=True)
    parts.extend(f"data: {chunk}" for chunk in body.splitlines() or [""])
    return "\n".join(parts) + "\n\n"


def format_sse_comment(text: str) -> str:
    """Render an SSE comment line (ignored by EventSource; keeps proxies from timing out)."""
    return "".join(f": {line}\n" for line in text.splitlines() or [""]) + "\n"


def parse_last_event_id(value: str | None) -> int | None:
    """Parse a Last-Event-ID header; garbage means 'no resume point' rather than an error."""
    if value is None:
        return None
    value = value.strip()
    if not value.isdigit():
        return None
    return int(value)
