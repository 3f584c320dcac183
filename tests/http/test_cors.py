"""Cross-origin reads for a publisher's own player script; writes only from named origins."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from tests.support.http_server import serve
from tests.support.inprocess import app_client
from tests.support.media import EXAMPLES
from tests.support.player_browser import (  # noqa: F401 - fixtures, used by name
    browser_fixture,
    chromium_executable_fixture,
    page_fixture,
    playwright_instance_fixture,
)
from tests.support.service_process import ServiceProcess, running_service

PUBLISHER = "https://news.example"


def test_reads_answer_any_origin_and_expose_what_a_player_reads(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        put = client.put("/v1/articles/cors", json={"title": "Ferries", "body": ["Fares rise."]})
        assert put.status_code == 200
        ready = client.get("/v1/articles/cors/audio.mp3")  # follows the render to its end
        assert ready.status_code == 200
        digest = client.get("/v1/articles/cors").json()["digest"]
        for path in (
            "/v1/voices",
            "/v1/articles/cors",
            "/v1/articles/cors/timings.json",
            "/v1/articles/cors/captions.vtt",
            f"/v1/audio/{digest}.mp3",  # the lean path, outside FastAPI
        ):
            reply = client.get(path, headers={"Origin": PUBLISHER, "Range": "bytes=0-1"})
            assert reply.headers["access-control-allow-origin"] == "*", path
            exposed = reply.headers["access-control-expose-headers"]
            assert {"Content-Range", "Accept-Ranges", "ETag"} <= set(exposed.split(", "))
        # Without an Origin nothing changes: same-origin and server-to-server calls.
        assert "access-control-allow-origin" not in client.get("/v1/voices").headers

        preflight = client.options(
            "/v1/articles/cors/audio.mp3",
            headers={
                "Origin": PUBLISHER,
                "Access-Control-Request-Method": "GET",
                "Access-Control-Request-Headers": "range",
            },
        )
        assert preflight.status_code == 204
        assert "Range" in preflight.headers["access-control-allow-headers"]
        assert "If-None-Match" in preflight.headers["access-control-allow-headers"]

        # Writes: no origin by default; the preflight says why in the API's error shape.
        refused = client.options(
            "/v1/articles/cors",
            headers={"Origin": PUBLISHER, "Access-Control-Request-Method": "PUT"},
        )
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "cors_refused"
        put = client.put(
            "/v1/articles/cors2", json={"title": "T", "body": ["B."]}, headers={"Origin": PUBLISHER}
        )
        assert "access-control-allow-origin" not in put.headers


def test_writes_from_a_named_origin_and_reads_limited_to_a_list(tmp_path: Path) -> None:
    cms = "https://cms.example"
    with app_client(
        tmp_path, cors_read_origins=PUBLISHER, cors_write_origins=cms, api_key="k"
    ) as client:
        preflight = client.options(
            "/v1/articles/x",
            headers={
                "Origin": cms,
                "Access-Control-Request-Method": "PUT",
                "Access-Control-Request-Headers": "x-api-key, content-type",
            },
        )
        assert preflight.status_code == 204
        assert preflight.headers["access-control-allow-origin"] == cms
        assert "X-API-Key" in preflight.headers["access-control-allow-headers"]
        put = client.put(
            "/v1/articles/x",
            json={"title": "T", "body": ["B."]},
            headers={"Origin": cms, "X-API-Key": "k"},
        )
        assert put.status_code == 200
        assert put.headers["access-control-allow-origin"] == cms
        assert put.headers["vary"] == "Origin"
        read = client.get("/v1/voices", headers={"Origin": PUBLISHER})
        assert read.headers["access-control-allow-origin"] == PUBLISHER
        assert (
            "access-control-allow-origin"
            not in client.get("/v1/voices", headers={"Origin": "https://elsewhere.example"}).headers
        )


@pytest.fixture(scope="module", name="service")
def service_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with running_service(tmp_path_factory.mktemp("cors")) as service:
        article = (EXAMPLES / "council-budget.json").read_bytes()
        put = httpx.put(
            f"{service.url}/v1/articles/budget",
            content=article,
            headers={"Content-Type": "application/json"},
        )
        assert put.status_code == 200, put.text
        deadline = time.monotonic() + 120
        while httpx.get(f"{service.url}/v1/articles/budget").json()["status"] != "ready":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        yield service


@pytest.fixture(scope="module", name="host_page")
def host_page_fixture() -> Iterator[str]:
    """A publisher's page on another port: another origin than the service."""

    async def page(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b"<!doctype html><title>News</title><h1>A story</h1>"
        headers = [(b"content-type", b"text/html")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    with serve(page) as url:
        yield url


FETCH_JS = """async (base) => {
  const timings = await (await fetch(base + "/v1/articles/budget/timings.json")).json();
  const audio = await fetch(base + "/v1/articles/budget/audio.mp3",
                            {headers: {Range: "bytes=0-1"}});
  const bytes = new Uint8Array(await audio.arrayBuffer());
  return {segments: timings.segments.length, status: audio.status,
          range: audio.headers.get("Content-Range"), etag: audio.headers.get("ETag"),
          first: String.fromCharCode(...bytes)};
}"""


def test_chromium_fetches_timings_and_audio_from_another_origin(
    service: ServiceProcess, host_page: str, page: Page
) -> None:
    page.goto(host_page)
    got = page.evaluate(FETCH_JS, service.url)
    assert got["segments"] > 5
    assert got["status"] == 206
    assert got["range"].startswith("bytes 0-1/")
    assert got["etag"].startswith('"')
    assert got["first"] == "ID"
