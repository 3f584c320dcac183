"""A listener's article renders before articles nobody is waiting for, whatever the queue order.

One render slot, held by a gated eSpeak render; two more articles are published and wait in
order; a listener then asks for the second one's audio. When the slot frees, the listener's
article renders first: the ledger's finish times say in which order they ran.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import pytest

from audio_service.jobs.ledger import Ledger
from audio_service.store.index import Index
from tests.support.gate_engine import gated_app, wait_status

HOLDER = {"title": "Harbour wall repaired", "body": "Divers finished the work at low tide."}
PUBLISHED = {"title": "Ferry timetable changes", "body": "The late boat now leaves at ten."}
WANTED = {"title": "Library hours extended", "body": "Branches open until eight on Thursdays."}


def test_the_article_a_listener_waits_for_renders_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with gated_app(tmp_path, monkeypatch, max_queued_renders=8) as (client, held):
        held.close()
        assert client.put("/v1/articles/holder", json=HOLDER).status_code == 200
        wait_status(client, "holder", "rendering")
        assert client.put("/v1/articles/published", json=PUBLISHED).status_code == 200
        assert client.put("/v1/articles/wanted", json=WANTED).status_code == 200

        got: list[Any] = []  # the listener's response
        listener = threading.Thread(
            target=lambda: got.append(
                client.get("/v1/articles/wanted/audio.mp3", headers={"Range": "bytes=0-1"})
            )
        )
        listener.start()
        time.sleep(1.0)  # the listener's request reaches the service and waits
        held.open()
        listener.join(timeout=60)
        assert got and got[0].status_code == 206, got
        for article_id in ("holder", "published", "wanted"):
            wait_status(client, article_id, "ready")

        index = Index(tmp_path / "data" / "index.sqlite3")
        ledger = Ledger(tmp_path / "data" / "index.sqlite3")
        finished = {}
        for article_id in ("published", "wanted"):
            row = index.article(article_id)
            assert row is not None
            job = ledger.job(row.render_key)
            assert job is not None and job.finished is not None
            finished[article_id] = job.finished
        # Published first, but the listener's article went ahead of it.
        assert finished["wanted"] < finished["published"], finished
