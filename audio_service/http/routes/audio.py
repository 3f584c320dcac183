"""The audio endpoints: immutable content-addressed MP3s, and speech for OpenAI-shaped clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncGenerator, Mapping
from typing import Any, BinaryIO

from fastapi import APIRouter
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from audio_service.audio.transcode import FORMATS, OUTPUT_RATE_HZ, Format, transcode
from audio_service.errors import EngineError, UnknownVoiceError
from audio_service.http import streams
from audio_service.http.deps import WRITE, ServiceDep
from audio_service.http.errors import error_response
from audio_service.http.live import POLL_S, WAIT_S, open_growing
from audio_service.http.models import ErrorBody, SpeechIn
from audio_service.http.streams import ERRORS
from audio_service.service.core import Service, Speech
from audio_service.service.render_queue import LiveRender
from audio_service.voices import VoiceDef

router = APIRouter(prefix="/v1/audio")
CHUNK = 64 * 1024  # MP3 read for the transcoder at a time

_US_FEMALE = ("en-us-hibari-heart", "en-gb-kokoro-emma", "en-gb-kokoro-isabella")
_US_MALE = ("en-us-kokoro-michael", "en-us-piper-joe", "en-gb-kokoro-george")

#: OpenAI's voice names -> our voices, best first; the first one this service can speak is used,
#: else its default voice. Chosen by OpenAI's descriptions: fable is its British-sounding
#: storyteller; the rest are American, by the gender of the voice. A natural voice of the same
#: gender beats the same accent read by eSpeak, so the fallbacks stay neural.
OPENAI_VOICES: dict[str, tuple[str, ...]] = {
    "fable": ("en-gb-kokoro-fable", "en-gb-kokoro-george", "en-us-kokoro-michael"),
    "alloy": _US_FEMALE,
    "coral": _US_FEMALE,
    "marin": _US_FEMALE,
    "nova": _US_FEMALE,
    "sage": _US_FEMALE,
    "shimmer": _US_FEMALE,
    "ash": _US_MALE,
    "ballad": _US_MALE,
    "cedar": _US_MALE,
    "echo": _US_MALE,
    "onyx": _US_MALE,
    "verse": _US_MALE,
}


def openai_voice(name: str, usable: Mapping[str, VoiceDef], default_id: str) -> str:
    """Our voice for `name`: an OpenAI name through its chain, any other name unchanged."""
    chain = OPENAI_VOICES.get(name.lower())
    if chain is None:
        return name
    return next((voice for voice in chain if voice in usable), default_id)


def _speech_description() -> str:
    rows = "\n".join(
        f"| `{name}` | {' → '.join(f'`{v}`' for v in chain)} → default voice |"
        for name, chain in sorted(OPENAI_VOICES.items())
    )
    formats = ", ".join(f"`{f.name}` ({f.media_type})" for f in FORMATS.values())
    return (
        "The request shape of OpenAI's speech endpoint. `voice` is one of our voice ids "
        "(`/v1/voices`) or an OpenAI voice name, mapped to the first of these voices that this "
        f"service can speak:\n\n| OpenAI | ours, best first |\n|---|---|\n{rows}\n\n"
        f"`response_format`: {formats}. `mp3` is the stored file at the voice's own rate; the "
        f"others are {OUTPUT_RATE_HZ} Hz mono, encoded by ffmpeg from it as it renders and "
        "streamed without Content-Length (`wav` with 0xFFFFFFFF sizes in its header, `flac` "
        "without a total sample count, `pcm` raw signed 16-bit little-endian). `speed` "
        "0.25-4.0 sets the voice's rate; beyond the rate's range (80-450 words a minute) the "
        "rest is a tempo change that keeps the pitch (then `mp3` is re-encoded too)."
    )


_SPEECH_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS["speech"],
    200: {
        "description": "Audio in the requested format",
        "content": {f.media_type: {} for f in FORMATS.values()},
    },
    409: {"model": ErrorBody, "description": "The render failed before any audio was sent"},
    422: {"model": ErrorBody, "description": "Unknown voice, format, or speed out of range"},
    504: {"model": ErrorBody, "description": "The render did not start in time; retry"},
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
    description=_speech_description(),
    responses=_SPEECH_RESPONSES,
)
async def speech(body: SpeechIn, svc: ServiceDep) -> Response:
    voice = openai_voice(body.voice, svc.voices, svc.default_voice.id)
    if voice not in svc.voices:
        raise UnknownVoiceError(body.voice, [*svc.voices, *OPENAI_VOICES])
    spoken = await asyncio.to_thread(svc.speech, body.input, voice, body.speed)
    if body.response_format == "mp3" and spoken.tempo == 1.0:
        return await streams.speech(svc, spoken.digest, spoken.live)
    fmt = FORMATS[body.response_format]
    return _Transcoded(transcode(_mp3_of(svc, spoken), fmt, spoken.tempo), fmt)


async def _stored(svc: Service, job: LiveRender) -> BinaryIO:
    deadline = time.monotonic() + WAIT_S
    while not job.done.is_set():
        if time.monotonic() > deadline:
            raise TimeoutError
        await asyncio.sleep(POLL_S)
    if job.digest is None:
        raise EngineError(job.error or "render failed")
    return await asyncio.to_thread(svc.store.path(job.digest).open, "rb")


async def _mp3_of(svc: Service, spoken: Speech) -> AsyncGenerator[bytes, None]:
    """The speech's MP3 bytes: the stored file, or the render's file followed as it grows.

    Every byte a render writes is final (see audio_service.http.live), so the transcoder may
    start on the first frames; the stored file is read from disk, not from memory.
    """
    job = spoken.live
    handle = await open_growing(job, WAIT_S) if job is not None else None
    if handle is None:
        if spoken.digest is not None:
            handle = await asyncio.to_thread(svc.store.path(spoken.digest).open, "rb")
        elif job is not None:
            handle = await _stored(svc, job)
        else:
            raise EngineError("no audio")  # speech() returns a digest or a job
        job = None  # complete: read to its end
    try:
        while True:
            data = await asyncio.to_thread(handle.read, CHUNK)
            if data:
                yield data
                continue
            if job is None:
                return
            if job.done.is_set():
                if os.fstat(handle.fileno()).st_size > handle.tell():
                    continue  # the last bytes landed with the end
                if job.error is not None:
                    raise EngineError(job.error)
                return
            await asyncio.sleep(POLL_S)
    finally:
        handle.close()


async def _gone(receive: Receive) -> None:
    """Returns when the client has hung up (the request body was read before the route ran)."""
    while (await receive())["type"] != "http.disconnect":
        pass


class _Transcoded(Response):
    """Speech re-encoded as it is made; a client that hangs up stops (and reaps) the encoder."""

    def __init__(self, chunks: AsyncGenerator[bytes, None], fmt: Format) -> None:
        super().__init__()
        self.chunks, self.fmt = chunks, fmt

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async with contextlib.aclosing(self.chunks) as chunks:
            # The first bytes decide the status: a render that fails or never starts is
            # still a JSON error, not a 200 cut short.
            try:
                first = await anext(chunks, b"")
            except EngineError as exc:
                await error_response(409, "render_failed", str(exc))(scope, receive, send)
                return
            except TimeoutError:
                late = error_response(
                    504,
                    "render_timeout",
                    "the render is still running; retry",
                    {"Retry-After": "5"},
                )
                await late(scope, receive, send)
                return
            headers = [
                (b"content-type", self.fmt.media_type.encode()),
                (b"cache-control", b"no-store"),
            ]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            pump = asyncio.ensure_future(self._pump(first, chunks, send))
            hung_up = asyncio.ensure_future(_gone(receive))
            try:
                await asyncio.wait({pump, hung_up}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                hung_up.cancel()
                if not pump.done():
                    pump.cancel()  # closing `chunks` below then kills ffmpeg
                    with contextlib.suppress(asyncio.CancelledError):
                        await pump
            if pump.done() and not pump.cancelled():
                # An error after the status was sent: the server cuts the connection, so the
                # client does not take a truncated file for a whole one.
                pump.result()

    @staticmethod
    async def _pump(first: bytes, chunks: AsyncGenerator[bytes, None], send: Send) -> None:
        data = first
        while data:
            await send({"type": "http.response.body", "body": data, "more_body": True})
            data = await anext(chunks, b"")
        await send({"type": "http.response.body", "body": b""})
