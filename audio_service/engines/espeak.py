"""eSpeak NG through pyttsx3: the fast engine, loaded from the espeakng-loader wheel."""

from __future__ import annotations

import ctypes
import logging
import os
import re
from importlib import metadata
from typing import Any

from audio_service.engines.base import Synthesis
from audio_service.errors import EngineError
from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

# eSpeak NG misbehaves on very long "words" and on control characters; the segmenter
# already keeps text small, this is the engine's own guard.
MAX_WORD_CHARS = 40
MAX_TEXT_CHARS = 2000
SAMPLE_RATE_HZ = 22050  # eSpeak NG's output rate
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LONG_WORD = re.compile(rf"\S{{{MAX_WORD_CHARS + 1},}}")
_HAS_SPEECH = re.compile(r"\w")


def guard_text(text: str) -> str:
    """Return text eSpeak can safely speak: no control chars, no absurdly long words."""
    text = _CONTROL.sub(" ", text)
    text = _LONG_WORD.sub(
        lambda m: " ".join(
            m.group(0)[i : i + MAX_WORD_CHARS] for i in range(0, len(m.group(0)), MAX_WORD_CHARS)
        ),
        text,
    )
    text = " ".join(text.split())
    return text[:MAX_TEXT_CHARS] if _HAS_SPEECH.search(text) else ""


def load_library() -> ctypes.CDLL:
    """Make libespeak-ng loadable for pyttsx3 (before it imports its driver); return it.

    The wheel's copy is preferred so every machine speaks alike; a system library is the
    fallback. Must run before pyttsx3 imports its eSpeak driver.
    """
    try:
        import espeakng_loader

        os.environ.setdefault("ESPEAK_DATA_PATH", espeakng_loader.get_data_path())
        lib = ctypes.CDLL(espeakng_loader.get_library_path(), mode=ctypes.RTLD_GLOBAL)
    except (ImportError, OSError, RuntimeError) as exc:
        log.info("espeakng-loader unavailable (%s); trying the system libespeak-ng", exc)
        try:
            lib = ctypes.CDLL("libespeak-ng.so.1", mode=ctypes.RTLD_GLOBAL)
        except OSError as exc2:
            raise EngineError("eSpeak NG not found: install the espeakng-loader package") from exc2
    return lib


def library_version(lib: ctypes.CDLL) -> str:
    info = lib.espeak_Info
    info.restype = ctypes.c_char_p
    info.argtypes = [ctypes.c_void_p]
    raw = info(None)
    return raw.decode() if raw else "unknown"


class EspeakEngine:
    """eSpeak NG, initialised and voiced through pyttsx3, one per process.

    pyttsx3's own run loop (`runAndWait`) races eSpeak's asynchronous synthesis: it can
    return, or even cancel, before a text is finished, and its buffer grows quadratically.
    So voices and prosody are set through pyttsx3's properties, and synthesis goes through
    the eSpeak binding pyttsx3 ships (`pyttsx3.drivers._espeak`): Synth, then Synchronize,
    which blocks until eSpeak has delivered every sample, with our own callback collecting
    the audio and the word events (which carry each word's time: word-level timings).
    eSpeak reports rate in words per minute, pitch 0-99 and volume as a fraction.

    eSpeak's output is not bit-identical from one call to the next (its pitch flutter runs
    on a phase that persists across texts), so identity of audio comes from the caches,
    never from re-synthesis.
    """

    name = "espeak"

    def __init__(self) -> None:
        lib = load_library()
        import pyttsx3

        self.version = f"espeak-ng-{library_version(lib)}+pyttsx3-{metadata.version('pyttsx3')}"

        try:
            self._tts: Any = pyttsx3.init("espeak")
            from pyttsx3.drivers import _espeak
            from pyttsx3.drivers.espeak import EspeakDriver
        except Exception as exc:
            raise EngineError(f"could not start eSpeak NG through pyttsx3: {exc}") from exc
        self._espeak: Any = _espeak
        # The engine object queues property changes until its run loop runs, which we never
        # start; the driver's static setters apply them at once.
        self._set: Any = EspeakDriver.setProperty
        self._chunks: list[bytes] = []
        self._words: list[tuple[int, int, int]] = []  # (text position, length, ms)
        # eSpeak's callback is process-global; this engine owns it from here on.
        _espeak.SetSynthCallback(self._collect)

    def _collect(self, wav: Any, numsamples: int, events: Any) -> int:
        if numsamples > 0:
            self._chunks.append(ctypes.string_at(wav, numsamples * 2))
        i = 0
        while events[i].type != self._espeak.EVENT_LIST_TERMINATED:
            event = events[i]
            if event.type == self._espeak.EVENT_WORD:
                self._words.append((event.text_position, event.length, event.audio_position))
            i += 1
        return 0

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        text = guard_text(text)
        if not text:
            return Synthesis(pcm=b"", sample_rate_hz=SAMPLE_RATE_HZ)
        try:
            self._set("voice", voice.engine_voice)
            self._set("rate", voice.rate_wpm)
            self._set("pitch", voice.pitch)
            self._set("volume", voice.volume)
        except (ValueError, KeyError) as exc:
            raise EngineError(f"eSpeak rejected voice {voice.id!r}: {exc}") from exc
        self._chunks, self._words = [], []
        espeak = self._espeak
        # PHONEMES: lexicon entries may give eSpeak phonemes as [[...]].
        status = espeak.Synth(text, flags=espeak.CHARS_UTF8 | espeak.PHONEMES)
        if status != 0:
            raise EngineError(f"eSpeak refused the text (status {status}): {text[:60]!r}")
        espeak.Synchronize()
        pcm = b"".join(self._chunks)
        words = _word_timings(text, self._words, len(pcm) // 2 * 1000 // SAMPLE_RATE_HZ)
        return Synthesis(pcm=pcm, sample_rate_hz=SAMPLE_RATE_HZ, words=words)

    def close(self) -> None:
        # Drop pyttsx3's engine now: its finaliser fails if left to interpreter shutdown.
        self._tts = None


def _word_timings(
    text: str, events: list[tuple[int, int, int]], total_ms: int
) -> tuple[WordTiming, ...]:
    """Word events -> timings; each word lasts until the next begins (or the audio ends)."""
    words: list[WordTiming] = []
    for i, (position, length, start_ms) in enumerate(events):
        # eSpeak counts positions from 1, in characters of the text.
        word = text[position - 1 : position - 1 + length]
        end_ms = events[i + 1][2] if i + 1 < len(events) else total_ms
        if word.strip():
            words.append(WordTiming(word=word, start_ms=start_ms, end_ms=max(start_ms, end_ms)))
    return tuple(words)
