"""Shared fixtures: one real worker pool and renderer per test session, sample paths, decoding."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from audio_service.config import Settings
from audio_service.engines import ENGINES
from audio_service.engines.pool import SynthPool
from audio_service.render import Renderer
from audio_service.script import Scripter
from audio_service.voices import VoiceDef, load_voices

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "audio_service" / "examples"
SAMPLES = REPO.parent / "shared" / "samples"
SAMPLE_PAGE = SAMPLES / "news-page-ukraine-2022-02-09.txt"


@pytest.fixture(scope="session")
def sample_page() -> Path:
    if not SAMPLE_PAGE.is_file():
        pytest.skip(f"the shared sample page is not beside the checkout ({SAMPLE_PAGE})")
    return SAMPLE_PAGE


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return Settings(data_dir=tmp_path_factory.mktemp("data"), workers=2)


@pytest.fixture(scope="session")
def voices(settings: Settings) -> dict[str, VoiceDef]:
    return load_voices(settings.voices_dir)


@pytest.fixture(scope="session")
def pool(settings: Settings) -> Iterator[SynthPool]:
    with SynthPool(settings.workers, 30, ENGINES, warm=["espeak"]) as pool:
        yield pool


@pytest.fixture(scope="session")
def renderer(settings: Settings, pool: SynthPool) -> Renderer:
    return Renderer(
        pool,
        Scripter(*settings.lexicon_dirs),
        settings.audio,
        calibration_file=settings.data_dir / "calibration.json",
    )


def decode_mp3(path: Path, sample_rate_hz: int = 22050) -> np.ndarray:
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
