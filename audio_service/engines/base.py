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


# CPU threads an engine may use for one synthesis in this process. A pool of one worker per
# core gives each worker 1; the express worker, which synthesises a first sentence while a
# listener waits, gets 2 (measured on 2 cores: a Piper headline phrase in 83-119 ms against
# 142-151 ms with one thread). Set by the pool in each worker before any engine is made.
_compute_threads = 1


def set_compute_threads(threads: int) -> None:
    global _compute_threads
    _compute_threads = max(1, threads)


def compute_threads() -> int:
    return _compute_threads
