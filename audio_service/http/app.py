"""create_app(settings) -> the ASGI app: FastAPI for the API, a lean path for stored audio."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Annotated

from fastapi import FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Scope

from audio_service.article import parse_article
from audio_service.config import Settings
from audio_service.errors import (
    ArticleTooLargeError,
    AudioServiceError,
    EngineError,
    InputError,
    NotFoundError,
    OverloadedError,
    UnauthorizedError,
    UnknownVoiceError,
)
from audio_service.http.deps import WRITE, ServiceDep, read_body
from audio_service.http.models import (
    ArticleIn,
    ArticleStatus,
    ArticleUrls,
    ErrorBody,
    SpeechIn,
    VoiceOut,
    json_error,
)
from audio_service.http.routes.batches import router as batches_router
from audio_service.http.routes.lexicon import router as lexicon_router
from audio_service.http.routes.podcasts import router as podcast_router
from audio_service.http.streams import ERRORS, AudioResponses
from audio_service.service.core import Service
from audio_service.store.index import ArticleRow

log = logging.getLogger(__name__)

ArticleId = Annotated[
    str,
    Path(pattern=r"^[A-Za-z0-9._-]{1,128}$", description="[A-Za-z0-9._-]{1,128}"),
]
OPENAI_VOICES = {
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
}


_BODY_TYPES = {"application/json": "json", "text/plain": "text", "text/html": "html"}


def error(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


def _status_code(exc: AudioServiceError) -> int:
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


class VttResponse(PlainTextResponse):
    media_type = "text/vtt"


def _allowed_methods(app: FastAPI, scope: Scope) -> list[str]:
    """Every method some route serves at this path (for the Allow header of a 405)."""
    methods: set[str] = set()
    for route in app.router.routes:
        match, _ = route.matches(scope)
        if match is not Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def article_status(row: ArticleRow, base: str) -> ArticleStatus:
    root = f"{base}/v1/articles/{row.id}"
    return ArticleStatus(
        id=row.id,
        status=row.status,
        version=row.version,
        ready_version=row.ready_version,
        voice=row.voice,
        duration_ms=row.duration_ms,
        error=row.error,
        digest=row.digest,
        urls=ArticleUrls(
            audio=f"{root}/audio.mp3",
            audio_immutable=f"{base}/v1/audio/{row.digest}.mp3" if row.digest else None,
            timings=f"{root}/timings.json",
            captions=f"{root}/captions.vtt",
            player=f"{root}/player",
        ),
    )


def create_app(settings: Settings | None = None) -> ASGIApp:
    """Build the service: FastAPI app plus the lean dispatcher for content-addressed audio."""
    settings = settings or Settings()
    state: dict[str, Service] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        service = await asyncio.to_thread(Service, settings)
        await asyncio.to_thread(service.warm_up)
        if settings.examples:
            await asyncio.to_thread(service.add_examples)
        resumed = await asyncio.to_thread(service.resume)
        if resumed:
            log.info("resumed %d unfinished renders", resumed)
        if settings.embedded_worker:
            service.start_jobs()
        state["service"] = service
        app.state.service = service
        audio.bind(service)
        try:
            yield
        finally:
            await asyncio.to_thread(service.close)

    app = FastAPI(
        title="audio-service",
        summary="Listen to this article: news articles as cached, seekable MP3 speech.",
        version="0.1.0",
        lifespan=lifespan,
        responses={
            400: {"model": ErrorBody, "description": "Malformed request body (not JSON)"},
            422: {"model": ErrorBody, "description": "Invalid input"},
        },
    )
    audio = AudioResponses(settings)
    player_page = resources.files("audio_service").joinpath("player/player.html").read_text("utf-8")

    @app.exception_handler(AudioServiceError)
    async def on_service_error(request: Request, exc: AudioServiceError) -> JSONResponse:
        status = _status_code(exc)
        if status >= 500:
            log.error("request failed: %s", exc)
        headers = {"Retry-After": "2"} if status == 503 else None
        if status == 401:
            headers = {"WWW-Authenticate": "Bearer"}
        return error(status, exc.code, str(exc), headers)

    @app.exception_handler(RequestValidationError)
    async def on_invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'] if p != 'body') or 'request'}: {e['msg']}"
            for e in exc.errors()
        )
        return error(422, "invalid_request", problems)

    @app.exception_handler(StarletteHTTPException)
    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {400: "malformed_request", 404: "not_found", 405: "method_not_allowed"}
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # Each method is a route of its own, so Starlette names only one: list them all.
            headers["Allow"] = ", ".join(_allowed_methods(app, request.scope))
        return error(
            exc.status_code, codes.get(exc.status_code, "http_error"), str(exc.detail), headers
        )

    @app.exception_handler(Exception)
    async def on_crash(request: Request, exc: Exception) -> JSONResponse:
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal_error", "internal error; it has been logged")

    @app.put(
        "/v1/articles/{article_id}",
        response_model=ArticleStatus,
        dependencies=[WRITE],
        summary="Create or update an article",
        description=(
            "Body: the article as JSON (see ArticleIn), or text/plain (first line is the "
            "title) or text/html. Same content and voice again re-renders nothing; changed "
            "content renders a new version while the previous audio keeps being served."
        ),
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ArticleIn.model_json_schema()},
                    "text/plain": {"schema": {"type": "string"}},
                    "text/html": {"schema": {"type": "string"}},
                },
            }
        },
        responses={
            401: {"model": ErrorBody, "description": "API key required"},
            413: {"model": ErrorBody, "description": "Article larger than the limit"},
            503: {"model": ErrorBody, "description": "Render queue full; see Retry-After"},
        },
    )
    async def put_article(
        article_id: ArticleId, request: Request, svc: ServiceDep
    ) -> ArticleStatus:
        media = request.headers.get("content-type", "application/json").split(";")[0].strip()
        fmt = _BODY_TYPES.get(media.lower())
        if fmt is None:
            raise InputError(
                f"unsupported Content-Type {media!r}; use one of {', '.join(_BODY_TYPES)}"
            )
        data = await read_body(request, settings.max_request_bytes)
        article = await asyncio.to_thread(
            parse_article, data, fmt, max_chars=settings.max_article_chars
        )
        row = await asyncio.to_thread(svc.put_article, article_id, article)
        return article_status(row, "")

    @app.get(
        "/v1/articles/{article_id}",
        response_model=ArticleStatus,
        summary="Status of an article and the URLs of its audio",
        responses={404: {"model": ErrorBody, "description": "Unknown article"}},
    )
    async def get_article(article_id: ArticleId, svc: ServiceDep) -> ArticleStatus:
        return article_status(svc.get(article_id), "")

    @app.delete(
        "/v1/articles/{article_id}",
        status_code=204,
        dependencies=[WRITE],
        summary="Remove an article and its audio",
        responses={
            404: {"model": ErrorBody, "description": "Unknown article"},
            401: {"model": ErrorBody, "description": "API key required"},
        },
    )
    async def delete_article(article_id: ArticleId, svc: ServiceDep) -> Response:
        await asyncio.to_thread(svc.delete, article_id)
        return Response(status_code=204)

    @app.api_route(
        "/v1/articles/{article_id}/audio.mp3",
        methods=["GET", "HEAD"],
        summary="The article's current audio (streams while rendering)",
        response_class=Response,
        responses=ERRORS["article_audio"],
    )
    async def article_audio(article_id: ArticleId, request: Request, svc: ServiceDep) -> Response:
        return await audio.article(svc, svc.get(article_id), request)

    @app.get(
        "/v1/articles/{article_id}/timings.json",
        summary="Segment timings of the audio",
        responses=ERRORS["sidecar"],
    )
    async def timings(article_id: ArticleId, svc: ServiceDep) -> Response:
        return await audio.sidecar(svc, svc.get(article_id), vtt=False)

    @app.get(
        "/v1/articles/{article_id}/captions.vtt",
        summary="WebVTT captions of the audio",
        response_class=VttResponse,
        responses={
            404: json_error(ERRORS["sidecar"][404]["description"]),
            422: json_error("Invalid article id"),
        },
    )
    async def captions(article_id: ArticleId, svc: ServiceDep) -> Response:
        return await audio.sidecar(svc, svc.get(article_id), vtt=True)

    @app.get(
        "/v1/articles/{article_id}/player",
        response_class=HTMLResponse,
        summary="A small accessible player page for the article",
        responses={
            404: json_error("Unknown article"),
            422: json_error("Invalid article id"),
        },
    )
    async def player(article_id: ArticleId, svc: ServiceDep) -> HTMLResponse:
        svc.get(article_id)
        return HTMLResponse(player_page, headers={"Cache-Control": "public, max-age=300"})

    @app.api_route(
        "/v1/audio/{digest}.mp3",
        methods=["GET", "HEAD"],
        summary="Content-addressed, immutable audio",
        response_class=Response,
        responses=ERRORS["immutable"],
    )
    async def immutable_audio(digest: str, request: Request, svc: ServiceDep) -> Response:
        return await audio.immutable(svc, digest, request)

    @app.get("/v1/voices", response_model=list[VoiceOut], summary="The voices")
    async def voices(svc: ServiceDep) -> list[VoiceOut]:
        return [
            VoiceOut(
                id=v.id,
                name=v.name,
                engine=v.engine,
                locale=v.locale,
                rate_wpm=v.rate_wpm,
                description=v.description,
                default=v.id == svc.default_voice.id,
            )
            for v in svc.voices.values()
        ]

    @app.post(
        "/v1/audio/speech",
        response_class=Response,
        dependencies=[WRITE],
        summary="Text to speech with the request shape of OpenAI's speech endpoint",
        responses=ERRORS["speech"],
    )
    async def speech(body: SpeechIn, request: Request, svc: ServiceDep) -> Response:
        voice = svc.default_voice.id if body.voice in OPENAI_VOICES else body.voice
        if voice not in svc.voices:
            raise UnknownVoiceError(body.voice, [*svc.voices, *sorted(OPENAI_VOICES)])
        _, digest, live = await asyncio.to_thread(svc.speech, body.input, voice, body.speed)
        return await audio.speech(svc, digest, live, request)

    @app.get(
        "/healthz",
        summary="Liveness and readiness",
        responses={503: {"model": ErrorBody, "description": "Not ready"}},
    )
    async def healthz() -> JSONResponse:
        svc = state.get("service")
        if svc is None:
            return error(503, "starting", "service is starting")
        return JSONResponse(
            {"status": "ok", "queue_depth": svc.queue.depth, "voices": len(svc.voices)}
        )

    @app.get(
        "/metrics",
        response_class=PlainTextResponse,
        summary="Prometheus metrics (requests, renders, cache, queue, bytes served)",
    )
    async def metrics(svc: ServiceDep) -> Response:
        svc.metrics.queue_depth.set(svc.queue.depth)
        return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.include_router(lexicon_router)
    app.include_router(podcast_router)
    app.include_router(batches_router)

    return audio.dispatcher(app)
