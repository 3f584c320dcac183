"""HTTP delivery benchmark: the audio app on uvicorn against nginx serving the same file.

Run: .venv/bin/python bench/serving.py [--seconds 10] [--rounds 3] [--connections 32]
Both servers get one worker process and run side by side; rounds alternate between them so
other load on the machine hits both alike. Load: wrk with a Lua script asking for random 64 KiB
ranges of a ~3 MB MP3-sized file (a bounded asyncio/httpx loop when wrk is missing); baseline:
nginx (Python's http.server with a minimal Range handler when nginx is missing). Prints req/s,
MB/s, server CPU per request (from /proc), time to first byte for a small file, and the ratios.
Traffic goes only to 127.0.0.1. Figures only; no asserts."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

BIG_BYTES = 3 * 1024 * 1024
SMALL_BYTES = 2 * 1024
RANGE_BYTES = 64 * 1024
CACHE_CONTROL = "public, max-age=31536000, immutable"

WRK_SCRIPT = """
local max_start = {max_start}
request = function()
  local x = math.random(0, max_start)
  return wrk.format(nil, nil, {{Range = "bytes=" .. x .. "-" .. (x + {last})}})
end
"""

NGINX_CONF = """
{user}
worker_processes {workers};
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  sendfile on;
  tcp_nopush off;  # on stalls unaligned 64 KiB ranges ~40 ms each here (830 req/s instead of 44k)
  keepalive_requests 1000000;
  client_body_temp_path {tmp}/client_body;
  proxy_temp_path {tmp}/proxy;
  fastcgi_temp_path {tmp}/fastcgi;
  uwsgi_temp_path {tmp}/uwsgi;
  scgi_temp_path {tmp}/scgi;
  types {{ audio/mpeg mp3; }}
  server {{
    listen 127.0.0.1:{port};
    root {root};
    location / {{ add_header Cache-Control "{cache_control}"; }}
  }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listening on 127.0.0.1:{port}")


def serve_service(root: Path, port: int) -> None:
    """Child process: the whole service (create_app) on uvicorn, uvloop + httptools, as
    `audio-service serve` runs it; ROOT is its audio folder, so the data dir is its parent."""
    import uvicorn

    from audio_service.config import Settings
    from audio_service.http.app import create_app

    settings = Settings(data_dir=root.parent, examples=False, workers=2)
    uvicorn.run(
        create_app(settings),
        host="127.0.0.1",
        port=port,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
    )


def first_audio_byte(port: int, voice: str, rounds: int = 9) -> tuple[float, float]:
    """Median ms from PUT of a new article to its first audio byte, and of the GET alone."""
    import httpx

    sentences = (
        "The harbour authority said the new ferry timetable would start in March.",
        "Passengers will see two extra sailings on weekday mornings.",
        "Fares rise by 3% from the first of April, the operator confirmed.",
    )
    totals: list[float] = []
    gets: list[float] = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, trust_env=False) as c:
        for i in range(rounds):
            body = [f"Update number {i}. " + " ".join(sentences)] * 8
            started = time.perf_counter()
            c.put(
                f"/v1/articles/ttfb-{voice}-{i}",
                json={"title": f"Ferry news {i}", "body": body, "voice": voice},
            )
            asked = time.perf_counter()
            with c.stream("GET", f"/v1/articles/ttfb-{voice}-{i}/audio.mp3") as response:
                next(response.iter_raw())
                now = time.perf_counter()
            totals.append((now - started) * 1000)
            gets.append((now - asked) * 1000)
    return statistics.median(totals), statistics.median(gets)


def serve_python(root: Path, port: int) -> None:
    """Child process: the fallback baseline, http.server with just enough Range support."""
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Handler(SimpleHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            pass

        def do_GET(self) -> None:
            match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
            path = Path(self.translate_path(self.path))
            data = path.read_bytes()
            start, stop = (int(match[1]), int(match[2]) + 1) if match else (0, len(data))
            self.send_response(206 if match else 200)
            self.send_header("Content-Type", "audio/mpeg")
            self.send_header("Content-Length", str(len(data[start:stop])))
            if match:
                self.send_header("Content-Range", f"bytes {start}-{stop - 1}/{len(data)}")
            self.end_headers()
            self.wfile.write(data[start:stop])

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def start_child(kind: str, root: Path, port: int) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, __file__, f"--child={kind}", str(root), str(port)]
    return subprocess.Popen(cmd)


def start_nginx(tmp: Path, root: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    # Only a root master switches users; name ourselves so workers can read the temp files.
    user = f"user {pwd.getpwuid(os.getuid()).pw_name};" if os.getuid() == 0 else ""
    conf = tmp / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(
            user=user, workers=workers, tmp=tmp, port=port, root=root, cache_control=CACHE_CONTROL
        )
    )
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    return subprocess.Popen([nginx, "-p", str(tmp), "-c", str(conf), "-e", str(tmp / "error.log")])


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_wrk(url: str, seconds: int, connections: int, tmp: Path) -> tuple[float, str]:
    script = tmp / "range.lua"
    script.write_text(WRK_SCRIPT.format(max_start=BIG_BYTES - RANGE_BYTES, last=RANGE_BYTES - 1))
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rps, f" ({errors[1]} non-2xx responses!)" if errors else ""


def run_httpx(url: str, seconds: int, connections: int) -> tuple[float, str]:
    """Fallback load: `connections` asyncio workers sharing one httpx client for `seconds`."""
    import random

    import httpx

    async def main() -> int:
        done = 0
        limits = httpx.Limits(max_connections=connections)
        async with httpx.AsyncClient(limits=limits) as client:
            stop_at = time.monotonic() + seconds

            async def worker() -> None:
                nonlocal done
                while time.monotonic() < stop_at:
                    x = random.randrange(BIG_BYTES - RANGE_BYTES)
                    headers = {"Range": f"bytes={x}-{x + RANGE_BYTES - 1}"}
                    response = await client.get(url, headers=headers)
                    done += response.status_code == 206

            await asyncio.gather(*(worker() for _ in range(connections)))
        return done

    return asyncio.run(main()) / seconds, " (httpx load: the client is the bottleneck)"


def time_to_first_byte(port: int, path: str, rounds: int = 300) -> tuple[float, float]:
    """Median and p99 microseconds from sending a GET to its response head, one keep-alive link."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port)
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        samples.append((time.perf_counter() - start) * 1e6)
        response.read()
    conn.close()
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.99) - 1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its children (nginx's workers), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return float("nan")  # not Linux: the CPU column is left empty
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(cpu_seconds(int(child)) for child in children)


@dataclass
class Server:
    label: str
    proc: subprocess.Popen[bytes]
    port: int
    big: str
    small: str
    rps: list[float] = field(default_factory=list)
    cpu_us: list[float] = field(default_factory=list)
    note: str = ""


def main() -> None:
    sys.path.insert(0, str(REPO))
    if len(sys.argv) == 4 and sys.argv[1].startswith("--child="):
        kind, root, port = sys.argv[1].removeprefix("--child="), Path(sys.argv[2]), int(sys.argv[3])
        (serve_service if kind == "service" else serve_python)(root, port)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="per round and server")
    parser.add_argument("--rounds", type=int, default=3, help="alternating, against noise")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--nginx-workers", type=int, default=1)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-http-") as tmp_name:
        tmp = Path(tmp_name)
        tmp.chmod(0o755)
        root = tmp / "data" / "audio"
        paths: dict[str, str] = {}
        for name, size in (("big", BIG_BYTES), ("small", SMALL_BYTES)):
            data = os.urandom(size)
            digest = hashlib.sha256(data).hexdigest()
            (root / digest[:2]).mkdir(parents=True, exist_ok=True)
            (root / digest[:2] / f"{digest}.mp3").write_bytes(data)
            paths[name] = f"/{digest[:2]}/{digest}.mp3"
            paths[f"service-{name}"] = f"/v1/audio/{digest}.mp3"

        have_nginx = shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()
        have_wrk = shutil.which("wrk") is not None
        print(
            f"file {BIG_BYTES} B, random {RANGE_BYTES} B ranges, {args.connections} connections, "
            f"{args.rounds} alternating rounds of {args.seconds} s, load from "
            f"{'wrk -t2' if have_wrk else 'httpx'}; service: uvicorn uvloop+httptools, 1 worker"
        )
        port = free_port()
        proc = start_child("service", root, port)
        servers = [Server("service", proc, port, paths["service-big"], paths["service-small"])]
        port = free_port()
        if have_nginx:
            proc = start_nginx(tmp, root, port, args.nginx_workers)
            label = f"nginx ({args.nginx_workers} worker)"
        else:
            proc, label = start_child("python", root, port), "python http.server"
        servers.append(Server(label, proc, port, paths["big"], paths["small"]))
        try:
            for server in servers:
                wait_for_port(server.port, 60)
            for _ in range(args.rounds):
                for server in servers:
                    url = f"http://127.0.0.1:{server.port}{server.big}"
                    before = cpu_seconds(server.proc.pid)
                    if have_wrk:
                        rps, server.note = run_wrk(url, args.seconds, args.connections, tmp)
                    else:
                        rps, server.note = run_httpx(url, args.seconds, args.connections)
                    used = cpu_seconds(server.proc.pid) - before
                    server.rps.append(rps)
                    server.cpu_us.append(used / (rps * args.seconds) * 1e6)
            for server in servers:
                rps, cpu_us = statistics.median(server.rps), statistics.median(server.cpu_us)
                ttfb, p99 = time_to_first_byte(server.port, server.small)
                print(
                    f"{server.label:>18}: {rps:8.0f} req/s {rps * RANGE_BYTES / 1e6:7.0f} MB/s "
                    f"(rounds: {', '.join(f'{r:.0f}' for r in server.rps)}) "
                    f"CPU {cpu_us:5.1f} us/req; TTFB {SMALL_BYTES} B file median {ttfb:.0f} us, "
                    f"p99 {p99:.0f} us{server.note}"
                )
        finally:
            for server in servers:
                stop(server.proc)
        service, baseline = servers
        port = free_port()
        proc = start_child("service", root, port)
        try:
            wait_for_port(port, 60)
            firsts = {v: first_audio_byte(port, v) for v in ("en-gb-espeak", "en-us-piper-joe")}
        finally:
            stop(proc)
        for voice, (total_ms, get_ms) in firsts.items():
            print(
                f"{'uncached article':>18}: first audio byte {total_ms:.0f} ms after PUT "
                f"({get_ms:.0f} ms after the GET), median of 9, voice {voice}"
            )
        throughput = statistics.median(service.rps) / statistics.median(baseline.rps)
        efficiency = statistics.median(baseline.cpu_us) / statistics.median(service.cpu_us)
        print(
            f"{'service/baseline':>18}: {throughput:.2f} by req/s (median of rounds), "
            f"{efficiency:.2f} by CPU per request (less sensitive to other load)"
        )


if __name__ == "__main__":
    main()
