"""The HTTP API against the real service process on loopback: articles, audio, errors."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.media import EXAMPLES, decode_mp3, long_article
from tests.support.service_process import ServiceProcess, running_service

ARTICLE = json.loads((EXAMPLES / "council-budget.json").read_text())


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    with running_service(tmp_path_factory.mktemp("api")) as svc:
        yield svc


@pytest.fixture
def client(service: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=service.url, timeout=60) as c:
        yield c


def wait_ready(client: httpx.Client, article_id: str, timeout_s: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        status = client.get(f"/v1/articles/{article_id}").json()
        if status["status"] in ("ready", "failed"):
            return dict(status)
        time.sleep(0.05)
    raise AssertionError(f"{article_id} not ready in {timeout_s} s")


def metric(client: httpx.Client, name: str, **labels: str) -> float:
    text = client.get("/metrics").text
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{name}(?:{{(.*)}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def test_put_then_audio_streams_and_equals_the_stored_file(
    client: httpx.Client, tmp_path: Path
) -> None:
    put = client.put("/v1/articles/stream-1", json=ARTICLE)
    assert put.status_code == 200, put.text
    assert put.json()["status"] in ("queued", "rendering", "ready")
    streamed = client.get("/v1/articles/stream-1/audio.mp3")
    assert streamed.status_code == 200
    assert streamed.headers["content-type"] == "audio/mpeg"
    status = wait_ready(client, "stream-1")
    stored = client.get("/v1/articles/stream-1/audio.mp3")
    assert stored.status_code == 200
    assert stored.content == streamed.content
    assert stored.headers["etag"] == f'"{status["digest"]}"'
    immutable = client.get(f"/v1/audio/{status['digest']}.mp3")
    assert immutable.content == stored.content
    assert "immutable" in immutable.headers["cache-control"]
    assert "immutable" not in stored.headers["cache-control"]
    path = tmp_path / "a.mp3"
    path.write_bytes(stored.content)
    timings = client.get("/v1/articles/stream-1/timings.json").json()
    assert decode_mp3(path).size / 22050 == pytest.approx(timings["duration_ms"] / 1000, rel=0.01)
    vtt = client.get("/v1/articles/stream-1/captions.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    assert vtt.text.startswith("WEBVTT")


def test_same_content_again_renders_nothing(client: httpx.Client) -> None:
    client.put("/v1/articles/same-1", json=ARTICLE)
    first = wait_ready(client, "same-1")
    renders = metric(client, "audio_service_renders_total")
    again = client.put("/v1/articles/same-1", json=ARTICLE).json()
    assert again["version"] == first["version"]
    assert again["digest"] == first["digest"]
    assert metric(client, "audio_service_renders_total") == renders


def test_update_keeps_old_audio_until_the_new_is_ready(client: httpx.Client) -> None:
    client.put("/v1/articles/upd-1", json={"title": "Short first", "body": "Version one."})
    v1 = wait_ready(client, "upd-1")
    put = client.put("/v1/articles/upd-1", json=long_article(6_000, "Version two")).json()
    assert put["version"] == v1["version"] + 1
    assert put["digest"] == v1["digest"]  # still the old audio
    during = client.get("/v1/articles/upd-1/audio.mp3")
    assert during.headers["etag"] == f'"{v1["digest"]}"'
    v2 = wait_ready(client, "upd-1", 120)
    assert v2["digest"] != v1["digest"]
    assert v2["ready_version"] == v2["version"]
    after = client.get("/v1/articles/upd-1/audio.mp3", headers={"Range": "bytes=0-1"})
    assert after.status_code == 206
    assert after.headers["etag"] == f'"{v2["digest"]}"'


def test_fifty_concurrent_gets_cause_one_render(service: ServiceProcess) -> None:
    async def main() -> list[bytes]:
        async with httpx.AsyncClient(base_url=service.url, timeout=60) as c:
            # Renders of earlier tests still finishing would count too: wait them out.
            while (await c.get("/healthz")).json()["queue_depth"]:
                await asyncio.sleep(0.05)
            before = metric_sync(service.url)
            await c.put("/v1/articles/crowd-1", json=long_article(3000, "Crowd"))
            bodies = await asyncio.gather(
                *[c.get("/v1/articles/crowd-1/audio.mp3") for _ in range(50)]
            )
            assert all(b.status_code == 200 for b in bodies)
            await asyncio.sleep(0.2)
            assert metric_sync(service.url) == before + 1
            return [b.content for b in bodies]

    def metric_sync(url: str) -> float:
        with httpx.Client(base_url=url) as c:
            return metric(c, "audio_service_renders_total")

    bodies = asyncio.run(main())
    assert len(set(bodies)) == 1
    assert len(bodies[0]) > 100_000


def test_range_head_and_conditionals_on_article_audio(client: httpx.Client) -> None:
    client.put("/v1/articles/range-1", json=ARTICLE)
    status = wait_ready(client, "range-1")
    full = client.get("/v1/articles/range-1/audio.mp3").content
    two = client.get("/v1/articles/range-1/audio.mp3", headers={"Range": "bytes=0-1"})
    assert two.status_code == 206
    assert two.content == full[:2]
    assert two.headers["content-range"] == f"bytes 0-1/{len(full)}"
    for url in ("/v1/articles/range-1/audio.mp3", f"/v1/audio/{status['digest']}.mp3"):
        head = client.head(url)
        get = client.get(url)
        assert head.status_code == 200
        assert head.content == b""
        assert head.headers["content-length"] == get.headers["content-length"]
        assert head.headers["etag"] == get.headers["etag"]
        assert head.headers["accept-ranges"] == "bytes"
        not_modified = client.get(url, headers={"If-None-Match": get.headers["etag"]})
        assert not_modified.status_code == 304
    past = client.get("/v1/articles/range-1/audio.mp3", headers={"Range": f"bytes={len(full)}-"})
    assert past.status_code == 416
    assert past.headers["content-range"] == f"bytes */{len(full)}"


def test_delete_removes_article_and_audio(client: httpx.Client) -> None:
    client.put("/v1/articles/del-1", json={"title": "Gone soon", "body": "Only for a moment."})
    status = wait_ready(client, "del-1")
    assert client.delete("/v1/articles/del-1").status_code == 204
    assert client.get("/v1/articles/del-1").status_code == 404
    assert client.get(f"/v1/audio/{status['digest']}.mp3").status_code == 404
    assert client.delete("/v1/articles/del-1").status_code == 404


def test_speech_endpoint_speaks_openai_shape(client: httpx.Client, tmp_path: Path) -> None:
    response = client.post(
        "/v1/audio/speech",
        json={
            "model": "tts-1",
            "input": "Markets rallied on Friday.",
            "voice": "alloy",
            "speed": 1.25,
        },
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/mpeg"
    (tmp_path / "s.mp3").write_bytes(response.content)
    assert decode_mp3(tmp_path / "s.mp3").size > 22050 // 2
    again = client.post(
        "/v1/audio/speech",
        json={
            "model": "tts-1",
            "input": "Markets rallied on Friday.",
            "voice": "alloy",
            "speed": 1.25,
        },
    )
    assert again.content == response.content


def test_kill_mid_render_leaves_nothing_broken(tmp_path: Path) -> None:
    svc = ServiceProcess(tmp_path)
    svc.start()
    try:
        with httpx.Client(base_url=svc.url, timeout=60) as c:
            c.put("/v1/articles/kill-1", json=long_article(8_000, "Killed midway"))
            deadline = time.monotonic() + 30
            while c.get("/v1/articles/kill-1").json()["status"] != "rendering":
                assert time.monotonic() < deadline
                time.sleep(0.02)
            time.sleep(0.3)
        svc.kill()
        leftovers = list((tmp_path / "tmp").glob("*.part"))
        assert leftovers  # it was killed mid-render
        assert not list((tmp_path / "audio").glob("*/*.mp3"))  # nothing half-written published
        svc.start()
        assert not any(p.exists() for p in leftovers)  # cleaned at start
        with httpx.Client(base_url=svc.url, timeout=120) as c:
            audio = c.get("/v1/articles/kill-1/audio.mp3")
            assert audio.status_code == 200
            status = wait_ready(c, "kill-1", 180)
            assert status["status"] == "ready"
            final = c.get("/v1/articles/kill-1/audio.mp3").content
            assert final == audio.content
            path = tmp_path / "k.mp3"
            path.write_bytes(final)
            duration_s = decode_mp3(path).size / 22050
            assert duration_s == pytest.approx(int(status["duration_ms"]) / 1000, rel=0.01)
    finally:
        svc.stop()


def test_lexicon_rules_change_the_audio_of_articles_that_use_them(client: httpx.Client) -> None:
    uses = {"title": "Wexcombe votes", "body": "Wexcombe council met on Monday."}
    other = {"title": "Rain again", "body": "It rained all day."}
    client.put("/v1/articles/lex-uses", json=uses)
    client.put("/v1/articles/lex-other", json=other)
    before_uses, before_other = wait_ready(client, "lex-uses"), wait_ready(client, "lex-other")
    added = client.put("/v1/lexicon/common/Wexcombe", json={"replacement": "Wex-cum"})
    assert added.status_code == 200, added.text
    assert added.json()["origin"] == "publisher"
    rules = client.get("/v1/lexicon/common").json()
    assert {"word": "Wexcombe", "origin": "publisher"}.items() <= next(
        r for r in rules if r["word"] == "Wexcombe"
    ).items()
    # The same article again: re-rendered where the rule applies, untouched elsewhere.
    again_uses = client.put("/v1/articles/lex-uses", json=uses).json()
    again_other = client.put("/v1/articles/lex-other", json=other).json()
    assert again_uses["version"] == before_uses["version"] + 1
    assert again_other["version"] == before_other["version"]
    after = wait_ready(client, "lex-uses")
    assert after["digest"] != before_uses["digest"]
    timings = client.get("/v1/articles/lex-uses/timings.json").json()
    assert "Wex-cum" in " ".join(s["spoken"] for s in timings["segments"])
    assert client.delete("/v1/lexicon/common/Wexcombe").status_code == 204
    assert client.delete("/v1/lexicon/common/Wexcombe").status_code == 404
    assert client.put("/v1/lexicon/..%2Fx/Word", json={"replacement": "x"}).status_code in (
        404,
        422,
    )


def test_eviction_keeps_current_audio_and_drops_old_versions(tmp_path: Path) -> None:
    with (
        running_service(tmp_path, env={"AUDIO_SERVICE_CACHE_MAX_MB": "1"}) as svc,
        httpx.Client(base_url=svc.url, timeout=60) as c,
    ):
        c.put("/v1/articles/ev-1", json=ARTICLE)  # about 1.5 MB: over the budget on its own
        v1 = wait_ready(c, "ev-1")
        assert c.get(f"/v1/audio/{v1['digest']}.mp3").status_code == 200  # current: kept
        c.put("/v1/articles/ev-1", json={"title": "Shorter now", "body": "Just this."})
        v2 = wait_ready(c, "ev-1")
        assert c.get(f"/v1/audio/{v1['digest']}.mp3").status_code == 404  # old: evicted
        assert c.get(f"/v1/audio/{v2['digest']}.mp3").status_code == 200
        assert metric(c, "audio_service_evictions_total") >= 1


def test_whitespace_or_furniture_changes_render_nothing(client: httpx.Client) -> None:
    client.put("/v1/articles/ws-1", json=ARTICLE)
    first = wait_ready(client, "ws-1")
    body = ARTICLE["body"]
    paragraphs = body if isinstance(body, list) else body.split("\n\n")
    noisy = {
        **ARTICLE,
        "body": "\n\n\n".join(
            ["  " + p.replace(" ", "  ") + " " for p in paragraphs]
            + ["Listen to this article", "Read more: Another story entirely"]
        ),
    }
    again = client.put("/v1/articles/ws-1", json=noisy).json()
    assert again["version"] == first["version"]
    assert again["digest"] == first["digest"]


def test_the_neural_voice_streams_too(client: httpx.Client, tmp_path: Path) -> None:
    article = {
        "title": "Neural test",
        "voice": "en-us-piper-joe",
        "body": ["The first sentence is sent before the rest is made. " * 3] * 4,
    }
    assert client.put("/v1/articles/neural-1", json=article).status_code == 200
    with client.stream("GET", "/v1/articles/neural-1/audio.mp3") as response:
        assert response.status_code == 200
        chunks = response.iter_raw()
        first = next(chunks)
        assert first.startswith(b"ID3")
        streamed = first + b"".join(chunks)
    status = wait_ready(client, "neural-1")
    assert status["voice"] == "en-us-piper-joe"
    assert client.get("/v1/articles/neural-1/audio.mp3").content == streamed
    path = tmp_path / "n.mp3"
    path.write_bytes(streamed)
    assert decode_mp3(path).size / 22050 == pytest.approx(
        int(status["duration_ms"]) / 1000, abs=0.002
    )


def test_head_on_immutable_audio_is_counted_as_head(client: httpx.Client) -> None:
    client.put("/v1/articles/head-count", json=ARTICLE)
    digest = wait_ready(client, "head-count", 60)["digest"]
    assert client.head(f"/v1/audio/{digest}.mp3").status_code == 200
    text = client.get("/metrics").text
    line = 'audio_service_requests_total{method="HEAD",route="/v1/audio/{digest}.mp3",status="200"}'
    assert line in text
