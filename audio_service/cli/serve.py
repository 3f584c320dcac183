"""`audio-service serve` and `audio-service podcast build`: the service and its podcasts."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from audio_service.config import Settings
from audio_service.errors import InputError


def cmd_podcast(args: argparse.Namespace, settings: Settings) -> int:
    """Build a feed's episode for a date from stories the service has rendered (cron-safe:
    unchanged stories give the stored episode back)."""
    import datetime as dt

    from audio_service.http.urls import Urls
    from audio_service.podcast.feeds import load_feed, load_feeds
    from audio_service.service.core import build_service

    path = Path(args.feed)
    if path.suffix == ".toml":
        feed = load_feed(path)
    else:
        feeds = load_feeds(settings.feeds_dir)
        if args.feed not in feeds:
            raise InputError(f"no feed {args.feed!r}; feeds: {', '.join(sorted(feeds)) or 'none'}")
        feed = feeds[args.feed]
    try:
        day = dt.date.fromisoformat(args.date) if args.date else dt.date.today()
    except ValueError:
        raise InputError(f"--date must be YYYY-MM-DD, not {args.date!r}") from None
    service = build_service(settings, Urls(settings.public_url)).start()
    try:
        episode = service.podcasts.build(feed, day, force=args.force)
    finally:
        service.close()
    state = "unchanged, nothing encoded" if episode.reused else "built"
    print(
        f"{feed.id} {episode.date}: {episode.duration_ms / 1000:.1f} s, {episode.size_bytes} "
        f"bytes, {len(episode.chapters)} chapters, {Urls().immutable_audio(episode.digest)} "
        f"({state})"
    )
    return 0


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the HTTP service; the bundled examples are rendered first so there is audio to play."""
    import uvicorn

    from audio_service.http.app import create_app

    overrides: dict[str, object] = {
        k: v
        for k, v in (
            ("host", args.host),
            ("port", args.port),
            ("data_dir", args.data_dir),
            ("workers", args.workers),
        )
        if v is not None
    }
    if args.no_examples:
        overrides["examples"] = False
    settings = settings.model_copy(update=overrides)
    # One JSON line per queue job, like `audio-service worker` prints.
    logging.getLogger("audio_service.jobs").setLevel(logging.INFO)
    from audio_service.http.urls import Urls

    player = Urls().article_player("council-budget")
    print(
        f"audio-service on http://{settings.host}:{settings.port}  "
        f"(API docs: /docs, example player: {player})",
        flush=True,
    )
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        http="httptools",
        log_level="info" if args.verbose else "warning",
    )
    return 0


def add_commands(sub: Any) -> None:
    podcast = sub.add_parser("podcast", help="daily podcast episodes")
    podcast_sub = podcast.add_subparsers(dest="action", required=True)
    build = podcast_sub.add_parser("build", help="build the episode of a date (cron-safe)")
    build.add_argument("feed", help="feed id (from the feeds folder) or a feed .toml file")
    build.add_argument("--date", help="YYYY-MM-DD (default: today)")
    build.add_argument("--force", action="store_true", help="encode even if nothing changed")
    podcast.set_defaults(func=cmd_podcast)

    serve = sub.add_parser("serve", help="run the HTTP service (FastAPI on uvicorn)")
    serve.add_argument("--host", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="data folder (default ./output)")
    serve.add_argument("--workers", type=int, help="synthesis worker processes (default: cores)")
    serve.add_argument(
        "--no-examples", action="store_true", help="do not add the bundled example articles"
    )
    serve.set_defaults(func=cmd_serve)
