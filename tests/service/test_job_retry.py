"""Render jobs retried with backoff when the engine fails, and reported when it keeps failing."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audio_service.article import Article
from audio_service.batch import runs as batch
from audio_service.batch.sources import SourceItem
from audio_service.config import Settings
from audio_service.engines.registry import builtin_engines
from audio_service.http.urls import Urls
from audio_service.service.core import Service, build_service
from tests.support.flaky_engine import flaky
from tests.support.http_server import serve
from tests.support.media import REPO

ARTICLE = Article(
    title="Lifeboat crew called out twice in one night",
    body=("The volunteers launched at midnight and again before dawn.",),
)


@pytest.fixture()
def flaky_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Service]:
    voices = tmp_path / "voices"
    shutil.copytree(REPO / "voices" / "lexicon", voices / "lexicon")
    shutil.copy(REPO / "voices" / "en-gb-espeak.toml", voices)
    toml = (REPO / "voices" / "en-gb-espeak.toml").read_text()
    toml = toml.replace('id = "en-gb-espeak"', 'id = "en-gb-flaky"')
    (voices / "en-gb-flaky.toml").write_text(toml.replace('engine = "espeak"', 'engine = "flaky"'))
    (tmp_path / "seen").mkdir()
    monkeypatch.setenv("FLAKY_ENGINE_DIR", str(tmp_path / "seen"))
    settings = Settings(
        data_dir=tmp_path / "data",
        voices_dir=voices,
        default_voice="en-gb-flaky",
        workers=1,
        job_retries=2,
        examples=False,
    )
    engines = {**builtin_engines(), "flaky": flaky}
    svc = build_service(settings, Urls(), engines=engines).start()
    svc.start_jobs()
    try:
        yield svc
    finally:
        svc.close()


def wait_finished(svc: Service, batch_id: str, timeout_s: float = 60) -> batch.BatchStatus:
    deadline = time.monotonic() + timeout_s
    while not (state := batch.status(svc, batch_id)).finished:
        assert time.monotonic() < deadline, state.counts
        time.sleep(0.1)
    return state


def test_a_failed_render_is_retried_and_succeeds(flaky_service: Service) -> None:
    svc = flaky_service
    batch_id = batch.submit(svc, [SourceItem("lifeboat", ARTICLE)], "test")
    state = wait_finished(svc, batch_id)
    assert state.counts["ready"] == 1
    key = state.items[0].render_key
    assert key is not None
    job = svc.ledger.job(key)
    assert job is not None and job.state == "done"
    assert job.attempts == 2 and job.completions == 1  # failed once, retried after a backoff
    assert svc.articles.get("lifeboat").status == "ready"


def test_a_render_that_keeps_failing_is_reported(flaky_service: Service) -> None:
    svc = flaky_service
    (svc.settings.data_dir.parent / "seen" / "always").touch()
    received: list[dict[str, Any]] = []

    async def hook(request: Request) -> Response:
        received.append(json.loads(await request.body()))
        return Response(status_code=204)

    with serve(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        batch_id = batch.submit(
            svc, [SourceItem("lifeboat", ARTICLE)], "test", callback_url=f"{url}/hook"
        )
        state = wait_finished(svc, batch_id, timeout_s=90)
        deadline = time.monotonic() + 10
        while not received:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert [e["type"] for e in received] == ["article.failed"]
    assert "the flaky engine is down" in received[0]["data"]["error"]
    assert state.counts["failed"] == 1
    item = state.items[0]
    assert item.error is not None and "the flaky engine is down" in item.error
    job = svc.ledger.job(item.render_key or "")
    assert job is not None and job.attempts == 3  # the first try and two retries
    assert svc.articles.get("lifeboat").status == "failed"
