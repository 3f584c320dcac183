"""The first press of Listen on every device: ranges of a render still running, answered at once.

A real service process renders a long article with the real eSpeak engine on one worker, so the
render runs for several seconds; while it runs, the requests players really send are answered
from the growing file, and what they got agrees byte for byte with the stored file afterwards.

The request sequences below are those WebKit's media stack sends (macOS Safari and iOS, where
AVFoundation's loader identifies itself as AppleCoreMedia): every medium is opened with a
two-byte probe, ``Range: bytes=0-1`` with an ``X-Playback-Session-Id``; a 206 to it is what tells
WebKit the server can seek. Then it reads on with bounded ranges, or from an offset when it
seeks. Chromium opens with ``Range: bytes=0-`` and seeks inside the stream it gets.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page

from tests.support.media import varied_article
from tests.support.player_browser import (  # noqa: F401 - fixtures, used by name
    browser_fixture,
    chromium_executable_fixture,
    page_fixture,
    playwright_instance_fixture,
)
from tests.support.service_process import ServiceProcess, running_service

SESSION = str(uuid.uuid4()).upper()
IOS = {
    "User-Agent": "AppleCoreMedia/1.0.0.21F90 (iPhone; U; CPU OS 17_5_1 like Mac OS X; en_gb)",
    "X-Playback-Session-Id": SESSION,
    "Accept": "*/*",
    "Accept-Encoding": "identity",
}
SAFARI = {
    "User-Agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Safari/605.1.15",
    "X-Playback-Session-Id": SESSION,
    "Accept": "*/*",
    "Accept-Encoding": "identity",
}
# (headers, Range) in the order the player sends them during the first seconds of playback.
IOS_OPENING = [(IOS, "bytes=0-1"), (IOS, "bytes=0-65535"), (IOS, "bytes=65536-131071")]
SAFARI_OPENING = [(SAFARI, "bytes=0-1"), (SAFARI, "bytes=0-"), (SAFARI, "bytes=32768-")]


@pytest.fixture(scope="module", name="service")
def service_fixture(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    # One synthesis worker: the long article takes several seconds, long enough to be caught.
    env = {"AUDIO_SERVICE_WORKERS": "1", "AUDIO_SERVICE_RENDER_CONCURRENCY": "1"}
    with running_service(tmp_path_factory.mktemp("live"), env) as service:
        yield service


def _status(service: ServiceProcess, article_id: str) -> str:
    status: str = httpx.get(f"{service.url}/v1/articles/{article_id}").json()["status"]
    return status


def start_render(service: ServiceProcess, article_id: str, words: int = 3000) -> str:
    """PUT a long article of its own and return its audio URL once its render has begun."""
    seed = sum(map(ord, article_id))  # every test's article has sentences of its own
    put = httpx.put(
        f"{service.url}/v1/articles/{article_id}", json=varied_article(words, seed), timeout=30
    )
    assert put.status_code == 200, put.text
    deadline = time.monotonic() + 30
    while _status(service, article_id) != "rendering":
        assert time.monotonic() < deadline, "the render never started"
        time.sleep(0.02)
    return f"{service.url}/v1/articles/{article_id}/audio.mp3"


def wait_ready(service: ServiceProcess, article_id: str, timeout_s: float = 240) -> None:
    deadline = time.monotonic() + timeout_s
    while (status := _status(service, article_id)) != "ready":
        assert status in ("queued", "rendering"), status
        assert time.monotonic() < deadline, "the render did not finish"
        time.sleep(0.2)


def get_range(
    url: str, headers: dict[str, str], value: str, limit: int = 1 << 20
) -> httpx.Response:
    """One request; an open range is read only up to `limit` bytes, as a player reads ahead."""
    with httpx.stream("GET", url, headers={**headers, "Range": value}, timeout=60) as reply:
        body = b""
        for chunk in reply.iter_bytes():
            body += chunk
            if len(body) >= limit:
                break
        reply._content = body  # the part read, for the assertions below
    return reply


def test_apple_request_sequences_are_answered_while_the_render_runs(
    service: ServiceProcess,
) -> None:
    url = start_render(service, "live-apple")
    answered: list[tuple[str, httpx.Response, float]] = []
    for headers, value in [*IOS_OPENING, *SAFARI_OPENING]:
        began = time.monotonic()
        reply = get_range(url, headers, value, limit=65536)
        answered.append((value, reply, time.monotonic() - began))
    # The whole opening happened while the first render was still running.
    assert _status(service, "live-apple") == "rendering"

    probe = answered[0][1]
    assert probe.status_code == 206
    assert probe.headers["content-range"] == "bytes 0-1/*"
    assert probe.headers["content-length"] == "2"
    assert probe.content == b"ID"  # the ID3 tag that starts every MP3 the service writes
    assert probe.headers["accept-ranges"] == "bytes"
    assert probe.headers["cache-control"] == "no-store"
    for value, reply, _ in answered:
        if value == "bytes=0-":
            assert reply.status_code == 200  # the stream, as it is written
            assert "content-length" not in reply.headers
            continue
        first, _, last = value.removeprefix("bytes=").partition("-")
        assert reply.status_code == 206, (value, reply.status_code)
        start, _, rest = reply.headers["content-range"].removeprefix("bytes ").partition("-")
        end, _, total = rest.partition("/")
        assert (int(start), total) == (int(first), "*")
        if last:
            assert int(end) == int(last)
            assert len(reply.content) == int(end) - int(start) + 1
        assert reply.headers["content-length"] == str(int(end) - int(start) + 1)

    # What each player was given is what the stored file holds at those offsets.
    wait_ready(service, "live-apple")
    final = httpx.get(url, timeout=60)
    assert final.status_code == 200
    assert final.headers["content-length"] == str(len(final.content))
    for value, reply, _ in answered:
        offset = 0 if reply.status_code == 200 else int(value.split("=")[1].split("-")[0])
        assert final.content[offset : offset + len(reply.content)] == reply.content, value
    # Once stored, the same probe carries the complete length.
    done = httpx.get(url, headers={**IOS, "Range": "bytes=0-1"})
    assert done.status_code == 206
    assert done.headers["content-range"] == f"bytes 0-1/{len(final.content)}"


def test_head_and_a_range_past_the_written_end_during_the_render(service: ServiceProcess) -> None:
    url = start_render(service, "live-head")
    head = httpx.head(url)
    assert head.status_code == 200
    assert head.headers["content-type"] == "audio/mpeg"
    assert head.headers["accept-ranges"] == "bytes"
    # The length is not known yet: no Content-Length rather than a false one.
    assert "content-length" not in head.headers
    head_range = httpx.head(url, headers={"Range": "bytes=0-1"})
    assert head_range.status_code == 206
    assert head_range.headers["content-range"] == "bytes 0-1/*"

    # About 40 s into the audio (64 kbit/s): not written yet when asked, answered once it is.
    far = 40 * 8000
    began = time.monotonic()
    reply = httpx.get(url, headers={"Range": f"bytes={far}-{far + 999}"}, timeout=120)
    waited = time.monotonic() - began
    assert reply.status_code == 206
    assert len(reply.content) == 1000
    still = _status(service, "live-head")
    wait_ready(service, "live-head")
    final = httpx.get(url, timeout=60).content
    assert reply.content == final[far : far + 1000]
    if still == "rendering":
        assert reply.headers["content-range"] == f"bytes {far}-{far + 999}/*"
    print(f"range 40 s in: answered after {waited:.2f} s, status then {still}")


def test_chromium_plays_and_seeks_inside_a_live_render(service: ServiceProcess, page: Page) -> None:
    url = start_render(service, "live-chromium", words=4000)
    page.goto(f"{service.url}/v1/voices")  # any page of the service's origin
    page.evaluate(
        """(src) => {
            const audio = document.createElement("audio");
            audio.id = "audio";
            audio.preload = "metadata";
            audio.src = src;
            document.body.append(audio);
        }""",
        url,
    )
    page.wait_for_function("document.getElementById('audio').readyState >= 1")
    page.evaluate("document.getElementById('audio').play()")
    page.wait_for_function("document.getElementById('audio').currentTime > 1")
    # Seek forward to a time already written (the render runs far ahead of playback), then
    # back: playback goes on from each. Measured: Chromium reads on in the stream it has for
    # the forward seek and uses what it buffered for the backward one; no new request.
    page.evaluate("document.getElementById('audio').currentTime = 20")
    page.wait_for_function("document.getElementById('audio').currentTime > 20.5")
    page.evaluate("document.getElementById('audio').currentTime = 2")
    page.wait_for_function(
        "(() => { const a = document.getElementById('audio'); "
        "return a.currentTime > 2.5 && a.currentTime < 15 && !a.paused; })()"
    )
    state = page.evaluate(
        "(() => { const a = document.getElementById('audio'); "
        "return {error: a.error && a.error.code, duration: String(a.duration)}; })()"
    )
    assert state["error"] is None
    # All of it happened while the first render was still running.
    assert _status(service, "live-chromium") == "rendering", state
    httpx.delete(f"{service.url}/v1/articles/live-chromium")


def test_a_file_once_stored_is_the_stream_it_was(service: ServiceProcess, tmp_path: Path) -> None:
    """The live stream read to its end equals the stored file: one resource, before and after."""
    url = start_render(service, "live-whole", words=600)
    with httpx.stream("GET", url, timeout=120) as reply:
        assert reply.status_code == 200
        streamed = reply.read()
    wait_ready(service, "live-whole")
    stored = httpx.get(url).content
    assert streamed == stored
    (tmp_path / "stored.mp3").write_bytes(stored)
