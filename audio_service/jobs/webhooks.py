"""Signed webhook events for batch rendering: the body, its signature, one delivery attempt.

When an article of a batch is ready or has failed, the service POSTs a JSON event to the batch's
callback URL: canonical JSON ``{"id", "type", "created", "data"}`` (sorted keys, no spaces, UTF-8)
with headers ``X-Audio-Service-Event: article.ready`` (or ``article.failed``) and
``X-Audio-Service-Signature: t=<unix seconds>,v1=<hex>``, where ``<hex>`` is the lowercase hex
HMAC-SHA256, keyed with the shared secret (UTF-8), of ``b"<t>." + <raw body bytes>``.

A receiver (``verify`` does steps 1-3): 1. takes ``t`` and ``v1`` from the signature header and
rejects the request if either is missing; 2. computes the HMAC over the raw body bytes as received,
before any JSON parsing, and compares it with ``v1`` in constant time (``hmac.compare_digest``);
3. rejects a ``t`` more than five minutes from its own clock (a replay); 4. answers 2xx quickly and
ignores an event ``id`` it has seen: delivery is at least once.

Every attempt is signed afresh, so a retry is never stale. With no secret configured
(``secret == ""``) events go out without the signature header; the service warns at start.
``deliver`` makes one attempt; the job queue retries those that raise a transient
``WebhookError``, waiting ``backoff_s(attempt)`` between them.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx

from audio_service.errors import AudioServiceError, InputError

SIGNATURE_HEADER = "X-Audio-Service-Signature"
EVENT_HEADER = "X-Audio-Service-Event"
EVENT_READY = "article.ready"
EVENT_FAILED = "article.failed"
USER_AGENT = "audio-service-webhook/1"
_TRANSIENT_STATUS = frozenset({408, 429})
_EVENT_NAME = re.compile(r"[a-z0-9_]+(?:\.[a-z0-9_]+)*")
_HEX_SHA256 = re.compile(r"[0-9a-f]{64}")


class WebhookError(AudioServiceError):
    """A delivery attempt failed; retry it later only if `transient` (`status`: the reply's)."""

    code = "webhook_error"

    def __init__(self, message: str, *, transient: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.transient = transient
        self.status = status


def event_body(event: str, payload: Mapping[str, Any], *, event_id: str, created: float) -> bytes:
    """The canonical JSON bytes of one event; `created` is unix seconds (NaN/inf are refused)."""
    doc = {"id": event_id, "type": event, "created": created, "data": dict(payload)}
    text = json.dumps(
        doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )
    return text.encode("utf-8")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value ``t=<timestamp>,v1=<hex HMAC-SHA256 of b"<t>." + body>``."""
    if not secret:
        raise ValueError("a webhook signature needs a non-empty secret")
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(
    secret: str, header: str, body: bytes, *, now: float | None = None, tolerance_s: int = 300
) -> bool:
    """True only if `header` signs `body` with `secret` at a time within `tolerance_s` of `now`.

    Malformed headers (a missing, repeated or non-integer ``t``; no well-formed ``v1``) are
    rejected, never raised. Several ``v1`` entries are allowed; one matching is enough.
    """
    if not secret:
        return False
    timestamps: list[str] = []
    candidates: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if sep and key == "t":
            timestamps.append(value)
        elif sep and key == "v1" and _HEX_SHA256.fullmatch(value):
            candidates.append(value)
    if len(timestamps) != 1 or not re.fullmatch(r"[0-9]{1,12}", timestamps[0]):
        return False  # at most 12 digits: a huge t would overflow the float comparison below
    timestamp = int(timestamps[0])
    if abs((time.time() if now is None else now) - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).rpartition("v1=")[2].encode()
    matches = [hmac.compare_digest(expected, candidate.encode()) for candidate in candidates]
    return any(matches)


def validate_callback_url(url: str) -> str:
    """Return `url` unchanged if it is an absolute http(s) URL with a host; else InputError."""
    if any(ch.isspace() or not ch.isprintable() for ch in url):
        raise InputError("callback URL must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a port that is not a number in 0-65535
    except ValueError as exc:
        raise InputError(f"callback URL is not a valid URL: {exc}") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"callback URL must start with http:// or https://, not {url[:40]!r}")
    if not parts.hostname:
        raise InputError("callback URL has no host")
    return url


def deliver(
    url: str,
    event: str,
    body: bytes,
    secret: str,
    *,
    timeout_s: float = 10.0,
    client: httpx.Client | None = None,
) -> int:
    """POST one signed event to `url`; return the status on 2xx, else raise WebhookError.

    Transient (retry later): connection errors, timeouts, 408, 429 and 5xx. Permanent: any other
    reply (4xx, and 3xx: redirects are not followed) and a URL that is not http(s). The reply body
    is never read. A `client` passed in is used and left open.
    """
    try:
        validate_callback_url(url)
    except InputError as exc:
        raise WebhookError(str(exc), transient=False) from exc
    if not _EVENT_NAME.fullmatch(event):
        raise ValueError(f"bad webhook event name {event!r}")
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, EVENT_HEADER: event}
    if secret:
        headers[SIGNATURE_HEADER] = sign(secret, int(time.time()), body)
    http = httpx.Client() if client is None else client
    try:
        with http.stream(
            "POST", url, content=body, headers=headers, timeout=timeout_s, follow_redirects=False
        ) as reply:
            status = reply.status_code
    except httpx.TimeoutException as exc:
        raise WebhookError(f"webhook timed out after {timeout_s:g}s", transient=True) from exc
    except httpx.TransportError as exc:
        raise WebhookError(f"webhook delivery failed: {exc!r}", transient=True) from exc
    except httpx.InvalidURL as exc:
        raise WebhookError(f"invalid webhook URL: {exc}", transient=False) from exc
    finally:
        if client is None:
            http.close()
    if 200 <= status < 300:
        return status
    transient = status in _TRANSIENT_STATUS or status >= 500
    raise WebhookError(f"webhook answered HTTP {status}", transient=transient, status=status)


def backoff_s(attempt: int, *, base_s: float = 2.0, cap_s: float = 600.0) -> float:
    """Seconds to wait before retry `attempt` (1-based): ``base_s * 2**(attempt-1)``, capped.

    Deterministic, without jitter, so retry schedules are predictable and testable; a queue that
    retries many deliveries to one receiver at once may add its own jitter. With the defaults:
    2, 4, 8, ... 512 s, then 600 s from attempt 10 on.
    """
    if attempt < 1:
        raise ValueError(f"attempt counts from 1, got {attempt}")
    return min(cap_s, base_s * 2.0 ** min(attempt - 1, 1000))
