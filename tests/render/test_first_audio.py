"""First audio: the headline's short first phrase, and the express worker for first segments."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_service.article import Article
from audio_service.config import Settings
from audio_service.engines.base import compute_threads
from audio_service.engines.pool import BATCH_NICE, EXPRESS_THREADS, EngineFactory, SynthPool
from audio_service.engines.registry import builtin_engines
from audio_service.render.renderer import Renderer
from audio_service.render.script import Scripter
from audio_service.text.segment import FIRST_CHUNK_WORDS, SegmentKind, first_chunk
from audio_service.timings import Timings
from audio_service.voices import VoiceDef
from tests.support.media import decode_mp3

ARTICLE = Article(
    title="Council agrees budget with rise in library funding",
    byline="Priya Castellane",
    body=("The council voted on Tuesday. Libraries get more money.", "Nobody objected."),
)


def test_headline_cut_at_a_phrase_boundary() -> None:
    assert first_chunk("Council agrees budget with rise in library funding") == [
        "Council agrees budget",
        "with rise in library funding",
    ]
    assert first_chunk("Storm hits coast: thousands without power for the night") == [
        "Storm hits coast:",
        "thousands without power for the night",
    ]


def test_short_or_uncuttable_first_chunk_stays_whole() -> None:
    assert first_chunk("Storm hits coast tonight") == ["Storm hits coast tonight"]
    uncut = "Ferry timetable changes bring two extra morning sailings"
    assert first_chunk(uncut) == [uncut]
    # Never inside a name or a verb phrase: "of", "to", "in" bind what follows.
    for bound in ("The Bank of England raises rates again", "Ferry fares to rise in April"):
        assert first_chunk(bound) == [bound]


def test_only_the_first_segment_is_cut(voices: dict[str, VoiceDef]) -> None:
    voice = voices["en-gb-espeak"]
    script = Scripter().script(ARTICLE, voice)
    first, second = script.segments[:2]
    assert (first.kind, second.kind) == (SegmentKind.TITLE, SegmentKind.TITLE)
    assert len(first.text.split()) <= FIRST_CHUNK_WORDS
    assert f"{first.text} {second.text}" == ARTICLE.title
    assert first.pause_after_ms == voice.pauses.clause_ms
    assert second.pause_after_ms == voice.pauses.title_ms
    # Body sentences are chunked as before: nothing after the headline is cut short.
    assert "The council voted on Tuesday." in [s.text for s in script.segments]


def _pid_and_nice(factory: EngineFactory) -> tuple[int, int, int]:
    return os.getpid(), os.getpriority(os.PRIO_PROCESS, 0), compute_threads()


@pytest.fixture(scope="module")
def express_pool() -> Iterator[SynthPool]:
    with SynthPool(2, 30, builtin_engines(), warm=["espeak"], express=1) as pool:
        pool.warm_all()
        yield pool


def test_express_worker_is_its_own_process_at_normal_priority(express_pool: SynthPool) -> None:
    express = [express_pool.submit_call(_pid_and_nice, "espeak", express=True) for _ in range(4)]
    batch = [express_pool.submit_call(_pid_and_nice, "espeak") for _ in range(8)]
    express_seen = {f.result() for f in express}
    batch_seen = {f.result() for f in batch}
    assert len(express_seen) == 1
    express_pid, express_nice, express_threads = next(iter(express_seen))
    assert express_pid not in {pid for pid, _, _ in batch_seen}
    base = os.getpriority(os.PRIO_PROCESS, 0)
    assert express_nice == base
    assert {nice for _, nice, _ in batch_seen} == {min(19, base + BATCH_NICE)}
    # The express worker's engine may use a second core; a batch worker keeps to one.
    assert express_threads == EXPRESS_THREADS
    assert {threads for _, _, threads in batch_seen} == {1}


def test_render_with_express_worker_is_the_same_article(
    express_pool: SynthPool,
    renderer: Renderer,
    voices: dict[str, VoiceDef],
    settings: Settings,
    tmp_path: Path,
) -> None:
    voice = voices["en-gb-espeak"]
    # The same calibration file, so the same gain: only where the pieces were made differs.
    express = Renderer(
        express_pool,
        renderer.scripter,
        settings.audio,
        calibration_file=settings.data_dir / "calibration.json",
    )
    script = renderer.script(ARTICLE, voice)
    plain_path, express_path = tmp_path / "plain.mp3", tmp_path / "express.mp3"
    with plain_path.open("wb") as out:
        plain = renderer.render(script, out)
    with express_path.open("wb") as out:
        result = express.render(script, out)
    timings: Timings = result.timings
    assert [s.text for s in timings.segments][:2] == [
        "Council agrees budget",
        "with rise in library funding",
    ]
    rate = timings.sample_rate_hz
    samples = decode_mp3(express_path, rate)
    assert abs(len(samples) / rate * 1000 - timings.duration_ms) < 30
    assert [s.text for s in timings.segments] == [s.text for s in plain.timings.segments]
    assert abs(timings.duration_ms - plain.timings.duration_ms) <= 0.01 * plain.timings.duration_ms
