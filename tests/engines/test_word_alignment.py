"""The neural engines' own word timings against an independent forced aligner (pocketsphinx)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from audio_service.engines.base import Synthesis
from audio_service.engines.kokoro import HibariEngine, KokoroEngine
from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef
from tests.support.align import Aligner, plain

# The goal for word timings against forced alignment of the same audio.
BOUND_MS = 80
# News sentences with no numbers, so the written and spoken words are the same.
TEXT = (
    "The council has agreed a new plan for the city centre after months of debate. "
    "Shops and cafes will be allowed to open later on weekends, and buses will run more often. "
    "Residents said the changes were welcome but overdue."
)
VOICES = ("en-gb-kokoro-emma", "en-gb-kokoro-george", "en-us-hibari-heart")


@pytest.fixture(scope="module")
def aligner() -> Aligner:
    return Aligner()


@pytest.fixture(scope="module")
def spoken(voices: dict[str, VoiceDef]) -> Iterator[dict[str, Synthesis]]:
    """Each voice's synthesis of TEXT, in-process: two engines, loaded once for the module."""
    kokoro, hibari = KokoroEngine(), HibariEngine()
    try:
        yield {
            voice_id: (hibari if voices[voice_id].engine == "hibari" else kokoro).synthesize(
                TEXT, voices[voice_id]
            )
            for voice_id in VOICES
        }
    finally:
        kokoro.close()
        hibari.close()


def _errors(
    aligner: Aligner, synthesis: Synthesis, words: tuple[WordTiming, ...]
) -> tuple[list[int], list[int], int]:
    """Per aligned word, start and end error (engine minus aligner, ms); how many were skipped."""
    known = [w for w in words if aligner.known(w.word)]
    reference = aligner.align(synthesis.pcm, synthesis.sample_rate_hz, [w.word for w in known])
    assert [plain(w.word) for w in known] == [r[0] for r in reference]
    starts = [w.start_ms - r[1] for w, r in zip(known, reference, strict=True)]
    ends = [w.end_ms - r[2] for w, r in zip(known, reference, strict=True)]
    return starts, ends, len(words) - len(known)


def _summary(name: str, errors: list[int]) -> str:
    size = np.abs(errors)
    return (
        f"{name}: median |error| {np.median(size):.0f} ms, p90 {np.percentile(size, 90):.0f} ms,"
        f" max {size.max()} ms, median signed {np.median(errors):+.0f} ms (+ = engine later)"
        f" over {len(errors)} words"
    )


@pytest.mark.parametrize("voice_id", VOICES)
def test_word_timings_agree_with_forced_alignment(
    aligner: Aligner, spoken: dict[str, Synthesis], voice_id: str
) -> None:
    synthesis = spoken[voice_id]
    assert [plain(w.word) for w in synthesis.words] == [plain(w) for w in TEXT.split()]
    starts, ends, skipped = _errors(aligner, synthesis, synthesis.words)
    assert skipped <= 2, f"{skipped} words are not in the aligner's dictionary"
    report = f"{voice_id}: {_summary('start', starts)}; {_summary('end', ends)}"
    print(report)  # the figures for the report, with -s
    assert np.median(np.abs(starts)) < BOUND_MS, report
    assert np.median(np.abs(ends)) < BOUND_MS, report


def test_timings_shifted_by_200_ms_fail_the_check(
    aligner: Aligner, spoken: dict[str, Synthesis]
) -> None:
    """The comparison can fail: the same audio with every word moved 200 ms later misses."""
    synthesis = spoken[VOICES[0]]
    shifted = tuple(
        replace(w, start_ms=w.start_ms + 200, end_ms=w.end_ms + 200) for w in synthesis.words
    )
    starts, ends, _skipped = _errors(aligner, synthesis, shifted)
    assert np.median(np.abs(starts)) > BOUND_MS and np.median(np.abs(ends)) > BOUND_MS
