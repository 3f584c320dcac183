"""Podcast feeds: definition files (feeds/*.toml), the stories of a day, stored episodes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from audio_service import ids
from audio_service.article import Article, article_from_json
from audio_service.errors import ConfigError, NotFoundError
from audio_service.podcast.chapters import Episode
from audio_service.podcast.schedule import cron
from audio_service.store.index import Index

ORDERS = ("listed", "published", "published-desc")
_FEED_ID = ids.FEED_ID_RE
_MUSIC_SLOTS = ("intro", "transition", "outro")
_BED_KEYS = ("bed", "bed_gain_db", "bed_duck_db")


@dataclass(frozen=True)
class FeedDef:
    """One podcast: its channel metadata, which stories go in, and how an episode sounds."""

    id: str
    title: str
    description: str
    author: str
    owner_email: str
    language: str = "en-GB"
    owner_name: str = ""
    link: str = ""
    artwork_url: str = ""
    category: str = "News"
    subcategory: str = ""
    explicit: bool = False
    voice: str = ""  # "" for the service's default voice
    # Stories: the listed article ids, then (if set) every article published on the date.
    articles: tuple[str, ...] = ()
    published_on_date: bool = False
    order: str = "listed"
    max_stories: int = 0  # 0: no limit
    paragraphs: int = 0  # 0: whole stories; N: the first N paragraphs of each
    # Spoken texts; {date}, {title}, {author} and {count} are filled in per episode.
    intro: str = "This is {title} for {date}."
    outro: str = "That was {title} for {date}."
    transition: str = ""  # spoken before every story after the first, e.g. "Next."
    intro_music: Path | None = None
    transition_music: Path | None = None
    outro_music: Path | None = None
    # A music bed under the whole episode: looped, faded in and out, `bed_gain_db` relative
    # to the speech's loudness, and `bed_duck_db` lower still under speech and jingles.
    bed_music: Path | None = None
    bed_gain_db: float = -20.0
    bed_duck_db: float = 12.0
    cover_image: Path | None = None  # written into each episode's ID3 tag (APIC)
    publish_time: str = "06:00"  # local time of the pubDate of each day's episode
    timezone: str = "UTC"
    # Cron expression (minute hour day month weekday) in `timezone`: the running service
    # builds the day's episode then; "" leaves building to cron or the API.
    schedule: str = ""

    @property
    def music(self) -> dict[str, Path | None]:
        """Music files by where they play; None where there is none."""
        music = (self.intro_music, self.transition_music, self.outro_music)
        return dict(zip(_MUSIC_SLOTS, music, strict=True))


def load_feed(path: Path) -> FeedDef:
    """Read a feed definition; relative file paths are relative to the file's folder."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read feed file {path}: {exc}") from exc
    try:
        return _feed_from_dict(raw, path.parent, default_id=path.stem)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"feed file {path}: {exc}") from exc


def load_feeds(directory: Path) -> dict[str, FeedDef]:
    """Every feeds/*.toml, by feed id."""
    feeds = [load_feed(p) for p in sorted(directory.glob("*.toml"))]
    return {f.id: f for f in feeds}


def _feed_from_dict(raw: dict[str, Any], base: Path, default_id: str) -> FeedDef:
    stories = dict(raw.pop("stories", {}))
    texts = dict(raw.pop("texts", {}))
    music = dict(raw.pop("music", {}))
    unknown = set(music) - {*_MUSIC_SLOTS, *_BED_KEYS}
    if unknown:
        known = (*_MUSIC_SLOTS, *_BED_KEYS)
        raise ValueError(f"unknown [music] keys {sorted(unknown)}; known: {known}")
    fields: dict[str, Any] = {**raw, **stories, **texts}
    fields.setdefault("id", default_id)
    fields["articles"] = tuple(str(a) for a in fields.get("articles", ()))
    for slot in _MUSIC_SLOTS:
        if music.get(slot):
            fields[f"{slot}_music"] = base / str(music[slot])
    if music.get("bed"):
        fields["bed_music"] = base / str(music["bed"])
    for key in ("bed_gain_db", "bed_duck_db"):
        if key in music:
            fields[key] = float(music[key])
    if fields.get("cover_image"):
        fields["cover_image"] = base / str(fields["cover_image"])
    feed = FeedDef(**fields)  # unknown keys: TypeError, reported with the file name
    if not _FEED_ID.match(feed.id):
        raise ValueError(f"feed id must match {ids.FEED_ID}, not {feed.id!r}")
    if feed.order not in ORDERS:
        raise ValueError(f"order must be one of {ORDERS}, not {feed.order!r}")
    if not feed.articles and not feed.published_on_date:
        raise ValueError("list [stories] articles or set published_on_date = true")
    datetime.strptime(feed.publish_time, "%H:%M")  # ValueError when malformed
    try:
        ZoneInfo(feed.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {feed.timezone!r} (use e.g. Europe/London)") from None
    if feed.schedule:
        cron(feed.schedule)
    return feed


@dataclass(frozen=True)
class Story:
    id: str
    article: Article


def spoken_date(day: date, language: str) -> str:
    """The date as written for the intro; the normaliser says it ("the twenty-fifth of")."""
    if language.lower() == "en-us":
        return f"{day:%A}, {day:%B} {day.day}, {day.year}"
    return f"{day:%A} {day.day} {day:%B} {day.year}"


def select_stories(feed: FeedDef, day: date, index: Index) -> list[Story]:
    """The feed's stories for a day from the service's index, in the feed's order."""
    chosen: dict[str, Article] = {}
    for article_id in feed.articles:
        row = index.article(article_id)
        if row is None:
            raise NotFoundError(f"feed {feed.id!r} lists unknown article {article_id!r}")
        chosen[article_id] = article_from_json(row.article_json)
    if feed.published_on_date:
        for row in index.articles():
            article = article_from_json(row.article_json)
            if row.id not in chosen and article.published[:10] == day.isoformat():
                chosen[row.id] = article
    stories = [Story(i, a) for i, a in chosen.items()]
    if feed.order != "listed":
        stories.sort(key=lambda s: (s.article.published, s.id), reverse=feed.order != "published")
    if feed.max_stories:
        stories = stories[: feed.max_stories]
    if not stories:
        raise NotFoundError(f"feed {feed.id!r} has no stories for {day.isoformat()}")
    return stories


def episode_dir(data_dir: Path, feed_id: str, day: date | str) -> Path:
    return data_dir / "podcasts" / feed_id / str(day)


def load_episodes(data_dir: Path, feed_id: str) -> list[Episode]:
    """Every stored episode of a feed, oldest first (for feed_xml)."""
    found = sorted((data_dir / "podcasts" / feed_id).glob("*/episode.json"))
    return [Episode.from_json(p.read_text(encoding="utf-8")) for p in found]
