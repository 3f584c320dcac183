"""What every route may depend on: settings, the running Service, URLs, the API key for writes."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request

from audio_service.config import Settings
from audio_service.errors import ArticleTooLargeError, OverloadedError, UnauthorizedError
from audio_service.http.urls import Urls
from audio_service.service.core import Service


def _service(request: Request) -> Service:
    service: Service | None = getattr(request.app.state, "service", None)
    if service is None:
        raise OverloadedError("service is starting")
    return service


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _urls(request: Request) -> Urls:
    urls: Urls = request.app.state.urls
    return urls


def _player_page(request: Request) -> str:
    page: str = request.app.state.player_page
    return page


ServiceDep = Annotated[Service, Depends(_service)]
SettingsDep = Annotated[Settings, Depends(_settings)]
UrlsDep = Annotated[Urls, Depends(_urls)]
PlayerPageDep = Annotated[str, Depends(_player_page)]


def optional_service(request: Request) -> Service | None:
    """The Service once it has started, else None (for readiness, which must not raise)."""
    service: Service | None = getattr(request.app.state, "service", None)
    return service


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


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise ArticleTooLargeError(f"request body over the limit of {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ArticleTooLargeError(f"request body over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)
