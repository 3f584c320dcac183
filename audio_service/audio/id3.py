"""The one ID3v2.3 writer: text frames for articles and episodes, chapters (CTOC/CHAP), cover."""

from __future__ import annotations

import io
from dataclasses import dataclass, fields
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

_IMAGE_TYPES = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png"}
# Offsets are "unknown" (all ones): players seek chapters by time, and byte offsets would
# have to be recomputed whenever the tag's size changes.
_NO_OFFSET = 0xFFFFFFFF
# Added for episodes after article tags were already hashed into render keys (the
# renderer hashes repr(Tags)): left at their defaults they stay out of the repr.
_EPISODE_FIELDS = ("genre", "chapters", "cover")


@dataclass(frozen=True)
class ChapterMark:
    """One CHAP frame: a titled span of the decoded audio."""

    title: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Cover:
    """An APIC front-cover picture."""

    mime_type: str  # "image/jpeg" or "image/png"
    data: bytes


def read_cover(path: Path) -> Cover:
    """A JPEG or PNG file as a cover picture."""
    mime = _IMAGE_TYPES.get(path.suffix.lower())
    if mime is None:
        raise ConfigError(f"cover image must be JPEG or PNG: {path}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read cover image {path}: {exc}") from exc
    return Cover(mime, data)


@dataclass(frozen=True, repr=False)
class Tags:
    """What an MP3's tag says; empty text fields are left out of the tag."""

    title: str
    artist: str = ""  # the byline, or the podcast's author
    album: str = ""  # the publisher, or the podcast's title
    date: str = ""  # ISO 8601 date or year (written as its date part)
    language: str = ""  # BCP 47 ("en-GB"); written as ISO 639-2 ("eng")
    comment: str = ""  # e.g. "article-id: ..."
    genre: str = ""  # e.g. "Podcast"
    # None: no table of contents; a tuple (even empty) writes a top-level ordered CTOC.
    chapters: tuple[ChapterMark, ...] | None = None
    cover: Cover | None = None

    def __repr__(self) -> str:
        shown = (
            f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
            if f.name not in _EPISODE_FIELDS or getattr(self, f.name) != f.default
        )
        return f"{type(self).__qualname__}({', '.join(shown)})"


def id3_bytes(tags: Tags, encoder: str) -> bytes:
    """An ID3v2.3 tag (v2.3: the version every player, old iPods included, reads).

    No dates of writing and no padding: the same tags give the same bytes.
    """
    tag = ID3()
    tag.add(TIT2(encoding=3, text=tags.title))
    if tags.artist:
        tag.add(TPE1(encoding=3, text=tags.artist))
    if tags.album:
        tag.add(TALB(encoding=3, text=tags.album))
    if tags.date:
        tag.add(TDRC(encoding=3, text=tags.date[:10]))
    if tags.genre:
        tag.add(TCON(encoding=3, text=tags.genre))
    if tags.language.lower().startswith("en"):
        tag.add(TLAN(encoding=3, text="eng"))
    if tags.comment:
        tag.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    tag.add(TSSE(encoding=3, text=encoder))
    if tags.cover is not None:
        tag.add(
            APIC(encoding=3, mime=tags.cover.mime_type, type=3, desc="Cover", data=tags.cover.data)
        )
    if tags.chapters is not None:
        _add_chapters(tag, tags.chapters)
    buffer = io.BytesIO()
    tag.save(buffer, v2_version=3, padding=lambda info: 0)
    return buffer.getvalue()


def _add_chapters(tag: ID3, chapters: tuple[ChapterMark, ...]) -> None:
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
