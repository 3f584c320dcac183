"""Lexicon phonemes on every engine: spans, eSpeak -> IPA -> misaki, real Piper and eSpeak."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from importlib import resources

import numpy as np
import pytest

from audio_service.engines import phonemes
from audio_service.engines.phonemes import Span
from audio_service.engines.piper import PiperEngine
from audio_service.engines.pool import SynthPool
from audio_service.voices import VoiceDef

RULE = "[[st'A:m@]]"  # Starmer, as a publisher's lexicon writes it for eSpeak


@pytest.fixture(scope="module")
def piper() -> Iterator[PiperEngine]:
    engine = PiperEngine()
    yield engine
    engine.close()


@pytest.fixture(scope="module")
def joe(voices: dict[str, VoiceDef]) -> VoiceDef:
    return voices["en-us-piper-joe"]


def test_spans_split_plain_and_phoneme_runs() -> None:
    assert phonemes.spans(f"Keir {RULE} said") == [
        Span("Keir "),
        Span("st'A:m@", is_phonemes=True),
        Span(" said"),
    ]
    # An empty block goes and its neighbours join; an unclosed one is plain text.
    assert phonemes.spans("a [[ ]] b [[c") == [Span("a  b [[c")]
    assert phonemes.spans("no rules here") == [Span("no rules here")]
    assert not phonemes.has_phonemes("a [[b")


@pytest.mark.parametrize(
    ("mnemonics", "voice", "ipa"),
    [
        ("st'A:m@", "en-us", "stˈɑːmə"),
        ("h@l'oU", "en-us", "həlˈoʊ"),
        ("h@l'oU", "en", "həlˈəʊ"),
        ("tS'3:tS dZ'VdZ", "en-gb", "tʃˈɜːtʃ dʒˈʌdʒ"),
    ],
)
def test_espeak_mnemonics_to_ipa(mnemonics: str, voice: str, ipa: str) -> None:
    assert phonemes.espeak_to_ipa(mnemonics, voice) == ipa


# Expected values are the entries of misaki's gold lexicons (as shipped in hibari) for
# hello, church, judge, nurse, day and boy.
@pytest.mark.parametrize(
    ("ipa", "british", "misaki"),
    [
        ("həlˈoʊ", False, "həlˈO"),
        ("həlˈəʊ", True, "həlˈQ"),
        ("tʃˈɜːtʃ dʒˈʌdʒ", False, "ʧˈɜɹʧ ʤˈʌʤ"),
        ("tʃˈɜːtʃ dʒˈʌdʒ", True, "ʧˈɜːʧ ʤˈʌʤ"),
        ("nˈɜːs", False, "nˈɜɹs"),
        ("nˈɜːs", True, "nˈɜːs"),
        ("dˈeɪ bˈɔɪ", True, "dˈA bˈY"),
        ("stˈɑːɹmɚ", False, "stˈɑɹməɹ"),
    ],
)
def test_ipa_to_misaki(ipa: str, british: bool, misaki: str) -> None:
    assert phonemes.ipa_to_misaki(ipa, british) == misaki


def test_misaki_output_stays_in_kokoros_vocabulary(caplog: pytest.LogCaptureFixture) -> None:
    vocab = json.loads((resources.files("hibari") / "assets" / "vocab.json").read_text("utf-8"))
    assert set(vocab) == phonemes.MISAKI_VOCAB
    with caplog.at_level(logging.INFO, logger="audio_service.engines.phonemes"):
        out = phonemes.ipa_to_misaki("ɬˈanɛɬi ʘ", british=True)  # Llanelli, and a click
    assert set(out) <= phonemes.MISAKI_VOCAB
    assert out == "lˈanɛli "
    assert "ʘ" in caplog.text


def test_unknown_symbols_are_dropped_with_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="audio_service.engines.phonemes"):
        assert phonemes.keep_known("ab@c", {"a", "b", "c"}, engine="piper") == "abc"
    assert "piper" in caplog.text and "@" in caplog.text


def test_piper_receives_ipa_for_an_espeak_rule(
    piper: PiperEngine, joe: VoiceDef, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="piper"):
        received = piper.phonemes_for(f"Keir {RULE} said no.", joe)
    assert "".join(received[0]) == "kˈɛɹ stˈɑːmə sˈɛd nˈoʊ."
    assert "Missing phoneme" not in caplog.text
    # A rule the model can only partly say keeps what it can.
    assert piper.phonemes_for("[[#]] ok", joe) != []


def test_piper_speaks_an_espeak_rule(pool: SynthPool, joe: VoiceDef) -> None:
    ruled = pool.synthesize(f"Keir {RULE} said no.", joe)
    plain = pool.synthesize("Keir Starmer said no.", joe)
    word = pool.synthesize(RULE, joe)
    assert 1000 < ruled.duration_ms < 3000
    assert 250 < word.duration_ms < 1200  # one two-syllable name
    assert ruled.pcm != plain.pcm  # US "Starmer" ends in ɚ, the rule says ə
    level = np.frombuffer(word.pcm, dtype="<i2").astype(np.float32) / 32768.0
    assert 0.02 < float(np.sqrt(np.mean(level**2))) < 0.5


def test_piper_text_without_rules_is_untouched(piper: PiperEngine, joe: VoiceDef) -> None:
    received = piper.phonemes_for("Keir Starmer said no.", joe)
    assert "".join(received[0]) == "kˈɛɹ stˈɑːɹmɚ sˈɛd nˈoʊ."


def test_espeak_still_speaks_mnemonics_itself(
    pool: SynthPool, voices: dict[str, VoiceDef], joe: VoiceDef
) -> None:
    voice = voices["en-gb-espeak"]
    pool.synthesize(RULE, joe)  # a worker that converted phonemes for Piper ...
    ruled = pool.synthesize(RULE, voice)  # ... still gives eSpeak its own audio
    plain = pool.synthesize("Starmer", voice)
    spelled = pool.synthesize("st'A:m@", voice)
    assert ruled.duration_ms > 200
    # Read as phonemes the rule lasts about as long as the word, not as its letters spelled.
    assert abs(ruled.duration_ms - plain.duration_ms) < 0.35 * plain.duration_ms
    assert spelled.duration_ms > 1.5 * ruled.duration_ms
