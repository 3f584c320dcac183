"""Cross-origin access: reads open to the configured origins (any, by default), writes to a few.

A publisher's player script runs on the publisher's own domain and fetches audio, timings,
captions and article status from this service, so reads answer any origin unless configured
otherwise; writes carry the API key and default to no origin at all. Starlette's CORSMiddleware
takes one origin list for every method, and the two policies differ, hence this small layer.
It wraps the whole app, the lean path for stored audio included.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from audio_service.http.errors import error_bytes

READS = frozenset({"GET", "HEAD"})
WRITES = frozenset({"PUT", "POST", "DELETE", "PATCH"})
# What a player sends when it seeks and revalidates, and what a CMS adds when it writes.
READ_HEADERS = "Range, If-Range, If-None-Match, If-Modified-Since, If-Match, If-Unmodified-Since"
WRITE_HEADERS = f"{READ_HEADERS}, Authorization, Content-Type, X-API-Key"
# Safelisted response headers need no listing; these are the ones a player script reads.
EXPOSED = (
    b"Content-Range, Accept-Ranges, ETag, Content-Length, Retry-After, Location, Rerenders-Queued"
)
MAX_AGE = b"600"


def origins(value: str) -> frozenset[str]:
    """A comma-separated setting: origins (scheme://host[:port]), or * for any."""
    return frozenset(part.strip().rstrip("/") for part in value.split(",") if part.strip())


class CorsMiddleware:
    def __init__(self, app: ASGIApp, read: Iterable[str], write: Iterable[str]) -> None:
        self.app = app
        self.write = frozenset(write)
        self.read = frozenset(read) | self.write

    def allow(self, origin: str, method: str) -> bytes | None:
        """The Access-Control-Allow-Origin for `origin` doing `method`, or None."""
        if method in READS or method == "OPTIONS":
            if "*" in self.read and origin not in self.write:
                return b"*"
            return origin.encode("latin-1") if origin in self.read or "*" in self.read else None
        if method in WRITES and (origin in self.write or "*" in self.write):
            return origin.encode("latin-1")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        origin = headers.get(b"origin", b"").decode("latin-1")
        if not origin:
            await self.app(scope, receive, send)
            return
        wanted = headers.get(b"access-control-request-method")
        if scope["method"] == "OPTIONS" and wanted is not None:
            await self._preflight(origin, wanted.decode("latin-1").upper(), send)
            return
        allowed = self.allow(origin, scope["method"])
        if allowed is None:
            await self.app(scope, receive, send)
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"access-control-allow-origin", allowed),
                    (b"access-control-expose-headers", EXPOSED),
                ]
                if allowed != b"*":
                    extra.append((b"vary", b"Origin"))
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    async def _preflight(self, origin: str, method: str, send: Send) -> None:
        allowed = self.allow(origin, method)
        if allowed is None:
            body = error_bytes("cors_refused", f"{method} is not allowed from origin {origin}")
            start = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
            await send({"type": "http.response.start", "status": 403, "headers": start})
            await send({"type": "http.response.body", "body": body})
            return
        write = method in WRITES
        headers = [
            (b"access-control-allow-origin", allowed),
            (
                b"access-control-allow-methods",
                b"GET, HEAD, PUT, POST, DELETE" if write else b"GET, HEAD",
            ),
            (b"access-control-allow-headers", (WRITE_HEADERS if write else READ_HEADERS).encode()),
            (b"access-control-max-age", MAX_AGE),
            (b"vary", b"Origin"),
            (b"content-length", b"0"),
        ]
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
