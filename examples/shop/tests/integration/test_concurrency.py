"""Racing orders for the last unit: the conditional UPDATE must let exactly one win."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from shop import domain, services
from shop.db import make_engine, make_session_factory
from shop.models import Order, Product

RACERS = 4
ROUNDS = 5


def test_only_one_racer_gets_the_last_unit(db_url: str) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            customer = services.create_customer(session, "racer@example.com")
            products = [
                services.create_product(session, f"Last {i}", 100, 1) for i in range(ROUNDS)
            ]
        for product in products:
            barrier = threading.Barrier(RACERS)
            outcomes: list[str] = []
            lock = threading.Lock()

            def race(product_id: int = product.id) -> None:
                with factory() as session:
                    barrier.wait()
                    try:
                        services.place_order(
                            session, customer.id, [domain.LineRequest(product_id, 1)]
                        )
                        result = "won"
                    except domain.InsufficientStock:
                        result = "lost"
                with lock:
                    outcomes.append(result)

            threads = [threading.Thread(target=race) for _ in range(RACERS)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert sorted(outcomes) == ["lost"] * (RACERS - 1) + ["won"]
        with factory() as session:
            assert all(p.stock == 0 for p in session.scalars(select(Product)))
            assert len(session.scalars(select(Order)).all()) == ROUNDS
    finally:
        engine.dispose()


@pytest.mark.parametrize("attempts", [3])
def test_double_payment_race_has_one_winner(db_url: str, attempts: int) -> None:
    engine = make_engine(db_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session:
            customer = services.create_customer(session, "payer@example.com")
            product = services.create_product(session, "Thing", 500, 1)
            order = services.place_order(session, customer.id, [domain.LineRequest(product.id, 1)])
        barrier = threading.Barrier(attempts)
        outcomes: list[str] = []

        def pay() -> None:
            with factory() as session:
                barrier.wait()
                try:
                    services.pay_order(session, order.id, 500)
                    outcomes.append("paid")
                except domain.AlreadyPaid:
                    outcomes.append("rejected")

        threads = [threading.Thread(target=pay) for _ in range(attempts)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert sorted(outcomes) == ["paid"] + ["rejected"] * (attempts - 1)
    finally:
        engine.dispose()
