"""HTTP responses that carry audio: stored files, live renders followed as they grow, sidecars."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, BinaryIO, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from audio_service.errors import EngineError, NotFoundError
from audio_service.http.errors import error_response
from audio_service.http.files import send_file
from audio_service.http.models import ErrorBody
from audio_service.service.core import Service
from audio_service.service.lifecycle import AudioNow, Start
from audio_service.service.render_queue import LiveRender
from audio_service.store.index import ArticleRow
from audio_service.store.local import is_digest
from audio_service.timings import Timings

T = TypeVar("T")

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


@asynccontextmanager
async def _entered_in_thread(manager: AbstractContextManager[T]) -> AsyncIterator[T]:
    """`manager` entered on a worker thread; its exit (cheap here) runs on the loop."""
    entering = asyncio.ensure_future(asyncio.to_thread(manager.__enter__))
    try:
        value = await asyncio.shield(entering)
    except asyncio.CancelledError:
        # The thread enters anyway; leave once it has, so nothing stays marked as in use.
        def leave(done: asyncio.Future[T]) -> None:
            if not done.cancelled() and done.exception() is None:
                manager.__exit__(None, None, None)

        entering.add_done_callback(leave)
        raise
    try:
        yield value
    except BaseException as exc:
        if not manager.__exit__(type(exc), exc, exc.__traceback__):
            raise
    else:
        manager.__exit__(None, None, None)


async def serve_digest(
    svc: Service, digest: str, cache_control: str, scope: Scope, receive: Receive, send: Send
) -> None:
    # sending() records the use in the index (an SQLite write): not on the event loop.
    async with _entered_in_thread(svc.sending(digest)) as path:
        try:
            sent = await send_file(
                scope, receive, send, path=path, etag=digest, cache_control=cache_control
            )
        except FileNotFoundError:
            response = error_response(404, "not_found", "no audio with that digest")
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
    return error_response(409, "render_failed", message or "render failed")


def _wants_stream(request: Request) -> bool:
    """Only a read from the start can be served from a render still running."""
    header = request.headers.get("range")
    return header is None or header.replace(" ", "").lower() == "bytes=0-"


async def _wait(job: LiveRender) -> None:
    await asyncio.wait_for(asyncio.to_thread(job.done.wait), RANGE_WAIT_S)


async def _live_response(
    svc: Service, job: LiveRender, request: Request, cache_control: str
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


async def article(svc: Service, article_id: str, request: Request) -> Response:
    """The article's current audio: the stored file, else its render as it runs."""
    now = await asyncio.to_thread(_resolve, svc, article_id)
    if now.digest is not None:
        svc.metrics.cache.labels("hit").inc()
        return _FileResponse(svc, now.digest, SHORT)
    if now.failed:
        return _failed(now.error)
    job = now.live
    if job is None:
        raise NotFoundError(f"article {article_id!r} has no audio")
    if _wants_stream(request):
        return await _live_response(svc, job, request, SHORT)
    await _wait(job)
    if job.digest is None:
        return _failed(job.error)
    return _FileResponse(svc, job.digest, SHORT)


def _resolve(svc: Service, article_id: str) -> AudioNow:
    return svc.articles.resolve_audio(svc.articles.get(article_id), Start.IF_SILENT)


async def immutable(svc: Service, digest: str) -> Response:
    """Content-addressed audio through the framework (the lean dispatcher usually answers)."""
    if not is_digest(digest) or not svc.store.exists(digest):
        raise NotFoundError("no audio with that digest")
    return _FileResponse(svc, digest, IMMUTABLE)


async def sidecar(svc: Service, row: ArticleRow, vtt: bool) -> Response:
    """The timings of the article's current audio, as JSON or as WebVTT captions."""
    if not row.digest or not svc.store.exists(row.digest):
        return error_response(
            404, "not_ready", "the audio is still rendering", headers={"Retry-After": "1"}
        )
    raw = await asyncio.to_thread(svc.store.timings_path(row.digest).read_text, "utf-8")
    headers = {"Cache-Control": SHORT, "ETag": f'"{row.digest}-{"vtt" if vtt else "json"}"'}
    if vtt:
        text = Timings.from_dict(json.loads(raw)).to_vtt()
        return Response(text, media_type="text/vtt; charset=utf-8", headers=headers)
    return Response(raw, media_type="application/json", headers=headers)


async def speech(svc: Service, digest: str | None, job: LiveRender | None) -> Response:
    """Ad-hoc speech: the stored MP3 whole, else the render as it runs."""
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
