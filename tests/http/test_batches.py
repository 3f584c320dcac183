"""POST/GET /v1/batches against a real service: articles, a feed URL, signed webhooks, errors."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audio_service.jobs.webhooks import SIGNATURE_HEADER, verify
from tests.support.batches import story
from tests.support.http_server import serve
from tests.support.service_process import ServiceProcess, running_service

SECRET = "test-webhook-secret"


class Receiver:
    """A webhook receiver that records every delivery and fails the first one on purpose."""

    def __init__(self) -> None:
        self.events: list[tuple[dict[str, Any], bool]] = []
        self.lock = threading.Lock()
        self.refused_once = False
        items = "".join(
            f"<item><title>Feed story {n}</title><link>https://news.example/2026/11/feed-{n}</link>"
            f"<guid>https://news.example/2026/11/feed-{n}</guid><description><![CDATA["
            f"<p>{story(n)['body'].replace(chr(10) * 2, '</p><p>')}</p>]]></description></item>"
            for n in range(3)
        )
        self.feed = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Test desk</title>'
            f"<link>https://news.example/</link><description>d</description>{items}"
            "</channel></rss>"
        )

    async def hook(self, request: Request) -> Response:
        body = await request.body()
        ok = verify(SECRET, request.headers.get(SIGNATURE_HEADER, ""), body)
        with self.lock:
            if not self.refused_once:  # a receiver having a bad moment: must be retried
                self.refused_once = True
                return Response(status_code=503)
            self.events.append((json.loads(body), ok))
        return Response(status_code=204)

    async def rss(self, request: Request) -> Response:
        return Response(self.feed, media_type="application/rss+xml")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/hook", self.hook, methods=["POST"]),
                Route("/feed.xml", self.rss),
            ]
        )


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[Receiver, str]]:
    recv = Receiver()
    with serve(recv.app()) as url:
        yield recv, url


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    env = {"AUDIO_SERVICE_WEBHOOK_SECRET": SECRET}
    with running_service(tmp_path_factory.mktemp("batch-api"), env=env) as svc:
        yield svc


def wait_finished(client: httpx.Client, batch_id: str, timeout_s: float = 180) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        state: dict[str, Any] = client.get(f"/v1/batches/{batch_id}").json()
        if state["finished"]:
            return state
        assert time.monotonic() < deadline, state["counts"]
        time.sleep(0.1)


def test_batch_of_articles_with_signed_webhooks(
    service: ServiceProcess, receiver: tuple[Receiver, str]
) -> None:
    recv, base = receiver
    articles = [{"id": f"api-{n}", **story(n)} for n in range(5)]
    articles.append({"id": "api-empty", "title": " ", "body": "  "})
    with httpx.Client(base_url=service.url, timeout=60) as c:
        posted = c.post("/v1/batches", json={"articles": articles, "callback_url": f"{base}/hook"})
        assert posted.status_code == 202, posted.text
        first = posted.json()
        assert len(first["articles"]) == 6
        state = wait_finished(c, first["id"])
        assert state["counts"] == {
            "queued": 0,
            "rendering": 0,
            "ready": 5,
            "skipped": 0,
            "superseded": 0,
            "failed": 1,
        }
        failed = [a for a in state["articles"] if a["status"] == "failed"]
        assert [a["id"] for a in failed] == ["api-empty"] and failed[0]["error"]
        for n in range(5):
            assert c.get(f"/v1/articles/api-{n}").json()["status"] == "ready"
        only_failed = c.get(f"/v1/batches/{first['id']}", params={"status": "failed"}).json()
        assert [a["id"] for a in only_failed["articles"]] == ["api-empty"]

        # Five ready events and one failed, each signed; the receiver's first 503 was
        # retried with backoff.
        deadline = time.monotonic() + 30
        while len(recv.events) < 6:
            assert time.monotonic() < deadline, recv.events
            time.sleep(0.1)
        assert all(ok for _, ok in recv.events)
        events = [e for e, _ in recv.events if e["type"] == "article.ready"]
        assert sorted(e["data"]["article_id"] for e in events) == [f"api-{n}" for n in range(5)]
        assert all(e["data"]["digest"] and e["data"]["duration_ms"] > 0 for e in events)
        (failed_event,) = [e for e, _ in recv.events if e["type"] == "article.failed"]
        assert failed_event["data"]["article_id"] == "api-empty"
        assert "no speakable text" in failed_event["data"]["error"]

        # The same articles again: all current, nothing queued.
        again = c.post("/v1/batches", json={"articles": articles[:5]}).json()
        assert again["counts"]["skipped"] == 5 and again["finished"]

        metrics = c.get("/metrics").text
        assert 'audio_service_jobs_total{kind="render",outcome="rendered"} 5.0' in metrics
        assert 'audio_service_jobs_total{kind="webhook",outcome="retrying"} 1.0' in metrics
        assert 'audio_service_jobs_total{kind="webhook",outcome="delivered"} 6.0' in metrics
        assert 'audio_service_job_seconds_count{kind="render"} 5.0' in metrics
        assert "audio_service_job_queue_depth 0.0" in metrics


def test_batch_from_a_feed_url(service: ServiceProcess, receiver: tuple[Receiver, str]) -> None:
    _, base = receiver
    with httpx.Client(base_url=service.url, timeout=60) as c:
        posted = c.post("/v1/batches", json={"feed_url": f"{base}/feed.xml"})
        assert posted.status_code == 202, posted.text
        state = wait_finished(c, posted.json()["id"])
        assert state["counts"]["ready"] == 3
        ids = sorted(a["id"] for a in state["articles"])
        assert ids == ["2026-11-feed-0", "2026-11-feed-1", "2026-11-feed-2"]
        audio = c.get(f"/v1/articles/{ids[0]}/audio.mp3")
        assert audio.status_code == 200 and audio.content[:3] in (b"ID3", b"\xff\xfb")


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({}, 422, "either articles or feed_url"),
        ({"articles": [], "feed_url": "https://x.example/f"}, 422, "either articles"),
        ({"articles": [{"id": "../etc", "title": "t", "body": "b"}]}, 422, "articles.0.id"),
        (
            {"articles": [{"id": "a", "title": "t", "body": "b"}], "callback_url": "ftp://x"},
            422,
            "callback URL",
        ),
        ({"feed_url": "file:///etc/passwd"}, 422, "http(s)"),
        ({"articles": [{"id": "a", "title": "t", "body": "b", "voice": "nope"}]}, 202, ""),
    ],
)
def test_bad_batches_get_clear_errors(
    service: ServiceProcess, body: dict[str, Any], status: int, fragment: str
) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as c:
        reply = c.post("/v1/batches", json=body)
        assert reply.status_code == status, reply.text
        if status >= 400:
            assert fragment in reply.json()["error"]["message"]
        else:  # an unknown voice fails that article, not the request
            item = reply.json()["articles"][0]
            assert item["status"] == "failed" and "nope" in item["error"]


def test_feed_url_that_fails_and_unknown_batch(
    service: ServiceProcess, receiver: tuple[Receiver, str]
) -> None:
    _, base = receiver
    with httpx.Client(base_url=service.url, timeout=60) as c:
        missing = c.post("/v1/batches", json={"feed_url": f"{base}/nowhere.xml"})
        assert missing.status_code == 422
        assert "404" in missing.json()["error"]["message"]
        unknown = c.get("/v1/batches/0123456789abcdef")
        assert unknown.status_code == 404
        assert unknown.json()["error"]["code"] == "not_found"
        garbage = c.post(
            "/v1/batches", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbage.status_code == 422


def test_openapi_documents_batches(service: ServiceProcess) -> None:
    spec = httpx.get(f"{service.url}/openapi.json").json()
    post = spec["paths"]["/v1/batches"]["post"]
    assert {"202", "401", "413", "422"} <= set(post["responses"])
    assert "404" in spec["paths"]["/v1/batches/{batch_id}"]["get"]["responses"]
    # Every reference in the document resolves inside it (a "#/$defs/..." one would not).
    assert "#/$defs/" not in json.dumps(spec)
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["articles"]["items"]["properties"]["id"]["pattern"]
    assert len(body["oneOf"]) == 2  # articles or feed_url
