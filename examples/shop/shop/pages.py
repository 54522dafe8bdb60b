"""Inline HTML for the storefront (no template engine, no external assets)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from shop.models import Order, Product

STYLE = """
body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left}
form{display:grid;gap:.5rem;max-width:24rem;margin-top:1.5rem}
.error{background:#fde8e8;border:1px solid #c00;padding:.6rem}
.ok{background:#e8f8ea;border:1px solid #2a2;padding:.6rem}
"""


def money(cents: int) -> str:
    return f"${cents // 100}.{cents % 100:02d}"


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<meta name='viewport' content='width=device-width,initial-scale=1'><title>{escape(title)}"
        f"</title><style>{STYLE}</style></head><body>{body}</body></html>"
    )


def storefront(
    products: Sequence[Product], error: str | None = None, form: dict[str, str] | None = None
) -> str:
    form = form or {}
    rows = "".join(
        f"<tr data-testid='product-row' data-product-id='{p.id}'>"
        f"<td data-testid='product-name'>{escape(p.name)}</td>"
        f"<td data-testid='product-price'>{money(p.price_cents)}</td>"
        f"<td data-testid='product-stock'>{p.stock}</td></tr>"
        for p in products
    )
    chosen = form.get("product_id", "")
    options = "".join(
        f"<option value='{p.id}'{' selected' if str(p.id) == chosen else ''}>"
        f"{escape(p.name)} ({money(p.price_cents)})</option>"
        for p in products
    )
    alert = (
        f"<div id='order-error' data-testid='order-error' class='error' role='alert'>"
        f"{escape(error)}</div>"
        if error
        else ""
    )
    body = f"""<h1>Shop</h1>{alert}
<table id='products' data-testid='products'><thead><tr><th>Product</th><th>Price</th>
<th>Stock</th></tr></thead><tbody>{rows}</tbody></table>
<form id='order-form' data-testid='order-form' method='post' action='/shop/checkout'>
<label>Email <input id='email' name='email' type='email' required
 value='{escape(form.get("email", ""))}'></label>
<label>Product <select id='product' name='product_id' required>{options}</select></label>
<label>Quantity <input id='quantity' name='quantity' type='number' min='1' required
 value='{escape(form.get("quantity", "1"))}'></label>
<button id='place-order' data-testid='place-order' type='submit'>Place order</button>
</form>"""
    return _layout("Shop", body)


def confirmation(order: Order) -> str:
    body = (
        f"<h1>Thank you!</h1><div id='order-confirmation' data-testid='order-confirmation' "
        f"class='ok' data-order-id='{order.id}'>Order <span id='order-id'>{order.id}</span> "
        f"confirmed. Total <span id='order-total'>{money(order.total_cents)}</span>.</div>"
        "<p><a id='back' href='/'>Continue shopping</a></p>"
    )
    return _layout(f"Order {order.id}", body)
