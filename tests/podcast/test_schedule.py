"""The in-service podcast schedule: cron expressions in the feed's time zone, and a due episode
built by a running service's job consumer."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from audio_service.article import Article
from audio_service.config import Settings
from audio_service.errors import ConfigError
from audio_service.http.urls import Urls
from audio_service.podcast.feeds import FeedDef, load_episodes, load_feed
from audio_service.podcast.schedule import due
from audio_service.service.core import Service, build_service

FEED = """
id = "hourly"
title = "The Hourly"
description = "News on the hour."
author = "Desk"
owner_email = "desk@example.com"
voice = "en-gb-espeak"
timezone = "Europe/London"
schedule = "{schedule}"

[stories]
articles = ["sched-a", "sched-b"]
"""


def feed_with(tmp_path: Path, schedule: str) -> FeedDef:
    path = tmp_path / "feeds" / "hourly.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(FEED.replace("{schedule}", schedule))
    return load_feed(path)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_due_reads_the_schedule_in_the_feeds_time_zone(tmp_path: Path) -> None:
    feed = feed_with(tmp_path, "5 6 * * *")  # 06:05 in London
    # Winter: London is on UTC.
    assert due(feed, at("2026-11-25T06:04:00"), at("2026-11-25T06:05:10")) == date(2026, 11, 25)
    assert due(feed, at("2026-11-25T06:05:10"), at("2026-11-25T06:06:10")) is None
    # Summer: 06:05 in London is 05:05 UTC.
    assert due(feed, at("2026-07-01T05:04:30"), at("2026-07-01T05:05:30")) == date(2026, 7, 1)
    assert due(feed, at("2026-07-01T06:04:30"), at("2026-07-01T06:05:30")) is None
    # A late check still finds a minute it skipped (up to ten minutes back).
    assert due(feed, at("2026-11-25T06:00:00"), at("2026-11-25T06:09:00")) == date(2026, 11, 25)


def test_a_bad_schedule_or_time_zone_stops_the_feed_with_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="5 fields"):
        feed_with(tmp_path, "every morning")
    with pytest.raises(ConfigError, match="not a valid input"):
        feed_with(tmp_path, "61 6 * * *")
    bad_zone = tmp_path / "zone.toml"
    bad_zone.write_text(FEED.replace("{schedule}", "").replace("Europe/London", "Mars/Olympus"))
    with pytest.raises(ConfigError, match="unknown timezone"):
        load_feed(bad_zone)


@pytest.fixture()
def service(tmp_path: Path) -> Iterator[Service]:
    feed_with(tmp_path, "* * * * *")  # every minute
    settings = Settings(
        data_dir=tmp_path / "data",
        feeds_dir=tmp_path / "feeds",
        default_voice="en-gb-espeak",
        workers=2,
        examples=False,
    )
    svc = build_service(settings, Urls()).start()
    try:
        yield svc
    finally:
        svc.close()


def test_a_due_episode_is_built_once_per_change(service: Service) -> None:
    for article_id in ("sched-a", "sched-b"):
        body = (f"The {article_id} story has one short paragraph.",)
        service.articles.put(article_id, Article(title=f"Story {article_id}", body=body))
    deadline = time.monotonic() + 60
    while any(service.articles.get(a).status != "ready" for a in ("sched-a", "sched-b")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    service.podcasts._last_tick = datetime.now(UTC) - timedelta(minutes=2)
    first = service.podcasts.run_schedule()
    assert len(first) == 1 and first[0].startswith("hourly ") and first[0].endswith(" built")
    episodes = load_episodes(service.settings.data_dir, "hourly")
    assert len(episodes) == 1
    stories = [c.story_id for c in episodes[0].chapters if c.kind == "story"]
    assert stories == ["sched-a", "sched-b"]
    service.podcasts._last_tick = datetime.now(UTC) - timedelta(minutes=2)
    again = service.podcasts.run_schedule()
    assert again == [first[0].replace(" built", " reused")]  # same stories: nothing encoded
    assert service.locks.get(f"podcast:hourly:{episodes[0].date}") is not None
