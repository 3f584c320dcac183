"""Forced alignment of words to speech with pocketsphinx: an aligner independent of the engines."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from scipy.signal import resample_poly

ALIGN_RATE_HZ = 16_000  # what pocketsphinx's en-US acoustic model listens at
FRAME_MS = 10  # pocketsphinx frames are 10 ms apart

_NOT_WORD_RE = re.compile(r"[^a-z0-9']+")
_VARIANT_RE = re.compile(r"\(\d+\)$")  # "tuesday(2)": the dictionary's second pronunciation


def plain(word: str) -> str:
    """A written word as the pocketsphinx dictionary spells it: lower case, no punctuation."""
    return _NOT_WORD_RE.sub("", word.lower().replace("’", "'")).strip("'")


class Aligner:
    """One pocketsphinx decoder (its en-US model and CMU dictionary, from the wheel), reused."""

    def __init__(self) -> None:
        from pocketsphinx import Decoder  # type: ignore[import-untyped]

        self._decoder: Any = Decoder(loglevel="FATAL", samprate=float(ALIGN_RATE_HZ))

    def known(self, word: str) -> bool:
        """Is the word, made plain, in the dictionary (so it can be aligned)?"""
        spelled = plain(word)
        return bool(spelled) and self._decoder.lookup_word(spelled) is not None

    def align(self, pcm: bytes, rate: int, words: list[str]) -> list[tuple[str, int, int]]:
        """(plain word, start_ms, end_ms) for each of `words` the dictionary knows, in order.

        Unknown words are left out of the text to align, so their sound is absorbed by
        their neighbours; callers compare only known words (see `known`).
        """
        text = [plain(w) for w in words if self.known(w)]
        if not text:
            return []
        samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64)
        if rate != ALIGN_RATE_HZ:
            divisor = int(np.gcd(rate, ALIGN_RATE_HZ))
            samples = resample_poly(samples, ALIGN_RATE_HZ // divisor, rate // divisor)
        audio = np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()
        decoder = self._decoder
        decoder.set_align_text(" ".join(text))
        decoder.start_utt()
        decoder.process_raw(audio, full_utt=True)
        decoder.end_utt()
        found = [
            (_VARIANT_RE.sub("", seg.word), seg.start_frame, seg.end_frame)
            for seg in decoder.seg()
            if not seg.word.startswith(("<", "["))  # silence and filler entries
        ]
        if [w for w, _s, _e in found] != text:
            raise RuntimeError(f"pocketsphinx aligned {len(found)} of {len(text)} words")
        # end_frame is the last frame of the word, so the word ends one frame later.
        return [(w, s * FRAME_MS, (e + 1) * FRAME_MS) for w, s, e in found]


def align(pcm: bytes, rate: int, words: list[str]) -> list[tuple[str, int, int]]:
    """Align `words` to s16le mono `pcm` at `rate` Hz with a fresh aligner (see Aligner)."""
    return Aligner().align(pcm, rate, words)
