"""Intelligibility benchmark: per-voice word error rate of news paragraphs heard back by Whisper.

Run: .venv/bin/python bench/intelligibility.py [voice-id ...]
Every voice in voices/ (or the ones named) renders each paragraph through the service's own
path; Whisper base (tests/support/recognise.py) transcribes the MP3; both sides are normalised
the same way. Two control rows show what a broken voice scores. Figures only; no asserts.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from audio_service.article import Article  # noqa: E402
from audio_service.config import Settings  # noqa: E402
from audio_service.engines.pool import SynthPool  # noqa: E402
from audio_service.engines.registry import builtin_engines  # noqa: E402
from audio_service.render.renderer import Renderer  # noqa: E402
from audio_service.voices import VoiceDef, load_voices  # noqa: E402
from tests.support.recognise import MODEL_NAME, Recogniser, decode, wer  # noqa: E402

# The project's own news paragraphs (title, body): a number, a place and a name in each.
PARAGRAPHS = (
    (
        "Council backs plan for new homes",
        "Leeds City Council has approved plans for 1,200 new homes on the site of the former "
        "Kirkstall power station, after a debate that lasted almost four hours on Tuesday "
        "evening. The council leader, Sarah Whitfield, said the scheme would include a primary "
        "school, two parks and a new bus route into the city. Residents who opposed the plans "
        "warned that traffic on the ring road was already heavy at peak times, and said they "
        "would ask the government to review the decision.",
    ),
    (
        "Rail fares to rise in March",
        "Train fares in England will rise by 4.6% from 2 March, the Department for Transport "
        "said on Wednesday. The increase is below the rate of inflation for the first time in "
        "three years, but passenger groups said it would still add more than £150 to the cost "
        "of a season ticket between Reading and London. The transport secretary, David Morgan, "
        "said the money would pay for new trains and longer platforms on busy routes.",
    ),
    (
        "Hospital waiting list falls",
        "The number of patients waiting more than a year for hospital treatment in Wales has "
        "fallen to 21,000, its lowest level since the start of the pandemic. Figures published "
        "by the Welsh government show that the Cardiff and Vale health board made the biggest "
        "gains, cutting its longest waits by a third in six months. The health minister, Anna "
        "Price, thanked staff but said there was still a long way to go.",
    ),
    (
        "Storm closes roads in the Highlands",
        "Heavy snow and winds of up to 80 miles an hour closed roads across the Highlands on "
        "Sunday, leaving thousands of homes without power. Police Scotland urged drivers to "
        "stay at home unless their journey was essential. In Inverness, the local council "
        "opened two rest centres for people who could not heat their homes, and engineers "
        "expect most supplies to be back by Monday night, according to the network operator.",
    ),
)


def render(renderer: Renderer, voice: VoiceDef, title: str, body: str) -> bytes:
    out = io.BytesIO()
    article = Article(title=title, body=(body,), language=voice.locale)
    renderer.render(renderer.script(article, voice), out)
    return out.getvalue()


def scrambled(mp3: bytes) -> np.ndarray:
    """The audio cut into 250 ms pieces and shuffled: speech sounds, no sentences."""
    samples = decode(mp3)
    pieces = np.array_split(samples, max(1, samples.size // 4000))
    order = np.random.default_rng(13).permutation(len(pieces))
    return np.concatenate([pieces[i] for i in order])


def main() -> None:
    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="intelligibility-")))
    voices = load_voices(settings.voices_dir)
    chosen = sys.argv[1:] or sorted(voices)
    started = time.perf_counter()
    recogniser = Recogniser(settings.data_dir)
    print(f"recogniser: {MODEL_NAME}, loaded in {time.perf_counter() - started:.1f} s")
    # name -> per-paragraph WER, errors, reference words, spoken words per minute
    rows: dict[str, tuple[list[float], int, int, float]] = {}
    scrambled_scores: list[float] = []
    with SynthPool(2, 120, builtin_engines(), warm=["espeak"]) as pool:
        renderer = Renderer.for_settings(pool, settings)
        german = replace(voices["en-gb-espeak"], engine_voice="gmw/de")
        cases = [*((v, voices[v]) for v in chosen), ("control: en-gb-espeak, German rules", german)]
        for name, voice in cases:
            scores: list[float] = []
            errors = words = 0
            audio_s = 0.0
            for title, body in PARAGRAPHS:
                reference = f"{title}. {body}"
                mp3 = render(renderer, voice, title, body)
                audio_s += decode(mp3).size / 16_000
                score = wer(reference, recogniser.transcribe(mp3), voice.locale)
                scores.append(score.wer)
                errors += score.substitutions + score.deletions + score.insertions
                words += score.reference_words
                if name == "en-gb-espeak":
                    heard = recogniser.transcribe_samples(scrambled(mp3))
                    scrambled_scores.append(wer(reference, heard, voice.locale).wer)
            rows[name] = (scores, errors, words, words / audio_s * 60)
            print(f"  {name}: {errors / words:.1%}", flush=True)
    print()
    print(f"{'voice':38} {'WER':>6}   {'per paragraph':28} {'wpm':>4}")
    for name, (scores, errors, words, wpm) in rows.items():
        per = " ".join(f"{s:6.1%}" for s in scores)
        print(f"{name:38} {errors / words:6.1%}   {per:28} {wpm:4.0f}")
    if scrambled_scores:
        per = " ".join(f"{s:6.1%}" for s in scrambled_scores)
        mean = sum(scrambled_scores) / len(scrambled_scores)
        print(f"{'control: en-gb-espeak, scrambled':38} {mean:6.1%}   {per:28}")
    took = time.perf_counter() - started
    print(f"\nWER pools all errors over all reference words; took {took:.0f} s")


if __name__ == "__main__":
    main()
