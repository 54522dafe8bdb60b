"""Request/response models; validation here keeps bad input out of the service layer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shop.domain import MAX_DB_INT

# Every integer that reaches an INTEGER column is bounded here: a larger one made SQLite raise
# OverflowError (and PostgreSQL a DataError) inside the request, which answered 500.


class CustomerIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$")
    name: str = Field(default="", max_length=200)


class CustomerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    email: str
    name: str
    created_at: datetime | None


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    price_cents: int = Field(ge=0, le=MAX_DB_INT)
    stock: int = Field(ge=0, le=MAX_DB_INT)


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str
    price_cents: int
    stock: int


class OrderItemIn(BaseModel):
    product_id: int = Field(ge=1, le=MAX_DB_INT)
    quantity: int = Field(gt=0, le=MAX_DB_INT)


class OrderIn(BaseModel):
    customer_id: int = Field(ge=1, le=MAX_DB_INT)
    items: list[OrderItemIn] = Field(min_length=1)


class OrderItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    product_id: int
    quantity: int
    unit_price_cents: int


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    customer_id: int
    status: str
    total_cents: int
    created_at: datetime | None
    paid_at: datetime | None
    items: list[OrderItemOut]


class PaymentIn(BaseModel):
    amount_cents: int = Field(ge=0, le=MAX_DB_INT)


class ErrorOut(BaseModel):
    error: str
    detail: str


class ValidationErrorOut(BaseModel):
    """FastAPI's own 422 body for a request that fails validation."""

    detail: list[dict[str, Any]]
