"""The registry of speech engines: a plain dict from name to factory, made by builtin_engines()."""

from __future__ import annotations

import logging
from collections.abc import Callable

from audio_service.engines.base import Engine
from audio_service.errors import ConfigError, EngineError
from audio_service.voices import VoiceDef, pick_voice

log = logging.getLogger(__name__)


def _espeak() -> Engine:
    from audio_service.engines.espeak import EspeakEngine

    return EspeakEngine()


def _piper() -> Engine:
    from audio_service.engines.piper import PiperEngine

    return PiperEngine()


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
    return {"espeak": _espeak, "piper": _piper}


# Start-up checks of a voice file against what is installed (cheap: no model is loaded).
CHECKS: dict[str, Callable[[VoiceDef], None]] = {
    "piper": _check_piper,
}


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
