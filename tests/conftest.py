"""Shared fixtures: one real worker pool and renderer per test session, sample paths, decoding."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import builtin_engines
from audio_service.render.renderer import Renderer
from audio_service.render.script import Scripter
from audio_service.voices import VoiceDef, load_voices
from tests.support.media import SAMPLE_PAGE


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
    with SynthPool(settings.workers, 30, builtin_engines(), warm=["espeak"]) as pool:
        yield pool


@pytest.fixture(scope="session")
def renderer(settings: Settings, pool: SynthPool) -> Renderer:
    return Renderer(
        pool,
        Scripter(*settings.lexicon_dirs),
        settings.audio,
        calibration_file=settings.data_dir / "calibration.json",
    )
