"""Phonemes in spoken text: `[[...]]` eSpeak mnemonic spans, their IPA, and Kokoro's alphabet."""

from __future__ import annotations

import ctypes
import functools
import logging
import os
import re
import sys
import threading
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from audio_service.errors import EngineError

log = logging.getLogger(__name__)

# The lexicon's one phoneme notation: eSpeak NG mnemonics in double brackets, which eSpeak
# speaks natively (espeakPHONEMES) and every other engine gets converted. IPA written as
# /.../ is deliberately not accepted: eSpeak could not speak it, and slashes occur in news
# text ("24/7", "and/or"), so a rule would work on some engines and silently not on others.
_SPAN = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)

# Flags of eSpeak NG's speak_lib.h API.
_CHARS_UTF8 = 1
_PHONEMES_INPUT = 0x100  # espeakPHONEMES: read [[...]] as phoneme mnemonics
_TRACE_IPA = 0x02  # espeak_SetPhonemeTrace: write the phonemes spoken, in IPA
# eSpeak marks a word it speaks with another language's rules as "(fr)...(en)".
_LANGUAGE_SWITCH = re.compile(r"\([^)]*\)")

# The keys of Kokoro's phoneme vocabulary (hibari ships the same 114 in assets/vocab.json).
MISAKI_VOCAB = frozenset(
    ';:,.!?—…"()“” \u0303ʣʥʦʨᵝꭧAIOQSTWYᵊabcdefhijklmnopqrstuvwxyzɑɐɒæβɔɕçɖðʤəɚɛɜɟɡɥɨɪʝɯɰ'
    "ŋɳɲɴøɸθœɹɾɻʁɽʂʃʈʧʊʋʌɣɤχʎʒʔˈˌːʰʲ↓→↗↘ᵻ"
)

# eSpeak's English IPA -> misaki's, both accents: misaki writes the diphthongs and
# affricates as one symbol each and knows only the English consonants.
_MISAKI_COMMON = {
    "tʃ": "ʧ",
    "dʒ": "ʤ",
    "eɪ": "A",
    "aɪ": "I",
    "aʊ": "W",
    "ɔɪ": "Y",
    "g": "ɡ",
    "r": "ɹ",
    "ɫ": "l",
    "ɬ": "l",
    "x": "k",
    "ɐ": "ə",
    # Piper's eSpeak build glides out of a long i ("iːʲ"); misaki has no such glide.
    "ʲ": "",
}
# US misaki has no length marks, spells r-coloured vowels with ɹ and writes GOAT as O.
_MISAKI_US = {
    **_MISAKI_COMMON,
    "oʊ": "O",
    "əʊ": "O",
    "ɜːɹ": "ɜɹ",
    "ɜː": "ɜɹ",
    "ɝ": "ɜɹ",
    "ɚ": "əɹ",
    "ɪə": "iə",
    "ɒ": "ɑ",
    "a": "æ",
    "ː": "",
}
# British misaki keeps length, writes GOAT as Q and SQUARE as ɛː, and has no flap.
_MISAKI_GB = {
    **_MISAKI_COMMON,
    "oʊ": "Q",
    "əʊ": "Q",
    "eə": "ɛː",
    "ɛə": "ɛː",
    "iə": "ɪə",
    "ɚ": "ə",
    "ɝ": "ɜː",
    "ɾ": "t",
    "æ": "a",
}


def _alternation(table: dict[str, str]) -> re.Pattern[str]:
    # Longest first, so "ɜːɹ" wins over "ɜː" and "eɪ" over "e".
    return re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))


_US_PATTERN = _alternation(_MISAKI_US)
_GB_PATTERN = _alternation(_MISAKI_GB)


@dataclass(frozen=True)
class Span:
    """A run of spoken text: plain words, or eSpeak mnemonics from inside `[[...]]`."""

    text: str
    is_phonemes: bool = False


def has_phonemes(text: str) -> bool:
    """True when `text` holds at least one `[[...]]` span."""
    return _SPAN.search(text) is not None


def spans(text: str) -> list[Span]:
    """Split `text` into plain and phoneme spans, in order; empty plain runs are left out.

    An empty `[[]]` is dropped; an unclosed `[[` stays plain text.
    """
    out: list[Span] = []
    pos = 0
    for m in _SPAN.finditer(text):
        if m.start() > pos:
            _add_plain(out, text[pos : m.start()])
        if m[1].strip():
            out.append(Span(m[1].strip(), is_phonemes=True))
        pos = m.end()
    if pos < len(text):
        _add_plain(out, text[pos:])
    return out


def _add_plain(out: list[Span], text: str) -> None:
    # Runs either side of a dropped empty span join into one.
    if out and not out[-1].is_phonemes:
        out[-1] = Span(out[-1].text + text)
    else:
        out.append(Span(text))


def keep_known(phonemes: str, known: Collection[str], *, engine: str = "") -> str:
    """`phonemes` decomposed (NFD) to code points, without those `known` lacks.

    A symbol a model has no id for cannot be spoken; dropping it (with a log line) speaks
    the rest of the word, where failing would lose the whole sentence.
    """
    kept: list[str] = []
    dropped: set[str] = set()
    for ch in unicodedata.normalize("NFD", phonemes):
        if ch in known:
            kept.append(ch)
        else:
            dropped.add(ch)
    if dropped:
        log.info(
            "%s: dropped phoneme(s) %s with no id from %r",
            engine or "phonemes",
            " ".join(sorted(dropped)),
            phonemes,
        )
    return "".join(kept)


def ipa_to_misaki(ipa: str, british: bool) -> str:
    """eSpeak NG's English IPA -> the misaki alphabet Kokoro and hibari were trained on.

    Stress marks stay where eSpeak puts them (before the stressed vowel, as misaki's own
    lexicons do). Symbols outside Kokoro's vocabulary are dropped with a log line.
    """
    table, pattern = (_MISAKI_GB, _GB_PATTERN) if british else (_MISAKI_US, _US_PATTERN)
    converted = pattern.sub(lambda m: table[m[0]], unicodedata.normalize("NFC", ipa))
    # Kokoro's vocabulary holds precomposed symbols only (plus a combining tilde).
    return keep_known(unicodedata.normalize("NFC", converted), MISAKI_VOCAB, engine="misaki")


def import_espeakbridge() -> Any:
    """Import Piper's eSpeak NG bridge so that it calls its own eSpeak NG; return it.

    piper.espeakbridge links a private copy of eSpeak NG whose functions it calls through
    interposable symbols; the eSpeak engine loads libespeak-ng with RTLD_GLOBAL, and then
    the bridge's calls land half in one copy, half in the other: a segfault on the first
    phonemize in a worker that runs both engines. RTLD_DEEPBIND makes the bridge resolve
    its own symbols first, whichever engine a worker starts first.
    """
    if "piper.espeakbridge" not in sys.modules:
        flags = sys.getdlopenflags()
        sys.setdlopenflags(os.RTLD_NOW | os.RTLD_LOCAL | os.RTLD_DEEPBIND)
        try:
            import piper.espeakbridge  # noqa: F401
        finally:
            sys.setdlopenflags(flags)
    return sys.modules["piper.espeakbridge"]


_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p)


class EspeakIpa:
    """eSpeak NG mnemonics -> IPA, by eSpeak NG itself, in Piper's private copy of it.

    espeak_TextToPhonemes ignores `[[...]]` (phoneme input is a flag of espeak_Synth only),
    so the mnemonics are spoken by espeak_Synth with phoneme input on, with the phoneme
    trace writing what was spoken as IPA to an in-memory stream; the audio is discarded.
    Piper's copy is used because nothing else in a worker owns its synth callback (the
    eSpeak engine's copy has pyttsx3's), and it gives the IPA Piper's own phonemiser gives.
    """

    def __init__(self) -> None:
        try:
            bridge = import_espeakbridge()
            from piper import voice as piper_voice
            from piper.phonemize_espeak import ESPEAK_DATA_DIR
        except ImportError as exc:
            raise EngineError("eSpeak phonemes need the piper-tts package") from exc
        # Piper guards its eSpeak calls with this lock; sharing it keeps ours out of them.
        self._lock: Any = getattr(piper_voice, "_ESPEAK_PHONEMIZER_LOCK", threading.Lock())
        with self._lock:
            if getattr(piper_voice, "_ESPEAK_PHONEMIZER", None) is None:
                bridge.initialize(str(ESPEAK_DATA_DIR))
        # dlopen of the loaded extension's path returns that same copy of eSpeak NG.
        lib = ctypes.CDLL(bridge.__file__)
        lib.espeak_Synth.argtypes = [
            ctypes.c_void_p,
            ctypes.c_size_t,
            ctypes.c_uint,
            ctypes.c_int,
            ctypes.c_uint,
            ctypes.c_uint,
            ctypes.c_void_p,
            ctypes.c_void_p,
        ]
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetPhonemeTrace.argtypes = [ctypes.c_int, ctypes.c_void_p]
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        libc = ctypes.CDLL(None)
        libc.open_memstream.restype = ctypes.c_void_p
        libc.open_memstream.argtypes = [
            ctypes.POINTER(ctypes.c_void_p),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        libc.fclose.argtypes = [ctypes.c_void_p]
        libc.free.argtypes = [ctypes.c_void_p]
        self._lib, self._libc = lib, libc
        # Kept on self: ctypes frees a callback that nothing references.
        self._callback = _SynthCallback(lambda wav, n, events: 0)
        lib.espeak_SetSynthCallback(self._callback)
        self._cache: dict[tuple[str, str], str] = {}

    def _set_voice(self, voice: str) -> None:
        # Piper's eSpeak data names British English "en" or "en-gb-x-rp", not "en-gb".
        for name in dict.fromkeys((voice, voice.lower(), "en-gb-x-rp", voice.split("-")[0])):
            if self._lib.espeak_SetVoiceByName(name.encode()) == 0:
                return
        raise EngineError(f"eSpeak NG has no voice {voice!r}")

    def convert(self, mnemonics: str, voice: str) -> str:
        key = (mnemonics, voice)
        if key not in self._cache:
            with self._lock:
                self._cache[key] = self._trace(mnemonics, voice)
        return self._cache[key]

    def _trace(self, mnemonics: str, voice: str) -> str:
        self._set_voice(voice)
        text = f"[[{mnemonics}]]".encode() + b"\0"
        buf, size = ctypes.c_void_p(), ctypes.c_size_t()
        stream = self._libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
        if not stream:
            raise EngineError("could not open a memory stream for eSpeak's phoneme trace")
        try:
            self._lib.espeak_SetPhonemeTrace(_TRACE_IPA, stream)
            flags = _CHARS_UTF8 | _PHONEMES_INPUT
            status = self._lib.espeak_Synth(text, len(text), 0, 0, 0, flags, None, None)
        finally:
            self._lib.espeak_SetPhonemeTrace(0, None)
            self._libc.fclose(stream)  # flushes; buf and size are valid after it
        try:
            trace = ctypes.string_at(buf.value or 0, size.value).decode("utf-8", "replace")
        finally:
            self._libc.free(buf)
        if status != 0:
            raise EngineError(f"eSpeak refused phonemes {mnemonics!r} (status {status})")
        return " ".join(_LANGUAGE_SWITCH.sub("", trace).split())


@functools.cache
def _converter() -> EspeakIpa:
    # eSpeak NG's state is process-wide, so one converter per process is all there can be.
    return EspeakIpa()


def espeak_to_ipa(mnemonics: str, voice: str) -> str:
    """eSpeak NG mnemonics (the inside of `[[...]]`) -> IPA as `voice` speaks them.

    `voice` is an eSpeak voice name ("en-us", "en-gb", "en"). Words are separated by single
    spaces; stress marks ˈ ˌ precede the stressed vowel. Cached per (mnemonics, voice).
    """
    return _converter().convert(mnemonics, voice)
