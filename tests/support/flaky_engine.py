"""A test-only engine that fails once (or always, on demand), and otherwise speaks with eSpeak.

It stands in for an engine having a bad moment (a crashed worker, a timeout) in the retry
tests; the audio itself comes from the real eSpeak engine. Its state is files under
$FLAKY_ENGINE_DIR, so every worker process shares it: "failed-once" is written by the one
failure, and while "always" exists every call fails.
"""

from __future__ import annotations

import os
from pathlib import Path

from audio_service.engines.base import Engine, Synthesis
from audio_service.engines.espeak import EspeakEngine
from audio_service.voices import VoiceDef


class FlakyEngine:
    name = "flaky"
    version = "flaky-1"

    def __init__(self) -> None:
        self._real = EspeakEngine()
        self._seen = Path(os.environ["FLAKY_ENGINE_DIR"])

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        if (self._seen / "always").exists():
            raise RuntimeError("the flaky engine is down")
        try:
            (self._seen / "failed-once").touch(exist_ok=False)
        except FileExistsError:
            return self._real.synthesize(text, voice)
        raise RuntimeError("the flaky engine failed once")

    def close(self) -> None:
        self._real.close()


def flaky() -> Engine:
    return FlakyEngine()
