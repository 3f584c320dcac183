"""eSpeak NG through pyttsx3: the fast engine, loaded from the espeakng-loader wheel."""

from __future__ import annotations

import contextlib
import ctypes
import io
import logging
import os
import re
import tempfile
import wave
from importlib import metadata
from pathlib import Path
from typing import Any

from audio_service.engines.base import Synthesis
from audio_service.errors import EngineError
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

# eSpeak NG misbehaves on very long "words" and on control characters; the segmenter
# already keeps text small, this is the engine's own guard.
MAX_WORD_CHARS = 40
MAX_TEXT_CHARS = 2000
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


def load_library() -> str:
    """Make libespeak-ng loadable for pyttsx3 and return its version string.

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
    info = lib.espeak_Info
    info.restype = ctypes.c_char_p
    info.argtypes = [ctypes.c_void_p]
    raw = info(None)
    return raw.decode() if raw else "unknown"


class EspeakEngine:
    """pyttsx3's eSpeak driver, one per process (eSpeak initialises once per process)."""

    name = "espeak"

    def __init__(self) -> None:
        lib_version = load_library()
        import pyttsx3

        self.version = f"espeak-ng-{lib_version}+pyttsx3-{metadata.version('pyttsx3')}"
        try:
            self._tts: Any = pyttsx3.init("espeak")
        except Exception as exc:
            raise EngineError(f"could not start eSpeak NG through pyttsx3: {exc}") from exc
        self._done = False
        self._tts.connect("finished-utterance", self._on_finished)
        self._tmp = Path(tempfile.mkdtemp(prefix="audio-service-espeak-"))
        self._wav = self._tmp / "segment.wav"

    def _on_finished(self, name: str | None, completed: bool) -> None:
        self._done = True

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        text = guard_text(text)
        if not text:
            return Synthesis(pcm=b"", sample_rate_hz=22050)
        tts = self._tts
        try:
            tts.setProperty("voice", voice.engine_voice)
            tts.setProperty("rate", voice.rate_wpm)
            tts.setProperty("pitch", voice.pitch)
            tts.setProperty("volume", voice.volume)
        except (ValueError, KeyError) as exc:
            raise EngineError(f"eSpeak rejected voice {voice.id!r}: {exc}") from exc
        self._wav.unlink(missing_ok=True)
        self._done = False
        # The driver prints "Audio saved to ..." on stdout; keep stdout for our own output.
        with contextlib.redirect_stdout(io.StringIO()):
            tts.save_to_file(text, str(self._wav))
            tts.runAndWait()
            # runAndWait can return before eSpeak has finished a long utterance.
            while not self._done:
                tts.iterate()
                tts.runAndWait()
        try:
            with wave.open(str(self._wav), "rb") as wav:
                rate = wav.getframerate()
                pcm = wav.readframes(wav.getnframes())
        except (OSError, wave.Error, EOFError) as exc:
            raise EngineError(f"eSpeak produced no readable audio for {text[:60]!r}") from exc
        return Synthesis(pcm=pcm, sample_rate_hz=rate)

    def close(self) -> None:
        self._wav.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            self._tmp.rmdir()
