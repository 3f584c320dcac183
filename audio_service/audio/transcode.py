"""Speech re-encoded on the fly for OpenAI-shaped clients: MP3 stream in, one ffmpeg child out."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator
from dataclasses import dataclass

from audio_service.errors import AudioError

#: What OpenAI's speech endpoint sends in every format: 24 kHz mono (its pcm is defined so).
OUTPUT_RATE_HZ = 24_000
CHUNK = 64 * 1024
# ffmpeg's atempo keeps pitch; each stage is kept within the range it is best at.
_TEMPO_STAGE = (0.5, 2.0)


@dataclass(frozen=True)
class Format:
    """One response format: its name in the request, its Content-Type, ffmpeg's output options."""

    name: str
    media_type: str
    ffmpeg_args: tuple[str, ...]


_BITEXACT = ("-map_metadata", "-1", "-fflags", "+bitexact", "-flags:a", "+bitexact")

#: Every response_format of OpenAI's /v1/audio/speech. Bitrates are for mono speech.
FORMATS: dict[str, Format] = {
    # Only re-encoded when a speed needs ffmpeg's tempo filter; otherwise the stored MP3 is sent.
    "mp3": Format("mp3", "audio/mpeg", ("-c:a", "libmp3lame", "-b:a", "64k", "-f", "mp3")),
    # Streamed: RIFF and data sizes are 0xFFFFFFFF ("until the end"), as a piped WAV has them.
    "wav": Format("wav", "audio/wav", ("-c:a", "pcm_s16le", *_BITEXACT, "-f", "wav")),
    "opus": Format(
        "opus", "audio/ogg", ("-c:a", "libopus", "-b:a", "32k", "-application", "voip", "-f", "ogg")
    ),
    "aac": Format("aac", "audio/aac", ("-c:a", "aac", "-b:a", "64k", "-f", "adts")),
    # Streamed: STREAMINFO has no total sample count (allowed: "unknown"), as OpenAI's has.
    "flac": Format("flac", "audio/flac", ("-c:a", "flac", *_BITEXACT, "-f", "flac")),
    "pcm": Format("pcm", "audio/pcm", ("-c:a", "pcm_s16le", "-f", "s16le")),
}


def tempo_filter(tempo: float) -> str:
    """ffmpeg atempo stages whose product is `tempo` (pitch kept), each within 0.5..2."""
    low, high = _TEMPO_STAGE
    stages: list[float] = []
    left = tempo
    while left > high or left < low:
        stage = high if left > high else low
        stages.append(stage)
        left /= stage
    stages.append(left)
    return ",".join(f"atempo={stage:.6f}" for stage in stages)


def command(fmt: Format, tempo: float = 1.0) -> list[str]:
    """The ffmpeg command turning MP3 on stdin into `fmt` on stdout."""
    import imageio_ffmpeg

    # soxr: the better resampler for the voices' 22.05 kHz -> OpenAI's 24 kHz.
    filters = [f"aresample={OUTPUT_RATE_HZ}:resampler=soxr"]
    if tempo != 1.0:
        filters.insert(0, tempo_filter(tempo))
    return [
        imageio_ffmpeg.get_ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-f",
        "mp3",
        "-i",
        "pipe:0",
        "-af",
        ",".join(filters),
        "-ac",
        "1",
        *fmt.ffmpeg_args,
        "pipe:1",
    ]


async def transcode(
    mp3: AsyncGenerator[bytes, None], fmt: Format, tempo: float = 1.0
) -> AsyncGenerator[bytes, None]:
    """`mp3` (possibly still growing) re-encoded as `fmt`, yielded as ffmpeg writes it.

    The child is killed and reaped however this ends: finished, failed, or closed early by a
    consumer whose client hung up (close the generator, e.g. with contextlib.aclosing).
    An error of `mp3` itself is raised here after ffmpeg is stopped.
    """
    proc = await asyncio.create_subprocess_exec(
        *command(fmt, tempo),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdin, stdout, stderr = proc.stdin, proc.stdout, proc.stderr
    if stdin is None or stdout is None or stderr is None:
        raise AudioError("ffmpeg started without its pipes")

    async def feed() -> None:
        try:
            async with contextlib.aclosing(mp3):  # its open file closes with us, even if cut
                async for chunk in mp3:
                    stdin.write(chunk)
                    await stdin.drain()
            stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # ffmpeg stopped reading; its exit status says why
        except BaseException:
            # The source failed: stop ffmpeg so the reader below sees the end, not a hang.
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            raise

    feeder = asyncio.ensure_future(feed())
    errors = asyncio.ensure_future(stderr.read())
    try:
        while chunk := await stdout.read(CHUNK):
            yield chunk
        await feeder  # the source's own error, if it had one
        status = await proc.wait()
        if status != 0:
            message = (await errors).decode(errors="replace")[-500:]
            raise AudioError(f"ffmpeg could not make {fmt.name}: {message or status}")
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            # Shielded: the child is reaped (no zombie) even when this close was a cancellation.
            await asyncio.shield(proc.wait())
        for task in (feeder, errors):
            task.cancel()
        await asyncio.gather(feeder, errors, return_exceptions=True)
