"""AudioSettings: how speech is shaped and encoded (a leaf: imports no audio libraries)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AudioSettings:
    """How speech is shaped before encoding; part of every cache key."""

    loudness_lufs: float = -19.0
    true_peak_dbtp: float = -1.0
    # The limiter works on sample peaks; MP3 coding and inter-sample peaks add up to
    # about 1 dB, so it holds samples this much below the true-peak ceiling.
    peak_margin_db: float = 1.2
    bitrate_kbps: int = 64
    mp3_quality: int = 7  # LAME's 0 (best, slow) .. 9 (fast); 7 is transparent for speech
