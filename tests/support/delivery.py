"""Shared pieces of the delivery tests: a content-addressed store, its app on uvicorn, fixtures.

A test module imports the fixtures it uses (``*_fixture``, registered under the short name), so
each module gets its own store and server (module scope).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from audio_service.http.files import audio_asgi_app, send_file
from tests.support.http_server import serve

REPO = Path(__file__).resolve().parents[2]
CACHE_CONTROL = "public, max-age=31536000, immutable"
SIZE = 300_000
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


@pytest.fixture(scope="module", name="store")
def store_fixture(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("store"))


@pytest.fixture(scope="module", name="data")
def data_fixture() -> bytes:
    return DATA


@pytest.fixture(scope="module", name="url")
def url_fixture(store: Store, data: bytes) -> str:
    return f"/v1/audio/{store.add(data)}.mp3"


@pytest.fixture(scope="module", name="client")
def client_fixture(store: Store) -> Iterator[httpx.Client]:
    with serve(make_app(store)) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def etag_of(url: str) -> str:
    return f'"{url.rsplit("/", 1)[1].removesuffix(".mp3")}"'
