"""The application factory: routers, error mapping, request-size limits, the database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import PayloadTooLarge, error_body, install_error_handlers
from app.settings import Settings
from data.storage import create_engine_for

DESCRIPTION = """Review and optimise domiciliary care rounds.

Every endpoint but `/api/health` needs a bearer token (`carerounds users create`). Roles:
broker, contract_manager, analyst, admin, service_account; see docs/security.md for who may
read what. Service users appear only by pseudonymous id; reads of identifiable data are
written to the access log with the `X-Purpose` header as the reason. Errors are
`{"error": {"type", "message", "where"}}`.
"""


@dataclass
class PlanningContext:
    """What app.planning needs per process: settings, engine, and its own cache."""

    settings: Settings
    engine: Engine
    cache: dict[str, Any] = field(default_factory=dict)


class BodySizeLimit:
    """Refuse request bodies over the limit with 413, before and while they are read."""

    def __init__(self, app: ASGIApp, *, default_limit: int, upload_limit: int) -> None:
        self.app = app
        self.default_limit = default_limit
        self.upload_limit = upload_limit

    def _limit(self, scope: Scope) -> int:
        is_upload = scope["path"].rstrip("/") == "/api/imports"
        return self.upload_limit if is_upload else self.default_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise PayloadTooLarge(limit)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except PayloadTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        import json

        body = json.dumps(
            error_body(
                "payload_too_large",
                str(PayloadTooLarge(limit)),
                {"in": "body", "field": None},
            )
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def create_app(settings: Settings, *, engine: Engine | None = None) -> FastAPI:
    """Build the API and web page for ``settings`` (on ``engine`` if given)."""
    from app.api.routes import admin, audit, brokerage, geography, ingestion, jobs
    from app.web import router as web_router

    own_engine = engine is None
    db = engine if engine is not None else create_engine_for(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if own_engine:
            db.dispose()

    app = FastAPI(
        title="carerounds",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = db
    app.state.sessionmaker = sessionmaker(db, expire_on_commit=False)
    app.state.planning_context = PlanningContext(settings=settings, engine=db)
    install_error_handlers(app)

    @app.get("/api/health", tags=["meta"])
    def health() -> dict[str, str]:
        """Liveness: the process answers (no authentication, no data)."""
        return {"status": "ok"}

    for module in (ingestion, audit, geography, brokerage, jobs, admin):
        app.include_router(module.router)
    app.include_router(web_router)
    from app.web import mount_static

    mount_static(app)
    app.add_middleware(
        BodySizeLimit,  # type: ignore[arg-type]
        default_limit=settings.api.max_body_bytes,
        upload_limit=settings.api.max_upload_bytes,
    )
    return app
