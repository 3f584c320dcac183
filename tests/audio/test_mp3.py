"""MP3 output: the incremental encoder, frame maths, pieces."""

from __future__ import annotations

import numpy as np
import pytest

from audio_service.audio.id3 import Tags, id3_bytes
from audio_service.audio.mp3 import (
    Mp3Encoder,
    Piece,
    count_frames,
    encode_mp3,
    mp3_frames,
    samples_per_frame,
)
from audio_service.audio.settings import AudioSettings
from audio_service.errors import AudioError

RATE = 22050


def tone(seconds: float, amplitude: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_encoder_emits_constant_bitrate_frames_incrementally() -> None:
    encoder = Mp3Encoder(RATE, AudioSettings(bitrate_kbps=64))
    first = encoder.encode(tone(1.0, 0.3))
    assert first[:2] == b"\xff\xf3"  # MPEG-2 layer III frame sync
    rest = encoder.encode(tone(9.0, 0.3)) + encoder.flush()
    total = len(first) + len(rest)
    assert total == pytest.approx(10 * 64000 / 8, rel=0.02)
    assert encoder.flush() == b""


def test_encoder_rejects_rates_mp3_cannot_carry() -> None:
    with pytest.raises(AudioError, match="19000 Hz"):
        Mp3Encoder(19000, AudioSettings())


def test_frames_are_counted_behind_an_id3_tag() -> None:
    samples = tone(2.0, 0.3)
    data = encode_mp3(samples, RATE, AudioSettings(bitrate_kbps=64))
    frames = count_frames(data, 64, RATE)
    assert frames > samples.size / samples_per_frame(RATE)  # all of it, and LAME's delay
    assert mp3_frames(id3_bytes(Tags(title="t"), "test") + data, 64, RATE) == frames
    piece = Piece(mp3=data, frames=frames, sample_rate_hz=RATE, speech_samples=samples.size)
    assert piece.samples == frames * 576
    assert samples_per_frame(44100) == 1152


def test_whole_frames_at_the_episode_rate_encode_to_one_frame_more() -> None:
    # What encode_mp3_split relies on to put its second half where one stream puts it.
    rate, frame = 44100, samples_per_frame(44100)
    t = np.arange(frame * 70) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    data = encode_mp3(samples, rate, AudioSettings(bitrate_kbps=96))
    assert count_frames(data, 96, rate) == 71


def test_lost_frame_sync_is_an_audio_error() -> None:
    with pytest.raises(AudioError, match="frame sync"):
        count_frames(b"\0" * 16, 64, RATE)
