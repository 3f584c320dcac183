"""Audio delivery on a real uvicorn: whole-file GET, HEAD, 304/412, errors, files changed mid-send.

Range requests are tested in test_delivery_ranges.py, the nginx front in test_deploy_nginx.py.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import socket
import time
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest

from audio_service.http.files import _OpenFiles, audio_asgi_app
from tests.support.delivery import (  # noqa: F401 - fixtures
    CACHE_CONTROL,
    SIZE,
    Store,
    client_fixture,
    data_fixture,
    etag_of,
    store_fixture,
    url_fixture,
)

BIG = 8 * 1024 * 1024


def test_full_get_has_every_header(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.content == data
    h = response.headers
    assert h["content-type"] == "audio/mpeg" and h["content-length"] == str(SIZE)
    assert h["accept-ranges"] == "bytes" and h["cache-control"] == CACHE_CONTROL
    assert h["etag"] == etag_of(url) and "last-modified" in h


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Range": "bytes=0-1"},
        {"Range": "bytes=0-1,5-9"},
        {"Range": f"bytes={SIZE}-"},
        {"If-None-Match": "*"},
        {"If-Match": '"nope"'},
    ],
)
def test_head_answers_like_get(client: httpx.Client, url: str, headers: dict[str, str]) -> None:
    def comparable(response: httpx.Response) -> tuple[int, dict[str, str]]:
        fields = {k: re.sub(r"boundary=\w+", "boundary=B", v) for k, v in response.headers.items()}
        fields.pop("date", None)
        return response.status_code, fields

    head = client.head(url, headers=headers)
    assert head.status_code != 405 and head.content == b""
    assert comparable(head) == comparable(client.get(url, headers=headers))


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"If-None-Match": "ETAG"}, 304),
        ({"If-None-Match": "W/ETAG"}, 304),  # If-None-Match compares weakly
        ({"If-None-Match": '"other", ETAG'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": "FUTURE"}, 304),
        ({"If-Modified-Since": "PAST"}, 200),
        ({"If-Modified-Since": "not a date"}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": "FUTURE"}, 200),  # IMS ignored then
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": "W/ETAG"}, 412),  # If-Match compares strongly
        ({"If-Match": "ETAG"}, 200),
        ({"If-Unmodified-Since": "PAST"}, 412),
        ({"If-Match": "ETAG", "If-None-Match": "ETAG"}, 304),
    ],
)
def test_conditional_requests(
    client: httpx.Client, url: str, data: bytes, headers: dict[str, str], status: int
) -> None:
    dates = {
        "FUTURE": formatdate(time.time() + 3600, usegmt=True),
        "PAST": formatdate(0, usegmt=True),
    }
    sent = {k: dates.get(v, v.replace("ETAG", etag_of(url))) for k, v in headers.items()}
    response = client.get(url, headers=sent)
    assert response.status_code == status, sent
    if status == 304:
        assert response.content == b"" and "content-length" not in response.headers
        assert response.headers["etag"] == etag_of(url)
        assert response.headers["cache-control"] == CACHE_CONTROL
    elif status == 412:
        assert response.json()["error"]["code"] == "precondition_failed"
    else:
        assert response.content == data


def test_not_found_and_method_errors(client: httpx.Client, store: Store, url: str) -> None:
    unknown = "f" * 64
    store.path(unknown).parent.mkdir(parents=True, exist_ok=True)  # resolvable, file missing
    for path in [
        f"/v1/audio/{'0' * 64}.mp3",
        f"/v1/audio/{unknown}.mp3",
        url.replace(url[10:74], url[10:74].upper()),
        url[:-5] + ".mp3",
        url + "/x",
        url.removesuffix(".mp3"),
        "/v1/audio/",
    ]:
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.json()["error"]["code"] == "not_found"
    for method in ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"]:
        response = client.request(method, url)
        assert response.status_code == 405 and response.headers["allow"] == "GET, HEAD"
        assert response.json()["error"]["code"] == "method_not_allowed"
    assert client.get("/elsewhere").status_code == 418  # the dispatcher's other side


def test_send_file_alone(client: httpx.Client, store: Store) -> None:
    (store.root / "plain.bin").write_bytes(b"0123456789")
    response = client.get("/raw/plain.bin", headers={"Range": "bytes=2-4"})
    assert response.status_code == 206 and response.content == b"234"
    assert response.headers["etag"] == '"abc"' and response.headers["x-extra"] == "1"
    assert response.headers["last-modified"] == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert response.headers["cache-control"] == "no-cache"
    assert client.get("/raw/missing.bin").status_code == 404  # FileNotFoundError reached us
    (store.root / "empty.bin").write_bytes(b"")
    response = client.get("/raw/empty.bin", headers={"Range": "bytes=0-1"})
    assert response.status_code == 200 and response.content == b""


@pytest.mark.parametrize("change", ["replace", "unlink"])
def test_file_changed_mid_send_still_yields_original(
    client: httpx.Client, store: Store, change: str
) -> None:
    original = random.Random(change).randbytes(BIG)
    digest = store.add(original)
    url = f"/v1/audio/{digest}.mp3"
    path = store.path(digest)
    small_buffers = httpx.HTTPTransport(
        socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)]
    )
    with httpx.Client(base_url=str(client.base_url), transport=small_buffers) as slow:
        with slow.stream("GET", url) as response:
            chunks = response.iter_bytes(65536)
            received = bytearray(next(chunks))
            time.sleep(0.05)
            assert store.sent[url] < BIG, "the whole body left before the change; test is moot"
            if change == "replace":
                (path.parent / "new.tmp").write_bytes(b"x" * 1000)
                (path.parent / "new.tmp").replace(path)  # os.replace, atomically
            else:
                path.unlink()
            for chunk in chunks:
                received += chunk
                time.sleep(0.0005)
        assert response.status_code == 200 and bytes(received) == original
    after = client.get(url)
    if change == "replace":
        assert after.status_code == 200 and after.content == b"x" * 1000
    else:
        assert after.status_code == 404


def test_lifespan_is_acknowledged(store: Store) -> None:
    app = audio_asgi_app(store.resolve, CACHE_CONTROL)
    incoming = [{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}]
    outgoing: list[Any] = []

    async def receive() -> Any:
        return incoming.pop(0)

    async def send(message: Any) -> None:
        outgoing.append(message["type"])

    async def run() -> None:
        await app({"type": "lifespan"}, receive, send)

    asyncio.run(run())
    assert outgoing == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


def test_open_file_cache_revalidates_and_retires(tmp_path: Path) -> None:
    files = _OpenFiles(2)
    a, b, c = (tmp_path / name for name in "abc")
    for path in (a, b, c):
        path.write_bytes(path.name.encode() * 10)
    fd_a, _ = files.open(str(a))
    assert files.open(str(a))[0] == fd_a  # a hit reuses the descriptor
    (tmp_path / "new").write_bytes(b"new")
    (tmp_path / "new").replace(a)
    fd_new, stat_new = files.open(str(a))
    assert stat_new.st_size == 3 and os.pread(fd_new, 3, 0) == b"new"  # replaced: reopened
    a.unlink()
    with pytest.raises(FileNotFoundError):
        files.open(str(a))
    files.open(str(b))
    files.open(str(c))
    files.open(str(b))
    files.IDLE_S = -1.0  # everything is idle now: each request retires the oldest entry
    files.open(str(c))  # retires c, then reopens it
    assert list(files._entries) == [str(b), str(c)]
    files.open(str(c))  # retires b
    assert list(files._entries) == [str(c)]
