"""Reference measurements the tests check ours against: pyloudnorm, and oversampling everything."""

from __future__ import annotations

import numpy as np
import pyloudnorm
from scipy import signal

from audio_service.audio.pcm import Samples


def pyloudnorm_lufs(samples: Samples, sample_rate_hz: int) -> float:
    """BS.1770 integrated loudness by pyloudnorm; -inf below its half-second minimum."""
    if samples.size < sample_rate_hz // 2:
        return float("-inf")
    return float(pyloudnorm.Meter(sample_rate_hz).integrated_loudness(samples.astype(np.float64)))


def oversampled_true_peak_dbtp(samples: Samples) -> float:
    """Peak of the whole signal 4x oversampled by scipy (BS.1770 annex 2), in dBTP."""
    if samples.size == 0:
        return float("-inf")
    up = signal.resample_poly(samples.astype(np.float64), 4, 1)
    peak = float(np.max(np.abs(up)))
    return 20 * float(np.log10(peak)) if peak > 0 else float("-inf")
