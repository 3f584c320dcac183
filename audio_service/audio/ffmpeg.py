"""Episode audio in and out: stories' MP3 decoded (and resampled) by ffmpeg, the episode
encoded by LAME in two threads."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys
import threading
import typing
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from math import gcd
from pathlib import Path

import numpy as np
from scipy import signal

from audio_service.audio import pcm as audio
from audio_service.audio.mp3 import Mp3Encoder
from audio_service.audio.pcm import AudioSettings, Samples
from audio_service.errors import AudioError
from audio_service.render.pieces import count_frames, samples_per_frame

log = logging.getLogger(__name__)

PARALLEL_MIN_S = 120.0  # shorter episodes are encoded in one go


def resample(samples: Samples, from_hz: int, to_hz: int) -> Samples:
    """Polyphase resampling in float32 (a quarter of float64's time, far below 16-bit noise)."""
    if from_hz == to_hz:
        return samples
    g = gcd(from_hz, to_hz)
    out = signal.resample_poly(samples.astype(np.float32), to_hz // g, from_hz // g)
    return np.asarray(out, dtype=np.float32)


def _ffmpeg(*args: str) -> list[str]:
    import imageio_ffmpeg

    return [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-v", "error", *args]


def decode_mp3(data: bytes) -> Samples:
    """MP3 bytes -> float samples at their own rate, with ffmpeg (frames decode exactly)."""
    command = _ffmpeg("-f", "mp3", "-i", "pipe:0", "-f", "s16le", "-ac", "1", "pipe:1")
    result = subprocess.run(command, input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise AudioError(f"ffmpeg could not decode MP3: {result.stderr.decode()[-500:]}")
    return audio.to_float(result.stdout)


def decode_mp3_into(data: bytes, out: Samples, to_hz: int) -> None:
    """MP3 bytes decoded and resampled to `to_hz` by ffmpeg, read straight into `out`.

    ffmpeg's resampler gives exactly twice the samples for 22.05 -> 44.1 kHz, aligned
    (measured: within -61 dB of scipy's polyphase result, same loudness to 0.01 LU), and
    costs it next to nothing; reading into place spares a copy of every story.
    """
    command = _ffmpeg("-f", "mp3", "-i", "pipe:0", "-ar", str(to_hz), "-ac", "1")
    command += ["-f", "f32le" if sys.byteorder == "little" else "f32be", "pipe:1"]
    errors: list[bytes] = []
    pipe = subprocess.PIPE
    with subprocess.Popen(command, stdin=pipe, stdout=pipe, stderr=pipe) as proc:
        stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
        if stdin is None or stdout is None or stderr is None:
            raise AudioError("ffmpeg started without its pipes")

        def feed() -> None:
            with contextlib.suppress(BrokenPipeError):
                stdin.write(data)
                stdin.close()
            errors.append(stderr.read())

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        view, filled = out.data.cast("B"), 0
        reader = typing.cast(io.BufferedReader, stdout)  # Popen's default buffering
        while filled < len(view):
            got = reader.readinto(view[filled:])
            if not got:
                break  # a short decode leaves silence (zeros) at the end
            filled += got
        stdout.read()  # a resampler may add a sample or two: not ours to keep
        feeder.join()
    if proc.returncode != 0:
        message = b"".join(errors).decode(errors="replace")[-500:]
        raise AudioError(f"ffmpeg could not decode MP3: {message}")


def encode_mp3(samples: Samples, rate: int, settings: AudioSettings) -> bytes:
    """The whole of `samples` as constant-bitrate frames (in a worker process, too)."""
    encoder = Mp3Encoder(rate, settings)
    step = rate * 10  # in blocks: one int16 copy of a long episode is large
    frames = b"".join(encoder.encode(samples[i : i + step]) for i in range(0, samples.size, step))
    return frames + encoder.flush()


def encode_mp3_split(
    samples: Samples, rate: int, settings: AudioSettings, silences: Sequence[tuple[int, int]]
) -> bytes:
    """Two halves encoded at once in two threads (LAME runs outside the GIL), split in a
    silence: no process to start and no half-episode to copy into one.

    A LAME stream of n samples is ceil(n / frame) + 1 whole frames, so a first half of
    whole frames ends exactly one frame late: dropping that frame's worth of silence from
    the start of the second half keeps every later sample where one stream puts it. The
    frame count is checked, and one stream is encoded if LAME ever pads otherwise.
    """
    frame = samples_per_frame(rate)
    split = _split_point(samples.size, rate, frame, silences)
    if split is None:
        return encode_mp3(samples, rate, settings)
    with ThreadPoolExecutor(1) as pool:
        second = pool.submit(encode_mp3, samples[split + frame :], rate, settings)
        first = encode_mp3(samples[:split], rate, settings)
        rest = second.result()
    if count_frames(first, settings.bitrate_kbps, rate) != split // frame + 1:
        log.warning("LAME padded a split stream unexpectedly: encoding in one stream")
        return encode_mp3(samples, rate, settings)
    return first + rest


def _split_point(
    size: int, rate: int, frame: int, silences: Sequence[tuple[int, int]]
) -> int | None:
    """A frame boundary in the silence nearest the middle, a frame of silence after it."""
    if size < PARALLEL_MIN_S * rate:
        return None
    margin = rate // 20  # keep well clear of the speech around the silence
    best: int | None = None
    for start, end in silences:
        split = -(-(start + margin) // frame) * frame
        if split + frame + margin <= end and (
            best is None or abs(split - size // 2) < abs(best - size // 2)
        ):
            best = split
    return best


def mp3_frames(data: bytes, bitrate_kbps: int, rate: int) -> int:
    """Frames of a rendered article's MP3 (after its ID3v2 tag)."""
    start = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        start = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    return count_frames(data[start:], bitrate_kbps, rate)


def load_music(path: Path, rate: int, lufs: float) -> Samples:
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
