"""Podcast episodes through the real service's HTTP API and the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import feedparser
import httpx
import pytest

from tests.support.media import EXAMPLES, REPO
from tests.support.service_process import ServiceProcess, running_service

DAY = "2026-11-25"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with running_service(tmp_path_factory.mktemp("podcast-api")) as svc:
        with httpx.Client(base_url=svc.url, timeout=60) as c:
            for stem in ("council-budget", "harbor-bridge", "storm-warning"):
                path = next(EXAMPLES.glob(f"{stem}.*"))
                kind = {".json": "application/json", ".txt": "text/plain", ".html": "text/html"}[
                    path.suffix
                ]
                c.put(
                    f"/v1/articles/{stem}",
                    content=path.read_bytes(),
                    headers={"content-type": kind},
                ).raise_for_status()
            deadline = time.monotonic() + 120
            for stem in ("council-budget", "harbor-bridge", "storm-warning"):
                while c.get(f"/v1/articles/{stem}").json()["status"] != "ready":
                    assert time.monotonic() < deadline
                    time.sleep(0.1)
        yield svc


def test_build_serve_and_list_an_episode(service: ServiceProcess) -> None:
    with httpx.Client(base_url=service.url, timeout=300) as c:
        built = c.post("/v1/podcasts/daily-briefing/episodes", json={"date": DAY})
        assert built.status_code == 200, built.text
        episode = built.json()
        assert [ch["title"] for ch in episode["chapters"]][1:4] == [
            json.loads((EXAMPLES / "council-budget.json").read_text())["title"],
            *[ch["title"] for ch in episode["chapters"]][2:4],
        ]
        audio = c.get(episode["audio_url"], headers={"Range": "bytes=0-1"})
        assert audio.status_code == 206
        assert audio.content == b"ID"
        head = c.head(episode["audio_url"])
        assert int(head.headers["content-length"]) == episode["size_bytes"]

        again = c.post("/v1/podcasts/daily-briefing/episodes", json={"date": DAY}).json()
        assert again["digest"] == episode["digest"]
        assert again["reused"] is True

        xml = c.get("/v1/podcasts/daily-briefing/feed.xml")
        assert xml.headers["content-type"].startswith("application/rss+xml")
        parsed = feedparser.parse(xml.content)
        assert not parsed.bozo, parsed.get("bozo_exception")
        entry = parsed.entries[0]
        assert int(entry.enclosures[0]["length"]) == episode["size_bytes"]
        assert entry.enclosures[0]["href"].endswith(f"/v1/audio/{episode['digest']}.mp3")

        chapters = c.get(f"/v1/podcasts/daily-briefing/episodes/{DAY}/chapters.json").json()
        assert len(chapters["chapters"]) == len(episode["chapters"])
        vtt = c.get(f"/v1/podcasts/daily-briefing/episodes/{DAY}/transcript.vtt")
        assert vtt.text.startswith("WEBVTT")
        listed = c.get("/v1/podcasts/daily-briefing/episodes").json()
        assert [e["date"] for e in listed] == [DAY]


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "status"),
    [
        ("post", "/v1/podcasts/nope/episodes", {"json": {"date": DAY}}, 404),
        ("get", "/v1/podcasts/nope/feed.xml", {}, 404),
        ("post", "/v1/podcasts/daily-briefing/episodes", {"json": {"date": "25/11"}}, 422),
        ("get", "/v1/podcasts/daily-briefing/episodes/2001-01-01/chapters.json", {}, 404),
        ("get", f"/v1/podcasts/daily-briefing/episodes/{DAY}/passwd", {}, 422),
    ],
)
def test_podcast_errors_are_clear(
    service: ServiceProcess, method: str, url: str, kwargs: dict[str, object], status: int
) -> None:
    response = getattr(httpx, method)(service.url + url, timeout=60, **kwargs)
    assert response.status_code == status
    assert response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("feed_id", "status", "code"),
    [
        ("f" * 100, 404, "not_found"),  # any id a feed file may have reaches the route
        ("f" * 128, 404, "not_found"),
        ("f" * 129, 422, "invalid_request"),
        (".hidden", 422, "invalid_request"),
    ],
)
def test_feed_ids_follow_the_feed_file_rules(
    service: ServiceProcess, feed_id: str, status: int, code: str
) -> None:
    response = httpx.get(f"{service.url}/v1/podcasts/{feed_id}/episodes", timeout=60)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_cli_build_is_cron_safe(service: ServiceProcess) -> None:
    env = {
        **os.environ,
        "AUDIO_SERVICE_DATA_DIR": str(service.data_dir),
        "AUDIO_SERVICE_DEFAULT_VOICE": "en-gb-espeak",
    }
    command = [
        sys.executable,
        "-m",
        "audio_service",
        "podcast",
        "build",
        "daily-briefing",
        "--date",
        DAY,
    ]
    first = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert first.returncode == 0, first.stderr
    assert "daily-briefing 2026-11-25" in first.stdout
    second = subprocess.run(command, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert "unchanged, nothing encoded" in second.stdout
    bad = subprocess.run(
        [*command[:-1], "yesterday"], capture_output=True, text=True, cwd=REPO, env=env, timeout=60
    )
    assert bad.returncode == 2
    assert "YYYY-MM-DD" in bad.stderr
