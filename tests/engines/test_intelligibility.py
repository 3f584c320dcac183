"""Intelligibility: every voice reads a news paragraph and an offline recogniser hears it back."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest

from audio_service.article import Article
from audio_service.render.renderer import Renderer
from audio_service.voices import VoiceDef
from tests.support.media import REPO
from tests.support.recognise import Recogniser, Score, decode, wer

pytestmark = pytest.mark.intelligibility

TITLE = "Council backs plan for new homes"
PARAGRAPH = (
    "Leeds City Council has approved plans for 1,200 new homes on the site of the former "
    "Kirkstall power station, after a debate that lasted almost four hours on Tuesday evening. "
    "The council leader, Sarah Whitfield, said the scheme would include a primary school, two "
    "parks and a new bus route into the city. Residents who opposed the plans warned that "
    "traffic on the ring road was already heavy at peak times, and said they would ask the "
    "government to review the decision."
)
# Word error rate each kind of voice must stay under. Neural: the goal. Formant
# (eSpeak): robotic but clear; measured 3-12% here, so 25% still catches a broken voice.
CEILINGS = {"neural": 0.07, "formant": 0.25}
# Every voice file at collection time: a voice whose engine cannot load fails, never skips.
VOICE_IDS = sorted(path.stem for path in (REPO / "voices").glob("*.toml"))


@pytest.fixture(scope="session")
def recogniser(tmp_path_factory: pytest.TempPathFactory) -> Recogniser:
    return Recogniser(tmp_path_factory.mktemp("recogniser"))


def render(renderer: Renderer, voice: VoiceDef) -> bytes:
    """The paragraph through the service's own path: script, pool, shaping, MP3."""
    article = Article(title=TITLE, body=(PARAGRAPH,), language=voice.locale)
    out = io.BytesIO()
    renderer.render(renderer.script(article, voice), out)
    return out.getvalue()


def ceiling(voice: VoiceDef) -> float:
    return CEILINGS[voice.about.quality or ("formant" if voice.engine == "espeak" else "neural")]


def heard(recogniser: Recogniser, mp3: bytes, voice: VoiceDef) -> Score:
    return wer(f"{TITLE}. {PARAGRAPH}", recogniser.transcribe(mp3), voice.locale)


@pytest.mark.parametrize("voice_id", VOICE_IDS)
def test_voice_is_understood(
    voice_id: str, voices: dict[str, VoiceDef], renderer: Renderer, recogniser: Recogniser
) -> None:
    voice = voices[voice_id]
    score = heard(recogniser, render(renderer, voice), voice)
    assert score.wer <= ceiling(voice), f"{voice_id}: {score}"


def test_scrambled_speech_breaks_the_ceiling(
    voices: dict[str, VoiceDef], renderer: Renderer, recogniser: Recogniser
) -> None:
    """The same words cut into 250 ms pieces and shuffled: sounds of speech, no sentence."""
    voice = voices["en-gb-espeak"]
    samples = decode(render(renderer, voice))
    pieces = np.array_split(samples, samples.size // 4000)
    order = np.random.default_rng(13).permutation(len(pieces))
    scrambled = np.concatenate([pieces[i] for i in order])
    score = wer(f"{TITLE}. {PARAGRAPH}", recogniser.transcribe_samples(scrambled))
    assert score.wer > max(CEILINGS.values()), score


def test_wrong_language_breaks_the_ceiling(
    voices: dict[str, VoiceDef], renderer: Renderer, recogniser: Recogniser
) -> None:
    """English text read with another language's letter-to-sound rules fails the check."""
    voice = replace(voices["en-gb-espeak"], engine_voice="gmw/de")
    score = heard(recogniser, render(renderer, voice), voice)
    assert score.wer > ceiling(voice), score


def test_normaliser_meets_numbers_on_both_sides() -> None:
    written = "Prices rose 3.5% to £1,200 on 4 March, Mr Smith said."
    said = "Prices rose 3.5 percent to £1200 on 4 March, Mr. Smith said."
    assert wer(written, said).wer == 0.0
    assert wer(written, "Prices rose to 1200 pounds on March 4th.").wer > 0.3
