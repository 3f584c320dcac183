"""A lexicon change re-renders, in the background, exactly the articles whose audio it changes.

Real eSpeak renders; the app runs with its lifespan and the real job queue. No article is
PUT again after a rule changes: only GET /v1/articles/{id} is polled, which starts nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from audio_service.engines.registry import builtin_engines
from audio_service.store.index import Index
from tests.support.gate_engine import GATE_VOICE, Gate, gate, gate_voices
from tests.support.inprocess import app_client

USES = {"title": "Wexcombe votes", "body": "Wexcombe council met on Monday evening."}
OTHER = {"title": "Rain again", "body": "It rained all day in the valley."}
US_VOICE = {"title": "Wexcombe abroad", "body": "Wexcombe was named.", "voice": "en-us-espeak"}


def wait(client: TestClient, article_id: str, done: Any, timeout_s: float = 60) -> Any:
    """Poll the article's status until `done(status)` holds."""
    deadline = time.monotonic() + timeout_s
    while not done(status := client.get(f"/v1/articles/{article_id}").json()):
        assert time.monotonic() < deadline, status
        time.sleep(0.05)
    return status


def ready(client: TestClient, article_id: str) -> Any:
    return wait(client, article_id, lambda s: s["status"] == "ready")


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[TestClient]:
    with app_client(tmp_path) as c:
        yield c


def test_a_rule_change_rerenders_the_article_that_uses_it_and_nothing_else(
    client: TestClient, tmp_path: Path
) -> None:
    for article_id, body in (("uses", USES), ("other", OTHER), ("us", US_VOICE)):
        assert client.put(f"/v1/articles/{article_id}", json=body).status_code == 200
    before = {a: ready(client, a) for a in ("uses", "other", "us")}
    index = Index(tmp_path / "index.sqlite3")
    other_key = index.article("other").render_key  # type: ignore[union-attr]

    added = client.put("/v1/lexicon/en-GB/Wexcombe", json={"replacement": "Wex-cum"})
    assert added.status_code == 200, added.text
    assert added.json()["rerenders_queued"] == 1  # "us" holds the word, but speaks en-US
    after = wait(
        client,
        "uses",
        lambda s: s["status"] == "ready" and s["digest"] != before["uses"]["digest"],
    )
    assert after["version"] == before["uses"]["version"] + 1
    assert after["ready_version"] == after["version"]
    timings = client.get("/v1/articles/uses/timings.json").json()
    assert "Wex-cum" in " ".join(s["spoken"] for s in timings["segments"])
    for untouched in ("other", "us"):
        now = client.get(f"/v1/articles/{untouched}").json()
        assert (now["version"], now["digest"]) == (
            before[untouched]["version"],
            before[untouched]["digest"],
        )
    assert index.article("other").render_key == other_key  # type: ignore[union-attr]

    # Back to the old rules: the earlier audio is still stored, so it is served again at
    # once, with nothing to render.
    removed = client.delete("/v1/lexicon/en-GB/Wexcombe")
    assert removed.status_code == 204
    assert removed.headers["rerenders-queued"] == "0"
    back = client.get("/v1/articles/uses").json()
    assert back["status"] == "ready" and back["digest"] == before["uses"]["digest"]
    assert back["version"] == before["uses"]["version"] + 2


def test_a_voice_scoped_rule_touches_only_that_voice(client: TestClient) -> None:
    for article_id, body in (("uses", USES), ("us", US_VOICE)):
        assert client.put(f"/v1/articles/{article_id}", json=body).status_code == 200
    before = {a: ready(client, a) for a in ("uses", "us")}
    added = client.put("/v1/lexicon/en-us-espeak/wexcombe", json={"replacement": "Wecks-comb"})
    assert added.json()["rerenders_queued"] == 1
    after = wait(
        client, "us", lambda s: s["status"] == "ready" and s["digest"] != before["us"]["digest"]
    )
    assert after["version"] == before["us"]["version"] + 1
    assert client.get("/v1/articles/uses").json()["version"] == before["uses"]["version"]


def test_the_old_audio_is_served_until_the_new_render_is_ready(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATE_ENGINE_DIR", str(tmp_path / "gate"))
    held = Gate(tmp_path / "gate")
    engines = {**builtin_engines(), "gate": gate}
    voices = gate_voices(tmp_path / "voices")
    with app_client(
        tmp_path / "data", engines=engines, voices_dir=voices, default_voice=GATE_VOICE
    ) as client:
        try:
            assert client.put("/v1/articles/uses", json=USES).status_code == 200
            old = ready(client, "uses")
            held.close()
            added = client.put("/v1/lexicon/common/Wexcombe", json={"replacement": "Wex-cum"})
            assert added.json()["rerenders_queued"] == 1
            pending = client.get("/v1/articles/uses").json()
            assert pending["version"] == old["version"] + 1
            assert pending["status"] in ("queued", "rendering")
            assert pending["digest"] == old["digest"] and pending["ready_version"] == old["version"]
            audio = client.get("/v1/articles/uses/audio.mp3")
            assert audio.status_code == 200
            assert hashlib.sha256(audio.content).hexdigest() == old["digest"]
            held.open()
            new = ready(client, "uses")
            assert new["digest"] != old["digest"] and new["ready_version"] == new["version"]
        finally:
            held.open()
