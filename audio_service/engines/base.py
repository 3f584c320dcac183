"""The Engine protocol every speech engine implements, and the Synthesis it returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef


@dataclass(frozen=True)
class Synthesis:
    pcm: bytes  # signed 16-bit little-endian mono
    sample_rate_hz: int
    words: tuple[WordTiming, ...] = ()  # empty where the engine cannot say

    @property
    def duration_ms(self) -> float:
        return len(self.pcm) / 2 / self.sample_rate_hz * 1000


class Engine(Protocol):
    name: str
    version: str  # part of every cache key

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis: ...

    def close(self) -> None: ...
