"""Mixing under speech: a music bed looped beneath an episode, ducked wherever speech plays."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import ndimage

from audio_service.audio.pcm import Samples

BED_RAMP_MS = 150  # a music bed falls (and rises) over this
BED_FADE_IN_MS, BED_FADE_OUT_MS = 2000, 3000  # and fades in and out at the episode's ends
CHUNK = 1 << 18  # samples a block when adding the bed: temporaries stay small


def mix_bed(
    out: Samples, bed: Samples, foreground: Sequence[tuple[int, int]], duck_db: float, rate: int
) -> None:
    """Add a music bed to `out` IN PLACE: looped to its length, faded in and out, and
    `duck_db` lower wherever a foreground span (speech, jingles) plays; the bed has
    finished falling when the foreground starts and starts rising when it ends."""
    if bed.size == 0 or out.size == 0:
        return
    block = rate // 100  # the envelope, in 10 ms steps
    count = -(-out.size // block)
    active = np.zeros(count, np.uint8)
    for start, end in foreground:
        active[start // block : -(-end // block)] = 1
    ramp = max(2, BED_RAMP_MS // 10)
    active = ndimage.maximum_filter1d(active, size=ramp + 1)  # ramp / 2 either side
    envelope = np.where(active > 0, np.float32(10 ** (-duck_db / 20)), np.float32(1))
    envelope = ndimage.uniform_filter1d(envelope.astype(np.float32), size=ramp, mode="nearest")
    steps = np.arange(count, dtype=np.float32)
    envelope *= np.clip(steps / (BED_FADE_IN_MS // 10), 0, 1)
    envelope *= np.clip((count - 1 - steps) / (BED_FADE_OUT_MS // 10), 0, 1)
    centres = (np.arange(count) + 0.5) * block
    for begin in range(0, out.size, CHUNK):
        index = np.arange(begin, min(out.size, begin + CHUNK))
        gain = np.interp(index, centres, envelope).astype(np.float32)
        out[index[0] : index[-1] + 1] += bed[index % bed.size] * gain
