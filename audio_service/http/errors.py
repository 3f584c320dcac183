"""The one JSON error body of the API, the HTTP status of each error, the handlers sending it."""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from audio_service.errors import (
    ArticleTooLargeError,
    AudioServiceError,
    EngineError,
    InputError,
    NotFoundError,
    OverloadedError,
    UnauthorizedError,
)

log = logging.getLogger(__name__)

ErrorBody = dict[str, dict[str, str]]

#: Framework errors by status; anything else is "http_error".
_HTTP_CODES = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed"}


def error_body(code: str, message: str) -> ErrorBody:
    """``{"error": {"code", "message"}}``: every error the API sends has this shape."""
    return {"error": {"code": code, "message": message}}


def error_bytes(code: str, message: str) -> bytes:
    """error_body encoded exactly as JSONResponse encodes it, for the ASGI-level file server."""
    return json.dumps(error_body(code, message), ensure_ascii=False, separators=(",", ":")).encode()


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status, headers=headers)


def status_code(exc: AudioServiceError) -> int:
    """The HTTP status of a deliberate error (subclasses before the classes they refine)."""
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ArticleTooLargeError):
        return 413
    if isinstance(exc, OverloadedError):
        return 503
    if isinstance(exc, UnauthorizedError):
        return 401
    if isinstance(exc, InputError):
        return 422
    if isinstance(exc, EngineError):
        return 502  # the speech engine, our upstream, failed on this text
    return 500


#: The methods a 405's Allow header may list.
_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (for the Allow header of a 405).

    Each method is asked for through the public `matches`: included routers are routes of
    their own that do not list their methods."""
    return [
        method
        for method in _METHODS
        if any(
            route.matches({**scope, "method": method})[0] is Match.FULL
            for route in app.router.routes
        )
    ]


async def on_service_error(request: Request, exc: AudioServiceError) -> JSONResponse:
    status = status_code(exc)
    if status >= 500:
        log.error("request failed: %s", exc)
    headers = {"Retry-After": "2"} if status == 503 else None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    return error_response(status, exc.code, str(exc), headers)


async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'request'}: {e['msg']}"
        for e in exc.errors()
    )
    return error_response(422, "invalid_request", problems)


async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        # Each method is a route of its own, so Starlette names only one: list them all.
        headers["Allow"] = ", ".join(_allowed_methods(request.app, request.scope))
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    return error_response(exc.status_code, code, str(exc.detail), headers)


async def on_crash(request: Request, exc: Exception) -> JSONResponse:
    log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "internal error; it has been logged")


def install(app: FastAPI) -> None:
    """Every error leaves as the one JSON body; no stack trace reaches a client."""
    app.exception_handler(AudioServiceError)(on_service_error)
    app.exception_handler(RequestValidationError)(on_invalid)
    app.exception_handler(StarletteHTTPException)(on_http)
    app.exception_handler(Exception)(on_crash)
