"""Settings: one object built from defaults and AUDIO_SERVICE_* variables in an entry point."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from audio_service.audio.settings import AudioSettings

_REPO = Path(__file__).resolve().parents[1]


def _beside_package(name: str) -> Path:
    # A checkout (or the Docker image) keeps voices/ and feeds/ beside the package; elsewhere
    # the working directory's folder of that name is used.
    here = _REPO / name
    return here if here.is_dir() else Path.cwd() / name


class Settings(BaseSettings):
    """Every knob of the service, with the embedded defaults a newcomer runs."""

    model_config = SettingsConfigDict(env_prefix="AUDIO_SERVICE_", extra="ignore")

    data_dir: Path = Field(Path("output"), description="Root of audio, caches and index")
    voices_dir: Path = Field(default_factory=lambda: _beside_package("voices"))
    feeds_dir: Path = Field(
        default_factory=lambda: _beside_package("feeds"), description="Podcast feeds (*.toml)"
    )
    # The neural voice; where Piper is not installed the service falls back to eSpeak.
    # The voice of an article that names none follows its language: a British neural voice
    # for en-GB, an American one for en-US. An article without a language is read as
    # `language`, the publisher's own. `default_voice`, when set, overrides all of that with
    # one voice for every article that names none.
    language: Literal["en-GB", "en-US"] = Field(
        "en-GB", description="Language of articles that name none"
    )
    voice_en_gb: str = Field("en-gb-kokoro-emma", description="Voice of en-GB articles")
    voice_en_us: str = Field("en-us-hibari-heart", description="Voice of en-US articles")
    default_voice: str = Field("", description="One voice for every article (overrides the above)")
    workers: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1, le=64)
    synth_timeout_s: float = Field(30.0, gt=0)
    express_workers: int = Field(
        1, ge=0, le=4, description="Extra synthesis processes for renders' first segments"
    )
    max_article_chars: int = Field(1_000_000, ge=1000)
    max_request_bytes: int = Field(8 * 1024 * 1024, ge=1024, description="413 beyond this")
    loudness_lufs: float = Field(-19.0, ge=-40, le=-5)
    true_peak_dbtp: float = Field(-1.0, ge=-12, le=0)
    bitrate_kbps: int = Field(64, ge=8, le=320)
    mp3_quality: int = Field(7, ge=0, le=9)
    publisher: str = Field("", description="Written to the MP3's album tag")
    render_concurrency: int = Field(2, ge=1, le=32, description="Renders run at once")
    max_queued_renders: int = Field(64, ge=1, description="Beyond this, 503 Retry-After")
    refused_retries: int = Field(
        10, ge=0, le=100, description="Retries of a render a full queue refused, then failed"
    )
    cache_max_mb: int = Field(2048, ge=1, description="Byte budget of the audio store")
    segment_cache_mb: int = Field(1024, ge=1, description="Byte budget of cached segment audio")
    examples: bool = Field(True, description="Publish the bundled example articles on start")
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    api_key: str = Field("", description="When set, write endpoints need this key")
    queue_url: str = Field(
        "", description="Job queue: empty = SQLite in the data folder; redis://host:6379/0"
    )
    embedded_worker: bool = Field(True, description="`serve` also runs queued jobs")
    job_threads: int = Field(2, ge=1, le=32, description="Queue jobs one process runs at once")
    lease_s: float = Field(30.0, ge=2, description="A render silent this long is taken back")
    job_retries: int = Field(3, ge=0, le=20, description="Retries of a failed render or webhook")
    webhook_secret: str = Field("", description="HMAC key that signs batch webhooks")
    accel_redirect: str = Field(
        "",
        pattern=r"^(/[A-Za-z0-9._~/-]*/)?$",
        description="nginx internal prefix, e.g. /_stored/: stored article audio is handed to "
        "nginx with X-Accel-Redirect (empty = the service sends it)",
    )
    public_url: str = Field("", description="Base URL put in webhooks (else relative URLs)")
    cors_read_origins: str = Field(
        "*", description="Origins that may read audio, timings and status: * (any), a list, or ''"
    )
    cors_write_origins: str = Field(
        "", description="Origins whose pages may write (PUT, POST, DELETE); none by default"
    )

    @property
    def lexicon_dirs(self) -> tuple[Path, Path]:
        """Shipped pronunciation rules, then the publisher's own (writable, in the data dir)."""
        return self.voices_dir / "lexicon", self.data_dir / "lexicon"

    @property
    def segments_dir(self) -> Path:
        """The segment-level cache: edits re-synthesise only the segments that changed."""
        return self.data_dir / "segments"

    @property
    def audio(self) -> AudioSettings:
        return AudioSettings(
            loudness_lufs=self.loudness_lufs,
            true_peak_dbtp=self.true_peak_dbtp,
            bitrate_kbps=self.bitrate_kbps,
            mp3_quality=self.mp3_quality,
        )
