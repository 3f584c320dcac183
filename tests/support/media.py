"""Paths the tests read (the package's examples, the shared sample page) and MP3 reading."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt
from mutagen.id3 import ID3
from mutagen.mp3 import MP3

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "audio_service" / "examples"
SAMPLES = REPO.parent / "shared" / "samples"
SAMPLE_PAGE = SAMPLES / "news-page-ukraine-2022-02-09.txt"


def decode_mp3(path: Path, sample_rate_hz: int = 22050) -> npt.NDArray[np.float32]:
    """Decode with ffmpeg (from imageio-ffmpeg) to float mono samples."""
    result = subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-v",
            "error",
            "-i",
            str(path),
            "-f",
            "s16le",
            "-ac",
            "1",
            "-ar",
            str(sample_rate_hz),
            "-",
        ],
        capture_output=True,
        check=True,
    )
    return np.frombuffer(result.stdout, dtype="<i2").astype(np.float32) / 32768.0


@dataclass(frozen=True)
class Mp3Stream:
    """What mutagen reads from an MP3's frames and Xing header."""

    length_s: float
    sample_rate_hz: int
    bitrate_bps: int


# mutagen's FileType declares `info = None` and `tags = None`, sets MPEGInfo's fields only in an
# unannotated __init__ and leaves MP3.__init__ unannotated: its types say no file has stream
# info or tags, so these helpers read it untyped and state what MP3 actually sets.
def mp3_stream(path: Path) -> Mp3Stream:
    """The MPEG stream facts (length, sample rate, bitrate) of an MP3 file."""
    info: Any = MP3(path).info  # type: ignore[no-untyped-call]  # see above
    return Mp3Stream(info.length, info.sample_rate, info.bitrate)


def mp3_tags(path: Path) -> ID3 | None:
    """The file's ID3 tag as mutagen reads it, None when it has none."""
    return cast("ID3 | None", MP3(path).tags)  # type: ignore[no-untyped-call]  # see above


def long_article(words: int, title: str = "A long read") -> dict[str, object]:
    """An article of about `words` words, in paragraphs of ten sentences."""
    sentence = "The committee examined every line of the spending plan before it voted."
    paragraphs = [" ".join([sentence] * 10) for _ in range(words // 120 + 1)]
    return {"title": title, "body": paragraphs}


_PLACES = ("Ashby", "Barrow", "Cleeve", "Dunmore", "Elling", "Farleigh", "Garston", "Holme")


def varied_article(
    words: int, seed: int = 0, title: str = "A long night at the council"
) -> dict[str, object]:
    """About `words` words in which no two sentences are alike, so no piece comes from the cache.

    A render of it takes as long as the engine needs for every sentence: long enough to be
    caught while it runs. Articles of different `seed` share no sentence.
    """
    sentences = [
        f"In {_PLACES[n % len(_PLACES)]}, councillors spent {n + 3} minutes on item {n * 7 + 11}"
        f" of the plan, and {n % 9 + 2} of them asked for a second vote."
        for n in range(seed * 10_000, seed * 10_000 + words // 20 + 1)
    ]
    paragraphs = [" ".join(sentences[i : i + 8]) for i in range(0, len(sentences), 8)]
    return {"title": title, "body": paragraphs}
