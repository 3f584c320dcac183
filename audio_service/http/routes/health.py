"""Operations endpoints: liveness and readiness, Prometheus metrics."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from audio_service.http.deps import ServiceDep, optional_service
from audio_service.http.errors import error_response
from audio_service.http.models import ErrorBody
from audio_service.service.core import Service

router = APIRouter()


@router.get(
    "/healthz",
    summary="Liveness and readiness",
    responses={503: {"model": ErrorBody, "description": "Not ready"}},
)
async def healthz(svc: Annotated[Service | None, Depends(optional_service)]) -> JSONResponse:
    if svc is None:
        return error_response(503, "starting", "service is starting")
    return JSONResponse({"status": "ok", "queue_depth": svc.queue.depth, "voices": len(svc.voices)})


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    summary="Prometheus metrics (requests, renders, cache, queue, bytes served)",
)
async def metrics(svc: ServiceDep) -> Response:
    svc.metrics.queue_depth.set(svc.queue.depth)
    return Response(generate_latest(svc.metrics.registry), media_type=CONTENT_TYPE_LATEST)
