"""The real eSpeak NG engine, in real spawned worker processes."""

from __future__ import annotations

import time
from dataclasses import replace

import pytest

from audio_service.engines.espeak import MAX_WORD_CHARS, guard_text
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import builtin_engines
from audio_service.errors import EngineError, EngineTimeoutError
from audio_service.voices import VoiceDef
from tests.support.slow_engine import sleepy


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("   \n\t ", ""),
        ("\x00\x01hello\x7f", "hello"),
        ("!!! ... ???", ""),
        ("one  two\nthree", "one two three"),
    ],
)
def test_guard_text(text: str, expected: str) -> None:
    assert guard_text(text) == expected


def test_guard_breaks_absurd_words() -> None:
    guarded = guard_text("x" * 10_000)
    assert guarded
    assert max(len(word) for word in guarded.split()) <= MAX_WORD_CHARS


def test_voices_speak_at_their_rate(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    text = "The council met on Tuesday evening to agree the budget for next year."
    for voice in (v for v in voices.values() if v.engine == "espeak"):
        result = pool.synthesize(text, voice)
        assert result.sample_rate_hz == 22050
        words_per_minute = len(text.split()) / (result.duration_ms / 60_000)
        # eSpeak's nominal rate counts pauses a single sentence does not have.
        assert 0.7 * voice.rate_wpm < words_per_minute < 1.5 * voice.rate_wpm, voice.id
        faster = pool.synthesize(text, replace(voice, rate_wpm=voice.rate_wpm * 2))
        # Engines keep a little fixed silence at the edges, which does not speed up.
        assert 0.4 < faster.duration_ms / result.duration_ms < 0.75, voice.id


def test_word_timings_follow_the_text(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    text = "Café owners in Zürich said no, twice."
    result = pool.synthesize(text, voices["en-gb-espeak"])
    assert [w.word for w in result.words] == text.replace(",", "").replace(".", "").split()
    starts = [w.start_ms for w in result.words]
    assert starts == sorted(starts)
    assert result.words[-1].end_ms == pytest.approx(result.duration_ms, abs=1)


def test_long_text_is_complete(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    """runAndWait can return before eSpeak finishes: a long text must not be cut short."""
    voice = voices["en-gb-espeak"]
    short = pool.synthesize("The river rose overnight.", voice).duration_ms
    long = pool.synthesize(" ".join(["The river rose overnight."] * 20), voice).duration_ms
    assert long > 15 * short


def test_hostile_text_gives_audio_or_nothing(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    voice = voices["en-gb-espeak"]
    assert pool.synthesize("", voice).pcm == b""
    assert pool.synthesize("\x00\x00\x00", voice).pcm == b""
    assert pool.synthesize("🙂🙂🙂", voice).pcm == b""
    assert len(pool.synthesize("z" * 10_000, voice).pcm) > 0
    # The pool still works after all of that.
    assert len(pool.synthesize("Still here.", voice).pcm) > 0


def test_hung_worker_is_killed_and_replaced(voices: dict[str, VoiceDef]) -> None:
    engines = {"espeak": builtin_engines()["espeak"], "sleepy": sleepy}
    hanging = replace(voices["en-gb-espeak"], engine="sleepy")
    with SynthPool(1, 0.5, engines, warm=["espeak"]) as pool:
        started = time.monotonic()
        with pytest.raises(EngineTimeoutError, match="timed out"):
            pool.synthesize("30", hanging)
        assert time.monotonic() - started < 10  # killed, not waited out
        # The one worker was replaced: the real engine answers again.
        assert len(pool.synthesize("The worker was replaced.", voices["en-gb-espeak"]).pcm) > 0


def test_unknown_engine_is_a_clear_error(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    voice = voices["en-gb-espeak"]
    broken = VoiceDef(id="x", name="x", engine="nope", engine_voice="x")
    with pytest.raises(EngineError, match="no engine named 'nope'"):
        pool.synthesize("hello", broken)
    assert voice.engine == "espeak"


def test_a_long_sentence_gets_longer_to_speak(pool: SynthPool, voices: dict[str, VoiceDef]) -> None:
    voice = voices["en-gb-espeak"]
    short = pool.deadline("Rain.", voice)
    long = pool.deadline(" ".join(["word"] * voice.rate_wpm), voice)  # a minute of speech
    assert short == pytest.approx(30 + 2 * 60 / voice.rate_wpm)
    assert long == pytest.approx(30 + 120)
