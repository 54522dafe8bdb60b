"""Business rules and SSE wire format, without any database."""

from __future__ import annotations

import json

import pytest

from shop import domain
from shop.domain import LineRequest, PricedLine


def test_order_total_sums_line_subtotals() -> None:
    lines = [PricedLine(1, 2, 250), PricedLine(2, 1, 999), PricedLine(3, 3, 0)]
    assert domain.order_total(lines) == 1499


def test_order_total_of_nothing_is_zero() -> None:
    assert domain.order_total([]) == 0


def test_merge_lines_combines_duplicates_and_sorts_by_product() -> None:
    merged = domain.merge_lines([LineRequest(5, 1), LineRequest(2, 2), LineRequest(5, 3)])
    assert merged == [LineRequest(2, 2), LineRequest(5, 4)]


@pytest.mark.parametrize("quantity", [0, -1])
def test_merge_lines_rejects_non_positive_quantity(quantity: int) -> None:
    with pytest.raises(domain.InvalidQuantity):
        domain.merge_lines([LineRequest(1, quantity)])


def test_merge_lines_rejects_empty_order() -> None:
    with pytest.raises(domain.InvalidQuantity):
        domain.merge_lines([])


def test_reserve_returns_remaining_stock() -> None:
    assert domain.reserve(available=5, requested=5, product_id=1) == 0
    assert domain.reserve(available=5, requested=2, product_id=1) == 3


def test_reserve_raises_with_details_when_short() -> None:
    with pytest.raises(domain.InsufficientStock) as info:
        domain.reserve(available=1, requested=2, product_id=7)
    assert (info.value.product_id, info.value.requested, info.value.available) == (7, 2, 1)
    assert "requested 2, available 1" in str(info.value)


def test_reserve_rejects_non_positive_quantity() -> None:
    with pytest.raises(domain.InvalidQuantity):
        domain.reserve(available=3, requested=0, product_id=1)


def test_check_payment_accepts_exact_amount() -> None:
    domain.check_payment(domain.ORDER_PENDING, 500, 500)


def test_check_payment_rejects_mismatch_and_double_payment() -> None:
    with pytest.raises(domain.AmountMismatch):
        domain.check_payment(domain.ORDER_PENDING, 500, 499)
    with pytest.raises(domain.AlreadyPaid):
        domain.check_payment(domain.ORDER_PAID, 500, 500)


def test_format_sse_frame_has_id_event_and_json_data() -> None:
    frame = domain.format_sse({"order_id": 3, "type": "order.created"}, "order.created", 42)
    assert frame.endswith("\n\n")
    lines = frame.rstrip("\n").split("\n")
    assert lines[0] == "id: 42"
    assert lines[1] == "event: order.created"
    assert lines[2].startswith("data: ")
    assert json.loads(lines[2].removeprefix("data: ")) == {"order_id": 3, "type": "order.created"}


def test_format_sse_without_id_or_event_is_data_only() -> None:
    assert domain.format_sse({"a": 1}) == 'data: {"a":1}\n\n'


def test_format_sse_keeps_newlines_inside_json_strings_on_one_line() -> None:
    frame = domain.format_sse({"note": "two\nlines"})
    assert frame.count("\n") == 2  # the data line plus the blank terminator


def test_format_sse_rejects_multiline_event_name() -> None:
    with pytest.raises(ValueError):
        domain.format_sse({}, "bad\nevent")


def test_format_sse_comment() -> None:
    assert domain.format_sse_comment("heartbeat") == ": heartbeat\n\n"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, None), ("", None), ("12", 12), (" 7 ", 7), ("abc", None), ("-3", None)],
)
def test_parse_last_event_id(raw: str | None, expected: int | None) -> None:
    assert domain.parse_last_event_id(raw) == expected
