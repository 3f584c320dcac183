"""An episode's record and sidecars: chapters, what its ID3 tag says, chapters JSON, SRT."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from audio_service.audio.id3 import ChapterMark, Tags, read_cover
from audio_service.timings import Timings


@dataclass(frozen=True)
class Chapter:
    title: str
    start_ms: int  # in the decoded episode
    end_ms: int
    kind: str  # "intro", "story" or "outro"
    story_id: str = ""


@dataclass(frozen=True)
class Episode:
    """A built episode, as recorded in DATA_DIR/podcasts/<feed>/<date>/episode.json."""

    feed_id: str
    date: str  # ISO date: with the feed id, the episode's permanent guid
    title: str
    pub_date: str  # ISO 8601 with offset
    digest: str  # sha256 of the MP3: /v1/audio/{digest}.mp3
    size_bytes: int
    duration_ms: int
    inputs_key: str  # hash of everything that shapes the bytes
    loudness_lufs: float
    true_peak_dbtp: float
    chapters: tuple[Chapter, ...]
    stories: tuple[str, ...]  # article ids, in episode order
    reused: bool = False  # found stored with unchanged inputs: nothing was encoded
    synthesized: int = 0  # segments synthesised afresh for this build (0 when all cached)

    @property
    def guid(self) -> str:
        return f"{self.feed_id}/{self.date}"

    def to_json(self) -> str:
        data = asdict(self)
        del data["reused"], data["synthesized"]  # facts about one build, not the episode
        return json.dumps({"version": 1, **data}, ensure_ascii=False, indent=1)

    @classmethod
    def from_json(cls, text: str) -> Episode:
        data = json.loads(text)
        data.pop("version", None)
        data["chapters"] = tuple(Chapter(**c) for c in data["chapters"])
        data["stories"] = tuple(data["stories"])
        return cls(**data, reused=True)


def episode_tags(
    title: str,
    author: str,
    album: str,
    date: str,
    language: str,
    chapters: Sequence[Chapter],
    cover: Path | None = None,
) -> Tags:
    """What an episode's ID3 tag says: text frames, the Podcast genre, a chapter mark per
    chapter (a top-level ordered table of contents) and the cover picture."""
    return Tags(
        title=title,
        artist=author,
        album=album,  # the feed's title
        date=date,  # ISO date
        language=language,
        genre="Podcast",
        chapters=tuple(ChapterMark(c.title, c.start_ms, c.end_ms) for c in chapters),
        cover=read_cover(cover) if cover is not None else None,
    )


def chapters_json(chapters: list[Chapter], title: str) -> str:
    """Podcasting 2.0 JSON chapters (podcast:chapters, version 1.2.0)."""
    return json.dumps(
        {
            "version": "1.2.0",
            "title": title,
            "chapters": [
                {
                    "startTime": c.start_ms / 1000,
                    "endTime": c.end_ms / 1000,
                    "title": c.title,
                }
                for c in chapters
            ],
        },
        ensure_ascii=False,
        indent=1,
    )


def to_srt(timings: Timings) -> str:
    """SubRip captions, one cue per spoken segment."""
    return timings.to_srt()
