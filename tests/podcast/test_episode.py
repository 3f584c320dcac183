"""The daily podcast end to end: stories PUT to the real service, an episode built from
their cached pieces, chapters, transcript, loudness, RSS, and the enclosure served."""

from __future__ import annotations

import json
import time
import wave
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import feedparser
import httpx
import numpy as np
import pytest
from mutagen.id3 import ID3
from scipy import signal

from audio_service.audio import ffmpeg as podcast_codec
from audio_service.audio import loudness as podcast_audio
from audio_service.audio import mp3
from audio_service.audio import pcm as audio
from audio_service.audio.settings import AudioSettings
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import builtin_engines
from audio_service.http.urls import Urls
from audio_service.podcast.chapters import Episode
from audio_service.podcast.episode import EpisodeBuilder
from audio_service.podcast.feeds import (
    FeedDef,
    episode_dir,
    load_episodes,
    load_feed,
    select_stories,
)
from audio_service.podcast.rss import feed_xml
from audio_service.render.renderer import Renderer
from audio_service.store.index import Index
from audio_service.store.local import AudioStore
from audio_service.timings import Timings
from audio_service.voices import load_voices
from tests.audio.reference import oversampled_true_peak_dbtp, pyloudnorm_lufs
from tests.support.media import EXAMPLES, REPO, decode_mp3
from tests.support.service_process import running_service

DAY = date(2025, 2, 26)
RATE = 44100
BED_MARK_HZ = 12500.0
SHORT = [
    {
        "title": "Library opens on Sundays",
        "body": "The central library will open on Sundays from March, the council said.",
        "published": "2025-02-26T08:00:00+00:00",
    },
    {
        "title": "Ferry fares to rise",
        "body": "Fares on the island ferry will rise by 4% in April. The operator blamed fuel.",
        "published": "2025-02-26T09:30:00+00:00",
    },
]
CONTENT_TYPES = {".json": "application/json", ".txt": "text/plain", ".html": "text/html"}


@dataclass
class Built:
    feed: FeedDef
    episode: Episode
    path: Path
    again: Episode  # built a second time with unchanged inputs
    forced: Episode  # re-encoded from scratch
    forced_bytes: bytes
    bed: Episode  # the same stories with a music bed under them
    bed_path: Path
    bed_rebuilt: Episode  # forced again: the same bytes
    timings: Timings
    data_dir: Path
    url: str  # the restarted service


def _tone(path: Path, seconds: float, *hz: float) -> None:
    t = np.arange(round(seconds * RATE)) / RATE
    chord = np.mean([np.sin(2 * np.pi * f * t) for f in hz], axis=0)
    pcm = (0.3 * chord * 32767).astype("<i2")
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(RATE)
        handle.writeframes(pcm.tobytes())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Built]:
    data_dir = tmp_path_factory.mktemp("podcast")
    music = tmp_path_factory.mktemp("music")
    _tone(music / "intro.wav", 1.5, 440)
    _tone(music / "sting.wav", 0.5, 660)
    # A bed: an A major chord with a high partial above the speech's band (the stories are
    # 22.05 kHz speech: nothing above 11 kHz), so the bed alone can be measured under speech.
    _tone(music / "bed.wav", 4.0, 220, 277.2, 329.6, BED_MARK_HZ)
    (music / "cover.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 64)
    examples = sorted(p for p in EXAMPLES.iterdir() if p.suffix in CONTENT_TYPES)
    with running_service(data_dir) as svc, httpx.Client(base_url=svc.url, timeout=60) as client:
        for path in examples:
            headers = {"content-type": CONTENT_TYPES[path.suffix]}
            put = client.put(
                f"/v1/articles/{path.stem}", content=path.read_bytes(), headers=headers
            )
            assert put.status_code == 200, put.text
        for number, article in enumerate(SHORT):
            assert client.put(f"/v1/articles/short-{number}", json=article).status_code == 200
        # Every story must be rendered (and its pieces cached) before the build, or the build
        # would synthesise what the service had not finished: wait, and say so if it never is.
        for article_id in [p.stem for p in examples] + ["short-0", "short-1"]:
            deadline = time.monotonic() + 180
            while client.get(f"/v1/articles/{article_id}").json()["status"] != "ready":
                assert time.monotonic() < deadline, f"{article_id} was not rendered in 180 s"
                time.sleep(0.05)
    # The service is stopped: build on the same data dir, as the CLI would.
    feed = replace(
        load_feed(REPO / "feeds" / "daily-briefing.toml"),
        intro_music=music / "intro.wav",
        transition_music=music / "sting.wav",
        cover_image=music / "cover.png",
    )
    settings = Settings(data_dir=data_dir, workers=2, examples=False)
    voices = load_voices(settings.voices_dir)
    index = Index(data_dir / "index.sqlite3")
    with SynthPool(2, 30, builtin_engines(), warm=["espeak"]) as pool:
        renderer = Renderer.for_settings(pool, settings)
        builder = EpisodeBuilder(renderer, AudioStore(data_dir), data_dir)
        stories = select_stories(feed, DAY, index)
        voice = voices[feed.voice]
        episode = builder.build(feed, DAY, stories, voice)
        path = AudioStore(data_dir).path(episode.digest)
        first_bytes = path.read_bytes()
        again = builder.build(feed, DAY, stories, voice)
        path.unlink()  # so the forced build must write the file anew
        forced = builder.build(feed, DAY, stories, voice, force=True)
        bed_feed = replace(feed, id="daily-briefing-bed", bed_music=music / "bed.wav")
        bed = builder.build(bed_feed, DAY, stories, voice)
        bed_path = AudioStore(data_dir).path(bed.digest)
        bed_path.unlink()
        bed_rebuilt = builder.build(bed_feed, DAY, stories, voice, force=True)
    index.close()
    assert path.read_bytes() == first_bytes
    timings = Timings.from_dict(
        json.loads(AudioStore(data_dir).timings_path(episode.digest).read_text())
    )
    with running_service(data_dir) as svc:
        yield Built(
            feed,
            episode,
            path,
            again,
            forced,
            first_bytes,
            bed,
            bed_path,
            bed_rebuilt,
            timings,
            data_dir,
            svc.url,
        )


def test_five_stories_and_only_the_new_texts_are_synthesised(built: Built) -> None:
    assert built.episode.stories == (
        "council-budget",
        "harbor-bridge",
        "storm-warning",
        "short-0",
        "short-1",
    )
    # The stories' pieces were all cached by the service: only the intro and outro are new.
    assert 0 < built.episode.synthesized <= 4


def test_building_twice_gives_identical_bytes(built: Built) -> None:
    assert built.again.reused and built.again.digest == built.episode.digest
    assert built.forced.digest == built.episode.digest
    assert not built.forced.reused


def test_chapters_start_where_each_story_starts(built: Built) -> None:
    tag = ID3(built.path)
    chaps = sorted(tag.getall("CHAP"), key=lambda c: c.start_time)
    toc = tag.getall("CTOC")[0]
    assert toc.child_element_ids == [c.element_id for c in chaps]
    titles = [c.sub_frames["TIT2"].text[0] for c in chaps]
    story_titles = [c.title for c in built.episode.chapters if c.kind == "story"]
    assert titles == ["Introduction", *story_titles, "Goodbye"]
    assert "Ferry fares to rise" in titles
    # Where each story's title begins (a headline may be spoken as two segments: its first
    # phrase goes alone, see text/segment.py first_chunk).
    segments = built.timings.segments
    title_segments = [
        s
        for i, s in enumerate(segments)
        if s.kind == "title" and (i == 0 or segments[i - 1].kind != "title")
    ]
    assert len(title_segments) == 5
    for chap, seg in zip(chaps[1:-1], title_segments, strict=True):
        assert abs(chap.start_time - seg.start_ms) <= 50
    decoded = decode_mp3(built.path, RATE)
    # The first title is really spoken where its chapter says: silence just before it.
    first = chaps[1].start_time * RATE // 1000
    assert np.abs(decoded[first - 2000 : first - 300]).max() < 0.01
    assert np.abs(decoded[first : first + RATE // 2]).max() > 0.05
    assert tag.getall("APIC")[0].mime == "image/png"


def test_duration_is_the_sum_of_its_parts(built: Built) -> None:
    decoded = decode_mp3(built.path, RATE)
    assert abs(decoded.size / RATE * 1000 - built.episode.duration_ms) < 60
    assert chaps_end(built) == built.episode.duration_ms
    spoken = sum(s.end_ms - s.start_ms for s in built.timings.segments)
    assert spoken < built.episode.duration_ms


def chaps_end(built: Built) -> int:
    return built.episode.chapters[-1].end_ms


def test_loudness_and_true_peak(built: Built) -> None:
    decoded = decode_mp3(built.path, RATE)
    assert abs(podcast_audio.integrated_lufs(decoded, RATE) + 16) <= 1.0
    assert podcast_audio.true_peak_dbtp(decoded) <= -1.0


def test_transcripts_match_the_chapters(built: Built) -> None:
    folder = episode_dir(built.data_dir, built.feed.id, DAY)
    vtt = (folder / "transcript.vtt").read_text()
    srt = (folder / "transcript.srt").read_text()
    assert vtt.startswith("WEBVTT")
    cue_starts = [line.split(" --> ")[0] for line in vtt.splitlines() if " --> " in line]
    srt_starts = [line.split(" --> ")[0] for line in srt.splitlines() if " --> " in line]
    assert [s.replace(".", ",") for s in cue_starts] == srt_starts
    for chapter in built.episode.chapters:
        if chapter.kind == "story":
            ms = chapter.start_ms
            stamp = (
                f"{ms // 3600000:02d}:{ms // 60000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"
            )
            assert stamp in cue_starts
    chapters = json.loads((folder / "chapters.json").read_text())
    assert chapters["version"] == "1.2.0"
    assert [c["title"] for c in chapters["chapters"]] == [c.title for c in built.episode.chapters]


def test_feed_parses_with_every_required_tag(built: Built) -> None:
    episodes = load_episodes(built.data_dir, built.feed.id)
    xml = feed_xml(built.feed, episodes, Urls("https://audio.example.com"))
    assert xml == feed_xml(built.feed, episodes, Urls("https://audio.example.com"))
    parsed = feedparser.parse(xml)
    assert not parsed.bozo, parsed.get("bozo_exception")
    channel = parsed.feed
    assert channel.title == built.feed.title
    assert "itunes_explicit" in channel
    assert channel.author_detail.name == built.feed.author or channel.author == built.feed.author
    assert channel.image.href == built.feed.artwork_url
    assert channel.tags[0].term == "News"
    assert channel.language == "en-GB"
    assert channel.publisher_detail.email == built.feed.owner_email
    (item,) = parsed.entries
    assert item.id == "daily-briefing/2025-02-26"
    assert item.published_parsed[:3] == (2025, 2, 26)
    (enclosure,) = item.enclosures
    assert enclosure.type == "audio/mpeg"
    assert int(enclosure.length) == built.path.stat().st_size
    assert enclosure.href == f"https://audio.example.com/v1/audio/{built.episode.digest}.mp3"
    assert item.itunes_duration.count(":") == 2
    text = xml.decode()
    assert text.count("<itunes:explicit>false</itunes:explicit>") == 2  # channel and item
    assert 'xmlns:podcast="https://podcastindex.org/namespace/1.0"' in text
    assert "<podcast:chapters" in text and 'type="application/json+chapters"' in text
    assert "<podcast:transcript" in text and 'type="text/vtt"' in text


def test_enclosure_head_and_range_on_the_real_service(built: Built) -> None:
    url = f"{built.url}/v1/audio/{built.episode.digest}.mp3"
    head = httpx.head(url)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == built.episode.size_bytes
    assert head.headers["accept-ranges"] == "bytes"
    ranged = httpx.get(url, headers={"Range": "bytes=0-1"})
    assert ranged.status_code == 206
    assert ranged.content == b"ID"
    assert ranged.headers["content-range"] == f"bytes 0-1/{built.episode.size_bytes}"


def test_fast_loudness_and_true_peak_agree_with_pyloudnorm(built: Built) -> None:
    decoded = decode_mp3(built.path, RATE)
    fast = podcast_audio.integrated_lufs(decoded, RATE)
    assert abs(fast - pyloudnorm_lufs(decoded, RATE)) <= 0.05
    # Looking only near the ceiling finds the same peak as oversampling everything.
    peak = podcast_audio.true_peak_dbtp(decoded, -1.0)
    assert abs(peak - oversampled_true_peak_dbtp(decoded)) <= 0.01


def test_encoding_in_two_processes_keeps_every_sample_in_place() -> None:
    t = np.arange(RATE * 130) / RATE
    tone = (0.3 * np.sin(2 * np.pi * 440 * t) * (np.sin(2 * np.pi * 0.7 * t) > 0)).astype(
        np.float32
    )
    tone[RATE * 64 : RATE * 66] = 0
    settings = AudioSettings(bitrate_kbps=96, mp3_quality=7)
    whole = mp3.encode_mp3(tone, RATE, settings)
    split = mp3.encode_mp3_split(tone, RATE, settings, [(RATE * 64, RATE * 66)])
    assert split != whole  # really split: LAME restarts in the silence
    assert split == mp3.encode_mp3_split(tone, RATE, settings, [(RATE * 64, RATE * 66)])
    a, b = podcast_codec.decode_mp3(whole), podcast_codec.decode_mp3(split)
    assert a.size == b.size
    assert np.array_equal(a[: RATE * 64], b[: RATE * 64])
    # After the split the audio sits at the same samples as in one stream.
    later = slice(RATE * 70, RATE * 80)
    assert np.abs(a[later] - b[later]).max() < 0.01


def test_true_peak_block_by_block_finds_peaks_at_block_edges() -> None:
    # Inter-sample peaks straddling the blocks' edges (and the signal's ends) are found.
    chunk = podcast_audio.CHUNK
    rng = np.random.default_rng(7)
    samples = (rng.standard_normal(chunk * 2 + chunk // 2) * 0.05).astype(np.float32)
    for at in (0, chunk - 1, chunk, 2 * chunk - 2, samples.size - 1):
        samples[at] = 0.8
        if at + 1 < samples.size:
            samples[at + 1] = 0.8  # two equal neighbours: the peak lies between them
    peak = podcast_audio.true_peak_dbtp(samples, -1.0)
    assert abs(peak - oversampled_true_peak_dbtp(samples)) <= 0.01
    assert peak > 20 * np.log10(0.8) + 0.1


def _band_db(samples: np.ndarray, windows: list[tuple[int, int]]) -> float:
    """RMS level (dBFS) above 11.5 kHz, where only the bed's high partial lives."""
    sos = signal.butter(8, 11500, "highpass", fs=RATE, output="sos")
    high = signal.sosfilt(sos, samples)
    power = np.mean(np.concatenate([high[a:b] for a, b in windows]) ** 2)
    return 10 * float(np.log10(power + 1e-20)) + 3.0  # +3: a sine's RMS to its peak level


def test_music_bed_plays_in_the_gaps_and_ducks_under_speech(built: Built) -> None:
    assert built.bed_rebuilt.digest == built.bed.digest  # deterministic
    assert built.bed.digest != built.episode.digest
    with_bed, without = decode_mp3(built.bed_path, RATE), decode_mp3(built.path, RATE)
    assert abs(podcast_audio.integrated_lufs(with_bed, RATE) + 16) <= 1.0
    assert podcast_audio.true_peak_dbtp(with_bed) <= -1.0
    # The 500 ms gap before each story (the chapter starts ~75 ms into the story's audio),
    # and the middle of every sentence of a second or more.
    ms = RATE // 1000
    gaps = [
        ((c.start_ms - 380) * ms, (c.start_ms - 270) * ms)
        for c in built.bed.chapters
        if c.kind == "story"
    ]
    speech = [
        ((s.start_ms + 200) * ms, (s.end_ms - 200) * ms)
        for s in built.timings.segments
        if s.end_ms - s.start_ms >= 1000
    ]
    assert len(gaps) == 5 and len(speech) > 20
    in_gaps, under_speech = _band_db(with_bed, gaps), _band_db(with_bed, speech)
    # Audible in the gaps: far above the same gaps without a bed (silence there).
    assert in_gaps > _band_db(without, gaps) + 30
    assert in_gaps > -60
    # Ducked under speech by about bed_duck_db (12 dB), never more than the gap level.
    assert in_gaps - under_speech >= built.feed.bed_duck_db - 3
    assert under_speech > _band_db(without, speech) + 6  # still there, just lower


def test_levelling_in_place_in_two_threads_equals_limiting_the_whole() -> None:
    rng = np.random.default_rng(11)
    t = np.arange(RATE * 40) / RATE
    speechy = (0.4 * np.sin(2 * np.pi * 180 * t) * rng.random(t.size) ** 4).astype(np.float32)
    ceiling = -2.2
    whole = audio.limit(speechy * np.float32(10 ** (6 / 20)), ceiling, RATE)
    levelled = speechy.copy()
    lufs = podcast_audio.level(levelled, 6.0, ceiling, RATE, write=True, workers=2)
    assert np.array_equal(levelled, whole)
    assert abs(lufs - podcast_audio.integrated_lufs(whole, RATE)) < 0.01
