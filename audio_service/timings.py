"""Timings of a render: each spoken segment's span, as a JSON sidecar and WebVTT captions."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class WordTiming:
    """A word's span. In an engine's Synthesis or a cached piece: a spoken word, relative to
    its speech; in a render's Timings: a written word of its segment, in the stream's time."""

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
    words: tuple[WordTiming, ...] = ()  # the written words of text; empty where unknown


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

    def to_vtt(self, karaoke: bool = True) -> str:
        """WebVTT; with KARAOKE, a cue timestamp (`<00:00:01.250>`) before each word that
        starts after its cue does, so a player can light the word being read."""
        return "WEBVTT\n\n" + self._cues(first=0, decimal=".", vtt=True, karaoke=karaoke)

    def to_srt(self) -> str:
        """SubRip: cues numbered from 1, a comma before the milliseconds."""
        return self._cues(first=1, decimal=",", vtt=False, karaoke=False)

    def _cues(self, first: int, decimal: str, vtt: bool, karaoke: bool) -> str:
        lines: list[str] = []
        for number, seg in enumerate(self.segments, start=first):
            lines.append(str(number))
            lines.append(f"{_time(seg.start_ms, decimal)} --> {_time(seg.end_ms, decimal)}")
            # A blank line ends a cue (hence one line); in SRT "-->" would start a timing
            # line, in VTT escaping ">" already prevents that.
            text = " ".join(seg.text.split())
            if not vtt:
                lines.append(text.replace("-->", "->"))
            elif karaoke:
                lines.append(_karaoke(text, seg))
            else:
                lines.append(_escape(text))
            lines.append("")
        return "\n".join(lines)


def _escape(text: str) -> str:
    """WebVTT cue text: "&" and "<" start markup, and ">" is escaped as the spec shows."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _karaoke(text: str, seg: TimedSegment) -> str:
    parts: list[str] = []
    at = 0  # text before this is in parts
    cursor = 0  # where the next word is looked for
    last_ms = seg.start_ms
    for word in seg.words:
        # Words are found in order; one not in the text (an old render's spoken words) is
        # skipped rather than guessed at.
        found = text.find(word.word, cursor) if word.word else -1
        if found < 0:
            continue
        cursor = found + len(word.word)
        # The spec wants each timestamp after the cue's start and the one before it, and
        # before the cue's end.
        if last_ms < word.start_ms < seg.end_ms:
            parts.append(_escape(text[at:found]))
            parts.append(f"<{_time(word.start_ms, '.')}>")
            at = found
            last_ms = word.start_ms
    parts.append(_escape(text[at:]))
    return "".join(parts)


def _time(ms: int, decimal: str) -> str:
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    seconds, millis = divmod(rest, 1000)
    return f"{hours:02d}:{minutes:02d}:{seconds:02d}{decimal}{millis:03d}"
