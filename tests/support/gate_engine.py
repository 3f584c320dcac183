"""A test-only engine that speaks with eSpeak, but holds every call while a gate file exists.

It lets a test keep a render running for as long as it needs (to fill the render queue, or
to look at an article while its new version renders) without guessing how long eSpeak
takes. Its state is a file under $GATE_ENGINE_DIR, so every worker process shares it.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from audio_service.engines.base import Engine, Synthesis
from audio_service.engines.pool import engine_in_worker
from audio_service.engines.registry import builtin_engines
from audio_service.voices import VoiceDef
from tests.support.inprocess import app_client
from tests.support.media import REPO

GATE_VOICE = "en-gb-gate"
HOLD_MAX_S = 120.0  # a test that forgets to open the gate fails instead of hanging


class GateEngine:
    name = "gate"
    version = "gate-1"

    def __init__(self) -> None:
        # The worker's own eSpeak: a second one in the process would break the first
        # (eSpeak initialises once per process and its callback is process-global).
        self._real = engine_in_worker(builtin_engines()["espeak"])
        self._closed = Path(os.environ["GATE_ENGINE_DIR"]) / "closed"

    def synthesize(self, text: str, voice: VoiceDef) -> Synthesis:
        deadline = time.monotonic() + HOLD_MAX_S
        while self._closed.exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the gate stayed closed")
            time.sleep(0.02)
        return self._real.synthesize(text, voice)

    def close(self) -> None:
        pass  # the pool closes the eSpeak engine it lent


def gate() -> Engine:
    return GateEngine()


class Gate:
    """The test's side: close to hold every synthesis call, open to let them through."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self._closed = folder / "closed"

    def close(self) -> None:
        self._closed.touch()

    def open(self) -> None:
        self._closed.unlink(missing_ok=True)


def gate_voices(folder: Path) -> Path:
    """A voices folder with the shipped lexicon, eSpeak's British voice and a gated copy."""
    shutil.copytree(REPO / "voices" / "lexicon", folder / "lexicon")
    toml = (REPO / "voices" / "en-gb-espeak.toml").read_text()
    (folder / "en-gb-espeak.toml").write_text(toml)
    toml = toml.replace('id = "en-gb-espeak"', f'id = "{GATE_VOICE}"')
    (folder / f"{GATE_VOICE}.toml").write_text(toml.replace('engine = "espeak"', 'engine = "gate"'))
    return folder


@contextmanager
def gated_app(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **overrides: Any
) -> Iterator[tuple[TestClient, Gate]]:
    """The app with one render slot, speaking with the gated voice; the gate starts open."""
    monkeypatch.setenv("GATE_ENGINE_DIR", str(tmp_path / "gate"))
    held = Gate(tmp_path / "gate")
    engines = {**builtin_engines(), "gate": gate}
    with app_client(
        tmp_path / "data",
        engines=engines,
        voices_dir=gate_voices(tmp_path / "voices"),
        **{
            "default_voice": GATE_VOICE,
            "max_queued_renders": 1,
            "render_concurrency": 1,
            **overrides,
        },
    ) as client:
        try:
            yield client, held
        finally:
            held.open()  # let the held render end, so the service stops at once


def wait_status(client: TestClient, article_id: str, wanted: str, timeout_s: float = 60) -> Any:
    deadline = time.monotonic() + timeout_s
    while (status := client.get(f"/v1/articles/{article_id}").json())["status"] != wanted:
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status
