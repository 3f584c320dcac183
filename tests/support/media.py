"""Paths the tests read (the package's examples, the shared sample page) and MP3 decoding."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import numpy.typing as npt

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
