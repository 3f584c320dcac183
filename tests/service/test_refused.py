"""A render the full queue refuses (503) is retried in the background, or reported as failed.

The whole app runs with its lifespan and the real job queue; a gated eSpeak voice holds the
one render slot (max_queued_renders=1) for as long as the test needs, so the refusal is sure.
Only GET /v1/articles/{id} is polled: it starts no render, so whatever renders the refused
article is the background retry.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from audio_service.jobs.ledger import Ledger
from audio_service.states import JobState
from audio_service.store.index import Index
from tests.support.gate_engine import Gate, gated_app, wait_status
from tests.support.media import decode_mp3

HOLDER = {"title": "Harbour wall repaired", "body": "Divers finished the work at low tide."}
REFUSED = {"title": "Ferry timetable changes", "body": "The late boat now leaves at ten."}


def refuse(client: TestClient, held: Gate) -> None:
    """Fill the one render slot with a held render, then have the next PUT refused."""
    held.close()
    assert client.put("/v1/articles/holder", json=HOLDER).status_code == 200
    refused = client.put("/v1/articles/refused", json=REFUSED)
    assert refused.status_code == 503, refused.text
    assert refused.headers["retry-after"]
    assert refused.json()["error"]["code"] == "overloaded"


def test_a_refused_render_says_so_and_renders_later_by_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gated_app(tmp_path, monkeypatch) as (client, held):
        refuse(client, held)
        status = client.get("/v1/articles/refused").json()
        assert status["status"] == "queued"
        assert "render refused" in status["error"] and "retried" in status["error"]
        # The retry is a job in the durable queue (it survives a restart: resume skips it).
        row = Index(tmp_path / "data" / "index.sqlite3").article("refused")
        assert row is not None
        job = Ledger(tmp_path / "data" / "index.sqlite3").job(row.render_key)
        assert job is not None and job.state == JobState.QUEUED
        held.open()
        ready = wait_status(client, "refused", "ready")
        assert ready["error"] is None and ready["digest"]
        audio = client.get("/v1/articles/refused/audio.mp3")
        assert audio.status_code == 200
        (tmp_path / "refused.mp3").write_bytes(audio.content)
        assert decode_mp3(tmp_path / "refused.mp3").size > 22050  # over a second of speech
        assert client.get("/v1/articles/holder").json()["status"] == "ready"


def test_a_render_refused_past_its_retries_is_reported_and_a_put_starts_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gated_app(tmp_path, monkeypatch, refused_retries=1) as (client, held):
        refuse(client, held)
        # The one retry (after 2 s) finds the slot still held: the article says it failed.
        failed = wait_status(client, "refused", "failed")
        assert "render queue stayed full" in failed["error"]
        assert "PUT the article again" in failed["error"]
        held.open()
        wait_status(client, "holder", "ready")
        again = client.put("/v1/articles/refused", json=REFUSED)
        assert again.status_code == 200, again.text
        assert wait_status(client, "refused", "ready")["error"] is None


def test_refusals_with_no_retries_are_reported_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gated_app(tmp_path, monkeypatch, refused_retries=0) as (client, held):
        refuse(client, held)
        status = client.get("/v1/articles/refused").json()
        assert status["status"] == "failed"
        assert "render queue stayed full" in status["error"]
