"""End to end: article -> real eSpeak -> shaped, encoded MP3, checked by decoding it."""

from __future__ import annotations

import html
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from audio_service.article import Article, load_article
from audio_service.audio import pcm as audio
from audio_service.audio.loudness import integrated_lufs, true_peak_dbtp
from audio_service.audio.settings import AudioSettings
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.render.renderer import Renderer
from audio_service.render.words import split_words
from audio_service.text.segment import first_chunk
from audio_service.timings import Timings
from audio_service.voices import VoiceDef
from tests.support.media import EXAMPLES, REPO, decode_mp3, mp3_stream, mp3_tags

FURNITURE = (
    "listen to this article",
    "loading audio",
    "read more",
    "latest world news",
    "see more latest",
    "malaysia helicopter",
    "modi accused",
)


@pytest.fixture(scope="module", params=["en-gb-espeak", "en-us-piper-joe"])
def rendered_sample(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sample_page: Path
) -> Path:
    """The shared news page rendered through the real command line, by each engine."""
    out = tmp_path_factory.mktemp("sample") / "sample.mp3"
    env = {"AUDIO_SERVICE_DATA_DIR": str(out.parent), "PATH": "/usr/bin:/bin"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "audio_service",
            "render",
            str(sample_page),
            "-o",
            str(out),
            "--voice",
            request.param,
        ],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "s of audio" in result.stdout
    return out


def _timings(mp3: Path) -> Timings:
    return Timings.from_dict(json.loads(mp3.with_name(mp3.stem + ".timings.json").read_text()))


def test_sample_duration_matches_timings(rendered_sample: Path) -> None:
    info = mp3_stream(rendered_sample)
    timings = _timings(rendered_sample)
    assert info.length_s == pytest.approx(timings.duration_ms / 1000, rel=0.01)
    assert info.sample_rate_hz == 22050
    assert info.bitrate_bps == 64000
    decoded = decode_mp3(rendered_sample)
    assert decoded.size / 22050 == pytest.approx(timings.duration_ms / 1000, rel=0.01)


def test_sample_tags_and_captions(rendered_sample: Path, sample_page: Path) -> None:
    article = load_article(sample_page)
    tags = mp3_tags(rendered_sample)
    assert tags is not None
    assert str(tags["TIT2"]) == article.title
    vtt = rendered_sample.with_suffix(".vtt").read_text()
    assert vtt.startswith("WEBVTT")
    # The headline's first phrase is a cue of its own (a short first piece for a first listener);
    # cue text carries word timestamps (<00:00:01.250>) and escapes & < >.
    text = html.unescape(re.sub(r"<\d\d:\d\d:\d\d\.\d{3}>", "", vtt))
    assert all(part in text for part in first_chunk(article.title))


def test_sample_speaks_no_furniture(rendered_sample: Path) -> None:
    timings = _timings(rendered_sample)
    spoken = " ".join(f"{s.text} {s.spoken}" for s in timings.segments).lower()
    for phrase in FURNITURE:
        assert phrase not in spoken
    assert "diplomacy is the only way forward" in spoken


def test_sample_loudness_on_target(rendered_sample: Path) -> None:
    samples = decode_mp3(rendered_sample)
    assert integrated_lufs(samples, 22050) == pytest.approx(-19.0, abs=1.0)
    assert true_peak_dbtp(samples) <= -1.0


def test_pauses_at_paragraph_joins(rendered_sample: Path, voices: dict[str, VoiceDef]) -> None:
    """Silence detection on the decoded audio: each paragraph join holds a real pause."""
    timings = _timings(rendered_sample)
    samples = decode_mp3(rendered_sample)
    # The decoder output starts late by the codec delay; find it from the first sound.
    first_sound = int(np.flatnonzero(np.abs(samples) > 0.003)[0])
    delay = first_sound - round((timings.segments[0].start_ms + audio.TRIM_KEEP_MS) * 22.05)
    pauses = voices[timings.voice].pauses
    paragraph_gaps, sentence_gaps = [], []
    for before, after in zip(timings.segments, timings.segments[1:], strict=False):
        gap_ms = after.start_ms - before.end_ms
        start = delay + round((before.end_ms + 30) * 22.05)
        end = delay + round((after.start_ms - 30) * 22.05)
        rms = float(np.sqrt(np.mean(samples[start:end] ** 2)))
        assert rms < 10 ** (-50 / 20), (before.text, after.text)
        if before.paragraph >= 0 and after.paragraph != before.paragraph:
            paragraph_gaps.append(gap_ms)
        elif before.paragraph == after.paragraph >= 0:
            sentence_gaps.append(gap_ms)
    assert paragraph_gaps and sentence_gaps
    assert min(paragraph_gaps) >= pauses.paragraph_ms - 1  # ms rounding
    assert min(paragraph_gaps) > max(sentence_gaps)


def test_joins_have_no_sample_jump(pool, voices: dict[str, VoiceDef]) -> None:  # type: ignore[no-untyped-def]
    voice = voices["en-gb-espeak"]
    texts = ["Prices rose sharply.", "Shops said so.", "Buyers, however, were calm!"]
    parts = []
    for text in texts:
        synthesis = pool.synthesize(text, voice)
        parts.append(audio.shape_segment(synthesis.pcm, 22050, 3.0, AudioSettings())[0])
    joined = audio.join(parts, 22050, 120)
    boundaries = np.cumsum([p.size + round(0.12 * 22050) for p in parts])
    for edge in [0, *[b - round(0.12 * 22050) for b in boundaries], *boundaries[:-1]]:
        window = joined[max(0, edge - 2) : edge + 2]
        assert np.max(np.abs(window)) < 0.005


def test_examples_render(renderer: Renderer, voices: dict[str, VoiceDef]) -> None:
    examples = sorted(p for p in EXAMPLES.iterdir() if p.suffix in {".json", ".txt", ".html"})
    assert len(examples) >= 3
    for path in examples:
        article = load_article(path)
        voice = voices[article.voice or "en-gb-espeak"]
        out = io.BytesIO()
        result = renderer.render(renderer.script(article, voice), out)
        assert result.timings.duration_ms > 5000
        assert result.bytes_written == len(out.getvalue())
        starts = [s.start_ms for s in result.timings.segments]
        assert starts == sorted(starts)


def test_render_streams_before_it_finishes(renderer: Renderer, voices: dict[str, VoiceDef]) -> None:
    """The MP3 is written as segments complete, not all at the end."""

    class Recorder(io.BytesIO):
        writes: list[int]

        def write(self, data: bytes) -> int:  # type: ignore[override]
            self.writes.append(len(data))
            return super().write(data)

    out = Recorder()
    out.writes = []
    article = Article(title="Test", body=tuple(f"Sentence number {i} is here." for i in range(30)))
    renderer.render(renderer.script(article, voices["en-us-espeak"]), out)
    assert len([w for w in out.writes if w]) > 10


def test_word_timings_sit_inside_their_segments(rendered_sample: Path) -> None:
    timings = _timings(rendered_sample)
    if timings.voice != "en-gb-espeak":
        pytest.skip("Piper reports no word times; eSpeak does")
    with_words = [s for s in timings.segments if s.words]
    assert len(with_words) == len(timings.segments)
    for seg in with_words:
        starts = [w.start_ms for w in seg.words]
        assert starts == sorted(starts)
        assert all(seg.start_ms <= w.start_ms <= w.end_ms <= seg.end_ms for w in seg.words)
        # The words are the written words of the segment's text, each once, in order.
        assert [w.word for w in seg.words] == split_words(seg.text)


def test_an_edit_resynthesises_only_the_changed_segments(
    pool: SynthPool, settings: Settings, voices: dict[str, VoiceDef], tmp_path: Path
) -> None:
    from audio_service.render.pieces import PieceCache
    from audio_service.render.script import Scripter

    renderer = Renderer(
        pool,
        Scripter(*settings.lexicon_dirs),
        settings.audio,
        calibration_file=settings.data_dir / "calibration.json",
        pieces=PieceCache(tmp_path / "segments", 50 * 1024 * 1024),
    )
    voice = voices["en-gb-espeak"]
    body = [f"Paragraph {n} opens here. It has a second sentence, number {n}." for n in range(8)]
    article = Article(title="Edits all day", body=tuple(body))
    first = renderer.render(renderer.script(article, voice), io.BytesIO())
    assert first.synthesized == len(first.timings.segments) == 1 + 8 * 2
    edited = list(body)
    edited[3] = "Paragraph three was rewritten. Its second sentence too."
    second_out = io.BytesIO()
    edited_article = Article(title="Edits all day", body=tuple(edited))
    second = renderer.render(renderer.script(edited_article, voice), second_out)
    assert second.synthesized == 2  # the two sentences of the edited paragraph
    again_out = io.BytesIO()
    again = renderer.render(
        renderer.script(Article(title="Edits all day", body=tuple(edited)), voice), again_out
    )
    assert again.synthesized == 0
    assert again_out.getvalue() == second_out.getvalue()
    # The reused pieces sit where the timings say: the file decodes to the timed length.
    path = tmp_path / "edited.mp3"
    path.write_bytes(second_out.getvalue())
    assert decode_mp3(path).size / 22050 == pytest.approx(
        second.timings.duration_ms / 1000, abs=0.002
    )
