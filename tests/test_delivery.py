"""Audio delivery on a real uvicorn: Range, multipart, HEAD, 304/412/416, files changed mid-send."""

from __future__ import annotations

import asyncio
import hashlib
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, MutableMapping
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from audio_service.delivery import _OpenFiles, audio_asgi_app, send_file
from tests.http_server import serve

REPO = Path(__file__).resolve().parents[1]
CACHE_CONTROL = "public, max-age=31536000, immutable"
SIZE = 300_000
BIG = 8 * 1024 * 1024
DATA = random.Random(7).randbytes(SIZE)


class Store:
    """A content-addressed folder like the cache's: audio/<first two hex>/<digest>.mp3."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.sent: dict[str, int] = {}  # body bytes the server has sent, by URL path

    def path(self, digest: str) -> Path:
        return self.root / "audio" / digest[:2] / f"{digest}.mp3"

    def add(self, data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        self.path(digest).parent.mkdir(parents=True, exist_ok=True)
        self.path(digest).write_bytes(data)
        return digest

    def resolve(self, digest: str) -> tuple[Path, str] | None:
        path = self.path(digest)
        return (path, f'"{digest}"') if path.parent.is_dir() else None


def make_app(store: Store) -> Any:
    """What the lead's app does: /v1/audio/ to the audio app; /raw/ shows send_file alone."""
    audio = audio_asgi_app(store.resolve, CACHE_CONTROL)

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope["path"]

        async def counting_send(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body":
                store.sent[path] = store.sent.get(path, 0) + len(message.get("body", b""))

        if path.startswith("/v1/audio/"):
            await audio(scope, receive, counting_send)
        elif path.startswith("/raw/"):
            try:
                await send_file(
                    scope,
                    receive,
                    send,
                    path=store.root / path[5:],
                    etag="abc",
                    cache_control="no-cache",
                    last_modified=784111777.0,
                    extra_headers=[(b"x-extra", b"1")],
                )
            except FileNotFoundError:
                await send({"type": "http.response.start", "status": 404, "headers": []})
                await send({"type": "http.response.body", "body": b""})
        else:
            await send({"type": "http.response.start", "status": 418, "headers": []})
            await send({"type": "http.response.body", "body": b"elsewhere"})

    return app


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module")
def data() -> bytes:
    return DATA


@pytest.fixture(scope="module")
def url(store: Store, data: bytes) -> str:
    return f"/v1/audio/{store.add(data)}.mp3"


@pytest.fixture(scope="module")
def client(store: Store) -> Iterator[httpx.Client]:
    with serve(make_app(store)) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def etag_of(url: str) -> str:
    return f'"{url.rsplit("/", 1)[1].removesuffix(".mp3")}"'


def parse_multipart(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    """(Content-Type, Content-Range, body) of each part of a multipart/byteranges body."""
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    assert match, response.headers["content-type"]
    boundary, body = match[1].encode(), response.content
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for segment in body[len(boundary) + 2 : -len(boundary) - 8].split(b"\r\n--" + boundary):
        head, _, part = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields["Content-Type"], fields["Content-Range"], part))
    return parts


def check_parts(response: httpx.Response, data: bytes) -> set[int]:
    """Every part's bytes equal the file at its Content-Range; returns the byte offsets covered."""
    assert int(response.headers["content-length"]) == len(response.content)
    if response.headers["content-type"].startswith("multipart/"):
        parts = parse_multipart(response)
    else:
        parts = [("audio/mpeg", response.headers["content-range"], response.content)]
    covered: set[int] = set()
    for content_type, content_range, body in parts:
        assert content_type == "audio/mpeg"
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        assert match, content_range
        first, last, total = map(int, match.groups())
        assert total == len(data) and body == data[first : last + 1]
        assert not covered & set(range(first, last + 1)), "parts overlap"
        covered |= set(range(first, last + 1))
    return covered


def test_full_get_has_every_header(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url)
    assert response.status_code == 200 and response.content == data
    h = response.headers
    assert h["content-type"] == "audio/mpeg" and h["content-length"] == str(SIZE)
    assert h["accept-ranges"] == "bytes" and h["cache-control"] == CACHE_CONTROL
    assert h["etag"] == etag_of(url) and "last-modified" in h


def test_safari_probe_gets_two_bytes(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url, headers={"Range": "bytes=0-1"})
    assert response.status_code == 206 and response.content == data[:2]
    assert response.headers["content-range"] == f"bytes 0-1/{SIZE}"
    assert response.headers["content-length"] == "2"


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=100-", 100, SIZE - 1),
        (f"bytes=1000-{SIZE + 5000}", 1000, SIZE - 1),  # last-byte-pos past the end is clamped
        (f"bytes=-{SIZE + 10}", 0, SIZE - 1),  # a suffix longer than the file is all of it
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        ("bytes=0-9,10-19", 0, 19),  # adjacent ranges are coalesced into one part
        ("bytes=0-99,-" + str(SIZE), 0, SIZE - 1),  # so are overlapping ones
        (f"bytes=5-9,{SIZE}-", 5, 9),  # an unsatisfiable part is dropped
    ],
)
def test_single_part_ranges(
    client: httpx.Client, url: str, data: bytes, spec: str, first: int, last: int
) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 206, spec
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.content == data[first : last + 1]


def test_multiple_ranges_are_multipart(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url, headers={"Range": "bytes=0-9, 200-299,-5"})
    assert response.status_code == 206
    assert [r for _, r, _ in parse_multipart(response)] == [
        f"bytes 0-9/{SIZE}",
        f"bytes 200-299/{SIZE}",
        f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}",
    ]
    assert check_parts(response, data) == {*range(10), *range(200, 300), *range(SIZE - 5, SIZE)}
    assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206  # link still usable


@pytest.mark.parametrize(
    "spec",
    [
        "items=0-1",
        "bytes=abc",
        "bytes=5-2",
        "bytes=-0",
        "bytes=10-19,0-9",
        "bytes=0-1;2-3",
        "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(17)),
    ],
)
def test_ignored_range_headers_give_the_full_body(
    client: httpx.Client, url: str, data: bytes, spec: str
) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 200 and response.content == data, spec


@pytest.mark.parametrize(
    "spec", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 10}", f"bytes={SIZE}-{SIZE},{SIZE + 1}-"]
)
def test_unsatisfiable_is_416(client: httpx.Client, url: str, spec: str) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 416 and response.content == b""
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert "cache-control" not in response.headers  # a cache must not keep it for the URL


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


def test_if_range(client: httpx.Client, url: str, data: bytes) -> None:
    last_modified = client.head(url).headers["last-modified"]
    matching = [etag_of(url), last_modified]
    stale = ["W/" + etag_of(url), '"other"', formatdate(0, usegmt=True), "garbage"]
    for value in matching + stale:
        response = client.get(url, headers={"Range": "bytes=10-19", "If-Range": value})
        if value in matching:
            assert response.status_code == 206 and response.content == data[10:20], value
        else:
            assert response.status_code == 200 and response.content == data, value


@given(
    cuts=st.lists(st.integers(0, SIZE + 50), min_size=1, max_size=10, unique=True),
    open_end=st.booleans(),
    suffix=st.none() | st.integers(1, SIZE + 50),
)
@settings(max_examples=120, deadline=None)
def test_random_ranges_match_slices(
    client: httpx.Client, url: str, cuts: list[int], open_end: bool, suffix: int | None
) -> None:
    # Ascending, non-overlapping int-ranges, then an open range or a suffix: the forms werkzeug
    # accepts (it ignores others, e.g. a suffix after an open range, which RFC 9110 allows).
    cuts.sort()
    specs = [f"{a}-{b - 1}" for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
    wanted = {
        i for a, b in zip(cuts[::2], cuts[1::2], strict=False) for i in range(a, min(b, SIZE))
    }
    if open_end and len(cuts) % 2:
        specs.append(f"{cuts[-1]}-")
        wanted |= set(range(cuts[-1], SIZE))
    elif suffix is not None:
        specs.append(f"-{suffix}")
        wanted |= set(range(max(SIZE - suffix, 0), SIZE))
    if not specs:
        return
    response = client.get(url, headers={"Range": "bytes=" + ",".join(specs)})
    if not wanted:
        assert response.status_code == 416
    else:
        assert response.status_code == 206
        assert check_parts(response, DATA) == wanted


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


def test_big_file_multipart_spans_chunks(client: httpx.Client, store: Store) -> None:
    data = random.Random(3).randbytes(3 * 1024 * 1024 + 7)
    response = client.get(
        f"/v1/audio/{store.add(data)}.mp3", headers={"Range": "bytes=1-1500000,1600000-3145000,-3"}
    )
    assert response.status_code == 206
    assert check_parts(response, data) == {
        *range(1, 1500001),
        *range(1600000, 3145001),
        *range(len(data) - 3, len(data)),
    }


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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def nginx(tmp_path: Path, store: Store) -> Iterator[tuple[str, Store]]:
    """deploy/nginx.conf with paths and ports substituted, in front of a tiny upstream."""
    binary = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if binary is None:
        pytest.skip("nginx is not installed (apt-get install nginx); CI installs it")

    async def upstream(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"upstream:" + scope["path"].encode()})

    conf = (REPO / "deploy" / "nginx.conf").read_text()
    user = "user root;" if os.getuid() == 0 else ""  # only a root master switches users
    port = free_port()
    temp_paths = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    with serve(upstream) as upstream_url:
        for old, new in [
            ("user www-data;", user),
            ("/run/nginx.pid", f"{tmp_path}/nginx.pid"),
            ("/var/log/nginx/", f"{tmp_path}/"),
            ("/var/lib/audio-service", str(store.root)),
            ("listen 80;", f"listen 127.0.0.1:{port};"),
            ("127.0.0.1:8000", upstream_url.removeprefix("http://")),
            ("http {", "http {\n" + temp_paths),
        ]:
            assert old in conf, old
            conf = conf.replace(old, new)
        (tmp_path / "nginx.conf").write_text(conf)
        args = [
            binary,
            "-p",
            str(tmp_path),
            "-c",
            str(tmp_path / "nginx.conf"),
            "-e",
            str(tmp_path / "error.log"),
        ]
        proc = subprocess.Popen([*args, "-g", "daemon off;"])
        try:
            for _ in range(200):
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                    break
                except OSError:
                    if proc.poll() is not None:
                        pytest.fail((tmp_path / "error.log").read_text())
                    time.sleep(0.02)
            yield f"http://127.0.0.1:{port}", store
        finally:
            proc.send_signal(signal.SIGQUIT)
            proc.wait(timeout=10)


def test_nginx_deployment(nginx: tuple[str, Store], data: bytes, url: str) -> None:
    base, _ = nginx
    with httpx.Client(base_url=base, timeout=10) as client:
        response = client.get(url, headers={"Range": "bytes=1000-66535"})
        assert response.status_code == 206 and response.content == data[1000:66536]
        assert response.headers["content-range"] == f"bytes 1000-66535/{SIZE}"
        assert response.headers["etag"] == etag_of(url)
        assert response.headers["cache-control"] == CACHE_CONTROL
        assert response.headers["content-type"] == "audio/mpeg"
        if_range = {"Range": "bytes=0-1", "If-Range": etag_of(url)}
        assert client.get(url, headers=if_range).content == data[:2]
        # nginx cannot judge If-None-Match against the digest ETag, so it hands it on.
        assert client.get(url, headers={"If-None-Match": etag_of(url)}).text == "upstream:" + url
        assert client.post(url).text == "upstream:" + url  # the service answers 405 in JSON
        for path in ["/v1/articles", f"/v1/audio/{'e' * 64}.mp3"]:  # API, and not rendered yet
            assert client.get(path).text == "upstream:" + path


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
