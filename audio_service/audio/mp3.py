"""MP3 frames: the LAME encoder (streaming, whole, split in two), frame maths, and Piece."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import lameenc

from audio_service.audio.pcm import Samples, to_pcm
from audio_service.audio.settings import AudioSettings
from audio_service.errors import AudioError
from audio_service.timings import WordTiming

log = logging.getLogger(__name__)

# MPEG layer III sample rates; each needs a bitrate its MPEG version allows.
_SAMPLE_RATES_HZ = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
# LAME starts a stream with 576 samples of encoder delay and the decoder's filterbank adds
# 529 more: measured here with ffmpeg, the same for a lone piece and for one inside a stream.
CODEC_DELAY = 1105
PARALLEL_MIN_S = 120.0  # shorter audio is encoded in one stream by encode_mp3_split


def samples_per_frame(sample_rate_hz: int) -> int:
    return 1152 if sample_rate_hz >= 32000 else 576  # MPEG-1 or MPEG-2/2.5 layer III


def count_frames(data: bytes, bitrate_kbps: int, sample_rate_hz: int) -> int:
    """Walk the frame headers of constant-bitrate layer III data."""
    per_kbit = 144_000 if sample_rate_hz >= 32000 else 72_000  # MPEG-1, else MPEG-2/2.5
    frames = offset = 0
    while offset + 4 <= len(data):
        header = int.from_bytes(data[offset : offset + 4], "big")
        if header >> 21 != 0x7FF:
            raise AudioError(f"lost MP3 frame sync at byte {offset}")
        padding = (header >> 9) & 1
        offset += per_kbit * bitrate_kbps // sample_rate_hz + padding
        frames += 1
    return frames


def mp3_frames(data: bytes, bitrate_kbps: int, rate: int) -> int:
    """Frames of a rendered article's MP3 (after its ID3v2 tag)."""
    start = 0
    if data[:3] == b"ID3":
        size = data[6:10]
        start = 10 + (size[0] << 21 | size[1] << 14 | size[2] << 7 | size[3])
    return count_frames(data[start:], bitrate_kbps, rate)


@dataclass(frozen=True)
class Piece:
    """An encoded run of whole frames: one segment's speech and the pause after it."""

    mp3: bytes
    frames: int
    sample_rate_hz: int
    speech_samples: int  # length of the speech before its pause
    words: tuple[WordTiming, ...] = ()  # relative to the start of the speech

    @property
    def samples(self) -> int:
        """What the piece decodes to: every frame carries a fixed number of samples."""
        return self.frames * samples_per_frame(self.sample_rate_hz)


class Mp3Encoder:
    """Constant-bitrate LAME encoder fed PCM as it arrives.

    CBR lets every player, Safari and iOS included, compute the exact duration and seek
    from the byte length alone, with no Xing header (which LAME cannot write to a stream).
    """

    def __init__(self, sample_rate_hz: int, settings: AudioSettings) -> None:
        if sample_rate_hz not in _SAMPLE_RATES_HZ:
            raise AudioError(f"MP3 cannot carry {sample_rate_hz} Hz audio")
        self._encoder = lameenc.Encoder()
        self._encoder.set_channels(1)
        self._encoder.set_in_sample_rate(sample_rate_hz)
        self._encoder.set_out_sample_rate(sample_rate_hz)
        self._encoder.set_bit_rate(settings.bitrate_kbps)
        self._encoder.set_quality(settings.mp3_quality)
        self._flushed = False

    def encode(self, samples: Samples) -> bytes:
        if samples.size == 0:
            return b""
        try:
            return bytes(self._encoder.encode(to_pcm(samples)))
        except Exception as exc:  # lameenc raises bare RuntimeError
            raise AudioError(f"MP3 encoding failed: {exc}") from exc

    def flush(self) -> bytes:
        if self._flushed:
            return b""
        self._flushed = True
        return bytes(self._encoder.flush())


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
