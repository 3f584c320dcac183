"""The lean dispatcher: content-addressed audio skips the framework, everything else is counted."""

from __future__ import annotations

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audio_service.http.files import audio_asgi_app
from audio_service.http.streams import IMMUTABLE
from audio_service.service.core import Service

_AUDIO_ROUTE = "/v1/audio/{digest}.mp3"


def lean_dispatcher(app: FastAPI) -> ASGIApp:
    """`app` behind a fast path for ``/v1/audio/{digest}.mp3``, the hot path of every player.

    The lean app keeps hot files open, and a response reads from its own descriptor, so
    eviction or replacement of a file mid-send never cuts a body short.
    """

    def service() -> Service | None:
        svc: Service | None = getattr(app.state, "service", None)
        return svc

    def resolve(digest: str) -> tuple[str, str] | None:
        svc = service()
        if svc is None:
            return None
        return f"{svc.store.audio_dir}/{digest[:2]}/{digest}.mp3", digest

    def count(method: str, status: int, sent: int) -> None:
        if (svc := service()) is not None:
            svc.metrics.bytes_served.inc(sent)
            svc.metrics.requests.labels(_AUDIO_ROUTE, method, str(status)).inc()

    fast = audio_asgi_app(resolve, IMMUTABLE, on_response=count)

    async def dispatch(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        if (
            scope["method"] in ("GET", "HEAD")
            and scope["path"].startswith("/v1/audio/")
            and scope["path"].endswith(".mp3")
        ):
            await fast(scope, receive, send)
            return
        status = 500

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Plain ASGI, not BaseHTTPMiddleware: an error inside a streamed body must reach
        # the server, which then cuts the connection instead of ending the body cleanly.
        try:
            await app(scope, receive, send_and_note)
        finally:
            if (svc := service()) is not None:
                route = getattr(scope.get("route"), "path", "unmatched")
                svc.metrics.requests.labels(route, scope["method"], str(status)).inc()

    return dispatch
