"""The article endpoints: put, read and remove an article; its audio, timings, captions, player."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response

from audio_service import ids
from audio_service.article import parse_article
from audio_service.errors import InputError
from audio_service.http import streams
from audio_service.http.deps import (
    WRITE,
    PlayerPageDep,
    ServiceDep,
    SettingsDep,
    UrlsDep,
    read_body,
)
from audio_service.http.models import ArticleIn, ArticleStatus, ArticleUrls, ErrorBody, json_error
from audio_service.http.streams import ERRORS
from audio_service.http.urls import Urls
from audio_service.store.index import ArticleRow

router = APIRouter(prefix="/v1/articles")

ArticleId = Annotated[str, Path(pattern=ids.anchored(ids.ARTICLE_ID), description=ids.ARTICLE_ID)]
_BODY_TYPES = {"application/json": "json", "text/plain": "text", "text/html": "html"}


class VttResponse(PlainTextResponse):
    media_type = "text/vtt"


def article_status(row: ArticleRow, urls: Urls) -> ArticleStatus:
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
            audio=urls.article_audio(row.id),
            audio_immutable=urls.immutable_audio(row.digest) if row.digest else None,
            timings=urls.article_timings(row.id),
            captions=urls.article_captions(row.id),
            player=urls.article_player(row.id),
        ),
    )


@router.put(
    "/{article_id}",
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
    article_id: ArticleId,
    request: Request,
    svc: ServiceDep,
    settings: SettingsDep,
    urls: UrlsDep,
) -> ArticleStatus:
    media = request.headers.get("content-type", "application/json").split(";")[0].strip()
    fmt = _BODY_TYPES.get(media.lower())
    if fmt is None:
        raise InputError(f"unsupported Content-Type {media!r}; use one of {', '.join(_BODY_TYPES)}")
    data = await read_body(request, settings.max_request_bytes)
    article = await asyncio.to_thread(
        parse_article, data, fmt, max_chars=settings.max_article_chars
    )
    row = await asyncio.to_thread(svc.articles.put, article_id, article)
    return article_status(row, urls)


@router.get(
    "/{article_id}",
    response_model=ArticleStatus,
    summary="Status of an article and the URLs of its audio",
    responses={404: {"model": ErrorBody, "description": "Unknown article"}},
)
async def get_article(article_id: ArticleId, svc: ServiceDep, urls: UrlsDep) -> ArticleStatus:
    return article_status(await asyncio.to_thread(svc.articles.get, article_id), urls)


@router.delete(
    "/{article_id}",
    status_code=204,
    dependencies=[WRITE],
    summary="Remove an article and its audio",
    responses={
        404: {"model": ErrorBody, "description": "Unknown article"},
        401: {"model": ErrorBody, "description": "API key required"},
    },
)
async def delete_article(article_id: ArticleId, svc: ServiceDep) -> Response:
    await asyncio.to_thread(svc.articles.delete, article_id)
    return Response(status_code=204)


# GET and HEAD as two routes of one function: each gets an operation id of its own.
@router.get(
    "/{article_id}/audio.mp3",
    summary="The article's current audio (streams while rendering)",
    response_class=Response,
    responses=ERRORS["article_audio"],
)
@router.head(
    "/{article_id}/audio.mp3",
    summary="The article's current audio (streams while rendering) (headers only)",
    response_class=Response,
    responses=ERRORS["article_audio"],
)
async def article_audio(article_id: ArticleId, request: Request, svc: ServiceDep) -> Response:
    return await streams.article(svc, article_id, request)


@router.get(
    "/{article_id}/timings.json",
    summary="Segment timings of the audio",
    responses=ERRORS["sidecar"],
)
async def timings(article_id: ArticleId, svc: ServiceDep) -> Response:
    return await streams.sidecar(
        svc, await asyncio.to_thread(svc.articles.get, article_id), vtt=False
    )


@router.get(
    "/{article_id}/captions.vtt",
    summary="WebVTT captions of the audio",
    response_class=VttResponse,
    responses={
        404: json_error(ERRORS["sidecar"][404]["description"]),
        422: json_error("Invalid article id"),
    },
)
async def captions(article_id: ArticleId, svc: ServiceDep) -> Response:
    return await streams.sidecar(
        svc, await asyncio.to_thread(svc.articles.get, article_id), vtt=True
    )


@router.get(
    "/{article_id}/player",
    response_class=HTMLResponse,
    summary="A small accessible player page for the article",
    responses={
        404: json_error("Unknown article"),
        422: json_error("Invalid article id"),
    },
)
async def player(article_id: ArticleId, svc: ServiceDep, page: PlayerPageDep) -> HTMLResponse:
    await asyncio.to_thread(svc.articles.get, article_id)
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})
