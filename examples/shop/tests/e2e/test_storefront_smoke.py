"""Read-only browser check, safe on production: the storefront renders its catalogue."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.smoke, pytest.mark.app]


def test_storefront_renders_catalogue_and_order_form(page: Page, target_url: str) -> None:
    response = page.goto(f"{target_url}/")
    assert response is not None
    assert response.status == 200
    expect(page.locator("[data-testid=products]")).to_be_visible()
    expect(page.locator("[data-testid=order-form]")).to_be_visible()
    expect(page.locator("[data-testid=place-order]")).to_be_enabled()
