"""FastAPI dependencies shared by routers: DB session, settings, write-token check."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from shop.metrics import ShopMetrics
from shop.settings import Settings


def get_settings(request: Request) -> Settings:
    return request.app.state.settings  # type: ignore[no-any-return]


def get_metrics(request: Request) -> ShopMetrics:
    return request.app.state.metrics  # type: ignore[no-any-return]


def get_session(request: Request) -> Iterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


class Unauthorized(Exception):
    """A write without a valid bearer token; answered 401 in the documented ErrorOut shape."""


def require_token(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """Bearer-token gate for writes; compare_digest avoids leaking the token via timing."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(
        token.strip().encode(), settings.api_token.encode()
    ):
        raise Unauthorized("missing or invalid bearer token")


SessionDep = Annotated[Session, Depends(get_session)]
MetricsDep = Annotated[ShopMetrics, Depends(get_metrics)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
WriteAuth = [Depends(require_token)]
