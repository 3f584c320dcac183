"""Serving stored audio files at the ASGI level: GET and HEAD, byte ranges sent, error replies.

Players seek with Range requests (iOS/Safari opens with ``Range: bytes=0-1`` and gives up without a
206), so this answers GET and HEAD per RFC 9110 without Starlette's Request/Response objects: the
hot path reads a few request headers, builds pre-encoded response headers and reads the wanted bytes
with ``os.pread`` from one descriptor per response. What the request headers mean (Range grammar,
conditional requests, If-Range) is decided in ``audio_service.http.ranges``.

Behaviour worth knowing (all allowed by RFC 9110 section 14):
- Several ranges go out as ``multipart/byteranges``; a single range as a plain 206.
- HEAD gets exactly GET's status and headers, Range included, and no body.
- The cache replaces files atomically, never in place, so a response read from the descriptor it
  started with yields the original bytes even if the file is replaced or unlinked meanwhile.
  Should a file shrink anyway, the response is left incomplete, so the server drops the
  connection instead of sending wrong bytes.
"""

from __future__ import annotations

import errno
import logging
import os
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from audio_service.http.errors import error_bytes
from audio_service.http.ranges import (
    byte_ranges,
    http_date_bytes,
    if_range_holds,
    precondition,
    request_headers,
    strong_etag,
)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]

logger = logging.getLogger(__name__)

#: Bodies up to this size go out in one read and one message; page-cache reads this small do not
#: hold the event loop long enough to matter.
SINGLE_READ_BYTES = 1024 * 1024
#: Larger bodies are streamed in messages of this size, so a slow reader holds little memory.
CHUNK_BYTES = 512 * 1024

_ACCEPT_RANGES = (b"accept-ranges", b"bytes")


async def _send_whole(
    send: Send, status: int, headers: Headers, body: bytes, head: bool = False
) -> None:
    """A response whose body is already in memory (errors, 304, 412, 416)."""
    if status != 304:
        headers = [(b"content-length", b"%d" % len(body)), *headers]
        if body:
            headers.insert(0, (b"content-type", b"application/json"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": b"" if head else body})


def _read(fd: int, want: int, offset: int) -> bytes:
    data = os.pread(fd, want, offset)
    if len(data) != want:
        raise OSError(errno.EIO, "the file shrank while being sent")
    return data


async def _stream(send: Send, fd: int, pieces: Sequence[bytes | tuple[int, int]]) -> int:
    """Send literal pieces and file spans as body messages of about CHUNK_BYTES each."""
    sent = 0
    buffer: list[bytes] = []
    buffered = 0
    for piece in pieces:
        if isinstance(piece, bytes):
            buffer.append(piece)
            buffered += len(piece)
            continue
        offset, stop = piece
        while offset < stop:
            if buffered >= CHUNK_BYTES:
                body = b"".join(buffer)
                await send({"type": "http.response.body", "body": body, "more_body": True})
                sent += buffered
                buffer.clear()
                buffered = 0
            want = min(stop - offset, CHUNK_BYTES - buffered)
            buffer.append(_read(fd, want, offset))
            buffered += want
            offset += want
    await send({"type": "http.response.body", "body": b"".join(buffer)})
    return sent + buffered


async def _respond(
    scope: Scope,
    send: Send,
    fd: int,
    stat: os.stat_result,
    shared: bool,
    etag: bytes,
    media_type: bytes,
    tail: Headers,
    last_modified: float | None,
) -> tuple[int, int]:
    """Serve one GET/HEAD from an open file; returns (status, body bytes sent).

    `tail` is ``[Accept-Ranges, Cache-Control, *extra]``, built once by the caller. A `shared`
    descriptor (from _OpenFiles) is only used before the first await, or dup()ed for streaming, so
    the cache may close it meanwhile. OSError escapes only before anything is sent; after that it
    is logged and the response left incomplete, so the server drops the connection rather than
    send a wrong body.
    """
    size = stat.st_size
    mtime = int(stat.st_mtime if last_modified is None else last_modified)
    validators = [(b"etag", etag), (b"last-modified", http_date_bytes(mtime))]
    spans = None
    request = request_headers(scope["headers"])
    if request:  # a plain GET skips all of this, a lone Range (the usual seek) most of it
        if len(request) > 1 or b"range" not in request:
            status = precondition(request, etag, mtime)
            if status:
                # A 304 carries what a cache needs to refresh its copy; a 412 nothing cacheable.
                fields = validators + tail[1:] if status == 304 else validators
                body = b"" if status == 304 else _PRECONDITION_FAILED
                await _send_whole(send, status, fields, body, scope["method"] == "HEAD")
                return status, 0
        if (value := request.get(b"range")) is not None:
            if_range = request.get(b"if-range")
            if if_range is None or if_range_holds(if_range, etag, mtime):
                spans = byte_ranges(value, size)

    pieces: list[bytes | tuple[int, int]]
    if spans is None:
        status, length, pieces = 200, size, [(0, size)]
        headers = [(b"content-type", media_type), (b"content-length", b"%d" % size)]
    elif not spans:
        # No Cache-Control: a shared cache must not keep a 416 as the answer for this URL.
        headers = [(b"content-range", b"bytes */%d" % size), _ACCEPT_RANGES, *validators]
        await _send_whole(send, 416, headers, b"")
        return 416, 0
    elif len(spans) == 1:
        (start, stop), status = spans[0], 206
        length, pieces = stop - start, [spans[0]]
        headers = [
            (b"content-type", media_type),
            (b"content-length", b"%d" % length),
            (b"content-range", b"bytes %d-%d/%d" % (start, stop - 1, size)),
        ]
    else:
        status, pieces, boundary = 206, [], os.urandom(12).hex().encode("ascii")
        for start, stop in spans:
            pieces.append(
                b"%s--%s\r\nContent-Type: %s\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                % (b"\r\n" if pieces else b"", boundary, media_type, start, stop - 1, size)
            )
            pieces.append((start, stop))
        pieces.append(b"\r\n--%s--\r\n" % boundary)
        length = sum(len(p) if isinstance(p, bytes) else p[1] - p[0] for p in pieces)
        headers = [
            (b"content-type", b"multipart/byteranges; boundary=" + boundary),
            (b"content-length", b"%d" % length),
        ]
    headers += validators
    headers += tail
    start_message = {"type": "http.response.start", "status": status, "headers": headers}

    if scope["method"] == "HEAD":
        await send(start_message)
        await send({"type": "http.response.body", "body": b""})
        return status, 0
    first = pieces[0]
    if len(pieces) == 1 and isinstance(first, tuple) and length <= SINGLE_READ_BYTES:
        data = _read(fd, length, first[0])  # before the head, so a failure is still clean
        await send(start_message)
        await send({"type": "http.response.body", "body": data})
        return status, length
    own = os.dup(fd) if shared else fd
    try:
        await send(start_message)
        return status, await _stream(send, own, pieces)
    except OSError as exc:
        logger.warning("response with ETag %s cut short: %s", etag.decode("latin-1"), exc)
        return status, 0
    finally:
        if shared:
            os.close(own)


class _OpenFiles:
    """Descriptors of recently served files, revalidated with one stat() per request.

    Measured here: open + fstat + close cost ~3.5 us more CPU per request than stat alone, about
    9% of a 64 KiB range request. A hit needs the same inode, size and mtime, so a replaced file
    is reopened at once; an entry idle for IDLE_S is closed on a later request, so the disk space
    of an evicted (unlinked) file is not held for long.
    """

    IDLE_S = 10.0

    def __init__(self, capacity: int) -> None:
        self.capacity = max(capacity, 1)  # the newest entry is in use: never evict it
        self._entries: OrderedDict[str, tuple[int, os.stat_result, float]] = OrderedDict()

    def open(self, path: str) -> tuple[int, os.stat_result]:
        now = time.monotonic()
        entries = self._entries
        if entries:  # retire at most one idle entry per request: constant work
            oldest = next(iter(entries))
            if now - entries[oldest][2] > self.IDLE_S:
                os.close(entries.pop(oldest)[0])
        try:
            current = os.stat(path)  # noqa: PTH116 - a str path; no Path object on the hot path
        except OSError:
            self.forget(path)
            raise
        if (entry := entries.get(path)) is not None:
            fd, known, _ = entry
            if (
                known.st_ino == current.st_ino
                and known.st_mtime_ns == current.st_mtime_ns
                and known.st_size == current.st_size
            ):
                entries[path] = (fd, known, now)
                entries.move_to_end(path)
                return fd, known
            self.forget(path)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        try:
            known = os.fstat(fd)
        except OSError:
            os.close(fd)
            raise
        entries[path] = (fd, known, now)
        if len(entries) > self.capacity:
            os.close(entries.popitem(last=False)[1][0])
        return fd, known

    def forget(self, path: str) -> None:
        if (entry := self._entries.pop(path, None)) is not None:
            os.close(entry[0])


async def send_file(
    scope: Scope,
    receive: Receive,
    send: Send,
    *,
    path: str | os.PathLike[str],
    etag: str,
    media_type: str = "audio/mpeg",
    cache_control: str,
    last_modified: float | None = None,
    extra_headers: Sequence[tuple[bytes, bytes]] = (),
) -> int:
    """Answer a GET or HEAD for the file at `path`; returns the body bytes sent.

    `etag` is the strong validator (the content sha256, quoted or bare); `last_modified` defaults to
    the file's mtime. Raises FileNotFoundError (or another OSError) before anything is sent when the
    file cannot be opened, so the caller can answer 404/503 itself. Other methods get a 405.
    """
    del receive  # part of the ASGI call shape; a GET body is never read
    method = scope["method"]
    if method != "GET" and method != "HEAD":
        await _send_error(send, 405, _NOT_ALLOWED, head=False)
        return 0
    tail = [_ACCEPT_RANGES, (b"cache-control", cache_control.encode("latin-1")), *extra_headers]
    etag_b, media_type_b = strong_etag(etag), media_type.encode("latin-1")
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        stat = os.fstat(fd)
        args = (fd, stat, False, etag_b, media_type_b, tail, last_modified)
        return (await _respond(scope, send, *args))[1]
    finally:
        os.close(fd)


def audio_asgi_app(
    resolve: Callable[[str], tuple[str | os.PathLike[str], str] | None],
    cache_control: str,
    *,
    prefix: str = "/v1/audio/",
    media_type: str = "audio/mpeg",
    on_response: Callable[[str, int, int], None] | None = None,
    open_files: int = 64,
) -> ASGIApp:
    """A bare ASGI app serving ``{prefix}{digest}.mp3``.

    `resolve` maps a digest (64 lowercase hex, already validated) to (path, etag), or None when
    there is no such audio. It runs on every request, so keep it cheap: a str path built with an
    f-string (a pathlib join costs ~2 us here, 5% of a range request) and no stat of its own.
    `scope["path"]` must hold the full path, prefix included.
    `on_response(method, status, body_bytes)` is called after each response, for metrics. Up to
    `open_files` descriptors of hot files stay open between requests (see _OpenFiles).
    Unknown paths and digests are 404, other methods 405, storage errors 503 with Retry-After;
    all as JSON ``{"error": {"code", "message"}}``.
    """
    pattern = re.compile(re.escape(prefix) + r"([0-9a-f]{64})\.mp3")
    tail = [_ACCEPT_RANGES, (b"cache-control", cache_control.encode("latin-1"))]
    media_type_b = media_type.encode("latin-1")
    files = _OpenFiles(open_files)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await _not_http(scope, receive, send)
            return
        method = scope["method"]
        head = method == "HEAD"
        match = pattern.fullmatch(scope["path"])
        status, sent = 404, 0
        if match is None:
            await _send_error(send, 404, _NOT_FOUND, head)
        elif method != "GET" and not head:
            status = 405
            await _send_error(send, 405, _NOT_ALLOWED, head)
        else:
            try:
                found = resolve(match.group(1))
                if found is None:
                    await _send_error(send, 404, _NOT_FOUND, head)
                else:
                    fd, stat = files.open(os.fspath(found[0]))
                    args = (fd, stat, True, strong_etag(found[1]), media_type_b, tail, None)
                    status, sent = await _respond(scope, send, *args)
            except FileNotFoundError:  # evicted between resolve and open
                await _send_error(send, 404, _NOT_FOUND, head)
            except OSError as exc:
                logger.warning("cannot open audio %s: %s", match.group(1), exc)
                status = 503
                await _send_error(send, 503, _UNAVAILABLE, head)
            except Exception:  # the edge of this app: log it, never show a trace to the client
                logger.exception("serving audio %s failed", match.group(1))
                status = 500
                await _send_error(send, 500, _INTERNAL, head)
        if on_response is not None:
            on_response(scope["method"], status, sent)

    return app


def _error(code: str, message: str, *extra: tuple[bytes, bytes]) -> tuple[bytes, Headers]:
    """A prebuilt error reply: the API's one JSON body, never cached."""
    return error_bytes(code, message), [(b"cache-control", b"no-store"), *extra]


_NOT_FOUND = _error("not_found", "no audio at this address")
_NOT_ALLOWED = _error(
    "method_not_allowed", "audio is read with GET or HEAD", (b"allow", b"GET, HEAD")
)
_UNAVAILABLE = _error(
    "storage_unavailable", "the audio store failed, retry", (b"retry-after", b"1")
)
_INTERNAL = _error("internal_error", "the audio could not be served")
_PRECONDITION_FAILED = _error("precondition_failed", "If-Match or If-Unmodified-Since failed")[0]


async def _send_error(send: Send, status: int, error: tuple[bytes, Headers], head: bool) -> None:
    await _send_whole(send, status, error[1], error[0], head)


async def _not_http(scope: Scope, receive: Receive, send: Send) -> None:
    """Lifespan is acknowledged so the app also runs alone; websockets are refused."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    elif scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
