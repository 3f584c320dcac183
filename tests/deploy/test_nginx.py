"""deploy/nginx.conf in front of the service: nginx serves stored audio, hands the rest on."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.delivery import (  # noqa: F401 - fixtures
    CACHE_CONTROL,
    REPO,
    SIZE,
    Store,
    data_fixture,
    etag_of,
    store_fixture,
    url_fixture,
)
from tests.support.http_server import serve


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
