"""deploy/nginx.conf as shipped (www-data workers) before the real service run with umask 077."""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from audio_service.http.streams import IMMUTABLE, SHORT
from tests.support.media import long_article
from tests.support.nginx import (
    REPO,
    WORKER_USER,
    Nginx,
    nginx_binary,
    public_dir,
    running_nginx,
    unsearchable_parent,
    worker_users,
)
from tests.support.service_process import ServiceProcess

pytestmark = pytest.mark.slow

ARTICLE = {
    "title": "Harbour bridge reopens",
    "body": [
        "The harbour bridge reopened on Monday after three weeks of repairs.",
        "Traffic moved freely by the evening, the city said.",
    ],
}
FEED = "nginx-daily"
STORIES = 'articles = ["nginx-1"]'
DAY = "2026-11-25"
AUDIO_ROUTE = "/v1/audio/{digest}.mp3"
ARTICLE_ROUTE = "/v1/articles/{article_id}/audio.mp3"


def _refuse(reason: str) -> None:
    """Outside CI a machine without the deployment's pieces skips; in CI that is a failure."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@dataclass(frozen=True)
class Deployment:
    nginx: Nginx
    service: ServiceProcess
    data_dir: Path


@pytest.fixture(scope="module")
def deployment() -> Iterator[Deployment]:
    if nginx_binary() is None:
        _refuse("nginx is not installed (apt-get install nginx); CI installs it")
    if os.getuid() != 0:
        _refuse(f"only a root nginx master switches its workers to {WORKER_USER}; CI runs as root")
    try:
        pwd.getpwnam(WORKER_USER)
    except KeyError:
        _refuse(f"no {WORKER_USER} user here (the nginx package makes it); this test creates none")
    with public_dir("audio-nginx-") as base:
        data_dir, feeds = base / "data", base / "feeds"
        for folder in (data_dir, feeds):
            folder.mkdir()
            folder.chmod(0o755)  # as an operator's /var/lib/audio-service would be
        assert unsearchable_parent(data_dir) is None
        shipped = (REPO / "feeds" / "daily-briefing.toml").read_text()
        (feeds / f"{FEED}.toml").write_text(
            shipped.replace('id = "daily-briefing"', f'id = "{FEED}"')
            .replace('articles = ["council-budget", "harbor-bridge", "storm-warning"]', "")
            .replace("published_on_date = true", f"{STORIES}\npublished_on_date = false")
        )
        env = {"AUDIO_SERVICE_ACCEL_REDIRECT": "/_stored/", "AUDIO_SERVICE_FEEDS_DIR": str(feeds)}
        service = ServiceProcess(data_dir, env)
        # The service inherits the strictest umask an operator might run it with.
        previous = os.umask(0o077)
        try:
            service.start()
        finally:
            os.umask(previous)
        try:
            upstream = f"127.0.0.1:{service.port}"
            with running_nginx(data_dir=data_dir, upstream=upstream, work=base / "nginx") as nginx:
                assert worker_users(nginx.pid) == {WORKER_USER}
                yield Deployment(nginx, service, data_dir)
        finally:
            service.stop()


@pytest.fixture(scope="module")
def via_nginx(deployment: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=deployment.nginx.url, timeout=120) as client:
        yield client


def wait_ready(client: httpx.Client, article_id: str, timeout_s: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status: dict[str, Any] = client.get(f"/v1/articles/{article_id}").json()
        if status["status"] in ("ready", "failed"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"{article_id} not ready in {timeout_s} s")


@pytest.fixture(scope="module")
def article(via_nginx: httpx.Client) -> dict[str, Any]:
    assert via_nginx.put("/v1/articles/nginx-1", json=ARTICLE).status_code == 200
    status = wait_ready(via_nginx, "nginx-1")
    assert status["status"] == "ready", status
    return status


@pytest.fixture(scope="module")
def episode(via_nginx: httpx.Client, article: dict[str, Any]) -> dict[str, Any]:
    built = via_nginx.post(f"/v1/podcasts/{FEED}/episodes", json={"date": DAY})
    assert built.status_code == 200, built.text
    return dict(built.json())


class Counters:
    """The service's own counts, read past nginx: did a request reach it, did it send bytes?"""

    def __init__(self, service: ServiceProcess) -> None:
        self.url = f"{service.url}/metrics"

    def read(self) -> dict[str, float]:
        text = httpx.get(self.url, timeout=10).text
        found = {"bytes": 0.0, "audio": 0.0, "article": 0.0}
        for line in text.splitlines():
            match = re.match(r"^(audio_service_\w+_total)(?:\{(.*)\})? (\S+)$", line)
            if match is None:
                continue
            name, labels, value = match.group(1), match.group(2) or "", float(match.group(3))
            if name == "audio_service_bytes_served_total":
                found["bytes"] += value
            elif name == "audio_service_requests_total":
                for key, route in (("audio", AUDIO_ROUTE), ("article", ARTICLE_ROUTE)):
                    if f'route="{route}"' in labels:
                        found[key] += value
        return found


def modes_under(root: Path) -> dict[str, set[Path]]:
    modes: dict[str, set[Path]] = {}
    for path in [root, *root.rglob("*")]:
        modes.setdefault(oct(stat.S_IMODE(path.stat().st_mode)), set()).add(path)
    return modes


def test_what_nginx_reads_is_world_readable_under_umask_077(
    deployment: Deployment, article: dict[str, Any], episode: dict[str, Any]
) -> None:
    for folder in ("audio", "podcasts"):
        root = deployment.data_dir / folder
        files = {p for p in root.rglob("*") if p.is_file()}
        folders = {root, *(p for p in root.rglob("*") if p.is_dir())}
        assert {p: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {
            p: "0o644" for p in files
        }
        assert {p: oct(stat.S_IMODE(p.stat().st_mode)) for p in folders} == {
            p: "0o755" for p in folders
        }
    audio = deployment.data_dir / "audio"
    assert (audio / article["digest"][:2] / f"{article['digest']}.mp3").is_file()
    assert (audio / episode["digest"][:2] / f"{episode['digest']}.mp3").is_file()
    assert {p.name for p in (deployment.data_dir / "podcasts" / FEED / DAY).iterdir()} >= {
        "episode.json",
        "chapters.json",
        "transcript.vtt",
    }


def test_nginx_serves_the_immutable_url_itself(
    deployment: Deployment, via_nginx: httpx.Client, article: dict[str, Any]
) -> None:
    digest = article["digest"]
    url = article["urls"]["audio_immutable"]
    assert urlsplit(url).path == f"/v1/audio/{digest}.mp3"
    counters = Counters(deployment.service)
    before = counters.read()

    whole = via_nginx.get(url)
    assert whole.status_code == 200
    assert hashlib.sha256(whole.content).hexdigest() == digest
    size = len(whole.content)
    assert whole.headers["etag"] == f'"{digest}"'
    assert whole.headers["cache-control"] == IMMUTABLE
    assert whole.headers["content-type"] == "audio/mpeg"
    head = via_nginx.head(url)
    assert head.status_code == 200 and head.content == b""
    assert int(head.headers["content-length"]) == size
    first = via_nginx.get(url, headers={"Range": "bytes=0-1"})
    assert first.status_code == 206 and first.content == b"ID"  # the ID3 tag's first bytes
    assert first.headers["content-range"] == f"bytes 0-1/{size}"
    # A player script on the publisher's page may read them (the default read policy).
    assert first.headers["access-control-allow-origin"] == "*"
    assert "Content-Range" in first.headers["access-control-expose-headers"]
    seek = via_nginx.get(url, headers={"Range": "bytes=1000-4999", "If-Range": f'"{digest}"'})
    assert seek.status_code == 206 and seek.content == whole.content[1000:5000]
    assert counters.read() == before  # nginx answered all of them alone

    # What nginx cannot judge reaches the service, which answers per RFC 9110 and in JSON.
    assert via_nginx.get(url, headers={"If-None-Match": f'"{digest}"'}).status_code == 304
    refused = via_nginx.post(url)
    assert refused.status_code == 405 and refused.json()["error"]["code"] == "method_not_allowed"
    unknown = via_nginx.get(f"/v1/audio/{'e' * 64}.mp3")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert counters.read()["audio"] == before["audio"] + 3


def test_nginx_serves_the_podcast_enclosure(
    deployment: Deployment, via_nginx: httpx.Client, episode: dict[str, Any]
) -> None:
    feed = feedparser.parse(via_nginx.get(f"/v1/podcasts/{FEED}/feed.xml").content)
    assert not feed.bozo, feed.get("bozo_exception")
    enclosure = feed.entries[0].enclosures[0]
    path = urlsplit(enclosure["href"]).path  # its host is nginx's $host, port left out
    assert path == f"/v1/audio/{episode['digest']}.mp3"
    counters = Counters(deployment.service)
    before = counters.read()
    head = via_nginx.head(path)
    assert head.status_code == 200
    assert int(head.headers["content-length"]) == int(enclosure["length"]) == episode["size_bytes"]
    first = via_nginx.get(path, headers={"Range": "bytes=0-1"})
    assert first.status_code == 206 and first.content == b"ID"
    whole = via_nginx.get(path)
    assert hashlib.sha256(whole.content).hexdigest() == episode["digest"]
    assert counters.read() == before


def test_the_article_url_is_offloaded_to_nginx(
    deployment: Deployment, via_nginx: httpx.Client, article: dict[str, Any]
) -> None:
    digest, url = article["digest"], article["urls"]["audio"]
    stored = (deployment.data_dir / "audio" / digest[:2] / f"{digest}.mp3").read_bytes()
    counters = Counters(deployment.service)
    before = counters.read()

    first = via_nginx.get(url, headers={"Range": "bytes=0-1"})
    assert first.status_code == 206 and first.content == b"ID"
    assert first.headers["content-range"] == f"bytes 0-1/{len(stored)}"
    assert first.headers.get_list("etag") == [f'"{digest}"']
    assert first.headers.get_list("cache-control") == [SHORT]  # passed on once, not twice
    assert first.headers["content-type"] == "audio/mpeg"
    assert "x-accel-redirect" not in first.headers
    head = via_nginx.head(url)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(stored)
    whole = via_nginx.get(url)
    assert whole.content == stored
    past = via_nginx.get(url, headers={"Range": f"bytes={len(stored)}-"})
    assert past.status_code == 416
    after = counters.read()
    assert after["article"] == before["article"] + 4  # the service chose the file...
    assert after["bytes"] == before["bytes"]  # ...and nginx sent it

    # Validators nginx cannot judge are answered by the service itself.
    cached = via_nginx.get(url, headers={"If-None-Match": f'"{digest}"'})
    assert cached.status_code == 304 and cached.headers["etag"] == f'"{digest}"'
    # The internal location is reachable only through the service's redirect.
    assert via_nginx.get(f"/_stored/{digest[:2]}/{digest}.mp3").status_code == 404


def test_a_render_still_running_streams_from_the_service(
    deployment: Deployment, via_nginx: httpx.Client
) -> None:
    counters = Counters(deployment.service)
    before = counters.read()
    assert via_nginx.put("/v1/articles/nginx-live", json=long_article(4000)).status_code == 200
    deadline = time.monotonic() + 30
    while via_nginx.get("/v1/articles/nginx-live").json()["status"] not in ("rendering",):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    with via_nginx.stream("GET", "/v1/articles/nginx-live/audio.mp3") as live:
        assert live.status_code == 200
        assert live.headers["cache-control"] == "no-store"  # the live stream, not a stored file
        body = live.read()
    status = wait_ready(via_nginx, "nginx-live", 180)
    stored = deployment.data_dir / "audio" / status["digest"][:2] / f"{status['digest']}.mp3"
    assert body == stored.read_bytes()
    assert counters.read()["article"] == before["article"] + 1
