"""`python -m shop.seed`: insert demo products once (idempotent by product name)."""

from __future__ import annotations

from sqlalchemy import select

from shop.db import make_engine, make_session_factory
from shop.models import Product
from shop.settings import load_settings

DEMO_PRODUCTS: tuple[tuple[str, int, int], ...] = (
    ("Espresso beans 1kg", 2450, 40),
    ("Ceramic mug", 1200, 25),
    ("Pour-over kettle", 5900, 8),
    ("Paper filters (100)", 650, 120),
)


def seed(database_url: str | None = None) -> int:
    """Return how many products were inserted (0 when already seeded)."""
    engine = make_engine(database_url or load_settings().database_url)
    try:
        with make_session_factory(engine)() as session:
            existing = set(session.scalars(select(Product.name)))
            new = [
                Product(name=n, price_cents=p, stock=s)
                for n, p, s in DEMO_PRODUCTS
                if n not in existing
            ]
            session.add_all(new)
            session.commit()
            return len(new)
    finally:
        engine.dispose()


if __name__ == "__main__":
    print(f"seeded {seed()} product(s)")
