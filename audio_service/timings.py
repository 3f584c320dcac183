"""Timings of a render: each spoken segment's span, as a JSON sidecar and WebVTT captions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class TimedWord:
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
    words: tuple[TimedWord, ...] = ()  # empty where the engine cannot say


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
                    words=tuple(TimedWord(**w) for w in s.get("words", ())),
                )
                for s in data["segments"]
            ),
        )

    def to_vtt(self) -> str:
        lines = ["WEBVTT", ""]
        for seg in self.segments:
            lines.append(f"{seg.index}")
            lines.append(f"{_vtt_time(seg.start_ms)} --> {_vtt_time(seg.end_ms)}")
            # A blank line ends a cue and "-->" would start a new timing line.
            lines.append(" ".join(seg.text.split()).replace("-->", "->"))
            lines.append("")
        return "\n".join(lines)


def _vtt_time(ms: int) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}.{millis:03d}"
