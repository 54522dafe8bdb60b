"""Shopper journeys in a real browser against the running storefront."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.app]


def _fill_order(page: Page, product: dict[str, Any], email: str, quantity: int) -> None:
    page.fill("#email", email)
    page.select_option("#product", value=str(product["id"]))
    page.fill("#quantity", str(quantity))
    page.click("#place-order")


def test_place_order_through_storefront(
    page: Page,
    target_url: str,
    api_product: Callable[..., dict[str, Any]],
    unique: Callable[[str], str],
) -> None:
    product = api_product(stock=3, price_cents=1550)
    page.goto(f"{target_url}/")
    row = page.locator(f"[data-testid=product-row][data-product-id='{product['id']}']")
    expect(row.locator("[data-testid=product-name]")).to_have_text(product["name"])
    expect(row.locator("[data-testid=product-price]")).to_have_text("$15.50")
    expect(row.locator("[data-testid=product-stock]")).to_have_text("3")

    _fill_order(page, product, f"{unique('shopper')}@example.com", 2)

    confirmation = page.locator("#order-confirmation")
    expect(confirmation).to_be_visible()
    expect(page.locator("#order-total")).to_have_text("$31.00")
    order_id = confirmation.get_attribute("data-order-id")
    assert order_id and re.fullmatch(r"\d+", order_id)
    order = httpx.get(f"{target_url}/orders/{order_id}", timeout=15).json()
    assert order["items"] == [
        {"product_id": product["id"], "quantity": 2, "unit_price_cents": 1550}
    ]

    page.click("#back")
    expect(row.locator("[data-testid=product-stock]")).to_have_text("1")


def test_insufficient_stock_shows_error(
    page: Page,
    target_url: str,
    api_product: Callable[..., dict[str, Any]],
    unique: Callable[[str], str],
) -> None:
    product = api_product(stock=1)
    page.goto(f"{target_url}/")
    _fill_order(page, product, f"{unique('shopper')}@example.com", 5)

    error = page.locator("#order-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("only 1 left")
    expect(page.locator("#order-confirmation")).to_have_count(0)
    stock = httpx.get(f"{target_url}/products/{product['id']}", timeout=15).json()["stock"]
    assert stock == 1
