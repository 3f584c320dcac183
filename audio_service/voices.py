"""Voice definitions: voices/*.toml files loaded into frozen VoiceDef values."""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from audio_service.errors import ConfigError, UnknownVoiceError

_LOCALES = ("en-GB", "en-US")


@dataclass(frozen=True)
class Pauses:
    """Silence after each kind of segment, in milliseconds."""

    title_ms: int = 900
    subtitle_ms: int = 700
    byline_ms: int = 700
    paragraph_ms: int = 650
    sentence_ms: int = 300
    clause_ms: int = 120


@dataclass(frozen=True)
class About:
    """What a listener or a publisher is told about a voice; none of it changes the audio."""

    gender: str = ""  # "female", "male" or ""
    quality: str = ""  # "neural" (natural) or "formant" (robotic but fast)
    licence: str = ""  # SPDX id of the model and voice data, with any caveat
    credit: str = ""  # who made the model and the voice
    rtf: float | None = None  # measured real-time factor on one core (bench/render.py)


@dataclass(frozen=True)
class VoiceDef:
    """One voice: which engine speaks, how, and how the result is paced."""

    id: str
    name: str
    engine: str
    engine_voice: str
    locale: str = "en-GB"
    rate_wpm: int = 165
    pitch: int = 50
    volume: float = 1.0
    description: str = ""
    pauses: Pauses = field(default_factory=Pauses)
    # Engine-specific settings (e.g. a Piper model name). A plain dict so the voice pickles
    # into worker processes; treat it as read-only.
    options: dict[str, Any] = field(default_factory=dict, hash=False)
    about: About = field(default_factory=About, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["options"] = dict(self.options)
        return data

    @property
    def digest(self) -> str:
        """Hash of everything that shapes the audio: part of every cache key (not `about`)."""
        data = self.to_dict()
        del data["about"]
        blob = json.dumps(data, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def _parse(path: Path, raw: dict[str, Any]) -> VoiceDef:
    try:
        pauses = Pauses(**raw.pop("pauses", {}))
        options = dict(raw.pop("options", {}))
        about = About(**raw.pop("about", {}))
        voice = VoiceDef(pauses=pauses, options=options, about=about, **raw)
    except TypeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    if voice.locale not in _LOCALES:
        raise ConfigError(f"{path}: locale must be one of {', '.join(_LOCALES)}")
    if not 80 <= voice.rate_wpm <= 450:
        raise ConfigError(f"{path}: rate_wpm must be between 80 and 450")
    if not 0 <= voice.pitch <= 99:
        raise ConfigError(f"{path}: pitch must be between 0 and 99")
    if not 0.0 < voice.volume <= 2.0:
        raise ConfigError(f"{path}: volume must be in (0, 2]")
    if voice.id != path.stem:
        raise ConfigError(f"{path}: id {voice.id!r} must match the file name")
    return voice


def load_voices(directory: Path) -> dict[str, VoiceDef]:
    """Read every voices/*.toml file; a broken file fails loudly at start."""
    voices: dict[str, VoiceDef] = {}
    for path in sorted(directory.glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"{path}: {exc}") from exc
        voice = _parse(path, raw)
        voices[voice.id] = voice
    if not voices:
        raise ConfigError(f"no voice files (*.toml) in {directory}")
    return voices


def pick_voice(voices: Mapping[str, VoiceDef], voice_id: str) -> VoiceDef:
    try:
        return voices[voice_id]
    except KeyError:
        raise UnknownVoiceError(voice_id, list(voices)) from None
