"""Kokoro and hibari voices in real worker processes, their pinned files, how one is chosen."""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.responses import Response

from audio_service.config import Settings
from audio_service.engines import assets
from audio_service.engines.kokoro import MAX_IDS, SAMPLE_RATE_HZ, _Reader
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import builtin_engines, choose_voices
from audio_service.errors import ConfigError, UnknownVoiceError
from audio_service.voices import VoiceDef
from tests.support.http_server import serve

NEURAL = ("en-gb-kokoro-emma", "en-gb-kokoro-george", "en-us-hibari-heart")
TEXT = "The council met on Tuesday evening to agree the budget for next year."


@pytest.fixture(scope="module")
def neural_pool(settings: Settings) -> Iterator[SynthPool]:
    with SynthPool(1, 120, builtin_engines(), warm=["kokoro", "hibari"]) as pool:
        yield pool


def _plain(word: str) -> str:
    return re.sub(r"[^\w']", "", word).lower()


@pytest.mark.parametrize("voice_id", NEURAL)
def test_a_neural_voice_speaks_every_word_at_its_rate(
    neural_pool: SynthPool, voices: dict[str, VoiceDef], voice_id: str
) -> None:
    voice = voices[voice_id]
    result = neural_pool.synthesize(TEXT, voice)
    assert result.sample_rate_hz == SAMPLE_RATE_HZ
    pcm = np.frombuffer(result.pcm, dtype="<i2").astype(np.float64) / 32768
    assert np.sqrt(np.mean(pcm**2)) > 0.02  # speech, not silence
    words_per_minute = len(TEXT.split()) / (result.duration_ms / 60_000)
    assert 0.6 * voice.rate_wpm < words_per_minute < 1.6 * voice.rate_wpm
    # The model's own durations time every spoken word, in order, inside the audio.
    assert [_plain(w.word) for w in result.words] == [_plain(w) for w in TEXT.split()]
    spans = [(w.start_ms, w.end_ms) for w in result.words]
    assert all(start < end for start, end in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert spans[0][0] < 150 and spans[-1][1] <= result.duration_ms
    faster = neural_pool.synthesize(TEXT, replace(voice, rate_wpm=voice.rate_wpm * 2))
    assert 0.4 < faster.duration_ms / result.duration_ms < 0.7


def test_word_timings_fall_on_the_words(
    neural_pool: SynthPool, voices: dict[str, VoiceDef]
) -> None:
    """Every word's span holds sound, and the last word ends where the speech does."""
    result = neural_pool.synthesize("Yesterday, after midnight, rain fell.", voices[NEURAL[0]])
    pcm = np.frombuffer(result.pcm, dtype="<i2").astype(np.float64)

    def loudness(start_ms: int, end_ms: int) -> float:
        a, b = start_ms * SAMPLE_RATE_HZ // 1000, end_ms * SAMPLE_RATE_HZ // 1000
        return float(np.sqrt(np.mean(pcm[a:b] ** 2))) if b > a else 0.0

    speech = loudness(0, int(result.duration_ms))
    assert all(loudness(w.start_ms, w.end_ms) > 0.5 * speech for w in result.words)
    # The final full stop's frames are silence: not part of "fell", and trimmed from the end.
    assert result.duration_ms - result.words[-1].end_ms < 100
    assert loudness(result.words[-1].end_ms, int(result.duration_ms)) < 0.1 * speech


def test_a_long_sentence_is_spoken_whole(
    neural_pool: SynthPool, voices: dict[str, VoiceDef]
) -> None:
    words = ["the", "committee", "heard", "from", "residents", "and", "councillors"] * 16
    text = " ".join(words) + "."
    assert sum(len(w.ids) for w in _Reader().words(text, british=False)) > MAX_IDS
    result = neural_pool.synthesize(text, voices["en-us-hibari-heart"])
    assert len(result.words) == len(words)
    starts = [w.start_ms for w in result.words]
    assert starts == sorted(starts) and result.words[-1].end_ms <= result.duration_ms


def test_a_lexicon_phoneme_rule_is_spoken_by_kokoro(
    neural_pool: SynthPool, voices: dict[str, VoiceDef]
) -> None:
    """eSpeak mnemonics reach Kokoro as the misaki phonemes its lexicon has for the word."""
    reader = _Reader()
    assert [w.ids for w in reader.words("[[k'at]]", british=True)] == [
        w.ids for w in reader.words("cat", british=True)
    ]
    voice = voices["en-gb-kokoro-emma"]
    ruled = neural_pool.synthesize("The [[k'at]] sat.", voice)
    assert ruled.pcm == neural_pool.synthesize("The cat sat.", voice).pcm
    assert ruled.pcm != neural_pool.synthesize("The dog sat.", voice).pcm
    assert len(neural_pool.synthesize("Keir [[st'A:m@]] spoke.", voice).words) == 3


def test_style_files_are_checked_against_their_pins(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown Kokoro style"):
        assets.check_style("xx_nobody", tmp_path)
    installed = assets.check_style("bf_emma")  # installed by the set-up, verified here
    bad = assets.style_path("bf_emma", tmp_path)
    bad.parent.mkdir(parents=True)
    bad.write_bytes(installed.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.raises(ConfigError, match="pinned sha256"):
        assets.check_style("bf_emma", tmp_path)


def test_the_joined_model_matches_its_pin() -> None:
    assert hashlib.sha256(assets.kokoro_model_bytes()).hexdigest() == assets.KOKORO_MODEL_SHA256


def test_a_tampered_tarball_installs_nothing(tmp_path: Path) -> None:
    app = FastAPI()

    @app.get("/kokoro.tgz")
    def tarball() -> Response:
        return Response(b"\x1f\x8b not the real kokoro-js", media_type="application/gzip")

    with serve(app) as base, pytest.raises(ConfigError, match="nothing installed"):
        assets.install(tmp_path, url=f"{base}/kokoro.tgz")
    assert not any(tmp_path.rglob("*.bin"))


def test_an_installed_set_is_verified_without_a_fetch(tmp_path: Path) -> None:
    for name in assets.STYLE_SHA256:
        target = assets.style_path(name, tmp_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(assets.check_style(name).read_bytes())
    # An address nothing answers: a fetch would fail, so success proves none was tried.
    done = assets.install(tmp_path, url="http://127.0.0.1:9/never")
    assert {d.name for d in done} == set(assets.STYLE_SHA256)
    assert not any(d.fetched for d in done)


def test_an_article_gets_the_voice_of_its_language(tmp_path: Path) -> None:
    choice = choose_voices(Settings(data_dir=tmp_path), builtin_engines())
    assert choice.for_article("en-GB").id == "en-gb-kokoro-emma"
    assert choice.for_article("en-US").id == "en-us-hibari-heart"
    assert choice.for_article("").id == "en-gb-kokoro-emma"  # the publisher's language
    assert choice.for_article("en-US", "en-gb-kokoro-george").id == "en-gb-kokoro-george"
    american = choose_voices(Settings(data_dir=tmp_path, language="en-US"), builtin_engines())
    assert american.for_article("").id == "en-us-hibari-heart"
    assert american.for_article("en-GB").id == "en-gb-kokoro-emma"
    chosen = choose_voices(
        Settings(data_dir=tmp_path, voice_en_gb="en-gb-kokoro-fable"), builtin_engines()
    )
    assert chosen.for_article("en-GB").id == "en-gb-kokoro-fable"
    fixed = choose_voices(
        Settings(data_dir=tmp_path, default_voice="en-us-piper-joe"), builtin_engines()
    )
    assert fixed.for_article("en-GB").id == "en-us-piper-joe"


def test_a_voice_that_cannot_speak_here_gives_way(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No Kokoro style files installed: every Kokoro voice is unusable, hibari still speaks.
    monkeypatch.setenv("AUDIO_SERVICE_VOICE_ASSETS_DIR", str(tmp_path / "none"))
    choice = choose_voices(Settings(data_dir=tmp_path), builtin_engines())
    assert "en-gb-kokoro-emma" not in choice.usable
    assert choice.for_article("en-GB").id == "en-gb-espeak"
    assert choice.for_article("en-US").id == "en-us-hibari-heart"


def test_a_misspelt_voice_setting_stops_the_start(tmp_path: Path) -> None:
    with pytest.raises(UnknownVoiceError):
        choose_voices(Settings(data_dir=tmp_path, voice_en_gb="en-gb-nobody"), builtin_engines())
