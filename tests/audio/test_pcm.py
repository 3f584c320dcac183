"""PCM shaping: trimming, fades, the limiter."""

from __future__ import annotations

import numpy as np
import pytest

from audio_service.audio import pcm as audio

RATE = 22050


def tone(seconds: float, amplitude: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_trim_removes_engine_silence_but_keeps_a_breath() -> None:
    speech = tone(0.5, 0.3)
    padded = audio.concat(audio.silence(400, RATE), speech, audio.silence(400, RATE))
    trimmed = audio.trim(padded, RATE)
    extra_ms = (trimmed.size - speech.size) / RATE * 1000
    assert 0 < extra_ms <= 2 * audio.TRIM_KEEP_MS + 1


def test_trim_of_silence_is_empty() -> None:
    assert audio.trim(audio.silence(300, RATE), RATE).size == 0


def test_fade_starts_and_ends_at_zero() -> None:
    faded = audio.fade(np.full(RATE, 0.5, dtype=np.float32), RATE)
    assert abs(faded[0]) < 1e-6
    assert abs(faded[-1]) < 1e-6
    assert faded[RATE // 2] == pytest.approx(0.5)
    # No step anywhere: the largest change between samples stays tiny.
    assert np.max(np.abs(np.diff(faded))) < 0.01


def test_limiter_holds_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    loud = tone(1.0, 1.6)
    limited = audio.limit(loud, -3.0, RATE)
    assert np.max(np.abs(limited)) <= 10 ** (-3 / 20) + 1e-6
    quiet = tone(1.0, 0.1)
    assert np.array_equal(audio.limit(quiet, -3.0, RATE), quiet)


def test_limiter_does_not_click() -> None:
    """A sudden loud burst is reduced smoothly, not by a gain step."""
    signal = audio.concat(tone(0.5, 0.2), tone(0.05, 1.5), tone(0.5, 0.2))
    limited = audio.limit(signal, -6.0, RATE)
    assert np.max(np.abs(np.diff(limited))) < 0.1
