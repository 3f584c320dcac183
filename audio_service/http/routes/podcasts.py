"""The podcast endpoints: build an episode, the RSS feed, episode sidecars."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from audio_service import ids
from audio_service.errors import NotFoundError
from audio_service.http.deps import WRITE, ServiceDep, UrlsDep
from audio_service.http.models import ErrorBody
from audio_service.http.urls import Urls
from audio_service.podcast.feeds import FeedDef, episode_dir, load_episodes, load_feeds
from audio_service.podcast.rss import feed_xml

router = APIRouter(prefix="/v1/podcasts", tags=["podcasts"])

FeedId = Annotated[str, Path(pattern=ids.anchored(ids.FEED_ID))]
_SIDECARS = {
    "chapters.json": "application/json+chapters",
    "transcript.vtt": "text/vtt; charset=utf-8",
    "transcript.srt": "application/x-subrip; charset=utf-8",
}
_404: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "Unknown feed or episode"}
}


class EpisodeIn(BaseModel):
    date: dt.date | None = Field(None, description="Episode date; today (UTC) when absent")
    force: bool = Field(False, description="Encode again even when nothing changed")


def _feed(svc: ServiceDep, feed_id: str) -> FeedDef:
    feeds = load_feeds(svc.settings.feeds_dir)
    if feed_id not in feeds:
        raise NotFoundError(f"no feed {feed_id!r}; feeds: {', '.join(sorted(feeds)) or 'none'}")
    return feeds[feed_id]


def _episode_json(data: dict[str, Any], urls: Urls) -> dict[str, Any]:
    return {**data, "audio_url": urls.immutable_audio(data["digest"])}


@router.post(
    "/{feed_id}/episodes",
    dependencies=[WRITE],
    summary="Build (or find) the episode of a date",
    description="Idempotent per feed and date: unchanged stories give the stored episode back "
    "without encoding; cached story audio is never synthesised again.",
    responses={**_404, 401: {"model": ErrorBody, "description": "API key required"}},
)
async def build_episode(
    feed_id: FeedId, svc: ServiceDep, urls: UrlsDep, body: EpisodeIn | None = None
) -> JSONResponse:
    feed = await asyncio.to_thread(_feed, svc, feed_id)
    day = (body.date if body and body.date else None) or dt.datetime.now(dt.UTC).date()
    episode = await asyncio.to_thread(
        svc.podcasts.build, feed, day, force=bool(body and body.force)
    )
    # reused / synthesized say what this build did; the stored record leaves them out.
    facts = {"reused": episode.reused, "synthesized": episode.synthesized}
    return JSONResponse(_episode_json({**json.loads(episode.to_json()), **facts}, urls))


@router.get("/{feed_id}/episodes", summary="The feed's episodes, oldest first", responses=_404)
async def list_episodes(feed_id: FeedId, svc: ServiceDep, urls: UrlsDep) -> JSONResponse:
    await asyncio.to_thread(_feed, svc, feed_id)
    episodes = await asyncio.to_thread(load_episodes, svc.settings.data_dir, feed_id)
    return JSONResponse([_episode_json(json.loads(e.to_json()), urls) for e in episodes])


@router.get(
    "/{feed_id}/feed.xml",
    summary="RSS 2.0 with the iTunes and Podcasting 2.0 namespaces",
    response_class=Response,
    responses={200: {"content": {"application/rss+xml": {}}}, **_404},
)
async def rss(feed_id: FeedId, request: Request, svc: ServiceDep) -> Response:
    feed = await asyncio.to_thread(_feed, svc, feed_id)
    episodes = await asyncio.to_thread(load_episodes, svc.settings.data_dir, feed_id)
    links = Urls(str(request.base_url))
    xml = await asyncio.to_thread(feed_xml, feed, episodes, links)
    return Response(
        xml,
        media_type="application/rss+xml; charset=utf-8",
        headers={"Cache-Control": "public, max-age=300"},
    )


@router.get(
    "/{feed_id}/episodes/{day}/{name}",
    summary="An episode's chapters (Podcasting 2.0 JSON) or transcript (WebVTT, SRT)",
    response_class=Response,
    responses=_404,
)
async def sidecar(
    feed_id: FeedId,
    day: dt.date,
    name: Literal["chapters.json", "transcript.vtt", "transcript.srt"],
    svc: ServiceDep,
) -> Response:
    # The path is built from the validated feed id and a parsed date, never raw text.
    path = episode_dir(svc.settings.data_dir, feed_id, day.isoformat()) / name
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except FileNotFoundError:
        raise NotFoundError(f"no {name} for {feed_id} on {day.isoformat()}") from None
    return Response(
        data, media_type=_SIDECARS[name], headers={"Cache-Control": "public, max-age=3600"}
    )
