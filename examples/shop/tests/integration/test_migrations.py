"""Alembic revisions go up and down with data in the tables, on both backends."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from shop.db import make_engine
from shop.migrate import downgrade, upgrade
from shop.models import Base


@pytest.fixture
def engine(empty_db_url: str) -> Iterator[Engine]:
    eng = make_engine(empty_db_url)
    yield eng
    eng.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names()) - {"alembic_version"}


def _scalar(engine: Engine, query: str) -> object:
    with engine.connect() as conn:
        return conn.execute(text(query)).scalar()


def _seed(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO customers (id, email, name) VALUES (1, 'm@x.io', 'M')"))
        conn.execute(
            text("INSERT INTO products (id, name, price_cents, stock) VALUES (1, 'P', 100, 9)")
        )
        conn.execute(
            text(
                "INSERT INTO orders (id, customer_id, status, total_cents)"
                " VALUES (1, 1, 'paid', 100)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)"
                " VALUES (1, 1, 1, 100)"
            )
        )
        conn.execute(text("INSERT INTO payments (order_id, amount_cents) VALUES (1, 100)"))


def test_upgrade_downgrade_upgrade_keeps_data(empty_db_url: str, engine: Engine) -> None:
    upgrade(empty_db_url)
    assert _tables(engine) == {
        "customers", "products", "orders", "order_items", "order_events", "payments",
        "region_kv", "region_customers", "region_orders",
    }  # fmt: skip
    assert _scalar(engine, "SELECT version_num FROM alembic_version") == "0003"
    _seed(engine)

    downgrade(empty_db_url, "-1")
    engine.dispose()
    assert _scalar(engine, "SELECT version_num FROM alembic_version") == "0002"
    assert "region_kv" not in _tables(engine)

    downgrade(empty_db_url, "-1")
    engine.dispose()  # drop cached reflection / pooled connections after DDL
    assert _scalar(engine, "SELECT version_num FROM alembic_version") == "0001"
    assert "payments" not in _tables(engine)
    assert "paid_at" not in {c["name"] for c in inspect(engine).get_columns("orders")}
    assert _scalar(engine, "SELECT count(*) FROM orders") == 1
    assert _scalar(engine, "SELECT stock FROM products WHERE id = 1") == 9

    upgrade(empty_db_url)
    engine.dispose()
    assert _scalar(engine, "SELECT count(*) FROM orders") == 1
    assert _scalar(engine, "SELECT count(*) FROM order_items") == 1
    assert _scalar(engine, "SELECT paid_at FROM orders WHERE id = 1") is None
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO payments (order_id, amount_cents) VALUES (1, 100)"))

    downgrade(empty_db_url, "base")
    engine.dispose()
    assert _tables(engine) == set()
    upgrade(empty_db_url)
    engine.dispose()
    assert _scalar(engine, "SELECT count(*) FROM customers") == 0
    _seed(engine)


def test_models_match_migrations(empty_db_url: str, engine: Engine) -> None:
    """Catches a model change that nobody wrote a revision for."""
    upgrade(empty_db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


@pytest.mark.parametrize("run", ["first", "second"])
def test_each_test_gets_a_fresh_copy_of_the_migrated_schema(db_url: str, run: str) -> None:
    """The fixtures copy one migrated template per session: each copy is at head, matches the
    models and starts empty, whatever the test before it wrote into its own copy."""
    eng = make_engine(db_url)
    try:
        assert _scalar(eng, "SELECT version_num FROM alembic_version") == "0003"
        with eng.connect() as conn:
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
        for table in ("customers", "products", "orders", "payments", "region_kv"):
            assert _scalar(eng, f"SELECT count(*) FROM {table}") == 0  # noqa: S608 - fixed names
        _seed(eng)  # the next run's copy must not see these rows
        assert _scalar(eng, "SELECT count(*) FROM orders") == 1
    finally:
        eng.dispose()
