"""Speech PCM: int16 <-> float, silences and joins, trimming, fades, the look-ahead limiter."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from audio_service.audio.settings import AudioSettings

Samples = npt.NDArray[np.float32]

FADE_MS = 6  # long enough to remove clicks, short enough not to blunt consonants
TRIM_THRESHOLD_DBFS = -50.0
TRIM_KEEP_MS = 15  # leave a breath of the engine's own onset/decay around trimmed speech
LIMITER_LOOKAHEAD_MS = 4
LIMITER_RELEASE_MS = 40


def to_float(pcm: bytes) -> Samples:
    return np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0


def to_pcm(samples: Samples) -> bytes:
    clipped = np.clip(np.rint(samples * 32767.0), -32768, 32767)
    return bytes(clipped.astype("<i2").tobytes())


def silence(ms: float, sample_rate_hz: int) -> Samples:
    return np.zeros(round(ms * sample_rate_hz / 1000), dtype=np.float32)


def concat(*parts: Samples) -> Samples:
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def join(parts: list[Samples], sample_rate_hz: int, pause_ms: float) -> Samples:
    """Segments with a fixed pause between them (calibration and tests)."""
    gap = silence(pause_ms, sample_rate_hz)
    pieces: list[Samples] = []
    for part in parts:
        pieces.extend((part, gap))
    return np.concatenate(pieces) if pieces else gap[:0]


def speech_bounds(samples: Samples, sample_rate_hz: int) -> tuple[int, int]:
    """[start, end) of the engine's speech without its leading and trailing silence."""
    threshold = 10 ** (TRIM_THRESHOLD_DBFS / 20)
    loud = np.flatnonzero(np.abs(samples) > threshold)
    if loud.size == 0:
        return 0, 0
    keep = round(TRIM_KEEP_MS * sample_rate_hz / 1000)
    return max(0, int(loud[0]) - keep), min(samples.size, int(loud[-1]) + 1 + keep)


def trim(samples: Samples, sample_rate_hz: int) -> Samples:
    """Cut the engine's leading and trailing silence; our own pauses replace it."""
    start, end = speech_bounds(samples, sample_rate_hz)
    return samples[start:end]


def fade(samples: Samples, sample_rate_hz: int) -> Samples:
    """Raised-cosine fade in and out so every join with silence starts and ends at zero."""
    n = min(round(FADE_MS * sample_rate_hz / 1000), samples.size // 2)
    if n == 0:
        return samples
    out = samples.copy()
    ramp = (0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, n, dtype=np.float32))).astype(np.float32)
    out[:n] *= ramp
    out[-n:] *= ramp[::-1]
    return out


def limit(samples: Samples, ceiling_dbfs: float, sample_rate_hz: int) -> Samples:
    """Look-ahead peak limiter: gain falls before a peak arrives and recovers smoothly.

    The required gain is widened by a minimum filter over look-ahead + release and then
    smoothed by a moving average over the look-ahead, so the smoothed gain never exceeds
    what any sample needs: no sample ends above the ceiling.
    """
    if samples.size == 0:
        return samples
    ceiling = np.float32(10 ** (ceiling_dbfs / 20))
    peak = np.abs(samples)
    if float(peak.max()) <= ceiling:
        return samples
    need = np.minimum(np.float32(1.0), ceiling / np.maximum(peak, np.float32(1e-9)))
    look = max(1, round(LIMITER_LOOKAHEAD_MS * sample_rate_hz / 1000))
    release = max(1, round(LIMITER_RELEASE_MS * sample_rate_hz / 1000))
    widened = ndimage.minimum_filter1d(need, size=2 * look + release, mode="nearest")
    gain = ndimage.uniform_filter1d(widened, size=look, mode="nearest")
    out: Samples = (samples * gain).astype(np.float32)
    # Float rounding in the moving average can leave a peak a hair above the ceiling.
    np.clip(out, -ceiling, ceiling, out=out)
    return out


def shape_segment(
    pcm: bytes, sample_rate_hz: int, gain_db: float, settings: AudioSettings
) -> tuple[Samples, int]:
    """Engine PCM -> trimmed, gained, limited, faded float samples ready to join, and the
    index in the engine's PCM where they start (to move the engine's word times)."""
    raw = to_float(pcm)
    start, end = speech_bounds(raw, sample_rate_hz)
    samples = raw[start:end]
    if samples.size == 0:
        return samples, 0
    samples = samples * np.float32(10 ** (gain_db / 20))
    samples = limit(samples, settings.true_peak_dbtp - settings.peak_margin_db, sample_rate_hz)
    return fade(samples, sample_rate_hz), start
