"""Timings of a render: each spoken segment's span, as a JSON sidecar and WebVTT captions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WordTiming:
    """A spoken word's span: relative to its speech in an engine's Synthesis or a cached
    piece, in the stream's time in a render's Timings."""

    word: str
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class TimedSegment:
    index: int
    kind: str
    text: str  # as written: what captions show
    spoken: str  # what the engine said
    paragraph: int
    start_ms: int
    end_ms: int
    words: tuple[WordTiming, ...] = ()  # empty where the engine cannot say


@dataclass(frozen=True)
class Timings:
    duration_ms: int
    sample_rate_hz: int
    voice: str
    segments: tuple[TimedSegment, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"version": 1, **asdict(self), "segments": [asdict(s) for s in self.segments]}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=1)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Timings:
        return cls(
            duration_ms=int(data["duration_ms"]),
            sample_rate_hz=int(data["sample_rate_hz"]),
            voice=str(data["voice"]),
            segments=tuple(
                TimedSegment(
                    **{k: v for k, v in s.items() if k != "words"},
                    words=tuple(WordTiming(**w) for w in s.get("words", ())),
                )
                for s in data["segments"]
            ),
        )

    def to_vtt(self) -> str:
        return "WEBVTT\n\n" + self._cues(first=0, decimal=".")

    def to_srt(self) -> str:
        """SubRip: cues numbered from 1, a comma before the milliseconds."""
        return self._cues(first=1, decimal=",")

    def _cues(self, first: int, decimal: str) -> str:
        lines: list[str] = []
        for number, seg in enumerate(self.segments, start=first):
            lines.append(str(number))
            lines.append(f"{_time(seg.start_ms, decimal)} --> {_time(seg.end_ms, decimal)}")
            # A blank line ends a cue and "-->" would start a new timing line.
            lines.append(" ".join(seg.text.split()).replace("-->", "->"))
            lines.append("")
        return "\n".join(lines)


def _time(ms: int, decimal: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"
