"""Article -> list[Segment]: what the engine speaks, in order, with the pause after each."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class SegmentKind(StrEnum):
    TITLE = "title"
    SUBTITLE = "subtitle"
    BYLINE = "byline"
    SENTENCE = "sentence"


@dataclass(frozen=True)
class Segment:
    kind: SegmentKind
    text: str  # as written (captions, timings)
    spoken: str  # what the engine is given (normalised, lexicon applied)
    pause_after_ms: int
    paragraph: int  # index of the body paragraph, -1 for title/subtitle/byline
