"""The one loudness meter (BS.1770 integrated LUFS), true peak, and levelling to a target."""

from __future__ import annotations

import itertools
import logging
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import numpy.typing as npt
from scipy import signal

from audio_service.audio import pcm as audio
from audio_service.audio.pcm import Samples
from audio_service.errors import AudioError

log = logging.getLogger(__name__)

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LOUDNESS_PASSES = 6
LOUDNESS_TOLERANCE_LU = 0.05  # on the probe; the whole may miss by twice that
SETTLE_S = 0.2  # the K filter forgets its past within this (38 Hz pole: e^-48)
TRUE_PEAK_WINDOW_DB = 3.0  # oversample only where sample peaks come this close to the ceiling
CHUNK = 1 << 18  # samples a block in whole-episode passes: temporaries stay small
Energies = npt.NDArray[np.float64]


def _k_weighting(rate: int) -> npt.NDArray[np.float32]:
    """BS.1770's two biquads (high shelf, then high pass), as pyloudnorm designs them."""
    w0, q = 2 * np.pi * 1500.0 / rate, 1 / np.sqrt(2)
    a, alpha, cos = 10 ** (4.0 / 40), np.sin(w0) / (2 * q), np.cos(w0)
    root = 2 * np.sqrt(a) * alpha
    shelf_b = [
        a * ((a + 1) + (a - 1) * cos + root),
        -2 * a * ((a - 1) + (a + 1) * cos),
        a * ((a + 1) + (a - 1) * cos - root),
    ]
    shelf_a = [(a + 1) - (a - 1) * cos + root, 2 * ((a - 1) - (a + 1) * cos)]
    shelf_a.append((a + 1) - (a - 1) * cos - root)
    w0 = 2 * np.pi * 38.0 / rate
    alpha, cos = np.sin(w0) / (2 * 0.5), np.cos(w0)
    pass_b = [(1 + cos) / 2, -(1 + cos), (1 + cos) / 2]
    pass_a = [1 + alpha, -2 * cos, 1 - alpha]
    rows = [np.r_[shelf_b, shelf_a] / shelf_a[0], np.r_[pass_b, pass_a] / pass_a[0]]
    return np.asarray(rows, dtype=np.float32)


def _sub_block(rate: int) -> int:
    return rate // 10  # gating blocks are 400 ms with 75% overlap: four 100 ms sub-blocks


def sub_block_energies(samples: Samples, rate: int, workers: int = 1) -> Energies:
    """Sum of squares of the K-weighted signal in each whole 100 ms sub-block; in
    `workers` threads (scipy filters outside the GIL), each from rest SETTLE_S early."""
    count = samples.size // _sub_block(rate)
    if workers <= 1 or count < workers * 100:
        return _energies(samples, rate, 0, count)
    bounds = [count * i // workers for i in range(workers + 1)]
    with ThreadPoolExecutor(workers) as pool:
        parts = pool.map(
            lambda i: _energies(samples, rate, bounds[i], bounds[i + 1]), range(workers)
        )
        return np.concatenate(list(parts))


def _energies(samples: Samples, rate: int, first: int, last: int) -> Energies:
    size = _sub_block(rate)
    sos = _k_weighting(rate)
    state = np.zeros((sos.shape[0], 2), dtype=np.float32)
    if first:
        lead = samples[max(0, first * size - round(SETTLE_S * rate)) : first * size]
        state = signal.sosfilt(sos, lead, zi=state)[1]
    out = np.empty(last - first, dtype=np.float64)
    step = 100  # sub-blocks a chunk: the filter's state carries over, results are unchanged
    for at in range(first, last, step):
        end = min(last, at + step)
        weighted, state = signal.sosfilt(sos, samples[at * size : end * size], zi=state)
        squared = np.square(weighted, dtype=np.float32).reshape(end - at, size)
        out[at - first : end - first] = squared.sum(axis=1, dtype=np.float64)
    return out


def lufs_from_energies(energies: Energies, rate: int) -> float:
    """Gated integrated loudness (BS.1770-4, mono) from sub-block energies."""
    if energies.size < 4:
        return float("-inf")
    sums = np.cumsum(np.concatenate(([0.0], energies)))
    blocks = (sums[4:] - sums[:-4]) / (4 * _sub_block(rate))
    with np.errstate(divide="ignore"):
        loudness = -0.691 + 10 * np.log10(blocks)
    gated = blocks[loudness >= ABSOLUTE_GATE_LUFS]
    if gated.size == 0:
        return float("-inf")
    relative = -0.691 + 10 * float(np.log10(gated.mean())) + RELATIVE_GATE_LU
    gated = blocks[(loudness > relative) & (loudness >= ABSOLUTE_GATE_LUFS)]
    return -0.691 + 10 * float(np.log10(gated.mean()))


def integrated_lufs(samples: Samples, rate: int) -> float:
    """BS.1770 integrated loudness (LUFS); -inf for silence or under 400 ms.

    pyloudnorm's figure (tests/audio checks it) some 20 times faster: the same to 0.001 LU,
    but pyloudnorm also counts a part-block left at the end as a block, which moves its
    figure by up to about 0.01 LU on 20 seconds of audio (less on longer)."""
    return lufs_from_energies(sub_block_energies(samples, rate), rate)


def _reach(rate: int) -> int:
    """Samples either side that `audio.limit` looks at (look-ahead and release windows)."""
    look = max(1, round(audio.LIMITER_LOOKAHEAD_MS * rate / 1000))
    return 3 * look + max(1, round(audio.LIMITER_RELEASE_MS * rate / 1000)) + 2


def _level(
    samples: Samples,
    lo: int,
    hi: int,
    gain: np.float32,
    ceiling_dbfs: float,
    rate: int,
    *,
    edges: tuple[Samples, Samples],
    write: bool,
) -> Energies:
    """Gain and limiter over samples[lo:hi], chunk by chunk (written back in place when
    `write`), and the K-weighted energy of each whole sub-block of the result.

    `edges` are the input's samples just before lo and just after hi, copied before any
    writing started: with them each chunk is limited as part of the whole signal.
    """
    size, pad = _sub_block(rate), _reach(rate)
    sos = _k_weighting(rate)
    left, right = edges
    state = np.zeros((sos.shape[0], 2), np.float32)
    if left.size:  # the filter settles on the gained input before lo
        state = signal.sosfilt(sos, left[-round(SETTLE_S * rate) :] * gain, zi=state)[1]
    out = np.empty((hi - lo) // size, np.float64)
    step = 100 * size  # the filter's state carries over: results do not depend on it
    for begin in range(lo, hi, step):
        end = min(hi, begin + step)
        after = samples[end : min(hi, end + pad)]  # never into another thread's stretch
        if after.size < pad:
            after = np.concatenate((after, right[: pad - after.size]))
        source = np.concatenate((left, samples[begin:end], after)) * gain
        limited = audio.limit(source, ceiling_dbfs, rate)[left.size : left.size + end - begin]
        left = samples[end - pad : end].copy()  # before it is overwritten
        if write:
            samples[begin:end] = limited
        weighted, state = signal.sosfilt(sos, limited, zi=state)
        whole = (end - begin) // size
        squared = np.square(weighted[: whole * size], dtype=np.float32).reshape(whole, size)
        out[(begin - lo) // size : (begin - lo) // size + whole] = squared.sum(1, np.float64)
    return out


def level(
    samples: Samples,
    gain_db: float,
    ceiling_dbfs: float,
    rate: int,
    *,
    write: bool,
    workers: int = 1,
) -> float:
    """Loudness (LUFS) of the signal with a gain and the limiter applied; applied IN PLACE
    when `write` (an episode is hundreds of MB: no second copy), in `workers` threads
    (scipy's filters and numpy run outside the GIL), each on its own stretch."""
    size, pad = _sub_block(rate), _reach(rate)
    count = samples.size // size
    parts = 1 if count < workers * 100 else workers
    bounds = [count * i // parts * size for i in range(parts)] + [samples.size]
    lead = round(SETTLE_S * rate)
    edges = [
        (samples[max(0, lo - max(pad, lead)) : lo].copy(), samples[hi : hi + pad].copy())
        for lo, hi in itertools.pairwise(bounds)
    ]
    gain = np.float32(10 ** (gain_db / 20))

    def part(i: int) -> Energies:
        lo, hi = bounds[i], bounds[i + 1]
        return _level(samples, lo, hi, gain, ceiling_dbfs, rate, edges=edges[i], write=write)

    with ThreadPoolExecutor(parts) as pool:
        energies = np.concatenate(list(pool.map(part, range(parts))))
    return lufs_from_energies(energies, rate)


def _probe(samples: Samples, rate: int) -> Samples:
    """Three seconds out of every thirty: the limiter takes much the same share of them."""
    block, every = rate * 3, rate * 30
    if samples.size <= every * 4:
        return samples
    return np.concatenate([samples[i : i + block] for i in range(0, samples.size, every)])


def _solve_gain(
    samples: Samples, rate: int, target_lufs: float, ceiling_dbfs: float
) -> tuple[float, float]:
    """Secant search for the gain whose limited result measures the target; and the slope
    (loudness gained per dB: well under 1 where the limiter takes much of it)."""
    measured = integrated_lufs(samples, rate)
    if not np.isfinite(measured):
        raise AudioError("episode is silent")
    gain, slope = 0.0, 1.0
    for _ in range(LOUDNESS_PASSES):
        if abs(target_lufs - measured) < LOUDNESS_TOLERANCE_LU:
            break
        step = (target_lufs - measured) / slope
        now = level(samples, gain + step, ceiling_dbfs, rate, write=False, workers=2)
        slope = max(0.05, (now - measured) / step)
        gain, measured = gain + step, now
    return gain, slope


def normalise(
    samples: Samples, rate: int, target_lufs: float, ceiling_dbfs: float, workers: int = 2
) -> float:
    """One gain for the whole episode and the limiter, IN PLACE; the loudness after.

    The gain is searched for on a probe of the episode (its loudness offset from the
    whole allowed for) and applied to all of it. Should the whole miss, a second, small
    gain and the limiter again (the input is no longer there to start over from).
    """
    whole = lufs_from_energies(sub_block_energies(samples, rate, workers), rate)
    if not np.isfinite(whole):
        raise AudioError("episode is silent")
    probe = _probe(samples, rate)
    offset = integrated_lufs(probe, rate) - whole if probe.size < samples.size else 0.0
    gain, slope = _solve_gain(probe, rate, target_lufs + offset, ceiling_dbfs)
    measured = level(samples, gain, ceiling_dbfs, rate, write=True, workers=workers)
    if abs(target_lufs - measured) > LOUDNESS_TOLERANCE_LU * 2:
        extra = (target_lufs - measured) / slope
        measured = level(samples, extra, ceiling_dbfs, rate, write=True, workers=workers)
    return measured


def _phases(up: int) -> npt.NDArray[np.float32]:
    """resample_poly's interpolation filter, one column per output phase."""
    taps = signal.firwin(2 * 10 * up + 1, 1 / up, window=("kaiser", 5.0)) * up
    length = -(-taps.size // up)
    padded = np.zeros(length * up)
    padded[: taps.size] = taps
    # Column p holds taps p, p+up, ...; reversed so a window of samples dots with it.
    return np.asarray(padded.reshape(length, up)[::-1], dtype=np.float32)


def true_peak_dbtp(samples: Samples, ceiling_dbtp: float | None = None) -> float:
    """4x-oversampled peak (BS.1770 annex 2), in dBTP.

    Given a ceiling, oversampling happens only around samples near it: between samples a
    band-limited signal rises far less than TRUE_PEAK_WINDOW_DB above them, so the result
    is exact wherever it matters against that ceiling. None oversamples everywhere.
    Block by block, so no episode-sized temporaries are made (their page faults cost
    more than the arithmetic)."""
    if samples.size == 0:
        return float("-inf")
    threshold = None
    if ceiling_dbtp is not None:
        threshold = np.float32(10 ** ((ceiling_dbtp - TRUE_PEAK_WINDOW_DB) / 20))
    phases = _phases(4)
    length = phases.shape[0]
    delay = length // 2  # the filter's centre: output m covers input m - delay
    peak = 0.0
    for begin in range(0, samples.size, CHUNK):
        end = min(samples.size, begin + CHUNK)
        magnitude = np.abs(samples[begin:end])
        peak = max(peak, float(magnitude.max()))
        if threshold is None:
            near = np.arange(max(0, begin - 1), min(samples.size, end + 1))
        else:
            loud = np.flatnonzero(magnitude > threshold)
            if loud.size == 0:
                continue
            # The intervals either side of a loud sample: samples i-1, i, i+1 (in the signal).
            near = np.unique(np.concatenate((loud - 1, loud, loud + 1))) + begin
            near = near[(near >= 0) & (near < samples.size)]
        # The signal from begin - length to end + length, zero outside it.
        low, high = begin - length, end + length
        local = np.zeros(high - low, np.float32)
        local[max(0, low) - low : min(samples.size, high) - low] = samples[
            max(0, low) : min(samples.size, high)
        ]
        windows = np.lib.stride_tricks.sliding_window_view(local, length)
        values = windows[near - begin + delay + 1] @ phases
        peak = max(peak, float(np.abs(values).max()))
    return 20 * float(np.log10(peak)) if peak > 0 else float("-inf")
