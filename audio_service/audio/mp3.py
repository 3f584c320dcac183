"""MP3 output: an incremental LAME encoder and ID3v2 tag bytes written ahead of the audio."""

from __future__ import annotations

import io
from dataclasses import dataclass

import lameenc
from mutagen.id3 import COMM, ID3, TALB, TDRC, TIT2, TLAN, TPE1, TSSE

from audio_service.audio.pcm import AudioSettings, Samples, to_pcm
from audio_service.errors import AudioError

# MPEG layer III sample rates; each needs a bitrate its MPEG version allows.
_SAMPLE_RATES_HZ = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)


@dataclass(frozen=True)
class Tags:
    title: str
    artist: str = ""  # the byline
    album: str = ""  # the publisher
    date: str = ""  # ISO 8601 date or year
    language: str = ""  # BCP 47 ("en-GB"); written as ISO 639-2 ("eng")
    comment: str = ""  # e.g. "article-id: ..."


def id3_bytes(tags: Tags, encoder: str) -> bytes:
    """An ID3v2.3 tag (v2.3: the version every player, old iPods included, reads)."""
    tag = ID3()
    tag.add(TIT2(encoding=3, text=tags.title))
    if tags.artist:
        tag.add(TPE1(encoding=3, text=tags.artist))
    if tags.album:
        tag.add(TALB(encoding=3, text=tags.album))
    if tags.date:
        tag.add(TDRC(encoding=3, text=tags.date[:10]))
    if tags.language.lower().startswith("en"):
        tag.add(TLAN(encoding=3, text="eng"))
    if tags.comment:
        tag.add(COMM(encoding=3, lang="eng", desc="", text=tags.comment))
    tag.add(TSSE(encoding=3, text=encoder))
    buffer = io.BytesIO()
    tag.save(buffer, v2_version=3, padding=lambda info: 0)
    return buffer.getvalue()


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
