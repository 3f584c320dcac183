"""The HTTP API's own logic in-process (no server process): errors, keys, limits, documents.

The app runs with its lifespan, the real eSpeak engine and the real queue, in this process;
tests/http/test_api.py drives the same app as a real server process on loopback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from audio_service.render.script import Scripter
from tests.support.inprocess import app_client
from tests.support.media import EXAMPLES, long_article

ARTICLE = json.loads((EXAMPLES / "council-budget.json").read_text())


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with app_client(tmp_path_factory.mktemp("inprocess")) as c:
        yield c


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status", "code"),
    [
        ("put", "/v1/articles/bad%20id", {"json": ARTICLE}, 422, "invalid_request"),
        ("put", "/v1/articles/" + "x" * 129, {"json": ARTICLE}, 422, "invalid_request"),
        ("get", "/v1/articles/nobody-here", {}, 404, "not_found"),
        ("get", "/v1/articles/nobody-here/audio.mp3", {}, 404, "not_found"),
        ("get", "/v1/articles/nobody-here/timings.json", {}, 404, "not_found"),
        ("get", "/v1/audio/" + "0" * 64 + ".mp3", {}, 404, "not_found"),
        ("get", "/v1/audio/not-a-digest.mp3", {}, 404, "not_found"),
        ("put", "/v1/articles/v1", {"json": {**ARTICLE, "voice": "nope"}}, 422, "unknown_voice"),
        (
            "put",
            "/v1/articles/v1",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            422,
            "invalid_article",
        ),
        ("put", "/v1/articles/v1", {"json": {"title": "", "body": ""}}, 422, "invalid_article"),
        ("put", "/v1/articles/v1", {"json": {"title": 5, "body": "x"}}, 422, "invalid_article"),
        (
            "put",
            "/v1/articles/v1",
            {"content": b"x", "headers": {"content-type": "image/png"}},
            422,
            "invalid_input",
        ),
        (
            "put",
            "/v1/articles/v1",
            {"content": b"T\n\n" + b"word " * 2_000_000, "headers": {"content-type": "text/plain"}},
            413,
            "article_too_large",
        ),
        (
            "post",
            "/v1/audio/speech",
            {"json": {"input": "Hi", "voice": "alloy", "response_format": "ogg"}},
            422,
            "invalid_request",
        ),
        (
            "post",
            "/v1/audio/speech",
            {"json": {"input": "", "voice": "alloy"}},
            422,
            "invalid_request",
        ),
        ("delete", "/v1/voices", {}, 405, "method_not_allowed"),
    ],
)
def test_bad_input_gets_a_clear_json_error(
    client: TestClient, method: str, url: str, kwargs: dict[str, object], status: int, code: str
) -> None:
    response = getattr(client, method)(url, **kwargs)
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    assert "Traceback" not in response.text


def test_unknown_voice_lists_the_voices(client: TestClient) -> None:
    response = client.put("/v1/articles/v2", json={**ARTICLE, "voice": "nope"})
    assert "en-gb-espeak" in response.json()["error"]["message"]


def test_voices_health_metrics_and_docs(client: TestClient) -> None:
    voices = client.get("/v1/voices").json()
    assert {v["id"] for v in voices} >= {"en-gb-espeak", "en-us-espeak"}
    assert sum(v["default"] for v in voices) == 1
    assert client.get("/healthz").json()["status"] == "ok"
    text = client.get("/metrics").text
    for name in (
        "audio_service_requests_total",
        "audio_service_renders_total",
        "audio_service_render_seconds",
        "audio_service_cache_total",
        "audio_service_queue_depth",
        "audio_service_bytes_served_total",
    ):
        assert name in text
    spec = client.get("/openapi.json").json()
    for path in (
        "/v1/articles/{article_id}",
        "/v1/articles/{article_id}/audio.mp3",
        "/v1/articles/{article_id}/timings.json",
        "/v1/articles/{article_id}/captions.vtt",
        "/v1/articles/{article_id}/player",
        "/v1/audio/{digest}.mp3",
        "/v1/voices",
        "/v1/audio/speech",
        "/healthz",
        "/metrics",
    ):
        assert path in spec["paths"], path
    assert "404" in spec["paths"]["/v1/articles/{article_id}"]["get"]["responses"]


def test_api_key_guards_writes(tmp_path: Path) -> None:
    with app_client(tmp_path, api_key="s3cret") as c:
        refused = c.put("/v1/articles/k1", json=ARTICLE)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "unauthorized"
        ok = c.put("/v1/articles/k1", json=ARTICLE, headers={"X-API-Key": "s3cret"})
        assert ok.status_code == 200
        assert c.get("/v1/articles/k1").status_code == 200  # reads stay open


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    with app_client(tmp_path, max_queued_renders=1, render_concurrency=1) as c:
        assert c.put("/v1/articles/q1", json=long_article(8_000, "First")).status_code == 200
        refused = c.put("/v1/articles/q2", json=long_article(500, "Second"))
        assert refused.status_code == 503
        assert refused.headers["retry-after"]
        assert refused.json()["error"]["code"] == "overloaded"


def test_405_lists_every_method_of_the_resource(client: TestClient) -> None:
    reply = client.request("PATCH", "/v1/articles/some-id")
    assert reply.status_code == 405
    assert reply.headers["allow"] == "DELETE, GET, PUT"
    assert reply.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_a_400_with_a_json_error(client: TestClient) -> None:
    reply = client.put(
        "/v1/lexicon/common/Wexcombe",
        content=b"\xff{not json",
        headers={"content-type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == "malformed_request"
    spec = client.get("/openapi.json").json()
    assert "400" in spec["paths"]["/v1/lexicon/{scope}/{word}"]["put"]["responses"]
    captions = spec["paths"]["/v1/articles/{article_id}/captions.vtt"]["get"]["responses"]
    assert "text/vtt" in captions["200"]["content"]
    assert "application/json" in captions["404"]["content"]


def test_one_put_runs_the_text_pipeline_once(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    script = Scripter.script

    def counted(self: Scripter, *args: object, **kwargs: object) -> object:
        made.append(str(args[0]))
        return script(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Scripter, "script", counted)
    article = {"title": "Counted once", "body": "The text pipeline runs once for this PUT."}
    assert client.put("/v1/articles/counted", json=article).status_code == 200
    audio = client.get("/v1/articles/counted/audio.mp3")  # follows the render to its end
    assert audio.status_code == 200 and audio.content[:3] == b"ID3"
    assert client.get("/v1/articles/counted").json()["status"] == "ready"
    assert len(made) == 1  # keyed the cache and rendered the audio
