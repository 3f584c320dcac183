"""POST /v1/audio/speech in every OpenAI response_format, its speed, and OpenAI's voice names.

The real eSpeak voices speak (a voices folder holding only them, so these tests neither wait
for nor depend on the neural models); every answer is decoded back with ffmpeg and compared
with the MP3 of the same speech.
"""

from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import time
import tomllib
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import imageio_ffmpeg
import pytest
from starlette.testclient import TestClient

from audio_service.audio.transcode import FORMATS, OUTPUT_RATE_HZ, tempo_filter
from audio_service.http.models import SpeechIn
from audio_service.http.routes.audio import OPENAI_VOICES, openai_voice
from audio_service.voices import VoiceDef, load_voices
from tests.support.inprocess import app_client
from tests.support.media import REPO
from tests.support.service_process import running_service

TEXT = "Markets rallied on Friday after the Chancellor's budget, and sterling rose."
ESPEAK = ("en-gb-espeak", "en-us-espeak")


def espeak_voices(folder: Path) -> Path:
    """A voices folder with only the eSpeak voices (and the shipped lexicon)."""
    folder.mkdir(parents=True, exist_ok=True)
    for voice in ESPEAK:
        shutil.copy(REPO / "voices" / f"{voice}.toml", folder / f"{voice}.toml")
    shutil.copytree(REPO / "voices" / "lexicon", folder / "lexicon", dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    root = tmp_path_factory.mktemp("speech-formats")
    voices = espeak_voices(root / "voices")
    with app_client(root / "data", voices_dir=voices, default_voice="en-us-espeak") as c:
        yield c


def speak(client: TestClient, **fields: object) -> Any:  # Starlette's client: its own Response
    return client.post("/v1/audio/speech", json={"input": TEXT, "voice": "en-gb-espeak", **fields})


def probe(data: bytes, tmp_path: Path, suffix: str) -> tuple[int, int, float, int]:
    """(sample rate, channels, seconds, samples) of encoded audio, as ffmpeg decodes it."""
    path = tmp_path / f"probe.{suffix}"
    path.write_bytes(data)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path)]
    command += ["-f", "s16le", "-c:a", "pcm_s16le", "pipe:1"]
    decoded = subprocess.run(command, capture_output=True, check=True).stdout
    info = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(path)],
        capture_output=True,
        check=False,
    ).stderr.decode()
    stream = next(line for line in info.splitlines() if "Audio:" in line)
    rate = int(stream.split(" Hz")[0].rsplit(" ", 1)[1])
    channels = 1 if " mono" in stream else 2 if " stereo" in stream else 0
    samples = len(decoded) // 2 // max(channels, 1)
    return rate, channels, samples / rate, samples


def test_request_model_offers_exactly_the_transcoder_formats() -> None:
    field = SpeechIn.model_fields["response_format"]
    assert set(typing.get_args(field.annotation)) == set(FORMATS)
    assert field.default == "mp3"


@pytest.mark.parametrize(
    ("fmt", "media_type", "magic"),
    [
        ("wav", "audio/wav", b"RIFF"),
        ("opus", "audio/ogg", b"OggS"),
        ("aac", "audio/aac", b"\xff\xf1"),  # ADTS sync word, MPEG-4, no CRC
        ("flac", "audio/flac", b"fLaC"),
    ],
)
def test_each_format_decodes_to_the_same_speech_at_24khz_mono(
    client: TestClient, tmp_path: Path, fmt: str, media_type: str, magic: bytes
) -> None:
    mp3 = speak(client)
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    _, _, mp3_s, _ = probe(mp3.content, tmp_path, "mp3")
    got = speak(client, response_format=fmt)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == media_type
    assert got.content.startswith(magic)
    rate, channels, seconds, _ = probe(got.content, tmp_path, fmt)
    assert channels == 1
    # Opus always decodes at 48 kHz; the rate it was made from is in its OpusHead.
    assert rate == (48_000 if fmt == "opus" else OUTPUT_RATE_HZ)
    # AAC adds its encoder's priming and padding (a few 1024-sample frames).
    assert abs(seconds - mp3_s) < (0.15 if fmt == "aac" else 0.03), (seconds, mp3_s)


def test_wav_header_is_16_bit_mono_24khz_streamed(client: TestClient) -> None:
    data = speak(client, response_format="wav").content
    riff, riff_size, wave = struct.unpack_from("<4sI4s", data, 0)
    assert (riff, wave) == (b"RIFF", b"WAVE")
    assert riff_size == 0xFFFFFFFF  # sizes unknown while streaming, as a piped WAV has them
    fmt_id, fmt_size, tag, channels, rate, byte_rate, align, bits = struct.unpack_from(
        "<4sIHHIIHH", data, 12
    )
    assert (fmt_id, tag, channels, rate, bits) == (b"fmt ", 1, 1, OUTPUT_RATE_HZ, 16)
    assert (byte_rate, align) == (OUTPUT_RATE_HZ * 2, 2)
    assert data[20 + fmt_size : 24 + fmt_size] == b"data"  # no LIST chunk before the samples


def test_opus_is_ogg_opus_made_from_24khz(client: TestClient) -> None:
    data = speak(client, response_format="opus").content
    head = data.index(b"OpusHead")
    channels = data[head + 9]
    (input_rate,) = struct.unpack_from("<I", data, head + 12)
    assert (channels, input_rate) == (1, OUTPUT_RATE_HZ)


def test_pcm_is_raw_s16le_24khz_with_the_mp3s_length(client: TestClient, tmp_path: Path) -> None:
    _, _, mp3_s, mp3_samples = probe(speak(client).content, tmp_path, "mp3")
    got = speak(client, response_format="pcm")
    assert got.status_code == 200
    assert got.headers["content-type"] == "audio/pcm"
    assert not got.content.startswith((b"RIFF", b"ID3"))
    assert len(got.content) % 2 == 0
    # The MP3's samples at its own rate, resampled to 24 kHz: within a millisecond.
    expected = mp3_s * OUTPUT_RATE_HZ * 2
    assert abs(len(got.content) - expected) <= OUTPUT_RATE_HZ * 2 // 1000, (
        len(got.content),
        mp3_samples,
    )
    again = speak(client, response_format="pcm")
    assert again.content == got.content  # same stored MP3, same transcoder: same bytes


def test_speed_is_applied_and_beyond_the_rate_range_by_tempo(
    client: TestClient, tmp_path: Path
) -> None:
    seconds: dict[float, float] = {}
    for speed in (0.25, 0.5, 1.0, 2.0, 4.0):
        got = speak(client, response_format="flac", speed=speed)
        assert got.status_code == 200, got.text
        seconds[speed] = probe(got.content, tmp_path, "flac")[2]
    assert seconds[0.25] > seconds[0.5] > seconds[1.0] > seconds[2.0] > seconds[4.0]
    # eSpeak's words-a-minute is not exactly linear; each doubling must still be most of one.
    for slow, fast in ((0.5, 1.0), (1.0, 2.0)):
        assert 1.5 < seconds[slow] / seconds[fast] < 2.6, seconds
    # 4x is beyond eSpeak's 450 wpm from 175 wpm: the tempo filter makes up the rest.
    assert seconds[1.0] / seconds[4.0] > 3.0, seconds
    mp3 = speak(client, speed=4.0)
    assert mp3.status_code == 200 and mp3.headers["content-type"] == "audio/mpeg"
    assert abs(probe(mp3.content, tmp_path, "mp3")[2] - seconds[4.0]) < 0.1


def test_tempo_filter_splits_into_stages_atempo_handles_well() -> None:
    assert tempo_filter(1.5) == "atempo=1.500000"
    stages = [float(s.split("=")[1]) for s in tempo_filter(0.2).split(",")]
    assert all(0.5 <= s <= 2.0 for s in stages)
    product = 1.0
    for stage in stages:
        product *= stage
    assert abs(product - 0.2) < 1e-6


@pytest.mark.parametrize(
    ("fields", "code", "needle"),
    [
        ({"response_format": "ogg"}, "invalid_request", "'mp3', 'wav', 'opus', 'aac', 'flac'"),
        ({"response_format": "MP3"}, "invalid_request", "response_format"),
        ({"speed": 0.2}, "invalid_request", "speed"),
        ({"speed": 4.01}, "invalid_request", "speed"),
        ({"speed": "fast"}, "invalid_request", "speed"),
        ({"voice": "nobody"}, "unknown_voice", "alloy"),
    ],
)
def test_bad_requests_get_422_json(
    client: TestClient, fields: dict[str, object], code: str, needle: str
) -> None:
    got = speak(client, **fields)
    assert got.status_code == 422, got.text
    assert got.headers["content-type"] == "application/json"
    error = got.json()["error"]
    assert error["code"] == code and needle in error["message"], error


def test_openai_names_fall_back_to_installed_voices_then_the_default(client: TestClient) -> None:
    # Neither Kokoro nor hibari is in this service's voices: every chain ends at the default.
    default = speak(client, voice="en-us-espeak")
    for name in ("fable", "nova", "onyx"):
        got = speak(client, voice=name, response_format="mp3")
        assert got.status_code == 200, got.text
        assert got.content == default.content, name  # the same render, so the same bytes
    assert speak(client, voice="en-gb-espeak").content != default.content


def _voice(voice_id: str) -> VoiceDef:
    return VoiceDef(id=voice_id, name=voice_id, engine="espeak", engine_voice="en")


def test_openai_chains_take_the_first_usable_voice() -> None:
    every = {v: _voice(v) for chain in OPENAI_VOICES.values() for v in chain}
    assert openai_voice("fable", every, "d") == "en-gb-kokoro-fable"
    assert openai_voice("nova", every, "d") == "en-us-hibari-heart"
    assert openai_voice("onyx", every, "d") == "en-us-kokoro-michael"
    assert openai_voice("Onyx", every, "d") == "en-us-kokoro-michael"
    no_fable = {k: v for k, v in every.items() if k != "en-gb-kokoro-fable"}
    assert openai_voice("fable", no_fable, "d") == "en-gb-kokoro-george"
    no_heart = {k: v for k, v in every.items() if k != "en-us-hibari-heart"}
    assert openai_voice("nova", no_heart, "d") == "en-gb-kokoro-emma"
    assert openai_voice("nova", {}, "d") == "d"
    assert openai_voice("en-gb-espeak", {}, "d") == "en-gb-espeak"  # not an OpenAI name


def test_voice_files_claiming_openai_names_agree_with_the_map() -> None:
    """A voice file's `about.openai` names must have that voice first in OPENAI_VOICES."""
    for path in sorted((REPO / "voices").glob("*.toml")):
        claimed = tomllib.loads(path.read_text()).get("about", {}).get("openai", [])
        for name in claimed:
            assert name in OPENAI_VOICES, (path.name, name)
            assert OPENAI_VOICES[name][0] == path.stem, (path.name, name, OPENAI_VOICES[name])
    assert set(load_voices(REPO / "voices")) >= set(ESPEAK)


def test_openapi_documents_formats_and_the_voice_map(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()["paths"]["/v1/audio/speech"]["post"]
    assert set(doc["responses"]["200"]["content"]) == {f.media_type for f in FORMATS.values()}
    for name, chain in OPENAI_VOICES.items():
        assert f"`{name}` | `{chain[0]}`" in doc["description"]


# --- a real server: live renders followed, and a client that hangs up ---------------------------


def _ffmpeg_children(pid: int) -> list[tuple[int, str]]:
    """(pid, state) of every ffmpeg process descended from `pid` (zombies included)."""
    parents: dict[int, int] = {}
    states: dict[int, tuple[str, str]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        parents[int(entry.name)] = int(ppid)
        states[int(entry.name)] = (name, state)

    def descends(p: int) -> bool:
        while p > 1:
            p = parents.get(p, 0)
            if p == pid:
                return True
        return False

    return [(p, s) for p, (n, s) in states.items() if n.startswith("ffmpeg") and descends(p)]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    root = tmp_path_factory.mktemp("speech-server")
    env = {
        "AUDIO_SERVICE_VOICES_DIR": str(espeak_voices(root / "voices")),
        "AUDIO_SERVICE_WORKERS": "1",
    }
    with running_service(root / "data", env) as svc:
        assert svc.proc is not None
        yield svc.url, svc.proc.pid


def _long_text(seed: str) -> str:
    sentence = f"The {seed} committee examined every line of the spending plan before it voted. "
    return (sentence * 60)[:4000]


def test_live_render_streams_pcm_equal_to_the_stored_answer(server: tuple[str, int]) -> None:
    url, _ = server
    body = {"input": _long_text("harbour"), "voice": "en-gb-espeak", "response_format": "pcm"}
    with httpx.Client(base_url=url, timeout=120) as c:
        first = c.post("/v1/audio/speech", json=body)  # a new text: followed as it renders
        assert first.status_code == 200, first.text
        assert "content-length" not in first.headers
        stored = c.post("/v1/audio/speech", json=body)  # now from the stored MP3
    assert len(first.content) > 60 * OUTPUT_RATE_HZ * 2  # over a minute of speech
    assert first.content == stored.content


def _hang_up_after_first_bytes(
    url: str, body: Mapping[str, object], pid: int
) -> list[tuple[int, str]]:
    """POST from a client with a tiny receive window, read a little, then close the socket.

    Loopback's autotuned buffers can hold minutes of PCM; a 4 KiB window keeps ffmpeg held up
    by the client (its output is far larger than the server's send buffer) until it hangs up.
    Returns the ffmpeg children seen just before hanging up.
    """
    host, port = url.removeprefix("http://").split(":")
    payload = json.dumps(body).encode()
    request = (
        f"POST /v1/audio/speech HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.settimeout(60)
        sock.connect((host, int(port)))
        sock.sendall(request + payload)
        got = b""
        while b"\r\n\r\n" not in got or len(got) < 64 * 1024:
            chunk = sock.recv(4096)
            assert chunk, got[:200]
            got += chunk
        assert got.startswith(b"HTTP/1.1 200"), got[:200]
        return _ffmpeg_children(pid)


def test_client_hanging_up_kills_and_reaps_ffmpeg(server: tuple[str, int]) -> None:
    url, pid = server
    body = {"input": _long_text("river"), "voice": "en-gb-espeak", "response_format": "pcm"}
    with httpx.Client(base_url=url, timeout=120) as c:
        whole = c.post("/v1/audio/speech", json=body)  # stored now, and its size known
    assert len(whole.content) > 8 * 1024 * 1024
    assert _ffmpeg_children(pid) == []
    running = _hang_up_after_first_bytes(url, body, pid)
    assert len(running) == 1 and running[0][1] != "Z", running  # held up, not finished
    deadline = time.monotonic() + 30
    while (left := _ffmpeg_children(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert left == [], left  # neither running nor a zombie
    with httpx.Client(base_url=url, timeout=60) as c:  # and the service goes on serving
        again = c.post("/v1/audio/speech", json={**body, "response_format": "opus"})
        assert again.status_code == 200 and again.content.startswith(b"OggS")
    assert _ffmpeg_children(pid) == []
