"""The sample news page's spoken script, reviewed line by line and pinned.

The page is someone else's text, so it is not copied here: the script is pinned by its
sha256, and each reading that was reviewed is listed as a short written -> spoken pair.
When the hash changes, review `audio-service preview ../shared/samples/<page>` line by line,
then update SCRIPT_SHA256.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from audio_service.article import load_article
from audio_service.render.script import Scripter
from audio_service.voices import VoiceDef
from tests.support.media import REPO

SCRIPT_SHA256 = "25a9ada9b2de3e8d233de991218afa60348c1d83d443843118fb0ade74b959fd"

# Every number, title and abbreviation of the page, as a BBC newsreader says it (en-GB).
READINGS = [
    ("Mr Wallace said the UK", "Mister Wallace said the U.K"),
    ("lead members of NATO", "lead members of Nato"),
    ("[of UK troops]", "[of U.K troops]"),
    ("A further 1,000 British troops", "A further one thousand British troops"),
    (
        "Some 350 Royal Marines from 45 Commando",
        "Some three hundred and fifty Royal Marines from forty-five Commando",
    ),
    ("Foreign Secretary Ms Truss", "Foreign Secretary Miz Truss"),
    ("over 100,000 troops", "over one hundred thousand troops"),
    ("an estimated 130,000 troops", "an estimated one hundred and thirty thousand troops"),
    ("who met Mr Putin", "who met Mister Putin"),
    ("the UK sent 100 Royal Engineers", "the U.K sent one hundred Royal Engineers"),
    ("Mr Johnson said", "Mister Johnson said"),
    ("more RAF jets", "more R.A.F jets"),
    ("a Type 45 destroyer and HMS Trent", "a Type forty-five destroyer and H.M.S Trent"),
    ("After touching down in Moscow, Ms Truss", "After touching down in Moscow, Miz Truss"),
]


@pytest.fixture(scope="module")
def script(sample_page: Path, voices: dict[str, VoiceDef]) -> list[str]:
    article = load_article(sample_page)
    scripter = Scripter(REPO / "voices" / "lexicon")  # shipped rules only
    return [seg.spoken for seg in scripter.script(article, voices["en-gb-espeak"]).segments]


@pytest.mark.parametrize(("written", "spoken"), READINGS)
def test_reviewed_readings(script: list[str], written: str, spoken: str) -> None:
    text = "\n".join(script)
    assert spoken in text
    assert written == spoken or written not in text


def test_script_is_pinned(script: list[str]) -> None:
    digest = hashlib.sha256("\n".join(script).encode()).hexdigest()
    assert digest == SCRIPT_SHA256, "the sample's spoken script changed: review and re-pin"
