"""The article URL's answer for nginx (X-Accel-Redirect), in-process: no nginx needed."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from audio_service.config import Settings
from audio_service.http.offload import internal_uri
from audio_service.http.streams import SHORT
from tests.support.inprocess import app_client

ARTICLE = {"title": "Offload", "body": ["One short paragraph, spoken by eSpeak."]}


def ready(client: TestClient, article_id: str) -> dict[str, Any]:
    assert client.put(f"/v1/articles/{article_id}", json=ARTICLE).status_code == 200
    deadline = time.monotonic() + 60
    while (status := client.get(f"/v1/articles/{article_id}").json())["status"] != "ready":
        assert status["status"] != "failed" and time.monotonic() < deadline, status
        time.sleep(0.05)
    return dict(status)


@pytest.fixture(scope="module")
def offloading(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    data_dir = tmp_path_factory.mktemp("offload")
    with app_client(data_dir, accel_redirect="/_stored/") as client:
        yield client


def test_a_stored_article_is_handed_to_nginx(offloading: TestClient) -> None:
    digest = ready(offloading, "off-1")["digest"]
    for method in ("GET", "HEAD"):
        answer = offloading.request(
            method, "/v1/articles/off-1/audio.mp3", headers={"Range": "bytes=0-1"}
        )
        assert answer.status_code == 200 and answer.content == b""
        assert answer.headers["x-accel-redirect"] == f"/_stored/{digest[:2]}/{digest}.mp3"
        assert answer.headers["etag"] == f'"{digest}"'
        assert answer.headers["cache-control"] == SHORT


def test_validators_nginx_cannot_judge_stay_with_the_service(offloading: TestClient) -> None:
    digest = ready(offloading, "off-2")["digest"]
    url = "/v1/articles/off-2/audio.mp3"
    cached = offloading.get(url, headers={"If-None-Match": f'"{digest}"'})
    assert cached.status_code == 304 and "x-accel-redirect" not in cached.headers
    failed = offloading.get(url, headers={"If-Match": '"other"'})
    assert failed.status_code == 412 and "x-accel-redirect" not in failed.headers


def test_without_the_setting_the_service_sends_the_bytes(tmp_path: Path) -> None:
    with app_client(tmp_path) as client:
        ready(client, "off-3")
        answer = client.get("/v1/articles/off-3/audio.mp3", headers={"Range": "bytes=0-1"})
        assert answer.status_code == 206 and answer.content == b"ID"
        assert "x-accel-redirect" not in answer.headers


def test_the_setting_is_a_path_prefix() -> None:
    assert Settings(accel_redirect="/_stored/").accel_redirect == "/_stored/"
    for bad in ("_stored/", "/_stored", "http://x/", "/a b/"):
        with pytest.raises(ValueError, match="accel_redirect"):
            Settings(accel_redirect=bad)
    with pytest.raises(ValueError, match="digest"):
        internal_uri("/_stored/", "../../etc/passwd")
