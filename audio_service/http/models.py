"""Request and response shapes of the HTTP API, as they appear on the OpenAPI page."""

from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from audio_service import ids
from audio_service.errors import InputError


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable error code", examples=["not_found"])
    message: str = Field(description="What is wrong, for people")


class ErrorBody(BaseModel):
    error: ErrorDetail


def json_error(description: str) -> dict[str, Any]:
    """An error response documented as JSON on a route whose success body is not JSON (a
    plain `model` there would be documented in the route's own media type)."""
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class ArticleIn(BaseModel):
    """An article to speak. `body` is text with blank lines between paragraphs, a list of
    paragraphs, or an HTML fragment."""

    title: str = Field(examples=["Council agrees budget after late-night vote"])
    body: str | list[str]
    subtitle: str | None = None
    byline: str | None = Field(None, examples=["Jane Reporter"])
    published: str | None = Field(None, examples=["2026-11-25T09:30:00Z"])
    updated: str | None = None
    language: Literal["en-GB", "en-US"] | None = None
    voice: str | None = Field(None, description="Voice id; default voice when absent")


class ArticleUrls(BaseModel):
    audio: str = Field(description="Current audio; streams while the first render runs")
    audio_immutable: str | None = Field(None, description="Content-addressed URL of the audio")
    timings: str
    captions: str
    player: str


class ArticleStatus(BaseModel):
    id: str
    status: Literal["queued", "rendering", "ready", "failed"] = Field(
        description="State of the latest version"
    )
    version: int = Field(description="Increments each time the content changes")
    ready_version: int | None = Field(description="Version whose audio is served now")
    voice: str
    duration_ms: int | None
    error: str | None = Field(description="Why the latest render failed")
    digest: str | None = Field(description="sha256 of the audio served now")
    urls: ArticleUrls


class ArticleListItem(ArticleStatus):
    title: str
    updated: datetime = Field(description="When the article or its audio's status last changed")

    @classmethod
    def of(cls, status: ArticleStatus, title: str, updated_epoch_s: float) -> ArticleListItem:
        updated = datetime.fromtimestamp(updated_epoch_s, UTC)
        return cls(**status.model_dump(), title=title, updated=updated)


class ArticleList(BaseModel):
    """One page of articles in id order."""

    items: list[ArticleListItem]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null on the last page"
    )


# The ArticleStatus values spelled out: the enum itself as a query type would take the
# name "ArticleStatus" in the OpenAPI document from the model above.
StatusFilter = Literal["queued", "rendering", "ready", "failed"]
LIST_LIMIT = 50
LIST_LIMIT_MAX = 200
_CURSOR_PREFIX = "1:"  # the cursor's format version, so its form can change later


def encode_cursor(after_id: str) -> str:
    """An opaque cursor: the page continues after this article id."""
    raw = (_CURSOR_PREFIX + after_id).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The article id a cursor continues after; InputError (422) for anything not made by
    encode_cursor."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    after = raw.removeprefix(_CURSOR_PREFIX)
    valid = raw.startswith(_CURSOR_PREFIX) and ids.is_article_id(after)
    if not valid or encode_cursor(after) != cursor:  # one spelling per cursor
        raise InputError("invalid cursor: pass the next_cursor of an earlier page unchanged")
    return after


class VoiceOut(BaseModel):
    id: str
    name: str
    engine: str
    locale: str
    rate_wpm: int
    description: str
    default: bool = Field(description="The voice of articles that name neither voice nor language")
    default_for: list[str] = Field(
        default=[], description="Languages whose articles get this voice when they name none"
    )
    gender: str = Field("", description="female, male or empty")
    quality: str = Field("", description="neural (natural) or formant (robotic, fastest)")
    licence: str = Field("", description="SPDX licence of the model and voice data, any caveat")
    credit: str = Field("", description="Who made the model and the voice")
    rtf: float | None = Field(
        None, description="Measured real-time factor on one core (seconds per second of audio)"
    )


class SpeechIn(BaseModel):
    """The request shape of OpenAI's /v1/audio/speech, so existing clients work."""

    model: str = Field("tts-1", description="Accepted for compatibility; the voice decides")
    input: str = Field(min_length=1, max_length=4096)
    voice: str = Field(
        description="A voice id from /v1/voices, or an OpenAI voice name (mapped to one of ours)"
    )
    # The keys of audio_service.audio.transcode.FORMATS (a test keeps the two the same).
    response_format: Literal["mp3", "wav", "opus", "aac", "flac", "pcm"] = Field(
        "mp3",
        description="mp3 as stored; wav, opus (Ogg), aac (ADTS), flac and pcm (raw s16le) "
        "are 24 kHz mono, streamed as they are encoded",
    )
    speed: float = Field(1.0, ge=0.25, le=4.0, description="0.25 to 4.0; 1.0 is the voice's pace")
