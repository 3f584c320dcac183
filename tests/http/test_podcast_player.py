"""A podcast episode from the real service plays and seeks in headless Chromium."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin

import httpx
import pytest
from playwright.sync_api import Page, Response

from tests.support.media import EXAMPLES
from tests.support.player_browser import (  # noqa: F401 - fixtures, used by name
    browser_fixture,
    chromium_executable_fixture,
    page_fixture,
    playwright_instance_fixture,
)
from tests.support.service_process import running_service

DAY = "2025-02-26"
STORIES = ("council-budget", "harbor-bridge", "storm-warning")  # the feed's listed articles
CONTENT_TYPES = {".json": "application/json", ".txt": "text/plain", ".html": "text/html"}
AUDIO_JS = "() => document.getElementById('episode')"


@dataclass(frozen=True)
class Served:
    audio_url: str
    duration_s: float
    chapters: list[dict[str, Any]]


@pytest.fixture(scope="module")
def served(chromium_executable: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The feed's episode built by the running service, which stays up for the browser."""
    with (
        running_service(tmp_path_factory.mktemp("podcast-player")) as svc,
        httpx.Client(base_url=svc.url, timeout=120, trust_env=False) as client,
    ):
        for stem in STORIES:
            path = next(EXAMPLES.glob(f"{stem}.*"))
            headers = {"content-type": CONTENT_TYPES[path.suffix]}
            put = client.put(f"/v1/articles/{stem}", content=path.read_bytes(), headers=headers)
            put.raise_for_status()
        deadline = time.monotonic() + 120
        for stem in STORIES:
            while client.get(f"/v1/articles/{stem}").json()["status"] != "ready":
                assert time.monotonic() < deadline, f"{stem} was not rendered in 120 s"
                time.sleep(0.05)
        built = client.post("/v1/podcasts/daily-briefing/episodes", json={"date": DAY})
        assert built.status_code == 200, built.text
        episode = built.json()
        chapters = client.get(f"/v1/podcasts/daily-briefing/episodes/{DAY}/chapters.json")
        chapters.raise_for_status()
        audio_url = urljoin(svc.url, episode["audio_url"])  # relative unless a public URL is set
        yield Served(audio_url, episode["duration_ms"] / 1000, chapters.json()["chapters"])


def _audio(page: Page, expression: str) -> Any:
    return page.evaluate(f"() => {{ const a = ({AUDIO_JS})(); return {expression}; }}")


def test_episode_plays_and_seeks_to_the_third_chapter(page: Page, served: Served) -> None:
    responses: list[tuple[str | None, int]] = []

    def on_response(response: Response) -> None:
        if response.url == served.audio_url:
            responses.append((response.request.headers.get("range"), response.status))

    page.on("response", on_response)
    # A blank page with an absolute src: <audio> needs no CORS to play another origin.
    page.set_content(f'<audio id="episode" preload="metadata" src="{served.audio_url}"></audio>')
    page.wait_for_function(f"() => ({AUDIO_JS})().readyState >= 1")  # HAVE_METADATA
    assert abs(_audio(page, "a.duration") - served.duration_s) < 0.5
    _audio(page, "a.play()")  # evaluate awaits the promise: a refused play() fails here
    page.wait_for_function(f"() => ({AUDIO_JS})().currentTime > 0.3")

    third = served.chapters[2]
    start_s = float(third["startTime"])
    assert start_s > 5, served.chapters  # past the intro and the first story
    page.evaluate(f"(t) => {{ ({AUDIO_JS})().currentTime = t; }}", start_s)
    page.wait_for_function(f"() => !({AUDIO_JS})().seeking")
    landed = _audio(page, "a.currentTime")
    assert start_s - 0.05 <= landed < float(third["endTime"]), (landed, third)
    # Playing on from the chapter's start, not from where it was before.
    page.wait_for_function(
        f"(t) => {{ const a = ({AUDIO_JS})(); return !a.paused && a.currentTime > t + 0.5; }}",
        arg=landed,
    )
    assert _audio(page, "a.error") is None
    assert _audio(page, "a.currentTime") < float(third["endTime"])

    ranged = [(r, status) for r, status in responses if r and r.startswith("bytes=")]
    assert ranged, f"no Range requests for the episode: {responses}"
    assert all(status == 206 for _, status in ranged), responses
