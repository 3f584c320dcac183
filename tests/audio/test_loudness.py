"""The one loudness meter and true peak, checked against pyloudnorm and full oversampling."""

from __future__ import annotations

import numpy as np
import pytest

from audio_service.audio import pcm as audio
from audio_service.audio.ffmpeg import resample
from audio_service.audio.loudness import integrated_lufs, true_peak_dbtp
from audio_service.audio.pcm import Samples
from audio_service.engines.pool import SynthPool
from audio_service.voices import VoiceDef
from tests.audio.reference import oversampled_true_peak_dbtp, pyloudnorm_lufs

RATE = 22050


def tone(seconds: float, amplitude: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_loudness_of_a_known_tone() -> None:
    # A full-scale 1 kHz sine reads -3.01 LUFS by the BS.1770 definition.
    assert integrated_lufs(tone(3.0, 1.0, 1000.0), RATE) == pytest.approx(-3.0, abs=0.2)
    assert integrated_lufs(tone(0.1, 1.0), RATE) == float("-inf")


def test_true_peak_sees_between_samples() -> None:
    # A sine at a quarter of the sample rate sampled at 45 degrees: samples peak at 0.707.
    n = np.arange(RATE)
    samples = np.sin(2 * np.pi * n / 4 + np.pi / 4).astype(np.float32)
    assert float(np.max(np.abs(samples))) < 0.72
    assert true_peak_dbtp(samples) == pytest.approx(0.0, abs=0.3)


def _speechy(rate: int, seconds: float, seed: int) -> Samples:
    """Noise in syllable-like bursts, loud and quiet passages and pauses: every gate works."""
    rng = np.random.default_rng(seed)
    t = np.arange(round(seconds * rate)) / rate
    bursts = np.clip(np.sin(2 * np.pi * 4.0 * t), 0, None) ** 2
    passages = np.where(np.sin(2 * np.pi * 0.15 * t) > 0, 1.0, 0.08)
    pauses = np.sin(2 * np.pi * 0.05 * t) > -0.9
    noise = rng.standard_normal(t.size) * 0.25
    out: Samples = (noise * bursts * passages * pauses).astype(np.float32)
    return out


@pytest.mark.parametrize("rate", [22050, 24000, 44100, 48000])
@pytest.mark.parametrize(
    ("seconds", "tolerance_lu"),
    # Where the length leaves a part of a block at the end, pyloudnorm counts it as one more
    # block (its energy over a whole block's length); BS.1770 and ours count whole blocks.
    [(23.0, 0.001), (61.27, 0.01)],
)
def test_meter_agrees_with_pyloudnorm_on_a_gated_signal(
    rate: int, seconds: float, tolerance_lu: float
) -> None:
    samples = _speechy(rate, seconds, seed=rate)
    assert abs(integrated_lufs(samples, rate) - pyloudnorm_lufs(samples, rate)) <= tolerance_lu


def test_meter_agrees_with_pyloudnorm_on_real_espeak_speech(
    pool: SynthPool, voices: dict[str, VoiceDef]
) -> None:
    voice = voices["en-gb-espeak"]
    texts = [
        "Ferry fares will rise by four per cent in March, the operator said on Tuesday.",
        "Passengers' groups called the increase unfair.",
        "The council will debate the plan next week, after the budget is published.",
    ]
    syntheses = [pool.synthesize(text, voice) for text in texts]
    rate = syntheses[0].sample_rate_hz
    raw = audio.join([audio.to_float(s.pcm) for s in syntheses], rate, 300)
    assert abs(integrated_lufs(raw, rate) - pyloudnorm_lufs(raw, rate)) <= 0.01
    up = resample(raw, rate, 44100)  # the episode rate
    assert abs(integrated_lufs(up, 44100) - pyloudnorm_lufs(up, 44100)) <= 0.01


def test_true_peak_looking_everywhere_equals_full_oversampling() -> None:
    samples = _speechy(RATE, 12.0, seed=3) * np.float32(3.0)
    assert abs(true_peak_dbtp(samples) - oversampled_true_peak_dbtp(samples)) <= 0.01


def test_true_peak_near_a_ceiling_equals_full_oversampling() -> None:
    samples = _speechy(RATE, 12.0, seed=5)
    samples *= np.float32(10 ** (-1.5 / 20) / np.abs(samples).max())  # peaks just under -1
    reference = oversampled_true_peak_dbtp(samples)
    assert abs(true_peak_dbtp(samples, -1.0) - reference) <= 0.01
    assert true_peak_dbtp(np.zeros(0, np.float32)) == float("-inf")
