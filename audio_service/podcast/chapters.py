"""An episode's record and sidecars: ID3 tag with CHAP/CTOC and cover, chapters JSON, SRT."""

# mutagen's frame classes are untyped: calling them is fine here.
# mypy: disable-error-code="no-untyped-call"

from __future__ import annotations

import io
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from mutagen.id3 import (
    APIC,
    CHAP,
    COMM,
    CTOC,
    ID3,
    TALB,
    TCON,
    TDRC,
    TIT2,
    TLAN,
    TPE1,
    TSSE,
    CTOCFlags,
)

from audio_service.errors import ConfigError
from audio_service.timings import Timings

_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
# Offsets are "unknown" (all ones): players seek chapters by time, and byte offsets would
# have to be recomputed whenever the tag's size changes.
_NO_OFFSET = 0xFFFFFFFF


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


@dataclass(frozen=True)
class EpisodeTags:
    title: str
    author: str
    album: str  # the feed's title
    date: str  # ISO date
    language: str
    comment: str = ""


def episode_id3(
    tags: EpisodeTags, chapters: list[Chapter], encoder: str, cover: Path | None = None
) -> bytes:
    """ID3v2.3 tag: text frames, a top-level ordered CTOC and one CHAP per chapter.

    No dates of building and no padding: the same inputs give the same bytes.
    """
    tag = ID3()
    tag.add(TIT2(encoding=3, text=tags.title))
    tag.add(TPE1(encoding=3, text=tags.author))
    tag.add(TALB(encoding=3, text=tags.album))
    tag.add(TDRC(encoding=3, text=tags.date))
    tag.add(TCON(encoding=3, text="Podcast"))
    if tags.language.lower().startswith("en"):
        tag.add(TLAN(encoding=3, text="eng"))
    if tags.comment:
        tag.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    tag.add(TSSE(encoding=3, text=encoder))
    if cover is not None:
        mime = _IMAGE_TYPES.get(cover.suffix.lower())
        if mime is None:
            raise ConfigError(f"cover image must be JPEG or PNG: {cover}")
        try:
            data = cover.read_bytes()
        except OSError as exc:
            raise ConfigError(f"cannot read cover image {cover}: {exc}") from exc
        tag.add(APIC(encoding=3, mime=mime, type=3, desc="Cover", data=data))
    ids = [f"chp{i}" for i in range(len(chapters))]
    tag.add(
        CTOC(
            element_id="toc",
            flags=CTOCFlags.TOP_LEVEL | CTOCFlags.ORDERED,
            child_element_ids=ids,
            sub_frames=[TIT2(encoding=3, text="Chapters")],
        )
    )
    for element_id, chapter in zip(ids, chapters, strict=True):
        tag.add(
            CHAP(
                element_id=element_id,
                start_time=chapter.start_ms,
                end_time=chapter.end_ms,
                start_offset=_NO_OFFSET,
                end_offset=_NO_OFFSET,
                sub_frames=[TIT2(encoding=3, text=chapter.title)],
            )
        )
    buffer = io.BytesIO()
    tag.save(buffer, v2_version=3, padding=lambda info: 0)
    return buffer.getvalue()


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
