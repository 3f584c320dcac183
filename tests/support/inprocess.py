"""The fast layer: the whole app in the test's own process, driven through Starlette's client.

No server process and no port: the app's lifespan runs (so the Service starts its engine
workers and queue exactly as `serve` does), requests go straight to the ASGI app. The real
eSpeak engine speaks by default; tests of pure HTTP logic may inject another engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from audio_service.config import Settings
from audio_service.engines.registry import Engines
from audio_service.http.app import create_app


def fast_settings(data_dir: Path, **overrides: Any) -> Settings:
    """The service as the process tests run it: eSpeak by default, two workers, no examples."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "workers": 2,
        "default_voice": "en-gb-espeak",
        "examples": False,
        **overrides,
    }
    return Settings(**values)


@contextmanager
def app_client(
    data_dir: Path, *, engines: Engines | None = None, **overrides: Any
) -> Iterator[TestClient]:
    """A started app (lifespan run) and a client for it; stopped when the block ends."""
    app = create_app(fast_settings(data_dir, **overrides), engines=engines)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield client
