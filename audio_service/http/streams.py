"""HTTP responses that carry audio: stored files, live renders followed as they grow, sidecars."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, BinaryIO

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audio_service.config import Settings
from audio_service.errors import EngineError, NotFoundError
from audio_service.http.files import audio_asgi_app, send_file
from audio_service.http.models import ErrorBody
from audio_service.service.core import Service
from audio_service.service.render_queue import LiveRender
from audio_service.store.index import ArticleRow
from audio_service.store.local import is_digest
from audio_service.timings import Timings

log = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30, must-revalidate"
POLL_S = 0.01  # how often a follower looks for new bytes of a live render
RANGE_WAIT_S = 300.0  # a seek into a render still running waits for it at most this long


def _err(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


_AUDIO_OK = {
    "description": "MP3 (206 for ranges, 304 when not modified)",
    "content": {"audio/mpeg": {}},
}
ERRORS: dict[str, dict[int | str, dict[str, Any]]] = {
    "article_audio": {
        200: _AUDIO_OK,
        404: _err("Unknown article"),
        409: _err("The article's render failed and it has no earlier audio"),
        416: {"description": "Range not satisfiable; Content-Range: bytes */LENGTH"},
    },
    "immutable": {
        200: _AUDIO_OK,
        404: _err("No audio with that digest"),
        416: {"description": "Range not satisfiable"},
    },
    "sidecar": {404: _err("Unknown article, or its audio is not ready yet (Retry-After)")},
    "speech": {
        200: {"description": "MP3", "content": {"audio/mpeg": {}}},
        401: _err("API key required"),
        503: _err("Render queue full; see Retry-After"),
        502: _err("The speech engine failed"),
    },
}


class _FileResponse(Response):
    """Hands the request to the lean byte server (Range, conditionals, HEAD)."""

    def __init__(self, svc: Service, digest: str, cache_control: str) -> None:
        super().__init__()
        self.svc, self.digest, self.cache_control = svc, digest, cache_control

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve_digest(self.svc, self.digest, self.cache_control, scope, receive, send)


async def serve_digest(
    svc: Service, digest: str, cache_control: str, scope: Scope, receive: Receive, send: Send
) -> None:
    with svc.sending(digest) as path:
        try:
            sent = await send_file(
                scope, receive, send, path=path, etag=digest, cache_control=cache_control
            )
        except FileNotFoundError:
            response = JSONResponse(
                {"error": {"code": "not_found", "message": "no audio with that digest"}}, 404
            )
            await response(scope, receive, send)
            return
    svc.metrics.bytes_served.inc(sent)


async def open_live(job: LiveRender) -> BinaryIO | None:
    """Open a running render's growing file; None when it has already finished (or failed)."""
    while not job.started.is_set() and not job.done.is_set():
        await asyncio.sleep(POLL_S)
    if job.path is None:
        return None
    try:
        return await asyncio.to_thread(job.path.open, "rb")
    except FileNotFoundError:  # committed (renamed) or abandoned meanwhile
        return None


async def follow(job: LiveRender, handle: BinaryIO) -> AsyncIterator[bytes]:
    """The bytes of a render as they are written, to the end. A failed render aborts."""
    with handle:
        while True:
            chunk = handle.read(65536)
            if chunk:
                yield chunk
                continue
            if job.done.is_set():
                rest = handle.read()
                if rest:
                    yield rest
                    continue
                break
            await asyncio.sleep(POLL_S)
    if job.error is not None:
        # Ending normally would tell the player the file is complete; it is not.
        raise EngineError(job.error)


def _failed(message: str | None) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": "render_failed", "message": message or "render failed"}}, 409
    )


def _wants_stream(request: Request) -> bool:
    """Only a read from the start can be served from a render still running."""
    header = request.headers.get("range")
    return header is None or header.replace(" ", "").lower() == "bytes=0-"


async def _wait(job: LiveRender) -> None:
    await asyncio.wait_for(asyncio.to_thread(job.done.wait), RANGE_WAIT_S)


class AudioResponses:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._svc: Service | None = None

    def bind(self, svc: Service) -> None:
        self._svc = svc

    async def _live_response(
        self, svc: Service, job: LiveRender, request: Request, cache_control: str
    ) -> Response:
        handle = await open_live(job)
        if handle is None:  # finished before we could follow it: serve the result
            await _wait(job)
            if job.digest is None:
                return _failed(job.error)
            return _FileResponse(svc, job.digest, cache_control)
        headers = {"Cache-Control": "no-store", "Accept-Ranges": "bytes"}
        if request.method == "HEAD":
            handle.close()
            return Response(media_type="audio/mpeg", headers=headers)
        return StreamingResponse(follow(job, handle), media_type="audio/mpeg", headers=headers)

    async def article(self, svc: Service, row: ArticleRow, request: Request) -> Response:
        if row.digest and svc.store.exists(row.digest):
            svc.metrics.cache.labels("hit").inc()
            return _FileResponse(svc, row.digest, SHORT)
        if row.status == "failed":
            return _failed(row.error)
        job = await asyncio.to_thread(svc.ensure_render, row)
        if job is None:
            row = svc.get(row.id)
            if row.digest and svc.store.exists(row.digest):  # finished meanwhile
                return _FileResponse(svc, row.digest, SHORT)
            if row.status == "failed":
                return _failed(row.error)
            # Ready, but the file has gone (removed by hand): render it again.
            row = await asyncio.to_thread(svc.requeue, row)
            job = await asyncio.to_thread(svc.ensure_render, row)
        if job is None:
            raise NotFoundError(f"article {row.id!r} has no audio")
        if _wants_stream(request):
            return await self._live_response(svc, job, request, SHORT)
        await _wait(job)
        if job.digest is None:
            return _failed(job.error)
        return _FileResponse(svc, job.digest, SHORT)

    async def immutable(self, svc: Service, digest: str, request: Request) -> Response:
        if not is_digest(digest) or not svc.store.exists(digest):
            raise NotFoundError("no audio with that digest")
        return _FileResponse(svc, digest, IMMUTABLE)

    async def sidecar(self, svc: Service, row: ArticleRow, vtt: bool) -> Response:
        if not row.digest or not svc.store.exists(row.digest):
            return JSONResponse(
                {"error": {"code": "not_ready", "message": "the audio is still rendering"}},
                404,
                headers={"Retry-After": "1"},
            )
        raw = await asyncio.to_thread(svc.store.timings_path(row.digest).read_text, "utf-8")
        headers = {"Cache-Control": SHORT, "ETag": f'"{row.digest}-{"vtt" if vtt else "json"}"'}
        if vtt:
            text = Timings.from_dict(json.loads(raw)).to_vtt()
            return Response(text, media_type="text/vtt; charset=utf-8", headers=headers)
        return Response(raw, media_type="application/json", headers=headers)

    async def speech(
        self, svc: Service, digest: str | None, job: LiveRender | None, request: Request
    ) -> Response:
        if digest is not None:
            data = await asyncio.to_thread(svc.store.path(digest).read_bytes)
            svc.metrics.bytes_served.inc(len(data))
            return Response(data, media_type="audio/mpeg")
        if job is None:  # speech() returns a digest or a job
            raise NotFoundError("no audio")
        handle = await open_live(job)
        if handle is None:
            await _wait(job)
            if job.digest is None:
                return _failed(job.error)
            data = await asyncio.to_thread(svc.store.path(job.digest).read_bytes)
            return Response(data, media_type="audio/mpeg")
        return StreamingResponse(follow(job, handle), media_type="audio/mpeg")

    def dispatcher(self, app: ASGIApp) -> ASGIApp:
        """Content-addressed audio skips the framework: it is the hot path of every player.

        The lean app keeps hot files open, and a response reads from its own descriptor, so
        eviction or replacement of a file mid-send never cuts a body short.
        """

        def resolve(digest: str) -> tuple[str, str] | None:
            svc = self._svc
            if svc is None:
                return None
            return f"{svc.store.audio_dir}/{digest[:2]}/{digest}.mp3", digest

        def count(method: str, status: int, sent: int) -> None:
            if self._svc is not None:
                self._svc.metrics.bytes_served.inc(sent)
                self._svc.metrics.requests.labels(
                    "/v1/audio/{digest}.mp3", method, str(status)
                ).inc()

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
                if self._svc is not None:
                    route = getattr(scope.get("route"), "path", "unmatched")
                    self._svc.metrics.requests.labels(route, scope["method"], str(status)).inc()

        return dispatch
