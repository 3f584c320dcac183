"""Handing a stored article's audio to nginx (X-Accel-Redirect) instead of sending the bytes."""

from __future__ import annotations

import asyncio

from fastapi import Request
from fastapi.responses import Response

from audio_service.service.core import Service
from audio_service.store.local import is_digest

# Validators nginx cannot judge against the digest ETag (it compares them before add_header
# runs, against no ETag at all), so requests carrying them are answered by the service.
_SERVICE_JUDGES = ("if-none-match", "if-match")


def internal_uri(prefix: str, digest: str) -> str:
    """The nginx-internal address of a stored file: the store's own layout under `prefix`."""
    if not is_digest(digest):
        raise ValueError("not a sha256 digest")
    return f"{prefix}{digest[:2]}/{digest}.mp3"


def _stored(svc: Service, digest: str) -> bool:
    # sending() records the use, so eviction still sees which renders players ask for; the
    # file must exist now, else nginx would 404 where the service can still answer.
    with svc.sending(digest) as path:
        return path.is_file()


async def accel_redirect(
    svc: Service, digest: str, request: Request, cache_control: str
) -> Response | None:
    """An empty answer telling nginx which stored file to send, or None to send it ourselves.

    nginx serves the file from an `internal` location (deploy/nginx.conf): Range, HEAD, 416 and
    If-Range there, ETag rebuilt from the path, this response's Cache-Control passed through.
    """
    prefix = svc.settings.accel_redirect
    if not prefix or any(name in request.headers for name in _SERVICE_JUDGES):
        return None
    if not await asyncio.to_thread(_stored, svc, digest):
        return None
    headers = {
        "X-Accel-Redirect": internal_uri(prefix, digest),
        "ETag": f'"{digest}"',
        "Cache-Control": cache_control,
    }
    return Response(media_type="audio/mpeg", headers=headers)
