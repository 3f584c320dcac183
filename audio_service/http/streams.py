"""HTTP responses that carry audio: stored files, live renders followed as they grow, sidecars."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from typing import Any, TypeVar

from fastapi import Request
from fastapi.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from audio_service.errors import NotFoundError
from audio_service.http.errors import error_response
from audio_service.http.files import send_file
from audio_service.http.live import Finished, serve_live
from audio_service.http.models import ErrorBody
from audio_service.http.offload import accel_redirect
from audio_service.service.core import Service
from audio_service.service.lifecycle import AudioNow, Start
from audio_service.service.render_queue import LiveRender
from audio_service.store.index import ArticleRow
from audio_service.store.local import is_digest
from audio_service.timings import Timings

T = TypeVar("T")

IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=30, must-revalidate"


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
        206: {
            "description": "A byte range. While the first render runs, a range already written "
            "is answered at once with Content-Range: bytes A-B/* (length not known yet)",
            "content": {"audio/mpeg": {}},
        },
        416: {"description": "Range not satisfiable; Content-Range: bytes */LENGTH"},
        504: _err("Waited 300 s on a render that is still running; see Retry-After"),
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


def _failed(message: str | None) -> JSONResponse:
    return error_response(409, "render_failed", message or "render failed")


class _LiveResponse(Response):
    """A render still running, answered from its growing file (see audio_service.http.live)."""

    def __init__(self, job: LiveRender, finished: Finished) -> None:
        super().__init__()
        self.job, self.finished = job, finished

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await serve_live(self.job, self.finished, scope, receive, send)


def _stored_after(svc: Service, job: LiveRender, cache_control: str) -> Finished:
    """How a request waiting on `job` is answered once it has ended: the stored file, or 409."""

    async def finished(scope: Scope, receive: Receive, send: Send) -> None:
        if job.digest is None:
            await _failed(job.error)(scope, receive, send)
        else:
            await serve_digest(svc, job.digest, cache_control, scope, receive, send)

    return finished


async def article(svc: Service, article_id: str, request: Request) -> Response:
    """The article's current audio: the stored file, else its render as it runs."""
    now = await asyncio.to_thread(_resolve, svc, article_id)
    if now.digest is not None:
        svc.metrics.cache.labels("hit").inc()
        # Beside nginx (AUDIO_SERVICE_ACCEL_REDIRECT), nginx sends the stored file itself.
        if (handed := await accel_redirect(svc, now.digest, request, SHORT)) is not None:
            return handed
        return _FileResponse(svc, now.digest, SHORT)
    if now.failed:
        return _failed(now.error)
    job = now.live
    if job is None:
        raise NotFoundError(f"article {article_id!r} has no audio")
    return _LiveResponse(job, _stored_after(svc, job, SHORT))


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

    async def finished(scope: Scope, receive: Receive, send: Send) -> None:
        if job.digest is None:
            response: Response = _failed(job.error)
        else:
            data = await asyncio.to_thread(svc.store.path(job.digest).read_bytes)
            response = Response(data, media_type="audio/mpeg")
        await response(scope, receive, send)

    return _LiveResponse(job, finished)
