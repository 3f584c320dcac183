"""The audio endpoints: immutable content-addressed MP3s, and speech for OpenAI-shaped clients."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.responses import Response

from audio_service.errors import UnknownVoiceError
from audio_service.http import streams
from audio_service.http.deps import WRITE, ServiceDep
from audio_service.http.models import SpeechIn
from audio_service.http.streams import ERRORS

router = APIRouter(prefix="/v1/audio")

#: OpenAI's voice names; a client sending one gets the default voice.
OPENAI_VOICES = {
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "nova",
    "onyx",
    "sage",
    "shimmer",
    "verse",
}


# GET and HEAD as two routes of one function: each gets an operation id of its own.
@router.get(
    "/{digest}.mp3",
    summary="Content-addressed, immutable audio",
    response_class=Response,
    responses=ERRORS["immutable"],
)
@router.head(
    "/{digest}.mp3",
    summary="Content-addressed, immutable audio (headers only)",
    response_class=Response,
    responses=ERRORS["immutable"],
)
async def immutable_audio(digest: str, svc: ServiceDep) -> Response:
    # The lean dispatcher answers these requests before the framework sees them; this route
    # documents them, and serves them should the app run without the dispatcher.
    return await streams.immutable(svc, digest)


@router.post(
    "/speech",
    response_class=Response,
    dependencies=[WRITE],
    summary="Text to speech with the request shape of OpenAI's speech endpoint",
    responses=ERRORS["speech"],
)
async def speech(body: SpeechIn, svc: ServiceDep) -> Response:
    voice = svc.default_voice.id if body.voice in OPENAI_VOICES else body.voice
    if voice not in svc.voices:
        raise UnknownVoiceError(body.voice, [*svc.voices, *sorted(OPENAI_VOICES)])
    spoken = await asyncio.to_thread(svc.speech, body.input, voice, body.speed)
    return await streams.speech(svc, spoken.digest, spoken.live)
