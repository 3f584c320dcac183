"""The one orchestrator: a Script (segments for a voice) in, streamed MP3 bytes and timings out."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import deque
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from audio_service.article import Article
from audio_service.audio import pcm as audio
from audio_service.audio.id3 import Tags, id3_bytes
from audio_service.audio.loudness import integrated_lufs
from audio_service.audio.mp3 import CODEC_DELAY, Piece
from audio_service.audio.settings import AudioSettings
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.errors import ArticleError
from audio_service.render.pieces import PieceCache, make_piece, piece_key
from audio_service.render.script import Script, Scripter
from audio_service.render.words import written_words
from audio_service.timings import TimedSegment, Timings, WordTiming
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

# A render's first segments go to the pool's express worker: the first is what a listener
# waits for, and the next two must be ready before it has finished playing.
EXPRESS_SEGMENTS = 3
_CALIBRATION_TEXT = Path(__file__).resolve().parents[1] / "data" / "calibration.txt"


class ByteSink(Protocol):
    """Where MP3 bytes go as they are made: a file, a growing .part file, a buffer."""

    def write(self, data: bytes, /) -> int: ...

    def flush(self) -> None: ...


@dataclass(frozen=True)
class RenderResult:
    timings: Timings
    bytes_written: int
    seconds: float
    synthesized: int = 0  # segments made afresh; the others came from the piece cache


class Renderer:
    """Turns articles into MP3: script, synthesis in the pool, shaping, encoding, tags."""

    def __init__(
        self,
        pool: SynthPool,
        scripter: Scripter,
        settings: AudioSettings,
        publisher: str = "",
        calibration_file: Path | None = None,
        pieces: PieceCache | None = None,
    ) -> None:
        self.pool = pool
        self.pieces = pieces
        self.scripter = scripter
        self.settings = settings
        self.publisher = publisher
        self._calibration_file = calibration_file
        self._gains: dict[str, float] = {}

    @classmethod
    def for_settings(cls, pool: SynthPool, settings: Settings) -> Renderer:
        """The renderer as the service and CLI run it: lexicons, publisher, calibration file
        and segment cache all from the settings."""
        return cls(
            pool,
            Scripter(*settings.lexicon_dirs),
            settings.audio,
            publisher=settings.publisher,
            calibration_file=settings.data_dir / "calibration.json",
            pieces=PieceCache(settings.segments_dir, settings.segment_cache_mb * 1024 * 1024),
        )

    def script(self, article: Article, voice: VoiceDef, article_id: str = "") -> Script:
        """The article's Script for a voice: make it once, then key and render with it."""
        return self.scripter.script(article, voice, article_id)

    def cache_inputs(self, script: Script) -> dict[str, object]:
        """Everything that shapes the audio: hashing this gives the audio's cache key."""
        voice = script.voice
        return {
            "segments": [(s.kind, s.spoken, s.pause_after_ms) for s in script.segments],
            "voice": voice.digest,
            "engine": self.pool.engine_version(voice.engine),
            # Only the rules this article uses: a rule for another name re-renders nothing.
            "lexicon": script.lexicon_version,
            "audio": repr(self.settings),
            "tags": repr(self.tags(script.article, script.article_id, script.voice)),
        }

    def render_key(self, script: Script) -> str:
        """The cache key of the audio this script renders to (sha256 of cache_inputs)."""
        blob = json.dumps(
            self.cache_inputs(script), sort_keys=True, ensure_ascii=False, default=str
        )
        return hashlib.sha256(blob.encode()).hexdigest()

    def tags(self, article: Article, article_id: str = "", voice: VoiceDef | None = None) -> Tags:
        notes = [f"article-id: {article_id}"] if article_id else []
        if voice is not None and voice.about.credit:
            # The voice's credit and licence travel with the file (Apache-2.0 asks for it).
            notes.append(f"voice: {voice.name}; {voice.about.credit}; {voice.about.licence}")
        return Tags(
            title=article.title,
            artist=article.byline,
            album=self.publisher,
            date=article.published,
            language=article.language,
            comment="\n".join(notes),
        )

    def gain_db(self, voice: VoiceDef) -> float:
        """Gain that brings this voice to the loudness target, measured once per voice.

        Loudness must be right while streaming, before the whole file exists, so it is set
        by a gain calibrated on a reference text (eSpeak's 5-second chunks vary by only
        about 2 LU) followed by the limiter.
        """
        key = f"{voice.digest}:{self.pool.engine_version(voice.engine)}:{self.settings!r}"
        if key in self._gains:
            return self._gains[key]
        stored = self._read_calibration()
        if key not in stored:
            stored[key] = self._calibrate(voice)
            self._write_calibration(stored)
        self._gains[key] = stored[key]
        return stored[key]

    def _calibrate(self, voice: VoiceDef) -> float:
        text = _CALIBRATION_TEXT.read_text(encoding="utf-8")
        futures = [self.pool.submit(line, voice) for line in text.splitlines() if line.strip()]
        syntheses = [self.pool.result(f, "calibration text") for f in futures]
        rate = syntheses[0].sample_rate_hz
        gain = 0.0
        # Repeat: the limiter takes back a little of each increase in gain.
        for _ in range(3):
            joined = [audio.shape_segment(s.pcm, rate, gain, self.settings)[0] for s in syntheses]
            measured = integrated_lufs(audio.join(joined, rate, 300), rate)
            gain += self.settings.loudness_lufs - measured
        log.info("calibrated voice %s: gain %.2f dB", voice.id, gain)
        return round(gain, 3)

    def _read_calibration(self) -> dict[str, float]:
        if self._calibration_file is None or not self._calibration_file.exists():
            return {}
        try:
            data = json.loads(self._calibration_file.read_text())
        except (OSError, ValueError):
            return {}
        return {str(k): float(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _write_calibration(self, data: dict[str, float]) -> None:
        if self._calibration_file is None:
            return
        from audio_service.store.local import atomic_write

        with atomic_write(self._calibration_file) as handle:
            handle.write(json.dumps(data, indent=1).encode())

    def render(self, script: Script, out: ByteSink) -> RenderResult:
        """Write the article's MP3 to `out` as it is made: ID3 tag, then one piece a segment.

        Pieces already cached are reused; the rest are made in the workers, in parallel but
        consumed in order through a window of a few tasks per worker, so the first bytes go
        out as soon as the first piece is done and memory holds only the window.
        """
        started = time.perf_counter()
        voice, segments = script.voice, script.segments
        gain = self.gain_db(voice)
        engine = self.pool.engine_version(voice.engine)
        header = id3_bytes(self.tags(script.article, script.article_id, script.voice), engine)
        out.write(header)
        written = len(header)
        keys = [
            piece_key(s.spoken, s.pause_after_ms, voice, engine, gain, self.settings)
            for s in segments
        ]
        pending: deque[tuple[int, Future[Piece | None] | Piece | None]] = deque()
        upcoming = iter(range(len(segments)))
        timed: list[TimedSegment] = []
        position = 0  # samples of the decoded stream so far
        rate = 0
        made = 0

        def start(index: int) -> None:
            nonlocal made
            cached = self.pieces.get(keys[index]) if self.pieces else None
            if cached is not None:
                pending.append((index, cached))
                return
            seg = segments[index]
            made += 1
            pending.append(
                (
                    index,
                    self.pool.submit_call(
                        make_piece,
                        voice.engine,
                        seg.spoken,
                        voice,
                        gain,
                        seg.pause_after_ms,
                        self.settings,
                        timeout_s=self.pool.deadline(seg.spoken, voice),
                        express=index < EXPRESS_SEGMENTS,
                    ),
                )
            )

        try:
            for index in upcoming:
                start(index)
                if len(pending) >= self.pool.workers * 4:
                    break
            while pending:
                index, job = pending.popleft()
                nxt = next(upcoming, None)
                if nxt is not None:
                    start(nxt)
                seg = segments[index]
                if isinstance(job, Future):
                    piece = self.pool.result(job, seg.spoken)
                    if piece is not None and self.pieces is not None:
                        self.pieces.put(keys[index], piece)
                else:
                    piece = job
                if piece is None:
                    continue
                rate = piece.sample_rate_hz
                begin = position + CODEC_DELAY
                start_ms = round(begin * 1000 / rate)
                end_ms = round((begin + piece.speech_samples) * 1000 / rate)
                timed.append(
                    TimedSegment(
                        index=len(timed),
                        kind=str(seg.kind),
                        text=seg.text,
                        spoken=seg.spoken,
                        paragraph=seg.paragraph,
                        start_ms=start_ms,
                        end_ms=end_ms,
                        # The written words, timed by the spoken ones (issue 13).
                        words=written_words(
                            seg.text,
                            [
                                WordTiming(w.word, start_ms + w.start_ms, start_ms + w.end_ms)
                                for w in piece.words
                            ],
                            said=seg.spoken,
                            span=(start_ms, end_ms),
                        ),
                    )
                )
                position += piece.samples
                out.write(piece.mp3)
                out.flush()
                written += len(piece.mp3)
        finally:
            for _, job in pending:
                if isinstance(job, Future):
                    job.cancel()
        if not timed:
            raise ArticleError("article has no speakable text")
        if self.pieces is not None:
            self.pieces.evict()
        timings = Timings(
            duration_ms=round(position * 1000 / rate),
            sample_rate_hz=rate,
            voice=voice.id,
            segments=tuple(timed),
        )
        seconds = time.perf_counter() - started
        log.info(
            "rendered %d segments (%d synthesised, %d reused), %.1f s of audio in %.2f s (%s)",
            len(timed),
            made,
            len(segments) - made,
            position / rate,
            seconds,
            voice.id,
        )
        return RenderResult(
            timings=timings, bytes_written=written, seconds=seconds, synthesized=made
        )
