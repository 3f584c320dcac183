"""Podcast benchmark: assembling a 20-story episode from cached stories.

Run: .venv/bin/python bench/podcast.py
Renders 20 stories once (so every piece is cached), builds the episode once (so the intro
and outro are cached too), then times a forced rebuild. Baseline, in the same run: just
decoding the same stories' MP3s and encoding their joined audio at the episode's format.
Figures only; no asserts.
"""

from __future__ import annotations

import io
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

EXAMPLES = REPO / "audio_service" / "examples"
STORIES = 20


def main() -> None:
    import numpy as np

    from audio_service.article import Article, load_article
    from audio_service.audio.ffmpeg import decode_mp3, resample
    from audio_service.audio.mp3 import Mp3Encoder
    from audio_service.audio.settings import AudioSettings
    from audio_service.config import Settings
    from audio_service.engines.pool import SynthPool
    from audio_service.engines.registry import builtin_engines
    from audio_service.podcast.episode import EpisodeBuilder
    from audio_service.podcast.feeds import Story, load_feed
    from audio_service.render.renderer import Renderer
    from audio_service.store.local import AudioStore
    from audio_service.voices import load_voices

    examples = [
        load_article(p)
        for p in sorted(EXAMPLES.iterdir())
        if p.suffix in {".json", ".txt", ".html"}
    ]
    stories: list[Story] = []
    for n in range(STORIES):
        base = examples[n % len(examples)]
        shift = n // len(examples)
        # Distinct stories: a numbered headline and the paragraphs rotated.
        body = base.body[shift:] + base.body[:shift]
        article = Article(title=f"Story {n + 1}. {base.title}", body=body, byline=base.byline)
        stories.append(Story(f"story-{n + 1}", article))
    feed = replace(load_feed(REPO / "feeds" / "daily-briefing.toml"), articles=())
    day = date(2025, 2, 26)
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp)
        settings = Settings(data_dir=data_dir, workers=2)
        voice = load_voices(settings.voices_dir)[feed.voice]
        with SynthPool(2, 30, builtin_engines(), warm=["espeak"]) as pool:
            renderer = Renderer.for_settings(pool, settings)
            story_mp3: list[tuple[bytes, int]] = []
            started = time.perf_counter()
            for story in stories:
                buffer = io.BytesIO()
                result = renderer.render(renderer.script(story.article, voice), buffer)
                story_mp3.append((buffer.getvalue(), result.timings.sample_rate_hz))
            render_s = time.perf_counter() - started
            builder = EpisodeBuilder(renderer, AudioStore(data_dir), data_dir)
            builder.build(feed, day, stories, voice)  # caches the intro and outro
            started = time.perf_counter()
            episode = builder.build(feed, day, stories, voice, force=True)
            build_s = time.perf_counter() - started
            stages = builder.stages
            again_started = time.perf_counter()
            builder.build(feed, day, stories, voice)
            unchanged_s = time.perf_counter() - again_started

        es = builder.settings
        started = time.perf_counter()
        decoded = [resample(decode_mp3(data), rate, es.sample_rate_hz) for data, rate in story_mp3]
        decode_s = time.perf_counter() - started
        joined = np.concatenate(decoded)
        encoder = Mp3Encoder(
            es.sample_rate_hz,
            AudioSettings(bitrate_kbps=es.bitrate_kbps, mp3_quality=es.mp3_quality),
        )
        started = time.perf_counter()
        step = es.sample_rate_hz * 10
        for i in range(0, joined.size, step):
            encoder.encode(joined[i : i + step])
        encoder.flush()
        encode_s = time.perf_counter() - started

    audio_s = episode.duration_ms / 1000
    baseline = decode_s + encode_s
    print(
        f"{STORIES} stories, episode {audio_s:.0f} s of audio ({episode.size_bytes / 1e6:.1f} MB)"
    )
    print(f"first render of the stories (synthesis): {render_s:.2f} s")
    speed = audio_s / build_s
    print(f"episode build from cached stories:       {build_s:.2f} s ({speed:.0f}x real time)")
    print(f"  render stories from the piece cache:    {stages['render_s']:.2f} s")
    print(f"  decode + resample into place:           {stages['decode_s']:.2f} s")
    print(f"  loudness + true peak:                   {stages['loudness_s']:.2f} s")
    print(f"  MP3 encoding (44.1 kHz, 96 kbps):       {stages['encode_s']:.2f} s")
    print(f"  tags, store, sidecars:                  {stages['store_s']:.2f} s")
    rest = build_s - stages["encode_s"]
    print(f"  encoding {stages['encode_s']:.2f} s vs the rest {rest:.2f} s")
    print(f"rebuild with unchanged inputs (no encode): {unchanged_s:.3f} s")
    print(f"baseline decode + resample + encode:     {decode_s:.2f} + {encode_s:.2f} s", end="")
    print(f" = {baseline:.2f} s")
    print(f"ratio build / baseline:                   {build_s / baseline:.2f}")
    print(f"episode: {episode.loudness_lufs} LUFS, {episode.true_peak_dbtp} dBTP (before encoding)")


if __name__ == "__main__":
    main()
