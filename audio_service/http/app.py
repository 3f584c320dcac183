"""create_app(settings) -> the ASGI app: FastAPI for the API, a lean path for stored audio."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

from fastapi import FastAPI
from starlette.types import ASGIApp

from audio_service.config import Settings
from audio_service.engines.registry import Engines
from audio_service.http import errors
from audio_service.http.cors import CorsMiddleware, origins
from audio_service.http.dispatch import lean_dispatcher
from audio_service.http.models import ErrorBody
from audio_service.http.routes import articles, audio, batches, health, lexicon, podcasts, voices
from audio_service.http.urls import Urls
from audio_service.service.core import Service, build_service

log = logging.getLogger(__name__)


@asynccontextmanager
async def _run_service(settings: Settings, engines: Engines | None) -> AsyncIterator[Service]:
    """The Service from start-up (voices warm, unfinished renders resumed) to shutdown."""
    links = Urls(settings.public_url)  # webhooks carry absolute URLs when one is set
    service = build_service(settings, links, engines=engines)
    await asyncio.to_thread(service.start)
    await asyncio.to_thread(service.warm_up)
    if settings.examples:
        await asyncio.to_thread(service.add_examples)
    resumed = await asyncio.to_thread(service.resume)
    if resumed:
        log.info("resumed %d unfinished renders", resumed)
    if settings.embedded_worker:
        service.start_jobs()
    try:
        yield service
    finally:
        await asyncio.to_thread(service.close)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with _run_service(app.state.settings, app.state.engines) as service:
        app.state.service = service
        yield


def create_app(settings: Settings | None = None, *, engines: Engines | None = None) -> ASGIApp:
    """Build the service: FastAPI app plus the lean dispatcher for content-addressed audio.

    `engines` replaces the built-in engine registry (tests inject engines of their own).
    """
    app = FastAPI(
        title="audio-service",
        summary="Listen to this article: news articles as cached, seekable MP3 speech.",
        version="0.1.0",
        lifespan=_lifespan,
        responses={
            400: {"model": ErrorBody, "description": "Malformed request body (not JSON)"},
            422: {"model": ErrorBody, "description": "Invalid input"},
        },
    )
    app.state.settings = settings or Settings()
    app.state.engines = engines
    app.state.urls = Urls()  # relative URLs, as the API has always answered
    player_files = resources.files("audio_service").joinpath("player")
    app.state.player_page = player_files.joinpath("player.html").read_text("utf-8")
    app.state.player_bar_page = player_files.joinpath("bar.html").read_text("utf-8")
    app.state.player_script = player_files.joinpath("player.js").read_text("utf-8")
    app.include_router(articles.script_router)
    errors.install(app)
    for module in (articles, audio, voices, health, lexicon, podcasts, batches):
        app.include_router(module.router)
    return CorsMiddleware(
        lean_dispatcher(app),
        read=origins(app.state.settings.cors_read_origins),
        write=origins(app.state.settings.cors_write_origins),
    )
