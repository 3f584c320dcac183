"""Daily podcast episodes: the day's stories, from cached pieces, into one chaptered MP3."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import numpy as np

from audio_service import audio
from audio_service.article import Article
from audio_service.audio import AudioSettings, Samples
from audio_service.cache import AudioStore, atomic_write
from audio_service.errors import AudioError, ConfigError, NotFoundError
from audio_service.pieces import CODEC_DELAY, count_frames, samples_per_frame
from audio_service.podcast_audio import (
    encode_mp3_split,
    normalise,
    resample,
    true_peak_dbtp,
)
from audio_service.podcast_chapters import (
    Chapter,
    Episode,
    EpisodeTags,
    chapters_json,
    episode_id3,
    to_srt,
)
from audio_service.podcast_feed import (
    FeedDef,
    Story,
    episode_dir,
    select_stories,
    spoken_date,
)
from audio_service.render import Renderer
from audio_service.timings import TimedSegment, TimedWord, Timings
from audio_service.voices import VoiceDef

if TYPE_CHECKING:
    from audio_service.service import Service

log = logging.getLogger(__name__)

FORMAT_VERSION = 2  # bump when assembly changes, so stored episodes are rebuilt
GAP_MS = 500  # silence between the parts of an episode (after a story's own final pause)
MUSIC_BELOW_SPEECH_LU = 4.0  # jingles sit a little under the speech


@dataclass(frozen=True)
class EpisodeSettings:
    """How an episode sounds: one loudness target for all of it, podcast-grade MP3."""

    sample_rate_hz: int = 44100
    loudness_lufs: float = -16.0
    true_peak_dbtp: float = -1.0
    peak_margin_db: float = 1.2  # as for articles: MP3 coding adds inter-sample peaks
    bitrate_kbps: int = 96
    mp3_quality: int = 7


@dataclass
class _Timeline:
    """PCM parts at the episode rate, with their spoken segments in episode time."""

    rate: int
    parts: list[Samples]
    segments: list[TimedSegment]
    position: int = 0  # samples so far
    silences: list[tuple[int, int]] = field(default_factory=list)  # where encoding may split

    def ms(self, part_ms: int = 0) -> int:
        # The encoded episode decodes CODEC_DELAY samples late, like every LAME stream.
        return round((self.position + CODEC_DELAY) * 1000 / self.rate) + part_ms

    def add(self, samples: Samples, timings: Timings | None = None) -> None:
        if timings is not None:
            base = self.ms()
            for seg in timings.segments:
                self.segments.append(
                    replace(
                        seg,
                        index=len(self.segments),
                        start_ms=base + seg.start_ms,
                        end_ms=base + seg.end_ms,
                        words=tuple(
                            TimedWord(w.word, base + w.start_ms, base + w.end_ms) for w in seg.words
                        ),
                    )
                )
        self.parts.append(samples)
        self.position += samples.size

    def pause(self, samples: Samples) -> None:
        self.silences.append((self.position, self.position + samples.size))
        self.add(samples)


def _file_digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


def _decode_mp3(data: bytes) -> Samples:
    """MP3 bytes -> float samples at their own rate, with ffmpeg (frames decode exactly)."""
    import imageio_ffmpeg

    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-f", "mp3", "-i", "pipe:0"]
    command += ["-f", "s16le", "-ac", "1", "pipe:1"]
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise AudioError(f"ffmpeg could not decode MP3: {result.stderr.decode()[-500:]}")
    return audio.to_float(result.stdout)


def _load_music(path: Path, rate: int, lufs: float) -> Samples:
    """Any file ffmpeg decodes, as mono at the episode rate, brought to a loudness."""
    import imageio_ffmpeg
    from pydub import AudioSegment

    AudioSegment.converter = imageio_ffmpeg.get_ffmpeg_exe()
    try:
        segment = AudioSegment.from_file(path).set_channels(1).set_sample_width(2)
    except Exception as exc:  # pydub raises CouldntDecodeError, OSError and others
        raise AudioError(f"cannot decode music file {path}: {exc}") from exc
    samples = resample(audio.to_float(segment.raw_data), segment.frame_rate, rate)
    measured = audio.integrated_lufs(samples, rate)
    if np.isfinite(measured):
        samples = samples * np.float32(10 ** ((lufs - measured) / 20))
    return audio.fade(samples, rate)


class EpisodeBuilder:
    """Assembles episodes with the service's renderer (so its piece cache) and store."""

    def __init__(
        self,
        renderer: Renderer,
        store: AudioStore,
        data_dir: Path,
        settings: EpisodeSettings | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.data_dir = data_dir
        self.settings = settings or EpisodeSettings()
        # Seconds spent in each stage of the last build (logs and bench/podcast.py).
        self.stages: dict[str, float] = {}

    def texts(self, feed: FeedDef, day: date, stories: Sequence[Story]) -> dict[str, str]:
        values = {
            "date": spoken_date(day, feed.language),
            "title": feed.title,
            "author": feed.author,
            "count": str(len(stories)),
        }
        try:
            return {
                "intro": feed.intro.format_map(values),
                "outro": feed.outro.format_map(values),
                "transition": feed.transition.format_map(values),
            }
        except (KeyError, ValueError, IndexError) as exc:
            raise ConfigError(f"feed {feed.id!r}: bad placeholder in a text: {exc}") from exc

    def _article(self, feed: FeedDef, story: Story) -> Article:
        article = story.article
        if feed.paragraphs:
            article = replace(article, body=article.body[: feed.paragraphs])
        return article

    def inputs_key(
        self, feed: FeedDef, day: date, stories: Sequence[Story], voice: VoiceDef
    ) -> str:
        """Hash of everything that shapes the episode's bytes (cheap: no audio is touched)."""
        blob = {
            "format": FORMAT_VERSION,
            "feed": repr(feed),
            "date": day.isoformat(),
            "settings": repr(self.settings),
            "texts": self.texts(feed, day, stories),
            "stories": [
                [s.id, self.renderer.cache_inputs(self._article(feed, s), voice)] for s in stories
            ],
            "files": [_file_digest(p) for p in (*feed.music.values(), feed.cover_image)],
        }
        text = json.dumps(blob, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _speeches(
        self, articles: Sequence[Article], voice: VoiceDef
    ) -> list[tuple[Samples, Timings, int]]:
        """Render each in turn through the renderer (cached pieces are reused); decode and
        resample two at a time in threads (ffmpeg and scipy run outside the GIL)."""
        to_hz = self.settings.sample_rate_hz

        def decode(data: bytes, rate: int) -> Samples:
            return resample(_decode_mp3(data), rate, to_hz)

        with ThreadPoolExecutor(2) as pool:
            jobs = []
            for article in articles:
                buffer = io.BytesIO()
                result = self.renderer.render(article, voice, buffer)
                rate = result.timings.sample_rate_hz
                jobs.append((pool.submit(decode, buffer.getvalue(), rate), result))
            return [(job.result(), r.timings, r.synthesized) for job, r in jobs]

    def build(
        self,
        feed: FeedDef,
        day: date,
        stories: Sequence[Story],
        voice: VoiceDef,
        *,
        force: bool = False,
    ) -> Episode:
        """Build (or find) the feed's episode for a day; same inputs give the same bytes."""
        if not stories:
            raise NotFoundError(f"feed {feed.id!r} has no stories for {day.isoformat()}")
        key = self.inputs_key(feed, day, stories, voice)
        folder = episode_dir(self.data_dir, feed.id, day)
        record = folder / "episode.json"
        if not force and record.is_file():
            stored = Episode.from_json(record.read_text(encoding="utf-8"))
            if stored.inputs_key == key and self.store.exists(stored.digest):
                return stored
        es = self.settings
        rate = es.sample_rate_hz
        texts = self.texts(feed, day, stories)
        music_lufs = self.renderer.settings.loudness_lufs - MUSIC_BELOW_SPEECH_LU
        music = {k: _load_music(p, rate, music_lufs) if p else None for k, p in feed.music.items()}
        gap = audio.silence(GAP_MS, rate)
        line = _Timeline(rate, [], [])
        marks: list[tuple[str, str, str, int]] = []  # kind, title, story id, start ms
        made = 0
        started = time.perf_counter()

        def said(text: str) -> Article:
            return Article(title="", body=(text,), language=feed.language)

        # Everything spoken, in episode order, rendered and decoded before assembly.
        spoken: list[Article] = []
        if texts["intro"].strip():
            spoken.append(said(texts["intro"]))
        for number, story in enumerate(stories):
            if number and texts["transition"].strip():
                spoken.append(said(texts["transition"]))
            spoken.append(self._article(feed, story))
        if texts["outro"].strip():
            spoken.append(said(texts["outro"]))
        speeches = iter(self._speeches(spoken, voice))

        def speak(text: str, kind: str, title: str = "", story_id: str = "") -> None:
            nonlocal made
            if not text.strip():
                return
            samples, timings, synthesized = next(speeches)
            made += synthesized
            if kind:
                # The intro chapter also holds the intro music: it starts the episode.
                start = 0 if kind == "intro" else line.ms(timings.segments[0].start_ms)
                marks.append((kind, title, story_id, start))
            line.add(samples, timings)
            line.pause(gap)

        if music["intro"] is not None:
            line.add(music["intro"])
            line.pause(gap)
        speak(texts["intro"], "intro", "Introduction")
        for number, story in enumerate(stories):
            if number and music["transition"] is not None:
                line.add(music["transition"])
                line.pause(gap)
            if number:
                speak(texts["transition"], "")
            samples, timings, synthesized = next(speeches)
            made += synthesized
            start = line.ms(timings.segments[0].start_ms)
            marks.append(("story", story.article.title or story.id, story.id, start))
            line.add(samples, timings)
            line.pause(gap)
        speak(texts["outro"], "outro", "Goodbye")
        if music["outro"] is not None:
            line.add(music["outro"])
        assembled = time.perf_counter()
        pcm, lufs = normalise(
            np.concatenate(line.parts),
            rate,
            es.loudness_lufs,
            es.true_peak_dbtp - es.peak_margin_db,
        )
        peak = true_peak_dbtp(pcm, es.true_peak_dbtp)
        measured = time.perf_counter()
        mp3 = AudioSettings(bitrate_kbps=es.bitrate_kbps, mp3_quality=es.mp3_quality)
        frames = encode_mp3_split(pcm, rate, mp3, line.silences)
        encoded = time.perf_counter()
        n_frames = count_frames(frames, es.bitrate_kbps, rate)
        duration_ms = round(n_frames * samples_per_frame(rate) * 1000 / rate)
        chapters = [
            Chapter(title, start, end, kind, story_id)
            for (kind, title, story_id, start), end in zip(
                marks, [m[3] for m in marks[1:]] + [duration_ms], strict=True
            )
        ]
        title = f"{feed.title}: {spoken_date(day, feed.language)}"
        tags = EpisodeTags(title, feed.author, feed.title, day.isoformat(), feed.language)
        header = episode_id3(tags, chapters, "audio-service podcast (LAME)", feed.cover_image)
        timings = Timings(duration_ms, rate, voice.id, tuple(line.segments))
        partial = self.store.begin(key)
        try:
            partial.write(header)
            partial.write(frames)
            digest = self.store.commit(partial, timings.to_json())
        except BaseException:
            self.store.abandon(partial)
            raise
        local = datetime.strptime(feed.publish_time, "%H:%M").time()
        episode = Episode(
            feed_id=feed.id,
            date=day.isoformat(),
            title=title,
            pub_date=datetime.combine(day, local, ZoneInfo(feed.timezone)).isoformat(),
            digest=digest,
            size_bytes=len(header) + len(frames),
            duration_ms=duration_ms,
            inputs_key=key,
            loudness_lufs=round(lufs, 2),
            true_peak_dbtp=round(peak, 2),
            chapters=tuple(chapters),
            stories=tuple(s.id for s in stories),
            synthesized=made,
        )
        self._write_sidecars(folder, episode, timings)
        self.stages = {
            "render_decode_s": assembled - started,
            "loudness_s": measured - assembled,
            "encode_s": encoded - measured,
            "store_s": time.perf_counter() - encoded,
        }
        log.info("episode %s: %.1f s, %.1f LUFS", episode.guid, duration_ms / 1000, lufs)
        return episode

    def _write_sidecars(self, folder: Path, episode: Episode, timings: Timings) -> None:
        files = {
            "chapters.json": chapters_json(list(episode.chapters), episode.title),
            "transcript.vtt": timings.to_vtt(),
            "transcript.srt": to_srt(timings),
            "episode.json": episode.to_json(),  # last: its presence means the rest is there
        }
        for name, text in files.items():
            with atomic_write(folder / name) as handle:
                handle.write(text.encode())


def build_for_service(svc: Service, feed: FeedDef, day: date, *, force: bool = False) -> Episode:
    """What the CLI and HTTP route call: the service's stories, renderer and store."""
    stories = select_stories(feed, day, svc.index)
    voice = svc.voice_for(Article(title="", body=()), feed.voice or None)
    builder = EpisodeBuilder(svc.renderer, svc.store, svc.settings.data_dir)
    return builder.build(feed, day, stories, voice, force=force)
