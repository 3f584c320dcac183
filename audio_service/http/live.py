"""Audio of a render still running: the growing file streamed whole, or byte ranges of it at once.

A render writes its MP3 append-only (ID3 tag, then one run of frames per segment) and commits
that very file, so every byte written is already the final byte at that offset: a range of the
part written can be answered now, and agrees with the stored file served later. The length is
not known until the last segment is synthesised, so:

- no Range, or ``bytes=0-``: 200, streamed as it is written, without Content-Length. Chromium
  plays at once and seeks inside it (measured: a seek to a time already written plays from
  there; a seek past it waits for those bytes); Safari plays such a stream after its probe.
- a bounded range ``bytes=a-b`` (Safari and iOS open every medium with ``bytes=0-1``): 206 with
  ``Content-Range: bytes a-b/*`` as soon as byte b is written (RFC 9110 section 14.4 allows an
  unknown complete length); a range past the written end waits only until those bytes exist.
- an open range ``bytes=a-`` with a > 0: 206 with the bytes written so far from a, ``a-w/*``;
  the client asks again for the rest.
- a suffix range (``bytes=-n``) names bytes from an end that does not exist yet: it waits for
  the render, then gets the stored file's answer, as does any request once the render is done.
- If-Range, or several ranges: ignored (200, the whole stream), as RFC 9110 allows; there is no
  validator to compare until the content exists.
HEAD gets the same status and headers as GET and no body: no Content-Length while it is unknown.
Waiting is polling on the event loop, so a waiting listener holds no thread.
"""

from __future__ import annotations

import asyncio
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import BinaryIO

from starlette.types import Receive, Scope, Send

from audio_service.errors import EngineError
from audio_service.http.errors import error_response
from audio_service.http.ranges import request_headers
from audio_service.service.render_queue import LiveRender

POLL_S = 0.01  # how often a follower looks for new bytes of a live render
WAIT_S = 300.0  # a request waiting on a render gives up after this long (504)
CHUNK = 256 * 1024
_RANGE = re.compile(rb"bytes=(\d*)-(\d*)")

Finished = Callable[[Scope, Receive, Send], Awaitable[None]]


def _headers(status: int, *extra: tuple[bytes, bytes]) -> dict[str, object]:
    headers = [
        (b"content-type", b"audio/mpeg"),
        (b"accept-ranges", b"bytes"),
        # Bytes of a render in progress must not be cached as the article's audio.
        (b"cache-control", b"no-store"),
        *extra,
    ]
    return {"type": "http.response.start", "status": status, "headers": headers}


async def open_growing(job: LiveRender, wait_s: float | None = None) -> BinaryIO | None:
    """The growing file, or None once the render has ended (committed, failed) before we got it.

    With `wait_s`, TimeoutError when the render has not started within that long."""
    deadline = None if wait_s is None else time.monotonic() + wait_s
    while not job.started.is_set() and not job.done.is_set():
        if deadline is not None and time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(POLL_S)
    if job.path is None or job.done.is_set():
        return None
    try:
        return await asyncio.to_thread(job.path.open, "rb")
    except FileNotFoundError:  # committed (renamed) or abandoned meanwhile
        return None


def _written(handle: BinaryIO) -> int:
    return os.fstat(handle.fileno()).st_size


async def _until(job: LiveRender, handle: BinaryIO, size: int, deadline: float) -> int:
    """Wait until `size` bytes are written or the render ends; the bytes written by then."""
    while (written := _written(handle)) < size and not job.done.is_set():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(POLL_S)
    return written if written >= size else _written(handle)


def _plan(scope: Scope) -> tuple[str, int, int]:
    """What the request asks of a growing file: ("whole"|"span"|"from"|"end", first, last)."""
    wanted = request_headers(scope["headers"])
    value = wanted.get(b"range")
    if value is None or b"if-range" in wanted:
        return "whole", 0, 0
    match = _RANGE.fullmatch(value.replace(b" ", b"").lower())
    if match is None or (not match[1] and not match[2]):
        return "whole", 0, 0  # several ranges, another unit or bad syntax: ignored
    if not match[1]:
        return "end", 0, 0
    first = int(match[1])
    if not match[2]:
        return ("whole", 0, 0) if first == 0 else ("from", first, 0)
    last = int(match[2])
    return ("whole", 0, 0) if last < first else ("span", first, last)


async def _gone(receive: Receive) -> None:
    """Returns when the client has hung up (a GET has no body left to read)."""
    while (await receive())["type"] != "http.disconnect":
        pass


async def _stream(
    job: LiveRender, handle: BinaryIO, send: Send, receive: Receive, head: bool
) -> None:
    await send(_headers(200))
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    # A listener who closes the tab stops being fed; the server would drop the bytes anyway.
    hung_up = asyncio.ensure_future(_gone(receive))
    try:
        await _feed(job, handle, send, hung_up)
    finally:
        hung_up.cancel()


async def _feed(
    job: LiveRender, handle: BinaryIO, send: Send, hung_up: asyncio.Future[None]
) -> None:
    offset = 0
    while not hung_up.done():
        data = handle.read(CHUNK)
        if data:
            offset += len(data)
            await send({"type": "http.response.body", "body": data, "more_body": True})
            continue
        if job.done.is_set():
            if _written(handle) > offset:
                continue  # the last bytes landed with the end
            break
        await asyncio.sleep(POLL_S)
    if hung_up.done():
        return
    if job.error is not None:
        # Ending normally would tell the player the file is complete; it is not. The server
        # cuts the connection instead.
        raise EngineError(job.error)
    await send({"type": "http.response.body", "body": b""})


async def _span(handle: BinaryIO, first: int, stop: int, send: Send, head: bool) -> None:
    length = stop - first
    await send(
        _headers(
            206,
            (b"content-length", b"%d" % length),
            (b"content-range", b"bytes %d-%d/*" % (first, stop - 1)),
        )
    )
    if head:
        await send({"type": "http.response.body", "body": b""})
        return
    offset = first
    while offset < stop:
        data = os.pread(handle.fileno(), min(CHUNK, stop - offset), offset)
        offset += len(data)
        await send({"type": "http.response.body", "body": data, "more_body": offset < stop})


async def serve_live(
    job: LiveRender, finished: Finished, scope: Scope, receive: Receive, send: Send
) -> None:
    """Answer a GET or HEAD from the render `job`; `finished` answers once it is stored."""
    deadline = time.monotonic() + WAIT_S
    head = scope["method"] == "HEAD"
    kind, first, last = _plan(scope)
    handle = await open_growing(job) if kind != "end" else None
    try:
        if handle is not None:
            if kind == "whole":
                await _stream(job, handle, send, receive, head)
                return
            need = last + 1 if kind == "span" else first + 1
            written = await _until(job, handle, need, deadline)
            if not job.done.is_set() and written >= need:
                await _span(handle, first, need if kind == "span" else written, send, head)
                return
        while not job.done.is_set():  # the answer needs the finished file
            if time.monotonic() > deadline:
                raise TimeoutError
            await asyncio.sleep(POLL_S)
    except TimeoutError:
        response = error_response(
            504, "render_timeout", "the render is still running; retry", {"Retry-After": "5"}
        )
        await response(scope, receive, send)
        return
    finally:
        if handle is not None:
            handle.close()
    await finished(scope, receive, send)
