"""The article endpoints: put, read and remove an article; its audio, timings, captions, player."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, Field

from audio_service import ids
from audio_service.article import article_from_json, parse_article
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
from audio_service.http.models import (
    LIST_LIMIT,
    LIST_LIMIT_MAX,
    ArticleIn,
    ArticleList,
    ArticleListItem,
    ArticleStatus,
    ArticleUrls,
    ErrorBody,
    StatusFilter,
    decode_cursor,
    encode_cursor,
    json_error,
)
from audio_service.http.streams import ERRORS
from audio_service.http.urls import Urls
from audio_service.service.core import Service
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
    "",
    response_model=ArticleList,
    summary="List articles, a page at a time",
    description=(
        "Articles in id order, each as GET /v1/articles/{id} answers plus its title and "
        "last update. Pass `next_cursor` back as `cursor` for the next page; it is null on "
        "the last page. Id order keeps a walk stable while articles come and change: each "
        "article that exists throughout is listed exactly once (ordering by update time "
        "would move an article whenever its render starts or ends)."
    ),
    responses={
        422: {"model": ErrorBody, "description": "Unknown status, limit out of range or bad cursor"}
    },
)
async def list_articles(
    svc: ServiceDep,
    urls: UrlsDep,
    status: Annotated[StatusFilter | None, Query(description="Only articles in this state")] = None,
    q: Annotated[
        str | None, Query(max_length=200, description="Case-insensitive part of id or title")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=LIST_LIMIT_MAX, description="Page size")] = LIST_LIMIT,
    cursor: Annotated[
        str | None, Query(max_length=400, description="next_cursor of the previous page")
    ] = None,
) -> ArticleList:
    after = decode_cursor(cursor) if cursor else None
    rows = await asyncio.to_thread(svc.articles.listing, status, q or None, after, limit + 1)
    page = rows[:limit]
    items = [ArticleListItem.of(article_status(r, urls), r.title, r.updated) for r in page]
    more = len(rows) > limit
    return ArticleList(items=items, next_cursor=encode_cursor(page[-1].id) if more else None)


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
    summary="A player page for the article: the transcript page, or a bar for a small iframe",
    description=(
        "`mode=full` (default): the transcript page, the sentence being read highlighted. "
        "`mode=bar`: only the player bar, for an iframe 60-80 px high beside the headline "
        "(theme it with `accent`, `bg`, `fg`, `font` query parameters). Both play the "
        "immutable URL of the version they loaded."
    ),
    responses={
        404: json_error("Unknown article"),
        422: json_error("Invalid article id or mode"),
    },
)
async def player(
    article_id: ArticleId,
    request: Request,
    svc: ServiceDep,
    page: PlayerPageDep,
    mode: Annotated[Literal["full", "bar"], Query(description="full or bar")] = "full",
) -> HTMLResponse:
    await asyncio.to_thread(svc.articles.get, article_id)
    if mode == "bar":
        bar: str = request.app.state.player_bar_page
        page = bar.replace("__ARTICLE_ID__", html.escape(article_id))
    return HTMLResponse(page, headers={"Cache-Control": "public, max-age=300"})


class PlayerVoice(BaseModel):
    id: str
    name: str = Field(description="Shown beside the 'AI voice' disclosure")
    description: str


class PlayerInfo(BaseModel):
    """What a player shows before the first press of Play, and which URL it plays."""

    title: str
    byline: str = Field(description="The names only; the lock screen shows it as the artist")
    publisher: str
    words: int
    estimated_duration_ms: int = Field(
        description="From the word count and the voice's pace; for the label while "
        "status.duration_ms is still null (first render running)"
    )
    voice: PlayerVoice
    status: ArticleStatus


_SENTENCE_END = re.compile(r"[.!?](?=\s|$)")


def _player_info(svc: Service, urls: Urls, publisher: str, article_id: str) -> PlayerInfo:
    row = svc.articles.get(article_id)
    article = article_from_json(row.article_json)
    voice = svc.voices.get(row.voice)
    texts = [article.title, article.subtitle, article.byline, *article.body]
    words = sum(len(text.split()) for text in texts)
    sentences = sum(len(_SENTENCE_END.findall(text)) for text in article.body)
    estimate_ms = 0
    if voice is not None:
        pauses = voice.pauses
        # The renderer's own pacing: speech at the voice's rate plus the silences it inserts.
        estimate_ms = (
            words * 60_000 // max(voice.rate_wpm, 1)
            + pauses.title_ms
            + (pauses.subtitle_ms if article.subtitle else 0)
            + (pauses.byline_ms if article.byline else 0)
            + pauses.paragraph_ms * len(article.body)
            + pauses.sentence_ms * sentences
        )
    return PlayerInfo(
        title=article.title,
        byline=article.byline,
        publisher=publisher,
        words=words,
        estimated_duration_ms=estimate_ms or words * 60_000 // 165,
        voice=PlayerVoice(
            id=row.voice,
            name=voice.name if voice is not None else row.voice,
            description=voice.description if voice is not None else "",
        ),
        status=article_status(row, urls),
    )


@router.get(
    "/{article_id}/player.json",
    response_model=PlayerInfo,
    summary="What the embeddable player needs: title, byline, voice, length, status",
    responses={404: {"model": ErrorBody, "description": "Unknown article"}},
)
async def player_info(
    article_id: ArticleId, svc: ServiceDep, settings: SettingsDep, urls: UrlsDep
) -> Response:
    info = await asyncio.to_thread(_player_info, svc, urls, settings.publisher, article_id)
    # The status inside changes when the first render ends: players poll this.
    return Response(
        info.model_dump_json(),
        media_type="application/json",
        headers={"Cache-Control": "no-cache"},
    )


# /v1/player.js sits outside /v1/articles, so it has a router of its own (app.py includes it).
script_router = APIRouter()


@script_router.get(
    "/v1/player.js",
    summary="The <listen-player article=... service=...> web component (a compact player bar)",
    response_class=Response,
    responses={200: {"content": {"text/javascript": {}}}},
)
async def player_script(request: Request) -> Response:
    script: str = request.app.state.player_script
    return Response(
        script,
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )
