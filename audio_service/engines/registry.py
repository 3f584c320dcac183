"""The registry of speech engines: a plain dict from name to factory, made by builtin_engines()."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from audio_service.engines.base import Engine
from audio_service.errors import ConfigError, EngineError
from audio_service.voices import VoiceDef, load_voices, pick_voice

if TYPE_CHECKING:
    from audio_service.config import Settings

log = logging.getLogger(__name__)


def _espeak() -> Engine:
    from audio_service.engines.espeak import EspeakEngine

    return EspeakEngine()


def _piper() -> Engine:
    from audio_service.engines.piper import PiperEngine

    return PiperEngine()


def _kokoro() -> Engine:
    from audio_service.engines.kokoro import KokoroEngine

    return KokoroEngine()


def _hibari() -> Engine:
    from audio_service.engines.kokoro import HibariEngine

    return HibariEngine()


def _check_misaki(voice: VoiceDef) -> None:
    from audio_service.engines.kokoro import check_voice

    check_voice(voice)


def _check_piper(voice: VoiceDef) -> None:
    from audio_service.engines.piper import check_voice

    check_voice(voice)


Engines = dict[str, Callable[[], Engine]]


def builtin_engines() -> Engines:
    """A new registry of the engines shipped with the package; add a line here for a new one.

    Factories import their engine lazily: the API process never loads a speech library,
    only the worker processes do. Each caller gets its own dict, so a test or a deployment
    can add an engine (e.g. ``{**builtin_engines(), "flaky": flaky}``) without a global.
    """
    return {"espeak": _espeak, "piper": _piper, "kokoro": _kokoro, "hibari": _hibari}


# Start-up checks of a voice file against what is installed (cheap: no model is loaded).
CHECKS: dict[str, Callable[[VoiceDef], None]] = {
    "piper": _check_piper,
    "kokoro": _check_misaki,
    "hibari": _check_misaki,
}


def locale_voices(usable: dict[str, VoiceDef], preferred: dict[str, str]) -> dict[str, VoiceDef]:
    """Each locale's voice: the preferred one if usable, else the first usable neural voice of
    that locale, else any of that locale (eSpeak); a locale with none is left out."""
    chosen: dict[str, VoiceDef] = {}
    for locale, voice_id in preferred.items():
        same = [v for v in usable.values() if v.locale == locale]
        neural = [v for v in same if v.about.quality == "neural"]
        pick = usable.get(voice_id) or next(iter(neural + same), None)
        if pick is None:
            continue
        if pick.id != voice_id:
            log.warning("voice %s for %s is unavailable; using %s", voice_id, locale, pick.id)
        chosen[locale] = pick
    return chosen


def usable_voices(
    voices: dict[str, VoiceDef],
    default_id: str,
    engines: Engines,
    fallback_id: str = "en-gb-espeak",
) -> tuple[dict[str, VoiceDef], VoiceDef]:
    """The voices this machine can speak, and the default voice.

    A voice whose engine is not installed is left out with a log line (and the default
    falls back to eSpeak); a voice file that is wrong, or names a missing model, stops the
    start with its ConfigError.
    """
    usable: dict[str, VoiceDef] = {}
    for voice in voices.values():
        if voice.engine not in engines:
            raise ConfigError(f"voice {voice.id}: no engine named {voice.engine!r}")
        check = CHECKS.get(voice.engine)
        try:
            if check is not None:
                check(voice)
        except EngineError as exc:
            log.warning("voice %s is unavailable: %s", voice.id, exc)
            continue
        usable[voice.id] = voice
    if default_id in usable:
        return usable, usable[default_id]
    if default_id in voices and fallback_id in usable:
        log.warning("default voice %s is unavailable; falling back to %s", default_id, fallback_id)
        return usable, usable[fallback_id]
    return usable, pick_voice(usable, default_id)


@dataclass(frozen=True)
class VoiceChoice:
    """The voices this machine speaks, and which one reads an article that names none."""

    usable: dict[str, VoiceDef]
    default: VoiceDef  # the publisher's language's voice (or the one fixed voice)
    by_locale: dict[str, VoiceDef]  # empty when one voice is fixed for every article

    def defaults(self) -> list[VoiceDef]:
        """The voices an article gets when it names none: worth loading at start."""
        chosen = {self.default.id: self.default}
        chosen.update((v.id, v) for v in self.by_locale.values())
        return list(chosen.values())

    def for_article(self, language: str, asked: str | None = None) -> VoiceDef:
        """`asked` (a request's or the article's own voice), else its language's voice."""
        if asked:
            return pick_voice(self.usable, asked)
        return self.by_locale.get(language, self.default)


def choose_voices(settings: Settings, engines: Engines) -> VoiceChoice:
    """Voices from settings.voices_dir, and the defaults the settings ask for."""
    voices = load_voices(settings.voices_dir)
    preferred = {"en-GB": settings.voice_en_gb, "en-US": settings.voice_en_us}
    fixed = settings.default_voice
    usable, default = usable_voices(voices, fixed or preferred[settings.language], engines)
    if fixed:
        return VoiceChoice(usable, default, {})
    by_locale = locale_voices(usable, preferred)
    return VoiceChoice(usable, by_locale.get(settings.language, default), by_locale)
