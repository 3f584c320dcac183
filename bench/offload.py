"""Offload of the article URL: what a player waits for behind nginx, X-Accel-Redirect against 302.

Run (as root, so nginx's workers run as www-data as shipped): .venv/bin/python bench/offload.py
[--requests 50]. deploy/nginx.conf runs as shipped (paths and ports substituted) in front of the
real service (eSpeak voice) with AUDIO_SERVICE_ACCEL_REDIRECT=/_stored/; one stored article.
Each request is what Safari/iOS sends first, `Range: bytes=0-1`, timed to the first body byte
(a small raw-socket client, so no client library's own cost is in the figure):
  self       the service sends the bytes itself (what it does with offload off; forced here by an
             `If-Match: *` the bench adds inside the service, which every stored file satisfies);
  accel      the service answers X-Accel-Redirect, nginx sends the file (one round trip);
  302        the service answers 302 to /v1/audio/<digest>.mp3 (a bench wrapper turns the accel
             answer into that redirect), the client follows it (two round trips);
  immutable  the content-addressed URL, which nginx answers without asking the service.
Modes take turns request by request, so other load on the machine hits them alike. `warm`
reuses one keep-alive connection per mode, `cold` opens a new one per request (a player's first
press on a page from another host). Traffic goes only to 127.0.0.1. Figures only; no asserts.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import time
from collections.abc import Callable, MutableMapping
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script: the shared nginx/service runners live in tests/
    sys.path.insert(0, str(REPO))

from tests.support.nginx import public_dir, running_nginx  # noqa: E402
from tests.support.service_process import free_port  # noqa: E402

Message = MutableMapping[str, Any]
ASGI = Callable[..., Any]
MODES = ("self", "accel", "302", "immutable")
SENTENCE = "The council approved the harbour budget after a long debate on Monday evening."
ARTICLE = {"title": "Offload", "body": [" ".join([SENTENCE] * 10)] * 4}  # ~2 min of speech


def bench_modes(app: ASGI) -> ASGI:
    """The service app, with X-Bench-Mode choosing how a stored article's audio is answered."""

    async def wrapped(scope: Message, receive: ASGI, send: ASGI) -> None:
        mode = (
            dict(scope.get("headers", [])).get(b"x-bench-mode") if scope["type"] == "http" else None
        )
        if mode == b"self":
            scope = {**scope, "headers": [*scope["headers"], (b"if-match", b"*")]}
        if mode != b"302":
            await app(scope, receive, send)
            return

        async def redirecting(message: Message) -> None:
            if message["type"] == "http.response.start":
                target = dict(message["headers"]).get(b"x-accel-redirect")
                if target is not None:
                    digest = target.rsplit(b"/", 1)[1]
                    headers = [(b"location", b"/v1/audio/" + digest), (b"content-length", b"0")]
                    message = {**message, "status": 302, "headers": headers}
            await send(message)

        await app(scope, receive, redirecting)

    return wrapped


def serve(port: int, data_dir: Path) -> None:
    """The --serve child: the real app (create_app) with the bench wrapper, on uvicorn."""
    import uvicorn

    from audio_service.config import Settings
    from audio_service.http.app import create_app

    settings = Settings(
        data_dir=data_dir,
        default_voice="en-gb-espeak",
        examples=False,
        workers=1,
        accel_redirect="/_stored/",
    )
    app = bench_modes(create_app(settings))
    uvicorn.run(
        app, host="127.0.0.1", port=port, loop="uvloop", http="httptools", log_level="warning"
    )


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes, float]:
    """One HTTP/1.1 response with a Content-Length; returns status, headers, body and the
    perf_counter time its first body byte arrived (its head's, when there is no body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-response")
        data += chunk
    first_at = time.perf_counter()
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        if not body:
            first_at = 0.0
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed mid-body")
        body += chunk
        first_at = first_at or time.perf_counter()
    return int(lines[0].split()[1]), headers, body, first_at


def fetch(
    port: int, sock: socket.socket | None, path: str, mode: str, ranged: bool = True
) -> tuple[float, float, socket.socket]:
    """Seconds from sending the request for `path` to its first and to its last body byte,
    redirects followed on the same connection; a new connection (its connect timed too) when
    sock is None. `ranged` asks for `Range: bytes=0-1`, else the whole file."""
    started = time.perf_counter()
    if sock is None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    extra = "Range: bytes=0-1\r\n" if ranged else ""
    while True:
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}X-Bench-Mode: {mode}\r\n\r\n"
        sock.sendall(request.encode())
        status, headers, body, first_at = read_response(sock)
        if status != 302:
            break
        path = headers["location"]
    done_at = time.perf_counter()
    if status != (206 if ranged else 200) or body[:3] != b"ID3"[: len(body)]:
        raise SystemExit(f"{mode}: unexpected answer {status} {body[:20]!r}")
    return first_at - started, done_at - started, sock


def cpu_s(pid: int) -> float:
    """User + system CPU seconds the process `pid` has used (its threads, not its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.port, args.data_dir)
        return

    import subprocess

    with public_dir("audio-offload-bench-") as base:
        data_dir = base / "data"
        data_dir.mkdir()
        data_dir.chmod(0o755)
        port = free_port()
        cmd = [
            sys.executable,
            __file__,
            "--serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
        ]
        service = subprocess.Popen(cmd, cwd=REPO)
        try:
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        if client.get("/healthz").status_code == 200:
                            break
                    except httpx.HTTPError:
                        pass
                    if time.monotonic() > deadline or service.poll() is not None:
                        raise SystemExit("the service did not start")
                    time.sleep(0.1)
                client.put("/v1/articles/offload", json=ARTICLE).raise_for_status()
                while (status := client.get("/v1/articles/offload").json())["status"] != "ready":
                    time.sleep(0.05)
            size = (data_dir / "audio" / status["digest"][:2] / f"{status['digest']}.mp3").stat()
            print(f"stored article: {status['duration_ms'] / 1000:.0f} s, {size.st_size} bytes")
            paths = {m: "/v1/articles/offload/audio.mp3" for m in MODES}
            paths["immutable"] = f"/v1/audio/{status['digest']}.mp3"
            upstream = f"127.0.0.1:{port}"
            with running_nginx(data_dir=data_dir, upstream=upstream, work=base / "nginx") as nginx:
                nginx_port = int(nginx.url.rsplit(":", 1)[1])
                report(nginx_port, paths, args.requests)
                report_cpu(nginx_port, paths, service.pid, args.requests * 4)
        finally:
            service.terminate()
            service.wait(timeout=30)


def report(port: int, paths: dict[str, str], requests: int) -> None:
    for kind in ("warm", "cold"):
        times: dict[str, list[float]] = {m: [] for m in MODES}
        socks: dict[str, socket.socket | None] = {m: None for m in MODES}
        for mode in MODES:  # one untimed request each: the service's first answer warms caches
            _, _, first = fetch(port, None, paths[mode], mode)
            if kind == "warm":
                socks[mode] = first
            else:
                first.close()
        for i in range(requests):
            order = MODES[i % len(MODES) :] + MODES[: i % len(MODES)]
            for mode in order:
                elapsed, _, sock = fetch(port, socks[mode], paths[mode], mode)
                times[mode].append(elapsed)
                if kind == "cold":
                    sock.close()
        for kept in socks.values():
            if kept is not None:
                kept.close()
        base = statistics.median(times["self"])
        print(f"{kind} connection, Range: bytes=0-1, median of {requests} (ms to first body byte)")
        for mode in MODES:
            median = statistics.median(times[mode])
            print(f"  {mode:<10} {median * 1000:7.3f} ms   x{median / base:5.2f} of self")


def report_cpu(port: int, paths: dict[str, str], service_pid: int, requests: int) -> None:
    """Whole-file GETs, one mode at a time on one connection: wall time and the service's CPU."""
    print(f"whole file, warm connection, {requests} GETs per mode (the service's CPU per GET)")
    for mode in MODES:
        _, _, sock = fetch(port, None, paths[mode], mode, ranged=False)
        walls = []
        cpu_before = cpu_s(service_pid)
        for _ in range(requests):
            _, wall, sock = fetch(port, sock, paths[mode], mode, ranged=False)
            walls.append(wall)
        cpu = (cpu_s(service_pid) - cpu_before) / requests
        sock.close()
        print(
            f"  {mode:<10} median {statistics.median(walls) * 1000:7.3f} ms   "
            f"service CPU {cpu * 1000:6.3f} ms/GET"
        )


if __name__ == "__main__":
    main()
