"""The podcast's RSS 2.0 document, with the iTunes and Podcasting 2.0 namespaces."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from feedgen.ext.base import (  # type: ignore[import-untyped]
    BaseEntryExtension,
    BaseExtension,
)
from feedgen.feed import FeedGenerator  # type: ignore[import-untyped]
from feedgen.util import xml_elem  # type: ignore[import-untyped]

from audio_service.podcast.chapters import Episode
from audio_service.podcast.feeds import FeedDef

PODCAST_NS = "https://podcastindex.org/namespace/1.0"
ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"


class FeedLinks(Protocol):
    """Where the feed's documents are served (http/urls.py spells the URLs)."""

    def feed(self, feed_id: str) -> str: ...

    def immutable_audio(self, digest: str) -> str: ...

    def episode_sidecar(self, feed_id: str, date: str, name: str) -> str: ...


class _PodcastIndexExtension(BaseExtension):  # type: ignore[misc]
    """feedgen has no Podcasting 2.0 elements: declare their namespace on the channel.

    It also writes itunes:explicit, as Apple now asks ("true"/"false"), where feedgen only
    accepts the older "yes"/"no"/"clean".
    """

    def __init__(self) -> None:
        self.explicit = False

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, rss: Any) -> Any:
        channel = rss[0]
        xml_elem(f"{{{ITUNES_NS}}}explicit", channel).text = str(self.explicit).lower()
        return rss


class _PodcastIndexEntry(BaseEntryExtension):  # type: ignore[misc]
    """podcast:chapters and podcast:transcript on an item."""

    def __init__(self) -> None:
        self.links: list[tuple[str, dict[str, str]]] = []
        self.explicit = False

    def extend_ns(self) -> dict[str, str]:
        return {"podcast": PODCAST_NS}

    def extend_rss(self, item: Any) -> Any:
        for tag, attrs in self.links:
            xml_elem(f"{{{PODCAST_NS}}}{tag}", item).attrib.update(attrs)
        xml_elem(f"{{{ITUNES_NS}}}explicit", item).text = str(self.explicit).lower()
        return item


def _duration(ms: int) -> str:
    hours, rest = divmod(round(ms / 1000), 3600)
    minutes, seconds = divmod(rest, 60)
    return f"{hours:d}:{minutes:02d}:{seconds:02d}"


def feed_xml(feed: FeedDef, episodes: list[Episode], links: FeedLinks) -> bytes:
    """RSS 2.0 with the iTunes and Podcasting 2.0 namespaces, newest episode first.

    Deterministic: lastBuildDate is the newest episode's pubDate, not the time of asking,
    so the same episodes give the same bytes (and the same ETag).
    """
    gen = FeedGenerator()
    gen.load_extension("podcast")
    gen.register_extension("podcastindex", _PodcastIndexExtension, _PodcastIndexEntry)
    gen.title(feed.title)
    gen.description(feed.description)
    gen.link(href=feed.link or links.feed(feed.id))
    gen.language(feed.language)
    gen.generator("audio-service")
    gen.podcast.itunes_author(feed.author)
    gen.podcast.itunes_summary(feed.description)
    gen.podcastindex.explicit = feed.explicit
    gen.podcast.itunes_owner(name=feed.owner_name or feed.author, email=feed.owner_email)
    if feed.subcategory:
        gen.podcast.itunes_category(feed.category, feed.subcategory)
    else:
        gen.podcast.itunes_category(feed.category)
    if feed.artwork_url:
        gen.image(url=feed.artwork_url, title=feed.title, link=feed.link or None)
        gen.podcast.itunes_image(feed.artwork_url)
    ordered = sorted(episodes, key=lambda e: e.date)
    if ordered:
        gen.lastBuildDate(datetime.fromisoformat(ordered[-1].pub_date))
    else:
        gen.lastBuildDate(datetime(2000, 1, 1).astimezone())
    # feedgen writes items in reverse order of adding: add oldest first, newest shows first.
    for episode in ordered:
        entry = gen.add_entry()
        entry.guid(episode.guid, permalink=False)
        entry.title(episode.title)
        entry.description(
            "In this episode: " + "; ".join(c.title for c in episode.chapters if c.kind == "story")
        )
        entry.pubDate(datetime.fromisoformat(episode.pub_date))
        audio = links.immutable_audio(episode.digest)
        entry.enclosure(audio, str(episode.size_bytes), "audio/mpeg")
        entry.podcast.itunes_duration(_duration(episode.duration_ms))
        entry.podcastindex.explicit = feed.explicit
        entry.podcastindex.links = [
            (
                "chapters",
                {
                    "url": links.episode_sidecar(episode.feed_id, episode.date, "chapters.json"),
                    "type": "application/json+chapters",
                },
            ),
            (
                "transcript",
                {
                    "url": links.episode_sidecar(episode.feed_id, episode.date, "transcript.vtt"),
                    "type": "text/vtt",
                },
            ),
            (
                "transcript",
                {
                    "url": links.episode_sidecar(episode.feed_id, episode.date, "transcript.srt"),
                    "type": "application/x-subrip",
                },
            ),
        ]
    xml: bytes = gen.rss_str(pretty=True)
    return xml
