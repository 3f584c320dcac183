"""A stand-in article server for the player page test: real uvicorn on loopback, Range-aware."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REPO = Path(__file__).resolve().parents[2]
PLAYER_HTML = REPO / "audio_service" / "player" / "player.html"
EXAMPLE_ARTICLE = REPO / "audio_service" / "examples" / "council-budget.json"
ARTICLE_ID = "demo"


@dataclass(frozen=True)
class RenderedArticle:
    """The three files the project's renderer writes for one article."""

    mp3: Path
    timings: Path
    vtt: Path

    def timings_data(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.timings.read_text(encoding="utf-8"))
        return data


class RenderFailedError(RuntimeError):
    """The `audio_service render` command did not produce an article."""


def render_article(source: Path, out_dir: Path, timeout_s: float = 300) -> RenderedArticle:
    """Render SOURCE with the project's own CLI, exactly as a newsroom user would."""
    mp3 = out_dir / f"{source.stem}.mp3"
    cmd = [sys.executable, "-m", "audio_service", "render", str(source), "-o", str(mp3)]
    try:
        result = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise RenderFailedError(f"{' '.join(cmd)} timed out after {timeout_s} s") from exc
    rendered = RenderedArticle(
        mp3=mp3,
        timings=out_dir / f"{source.stem}.timings.json",
        vtt=out_dir / f"{source.stem}.vtt",
    )
    missing = [p.name for p in (rendered.mp3, rendered.timings, rendered.vtt) if not p.is_file()]
    if result.returncode != 0 or missing:
        raise RenderFailedError(
            f"{' '.join(cmd)} exited {result.returncode}, missing {missing}:\n"
            f"{result.stderr[-3000:]}"
        )
    return rendered


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    range: str | None
    status: int


@dataclass
class ServerState:
    """What the browser asked for, and how the server should misbehave next."""

    timings_failures: int = 0  # answer this many timings requests with 404 (still rendering)
    _records: list[RequestRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, entry: RequestRecord) -> None:
        with self._lock:
            self._records.append(entry)

    def requests(self, suffix: str = "") -> list[RequestRecord]:
        with self._lock:
            return [r for r in self._records if r.path.endswith(suffix)]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def take_timings_failure(self) -> bool:
        with self._lock:
            if self.timings_failures <= 0:
                return False
            self.timings_failures -= 1
            return True


class _RecordRequests:
    """ASGI middleware (not BaseHTTPMiddleware, which buffers streamed file bodies)."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        status = 0

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self.state.record(
                RequestRecord(scope["method"], scope["path"], headers.get("range"), status)
            )


def create_app(
    article: RenderedArticle, player_html: Path = PLAYER_HTML, article_id: str = ARTICLE_ID
) -> tuple[ASGIApp, ServerState]:
    """The real service's URL layout for one article, with files served from disk."""
    state = ServerState()
    files = {
        "audio.mp3": (article.mp3, "audio/mpeg"),
        "captions.vtt": (article.vtt, "text/vtt; charset=utf-8"),
    }

    def known(request: Request) -> bool:
        return bool(request.path_params["article_id"] == article_id)

    async def player(request: Request) -> Response:
        if not known(request):
            return JSONResponse({"code": "not_found"}, status_code=404)
        return FileResponse(player_html, media_type="text/html; charset=utf-8")

    async def timings(request: Request) -> Response:
        if not known(request) or state.take_timings_failure():
            return JSONResponse({"code": "not_found"}, status_code=404)
        return FileResponse(article.timings, media_type="application/json")

    async def article_file(request: Request) -> Response:
        entry = files.get(str(request.path_params["name"]))
        if not known(request) or entry is None:
            return JSONResponse({"code": "not_found"}, status_code=404)
        # FileResponse answers Range with 206 and Content-Range, as the real service must.
        return FileResponse(entry[0], media_type=entry[1])

    app = Starlette(
        routes=[
            Route("/v1/articles/{article_id}/player", player, methods=["GET", "HEAD"]),
            Route("/v1/articles/{article_id}/timings.json", timings, methods=["GET", "HEAD"]),
            Route("/v1/articles/{article_id}/{name}", article_file, methods=["GET", "HEAD"]),
        ]
    )
    return _RecordRequests(app, state), state


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    state: ServerState

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@contextmanager
def serve(app: ASGIApp, state: ServerState, start_timeout_s: float = 10) -> Iterator[LiveServer]:
    """Run APP on uvicorn in a thread, on a loopback port the kernel picked."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + start_timeout_s
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        yield LiveServer(f"http://127.0.0.1:{port}", state)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
