"""SQLAlchemy engine and session helpers that work for both SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker


def normalize_url(url: str) -> str:
    """Force the psycopg 3 driver: plain postgresql:// would pick psycopg2, which is absent."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> Engine:
    """Create an engine with driver-appropriate options."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        # Threadpool workers share the engine; wait on locks instead of failing fast.
        return create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    # A URL's own connect_timeout wins (a multi-host URL needs a short one to fail over fast).
    connect_args = {} if "connect_timeout=" in url else {"connect_timeout": 5}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions keep loaded objects usable after commit so routes can serialise them."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def ping(engine: Engine) -> None:
    """Raise if the database cannot answer a trivial query (used by /health)."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
