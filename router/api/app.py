"""The FastAPI application factory: state, error mapping, routes.

Error mapping is where invariant 4 lives: a payload an adapter rejects is a 422 with its reason, a
body over the limit a 413, a database that cannot be reached a 503 with Retry-After (never a 202
for a message that was not stored), and nothing reaches the client as a 500.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from router.api.limits import BodySizeLimit
from router.api.routes import health, inbound, messages, queues, review
from router.channels import ChannelPayloadError
from router.enqueue import Enqueue
from router.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings, session_factory: sessionmaker[Session], enqueue: Enqueue) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        close = getattr(enqueue, "close", None)  # a CoalescingEnqueuer publishes what it holds
        if close is not None:
            close()

    app = FastAPI(
        lifespan=lifespan,
        title="frontdesk",
        version="1",
        description="Routes inbound patient messages to department queues and human review.",
    )
    app.state.settings = settings
    app.state.session_factory = session_factory
    app.state.enqueue = enqueue

    @app.exception_handler(ChannelPayloadError)
    async def bad_payload(request: Request, exc: ChannelPayloadError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    @app.exception_handler(OperationalError)
    async def database_down(request: Request, exc: OperationalError) -> JSONResponse:
        log.warning("database unavailable on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"detail": "database unavailable; nothing was stored, retry later"},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    @app.exception_handler(DBAPIError)
    async def database_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if exc.connection_invalidated:
            return await database_down(request, exc)  # type: ignore[arg-type]
        log.error("database error on %s %s: %s", request.method, request.url.path, type(exc.orig).__name__)
        return JSONResponse({"detail": "request could not be stored"}, status_code=400)

    for module in (health, inbound, messages, queues, review):
        app.include_router(module.router)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return app
