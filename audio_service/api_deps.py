"""What every route may depend on: the running Service, and the API key for writes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from audio_service.errors import OverloadedError, UnauthorizedError
from audio_service.service import Service


def _service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise OverloadedError("service is starting")
    return service


ServiceDep = Annotated[Service, Depends(_service)]


def require_key(request: Request) -> None:
    """Writes need the key when one is configured (X-API-Key or Authorization: Bearer)."""
    key = _service(request).settings.api_key
    if not key:
        return
    given = request.headers.get("x-api-key") or request.headers.get(
        "authorization", ""
    ).removeprefix("Bearer ")
    if not hmac.compare_digest(given.encode(), key.encode()):
        raise UnauthorizedError("this endpoint needs the API key (X-API-Key header)")


WRITE = Depends(require_key)
