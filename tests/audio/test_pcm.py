"""PCM shaping: trimming, fades, the limiter, loudness measurement, MP3 encoding."""

from __future__ import annotations

import numpy as np
import pytest

from audio_service.audio import pcm as audio
from audio_service.audio.mp3 import Mp3Encoder, Tags, id3_bytes
from audio_service.audio.pcm import AudioSettings
from audio_service.errors import AudioError

RATE = 22050


def tone(seconds: float, amplitude: float, hz: float = 220.0) -> np.ndarray:
    t = np.arange(round(seconds * RATE)) / RATE
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def test_trim_removes_engine_silence_but_keeps_a_breath() -> None:
    speech = tone(0.5, 0.3)
    padded = audio.concat(audio.silence(400, RATE), speech, audio.silence(400, RATE))
    trimmed = audio.trim(padded, RATE)
    extra_ms = (trimmed.size - speech.size) / RATE * 1000
    assert 0 < extra_ms <= 2 * audio.TRIM_KEEP_MS + 1


def test_trim_of_silence_is_empty() -> None:
    assert audio.trim(audio.silence(300, RATE), RATE).size == 0


def test_fade_starts_and_ends_at_zero() -> None:
    faded = audio.fade(np.full(RATE, 0.5, dtype=np.float32), RATE)
    assert abs(faded[0]) < 1e-6
    assert abs(faded[-1]) < 1e-6
    assert faded[RATE // 2] == pytest.approx(0.5)
    # No step anywhere: the largest change between samples stays tiny.
    assert np.max(np.abs(np.diff(faded))) < 0.01


def test_limiter_holds_the_ceiling_and_leaves_quiet_audio_alone() -> None:
    loud = tone(1.0, 1.6)
    limited = audio.limit(loud, -3.0, RATE)
    assert np.max(np.abs(limited)) <= 10 ** (-3 / 20) + 1e-6
    quiet = tone(1.0, 0.1)
    assert np.array_equal(audio.limit(quiet, -3.0, RATE), quiet)


def test_limiter_does_not_click() -> None:
    """A sudden loud burst is reduced smoothly, not by a gain step."""
    signal = audio.concat(tone(0.5, 0.2), tone(0.05, 1.5), tone(0.5, 0.2))
    limited = audio.limit(signal, -6.0, RATE)
    assert np.max(np.abs(np.diff(limited))) < 0.1


def test_loudness_of_a_known_tone() -> None:
    # A full-scale 1 kHz sine reads -3.01 LUFS by the BS.1770 definition.
    assert audio.integrated_lufs(tone(3.0, 1.0, 1000.0), RATE) == pytest.approx(-3.0, abs=0.2)
    assert audio.integrated_lufs(tone(0.1, 1.0), RATE) == float("-inf")


def test_true_peak_sees_between_samples() -> None:
    # A sine at a quarter of the sample rate sampled at 45 degrees: samples peak at 0.707.
    n = np.arange(RATE)
    samples = np.sin(2 * np.pi * n / 4 + np.pi / 4).astype(np.float32)
    assert float(np.max(np.abs(samples))) < 0.72
    assert audio.true_peak_dbtp(samples) == pytest.approx(0.0, abs=0.3)


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


def test_id3_tag_reads_back() -> None:
    from io import BytesIO

    from mutagen.id3 import ID3

    data = id3_bytes(
        Tags(
            title="Café prices rise",
            artist="By A Writer",
            album="The Gazette",
            date="2026-11-25T10:00:00Z",
            language="en-GB",
            comment="article-id: x1",
        ),
        encoder="test",
    )
    tag = ID3(BytesIO(data))
    assert str(tag["TIT2"]) == "Café prices rise"
    assert str(tag["TPE1"]) == "By A Writer"
    assert str(tag["TDRC"]) == "2026-11-25"
    assert str(tag["TLAN"]) == "eng"
    assert tag.version[:2] == (2, 3)
