"""A test-only engine that sleeps as long as its text says: a worker that hangs on demand.

It stands in for a hung eSpeak only in the timeout test; everything else uses the real one.
"""

from __future__ import annotations

import time

from audio_service.engines.base import Engine, Synthesis
from audio_service.voices import VoiceDef


class SleepyEngine:
    name = "sleepy"
    version = "1"

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        time.sleep(float(text))
        return Synthesis(pcm=b"\x00\x00" * 2205, sample_rate_hz=22050)

    def close(self) -> None:
        pass


def sleepy() -> Engine:
    return SleepyEngine()
