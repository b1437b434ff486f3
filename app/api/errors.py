"""The one place that maps errors to HTTP status codes and a stable JSON body.

Every error response is ``{"error": {"type", "message", "where"}}``: ``type`` is a stable
machine name, ``where`` says where the problem is (``file``/``row``/``column`` for a rejected
upload, ``in``/``field`` for a rejected request parameter), or is null.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth import NotAuthenticated, NotPermitted
from data.errors import DataError, IngestError, MappingError, StorageError

log = logging.getLogger(__name__)


class ApiError(Exception):
    """Base class of errors the API layer raises on purpose."""


class NotFound(ApiError, LookupError):
    """The named resource does not exist (or is not visible to the caller)."""


class Conflict(ApiError):
    """The request cannot be served in the resource's current state."""


class Unavailable(ApiError):
    """A capability the request needs is not installed or not configured yet."""


class PayloadTooLarge(ApiError):
    """A request body is larger than the configured limit."""

    def __init__(self, limit_bytes: int) -> None:
        self.limit_bytes = limit_bytes
        super().__init__(f"Request body is larger than the limit of {limit_bytes:,} bytes.")


def error_body(type_: str, message: str, where: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"type": type_, "message": message, "where": where}}


def _json(status: int, type_: str, message: str, where: dict[str, Any] | None = None, **kw):  # type: ignore[no-untyped-def]
    return JSONResponse(error_body(type_, message, where), status_code=status, **kw)


def _ingest_where(exc: IngestError) -> dict[str, Any]:
    return {"file": exc.file, "row": exc.row, "column": exc.field}


_STATUS_TYPES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


def install_error_handlers(app: FastAPI) -> None:
    """Register every mapping on ``app``."""

    @app.exception_handler(NotAuthenticated)
    async def _not_authenticated(request: Request, exc: NotAuthenticated) -> JSONResponse:
        return _json(401, "not_authenticated", str(exc), headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(NotPermitted)
    async def _not_permitted(request: Request, exc: NotPermitted) -> JSONResponse:
        return _json(403, "forbidden", str(exc))

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return _json(404, "not_found", str(exc))

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return _json(409, "conflict", str(exc))

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, exc: Unavailable) -> JSONResponse:
        return _json(503, "unavailable", str(exc))

    @app.exception_handler(PayloadTooLarge)
    async def _too_large(request: Request, exc: PayloadTooLarge) -> JSONResponse:
        return _json(413, "payload_too_large", str(exc), {"in": "body", "field": None})

    @app.exception_handler(IngestError)
    async def _ingest(request: Request, exc: IngestError) -> JSONResponse:
        return _json(422, "invalid_file", exc.message, _ingest_where(exc))

    @app.exception_handler(MappingError)
    async def _mapping(request: Request, exc: MappingError) -> JSONResponse:
        return _json(422, "invalid_mapping", str(exc), {"in": "body", "field": "mapping"})

    @app.exception_handler(StorageError)
    async def _storage(request: Request, exc: StorageError) -> JSONResponse:
        log.exception("storage error", exc_info=exc)
        return _json(503, "storage_unavailable", str(exc))

    from app.planning import PlanningError

    @app.exception_handler(PlanningError)
    async def _planning(request: Request, exc: PlanningError) -> JSONResponse:
        return _json(422, "not_plannable", str(exc), {"in": "body", "field": "day"})

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return _json(422, "invalid_data", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        loc = [str(p) for p in first.get("loc", ())]
        where = {"in": loc[0] if loc else None, "field": ".".join(loc[1:]) or None}
        details = [
            {"field": ".".join(str(p) for p in e.get("loc", ())[1:]), "message": e.get("msg")}
            for e in errors[:20]
        ]
        body = error_body("invalid_request", str(first.get("msg", "Invalid request.")), where)
        body["error"]["details"] = details
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        type_ = _STATUS_TYPES.get(exc.status_code, "http_error")
        return _json(exc.status_code, type_, str(exc.detail), headers=exc.headers)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _json(500, "internal_error", "Unexpected error; it has been logged.")
