"""Daily podcast episodes: the day's stories, from cached pieces, into one chaptered MP3."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from audio_service.article import Article
from audio_service.audio.ffmpeg import decode_mp3_into, load_music
from audio_service.audio.id3 import id3_bytes
from audio_service.audio.loudness import normalise, true_peak_dbtp
from audio_service.audio.mix import mix_bed
from audio_service.audio.mp3 import (
    CODEC_DELAY,
    count_frames,
    encode_mp3_split,
    mp3_frames,
    samples_per_frame,
)
from audio_service.audio.pcm import Samples
from audio_service.audio.settings import AudioSettings
from audio_service.errors import ConfigError, NotFoundError
from audio_service.podcast.chapters import (
    Chapter,
    Episode,
    chapters_json,
    episode_tags,
    to_srt,
)
from audio_service.podcast.feeds import (
    FeedDef,
    Story,
    episode_dir,
    spoken_date,
)
from audio_service.render.renderer import Renderer
from audio_service.render.script import Script
from audio_service.store.local import AudioStore, atomic_write
from audio_service.timings import TimedSegment, Timings, WordTiming
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

FORMAT_VERSION = 4  # bump when assembly changes, so stored episodes are rebuilt
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
class _Speech:
    """A rendered MP3 and where its audio goes in the episode."""

    start: int  # samples, at the episode rate
    size: int
    mp3: bytes


@dataclass
class _Timeline:
    """Where every part of an episode goes, at the episode rate, with its spoken segments
    in episode time; the audio is put in place only when all of it is laid out."""

    rate: int
    segments: list[TimedSegment] = field(default_factory=list)
    position: int = 0  # samples so far
    silences: list[tuple[int, int]] = field(default_factory=list)  # where encoding may split
    music: list[tuple[int, Samples]] = field(default_factory=list)
    speech: list[_Speech] = field(default_factory=list)

    def ms(self, part_ms: int = 0) -> int:
        # The encoded episode decodes CODEC_DELAY samples late, like every LAME stream.
        return round((self.position + CODEC_DELAY) * 1000 / self.rate) + part_ms

    def add_speech(self, mp3: bytes, frames: int, timings: Timings) -> None:
        base = self.ms()
        for seg in timings.segments:
            self.segments.append(
                replace(
                    seg,
                    index=len(self.segments),
                    start_ms=base + seg.start_ms,
                    end_ms=base + seg.end_ms,
                    words=tuple(
                        WordTiming(w.word, base + w.start_ms, base + w.end_ms) for w in seg.words
                    ),
                )
            )
        source = timings.sample_rate_hz
        size = -(-frames * samples_per_frame(source) * self.rate // source)
        self.speech.append(_Speech(self.position, size, mp3))
        self.position += size

    def add_music(self, samples: Samples) -> None:
        self.music.append((self.position, samples))
        self.position += samples.size

    def pause(self, size: int) -> None:
        self.silences.append((self.position, self.position + size))
        self.position += size

    def foreground(self) -> list[tuple[int, int]]:
        """Where speech or jingles play (a music bed ducks under them)."""
        spans = [(s.start, s.start + s.size) for s in self.speech]
        return sorted(spans + [(start, start + m.size) for start, m in self.music])

    def audio(self) -> Samples:
        """All of it in one buffer: zeros (the pauses cost nothing), the music copied in,
        the speech decoded straight into place two stories at a time (ffmpeg processes)."""
        out = np.zeros(self.position, np.float32)
        for start, samples in self.music:
            out[start : start + samples.size] = samples
        with ThreadPoolExecutor(2) as pool:
            jobs = [
                pool.submit(decode_mp3_into, s.mp3, out[s.start : s.start + s.size], self.rate)
                for s in self.speech
            ]
            for job in jobs:
                job.result()
        return out


def _file_digest(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc


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
        self, feed: FeedDef, day: date, stories: Sequence[Story], scripts: Sequence[Script]
    ) -> str:
        """Hash of everything that shapes the episode's bytes (cheap: no audio is touched)."""
        blob = {
            "format": FORMAT_VERSION,
            "feed": repr(feed),
            "date": day.isoformat(),
            "settings": repr(self.settings),
            "texts": self.texts(feed, day, stories),
            "stories": [
                [s.id, self.renderer.cache_inputs(script)]
                for s, script in zip(stories, scripts, strict=True)
            ],
            "files": [
                _file_digest(p) for p in (*feed.music.values(), feed.bed_music, feed.cover_image)
            ],
        }
        text = json.dumps(blob, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()

    def _speeches(self, scripts: Sequence[Script]) -> list[tuple[bytes, int, Timings, int]]:
        """Each rendered through the renderer (cached pieces are reused): its MP3, frames,
        timings and how many segments were synthesised afresh."""
        out = []
        bitrate = self.renderer.settings.bitrate_kbps
        for script in scripts:
            buffer = io.BytesIO()
            result = self.renderer.render(script, buffer)
            data, rate = buffer.getvalue(), result.timings.sample_rate_hz
            out.append((data, mp3_frames(data, bitrate, rate), result.timings, result.synthesized))
        return out

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
        # Each story's script is made once: it keys the episode and is rendered.
        scripts = [self.renderer.script(self._article(feed, s), voice) for s in stories]
        key = self.inputs_key(feed, day, stories, scripts)
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
        music = {k: load_music(p, rate, music_lufs) if p else None for k, p in feed.music.items()}
        bed_lufs = self.renderer.settings.loudness_lufs + feed.bed_gain_db
        bed = load_music(feed.bed_music, rate, bed_lufs) if feed.bed_music else None
        gap = round(GAP_MS * rate / 1000)
        line = _Timeline(rate)
        marks: list[tuple[str, str, str, int]] = []  # kind, title, story id, start ms
        made = 0
        started = time.perf_counter()

        def said(text: str) -> Script:
            return self.renderer.script(
                Article(title="", body=(text,), language=feed.language), voice
            )

        # Everything spoken, in episode order, rendered and decoded before assembly.
        spoken: list[Script] = []
        if texts["intro"].strip():
            spoken.append(said(texts["intro"]))
        for number, script in enumerate(scripts):
            if number and texts["transition"].strip():
                spoken.append(said(texts["transition"]))
            spoken.append(script)
        if texts["outro"].strip():
            spoken.append(said(texts["outro"]))
        speeches = iter(self._speeches(spoken))

        def speak(text: str, kind: str, title: str = "", story_id: str = "") -> None:
            nonlocal made
            if not text.strip():
                return
            mp3, frames, timings, synthesized = next(speeches)
            made += synthesized
            if kind:
                # The intro chapter also holds the intro music: it starts the episode.
                start = 0 if kind == "intro" else line.ms(timings.segments[0].start_ms)
                marks.append((kind, title, story_id, start))
            line.add_speech(mp3, frames, timings)
            line.pause(gap)

        if music["intro"] is not None:
            line.add_music(music["intro"])
            line.pause(gap)
        speak(texts["intro"], "intro", "Introduction")
        for number, story in enumerate(stories):
            if number and music["transition"] is not None:
                line.add_music(music["transition"])
                line.pause(gap)
            if number:
                speak(texts["transition"], "")
            mp3, frames, timings, synthesized = next(speeches)
            made += synthesized
            start = line.ms(timings.segments[0].start_ms)
            marks.append(("story", story.article.title or story.id, story.id, start))
            line.add_speech(mp3, frames, timings)
            line.pause(gap)
        speak(texts["outro"], "outro", "Goodbye")
        if music["outro"] is not None:
            line.add_music(music["outro"])
        rendered = time.perf_counter()
        pcm = line.audio()
        if bed is not None:
            mix_bed(pcm, bed, line.foreground(), feed.bed_duck_db, rate)
        assembled = time.perf_counter()
        lufs = normalise(pcm, rate, es.loudness_lufs, es.true_peak_dbtp - es.peak_margin_db)
        peak = true_peak_dbtp(pcm, es.true_peak_dbtp)
        measured = time.perf_counter()
        coding = AudioSettings(bitrate_kbps=es.bitrate_kbps, mp3_quality=es.mp3_quality)
        encoded_mp3 = encode_mp3_split(pcm, rate, coding, line.silences)
        del pcm  # hundreds of MB
        encoded = time.perf_counter()
        n_frames = count_frames(encoded_mp3, es.bitrate_kbps, rate)
        duration_ms = round(n_frames * samples_per_frame(rate) * 1000 / rate)
        chapters = [
            Chapter(title, start, end, kind, story_id)
            for (kind, title, story_id, start), end in zip(
                marks, [m[3] for m in marks[1:]] + [duration_ms], strict=True
            )
        ]
        title = f"{feed.title}: {spoken_date(day, feed.language)}"
        tags = episode_tags(
            title,
            feed.author,
            feed.title,
            day.isoformat(),
            feed.language,
            chapters,
            feed.cover_image,
        )
        header = id3_bytes(tags, "audio-service podcast (LAME)")
        timings = Timings(duration_ms, rate, voice.id, tuple(line.segments))
        partial = self.store.begin(key)
        try:
            partial.write(header)
            partial.write(encoded_mp3)
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
            size_bytes=len(header) + len(encoded_mp3),
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
            "render_s": rendered - started,
            "decode_s": assembled - rendered,
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
