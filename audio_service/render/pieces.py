"""Pieces: one segment's finished MP3 (speech + its pause), made in a worker, cached by key.

Each piece is encoded on its own, as whole constant-bitrate frames, and an article is its
pieces end to end. That makes a piece reusable: an edited article re-synthesises only the
segments whose text changed. A piece decodes to exactly frames x samples-per-frame samples
with its speech starting CODEC_DELAY samples in, also inside a longer stream, so timings are
exact in the decoded file. The joins fall in the pauses, where the signal is silent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from pathlib import Path

from audio_service.audio import pcm as audio
from audio_service.audio.mp3 import Mp3Encoder, Piece, count_frames
from audio_service.audio.settings import AudioSettings
from audio_service.engines.pool import EngineFactory, engine_in_worker
from audio_service.store.local import atomic_write
from audio_service.timings import WordTiming
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)


def make_piece(
    factory: EngineFactory,
    text: str,
    voice: VoiceDef,
    gain_db: float,
    pause_ms: int,
    settings: AudioSettings,
) -> Piece | None:
    """In a worker: synthesise, shape, add the pause, encode. None when nothing is spoken."""
    synthesis = engine_in_worker(factory).synthesize(text, voice)
    rate = synthesis.sample_rate_hz
    speech, offset = audio.shape_segment(synthesis.pcm, rate, gain_db, settings)
    if speech.size == 0:
        return None
    encoder = Mp3Encoder(rate, settings)
    data = encoder.encode(audio.concat(speech, audio.silence(pause_ms, rate))) + encoder.flush()
    shift_ms = round(offset * 1000 / rate)
    speech_ms = round(speech.size * 1000 / rate)
    words = tuple(
        WordTiming(
            w.word,
            min(max(w.start_ms - shift_ms, 0), speech_ms),
            min(max(w.end_ms - shift_ms, 0), speech_ms),
        )
        for w in synthesis.words
    )
    return Piece(
        mp3=data,
        frames=count_frames(data, settings.bitrate_kbps, rate),
        sample_rate_hz=rate,
        speech_samples=int(speech.size),
        words=words,
    )


def piece_key(
    spoken: str,
    pause_ms: int,
    voice: VoiceDef,
    engine: str,
    gain_db: float,
    settings: AudioSettings,
) -> str:
    """Hash of exactly what shapes a piece."""
    blob = json.dumps(
        [spoken, pause_ms, voice.digest, engine, round(gain_db, 3), repr(settings)],
        ensure_ascii=False,
    )
    return hashlib.sha256(blob.encode()).hexdigest()


class PieceCache:
    """Pieces on disk under DATA_DIR/segments, with a byte budget (least recently used go)."""

    def __init__(self, root: Path, budget_bytes: int) -> None:
        self.root = root
        self.budget_bytes = budget_bytes
        root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._total = sum(p.stat().st_size for p in root.glob("*/*.piece"))

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.piece"

    def get(self, key: str) -> Piece | None:
        path = self._path(key)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        with contextlib.suppress(OSError):
            os.utime(path)  # recently used: last to be evicted
        header_len = int.from_bytes(raw[:4], "big")
        meta = json.loads(raw[4 : 4 + header_len])
        return Piece(
            mp3=raw[4 + header_len :],
            frames=meta["frames"],
            sample_rate_hz=meta["sample_rate_hz"],
            speech_samples=meta["speech_samples"],
            words=tuple(WordTiming(*w) for w in meta["words"]),
        )

    def put(self, key: str, piece: Piece) -> None:
        meta = json.dumps(
            {
                "frames": piece.frames,
                "sample_rate_hz": piece.sample_rate_hz,
                "speech_samples": piece.speech_samples,
                "words": [[w.word, w.start_ms, w.end_ms] for w in piece.words],
            },
            ensure_ascii=False,
        ).encode()
        path = self._path(key)
        with atomic_write(path) as handle:
            handle.write(len(meta).to_bytes(4, "big") + meta + piece.mp3)
        with self._lock:
            self._total += 8 + len(meta) + len(piece.mp3)

    def evict(self) -> int:
        """Remove the least recently used pieces until the cache fits its budget."""
        with self._lock:
            if self._total <= self.budget_bytes:
                return 0
        entries = []
        for path in self.root.glob("*/*.piece"):
            with contextlib.suppress(FileNotFoundError):
                stat = path.stat()
                entries.append((stat.st_mtime, stat.st_size, path))
        entries.sort()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, path in entries:
            if total <= self.budget_bytes * 0.9:  # some headroom: do not evict on every put
                break
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                total -= size
                removed += 1
        with self._lock:
            self._total = total
        if removed:
            log.info("evicted %d cached pieces", removed)
        return removed
