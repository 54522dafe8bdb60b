"""Races on one row: the conditional UPDATEs must let exactly one contender win."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from shop import domain, services
from shop.db import make_engine, make_session_factory
from shop.models import Order, Product

RACERS = 4
ROUNDS = 5


@pytest.fixture
def factory(db_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    engine.dispose()


def _race(factory: sessionmaker[Session], n: int, attempt: Callable[[Session], str]) -> list[str]:
    """Run `attempt` in n threads released at the same instant; return sorted outcomes."""
    barrier = threading.Barrier(n)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run() -> None:
        with factory() as session:
            barrier.wait()
            result = attempt(session)
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_only_one_racer_gets_the_last_unit(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        customer_id = services.create_customer(session, "racer@example.com").id
        product_ids = [services.create_product(session, f"L{i}", 100, 1).id for i in range(ROUNDS)]

    for product_id in product_ids:

        def buy(session: Session, product_id: int = product_id) -> str:
            try:
                services.place_order(session, customer_id, [domain.LineRequest(product_id, 1)])
            except domain.InsufficientStock:
                return "lost"
            return "won"

        assert _race(factory, RACERS, buy) == ["lost"] * (RACERS - 1) + ["won"]

    with factory() as session:
        assert [p.stock for p in session.scalars(select(Product))] == [0] * ROUNDS
        assert len(session.scalars(select(Order)).all()) == ROUNDS


def test_double_payment_race_has_one_winner(factory: sessionmaker[Session]) -> None:
    with factory() as session:
        customer = services.create_customer(session, "payer@example.com")
        product = services.create_product(session, "Thing", 500, 1)
        order_id = services.place_order(
            session, customer.id, [domain.LineRequest(product.id, 1)]
        ).id

    def pay(session: Session) -> str:
        try:
            services.pay_order(session, order_id, 500)
        except domain.AlreadyPaid:
            return "rejected"
        return "paid"

    assert _race(factory, RACERS, pay) == ["paid"] + ["rejected"] * (RACERS - 1)
