"""Storefront HTML rendering: escaping and the stable ids the browser tests rely on."""

from __future__ import annotations

from shop import pages
from shop.models import Order, Product


def test_money_formats_cents() -> None:
    assert pages.money(0) == "$0.00"
    assert pages.money(5) == "$0.05"
    assert pages.money(12345) == "$123.45"


def test_storefront_escapes_product_names_and_has_form_ids() -> None:
    html = pages.storefront([Product(id=3, name="<script>x</script>", price_cents=250, stock=4)])
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;" in html
    for marker in ("id='order-form'", "id='email'", "id='product'", "id='quantity'"):
        assert marker in html
    assert "data-product-id='3'" in html
    assert "order-error" not in html


def test_storefront_shows_error_and_keeps_form_values() -> None:
    html = pages.storefront(
        [Product(id=1, name="Mug", price_cents=100, stock=0)],
        error="Sorry, only 0 left",
        form={"email": "a@b.c", "product_id": "1", "quantity": "2"},
    )
    assert "id='order-error'" in html
    assert "Sorry, only 0 left" in html
    assert "value='a@b.c'" in html
    assert "<option value='1' selected>" in html


def test_confirmation_shows_order_id() -> None:
    html = pages.confirmation(Order(id=99, customer_id=1, status="pending", total_cents=1050))
    assert "id='order-confirmation'" in html
    assert "data-order-id='99'" in html
    assert "$10.50" in html
