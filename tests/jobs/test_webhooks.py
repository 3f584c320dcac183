"""Webhook signing and delivery, against a real receiver on loopback that verifies signatures."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from audio_service.errors import InputError
from audio_service.jobs.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    WebhookError,
    backoff_s,
    deliver,
    event_body,
    sign,
    validate_callback_url,
    verify,
)
from tests.support.http_server import serve

SECRET = "whsec_test_0123456789"
BODY = event_body(
    "article.ready",
    {"article_id": "a1", "audio_url": "https://example.org/a1.mp3", "title": "Zürich – café"},
    event_id="evt_1",
    created=1_700_000_000.5,
)


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    verified: bool


@dataclass
class Receiver:
    base: str
    received: list[Received] = field(default_factory=list)


def receiver_app(receiver: Receiver) -> Starlette:
    async def hook(request: Request) -> Response:
        body = await request.body()
        header = request.headers.get(SIGNATURE_HEADER, "")
        ok = verify(SECRET, header, body)
        receiver.received.append(Received(dict(request.headers), body, ok))
        return Response(status_code=204 if ok else 401)

    async def status(request: Request) -> Response:
        code = int(request.path_params["code"])
        headers = {"Location": "/hook"} if 300 <= code < 400 else None
        return Response(b"not for you", status_code=code, headers=headers)

    async def slow(request: Request) -> Response:
        await asyncio.sleep(1.5)
        return Response(status_code=200)

    routes = [
        Route("/hook", hook, methods=["POST"]),
        Route("/status/{code:int}", status, methods=["POST"]),
        Route("/slow", slow, methods=["POST"]),
    ]
    return Starlette(routes=routes)


@pytest.fixture(scope="module")
def server() -> Iterator[Receiver]:
    receiver = Receiver(base="")
    with serve(receiver_app(receiver)) as base:
        receiver.base = base
        yield receiver


@pytest.fixture
def receiver(server: Receiver) -> Receiver:
    server.received.clear()
    return server


# --- body and signature ---------------------------------------------------------------------


def test_event_body_is_canonical_utf8_json() -> None:
    expected = (
        '{"created":1700000000.5,"data":{"article_id":"a1","audio_url":"https://example.org/a1.mp3",'
        '"title":"Zürich – café"},"id":"evt_1","type":"article.ready"}'
    ).encode()
    assert expected == BODY
    assert json.loads(BODY)["data"]["title"] == "Zürich – café"
    with pytest.raises(ValueError):
        event_body("article.ready", {}, event_id="e", created=float("nan"))


def test_sign_known_answer() -> None:
    mac = hmac.new(SECRET.encode(), b"1700000000." + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, 1_700_000_000, BODY) == f"t=1700000000,v1={mac}"


def test_sign_needs_a_secret() -> None:
    with pytest.raises(ValueError):
        sign("", 1_700_000_000, BODY)


def test_round_trip() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert verify(SECRET, header, BODY, now=1_700_000_000)
    assert verify(SECRET, header, BODY, now=1_700_000_299)
    assert verify(SECRET, sign(SECRET, int(time.time()), BODY), BODY)  # default: the real clock


def test_tampered_body_and_wrong_secret_fail() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY.replace(b"a1", b"a2"), now=1_700_000_000)
    assert not verify(SECRET, header, BODY + b" ", now=1_700_000_000)
    assert not verify("another secret", header, BODY, now=1_700_000_000)
    assert not verify("", header, BODY, now=1_700_000_000)
    # the timestamp is signed too: moving it invalidates the signature
    moved = header.replace("t=1700000000", "t=1700000100")
    assert not verify(SECRET, moved, BODY, now=1_700_000_100)


def test_stale_and_future_timestamps_fail() -> None:
    header = sign(SECRET, 1_700_000_000, BODY)
    assert not verify(SECRET, header, BODY, now=1_700_000_301)  # replayed too late
    assert not verify(SECRET, header, BODY, now=1_699_999_699)  # from too far in the future
    assert verify(SECRET, header, BODY, now=1_700_000_600, tolerance_s=600)


@pytest.mark.parametrize(
    "header",
    [
        "",
        "garbage",
        "v1=" + "0" * 64,
        "t=1700000000",
        "t=1700000000,v1=",
        "t=1700000000,v1=zz",
        "t=abc,v1=" + "0" * 64,
        "t=-5,v1=" + "0" * 64,
        "t=１７００００００００,v1=" + "0" * 64,  # non-ASCII digits
        "t=" + "1" * 400 + ",v1=" + "0" * 64,  # would overflow a float
        "t=" + "1" * 5000 + ",v1=" + "0" * 64,  # over Python's int-parsing digit limit
        "t=+1700000000,v1={mac}",
        "t= 1700000000,v1={mac}",
        "t=1700000000,t=1700000000,v1={mac}",  # repeated t
        "t=1700000000,v1={MAC}",  # uppercase hex is not what we send
        "t=1700000000,v1={mac}ff",
        "t=1700000000,v2={mac}",
    ],
)
def test_malformed_headers_fail(header: str) -> None:
    mac = sign(SECRET, 1_700_000_000, BODY).rpartition("v1=")[2]
    header = header.format(mac=mac, MAC=mac.upper())
    assert not verify(SECRET, header, BODY, now=1_700_000_000)


def test_extra_entries_and_spaces_are_tolerated() -> None:
    mac = sign(SECRET, 1_700_000_000, BODY).rpartition("v1=")[2]
    header = f"t=1700000000, v1={'0' * 64}, v1={mac}, v0=old"
    assert verify(SECRET, header, BODY, now=1_700_000_000)


# --- delivery against a real server -----------------------------------------------------------


def test_deliver_signed_event(receiver: Receiver) -> None:
    assert deliver(f"{receiver.base}/hook", "article.ready", BODY, SECRET) == 204
    [got] = receiver.received
    assert got.verified
    assert got.body == BODY
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "audio-service-webhook/1"
    assert got.headers[EVENT_HEADER.lower()] == "article.ready"
    assert abs(int(got.headers[SIGNATURE_HEADER.lower()].split(",")[0][2:]) - time.time()) < 60


def test_deliver_with_a_given_client_leaves_it_open(receiver: Receiver) -> None:
    with httpx.Client() as client:
        for _ in range(2):
            assert deliver(f"{receiver.base}/hook", "article.failed", BODY, SECRET, client=client)
        assert not client.is_closed
    assert [r.verified for r in receiver.received] == [True, True]


def test_deliver_without_secret_sends_unsigned(receiver: Receiver) -> None:
    with pytest.raises(WebhookError) as info:
        deliver(f"{receiver.base}/hook", "article.ready", BODY, "")
    assert info.value.status == 401 and not info.value.transient  # our receiver insists
    [got] = receiver.received
    assert SIGNATURE_HEADER.lower() not in got.headers
    assert got.headers[EVENT_HEADER.lower()] == "article.ready"


def test_deliver_wrong_secret_is_rejected_by_receiver(receiver: Receiver) -> None:
    with pytest.raises(WebhookError) as info:
        deliver(f"{receiver.base}/hook", "article.ready", BODY, "not the secret")
    assert info.value.status == 401 and not info.value.transient
    assert [r.verified for r in receiver.received] == [False]


@pytest.mark.parametrize("code", [200, 201, 202])
def test_deliver_2xx_returns_status(receiver: Receiver, code: int) -> None:
    assert deliver(f"{receiver.base}/status/{code}", "article.ready", BODY, SECRET) == code


@pytest.mark.parametrize(
    ("code", "transient"),
    [
        *[(500, True), (502, True), (503, True), (429, True), (408, True)],
        *[(400, False), (401, False), (404, False), (410, False), (301, False), (302, False)],
    ],
)
def test_deliver_error_status(receiver: Receiver, code: int, transient: bool) -> None:
    with pytest.raises(WebhookError) as info:
        deliver(f"{receiver.base}/status/{code}", "article.ready", BODY, SECRET)
    assert info.value.transient is transient
    assert info.value.status == code
    assert info.value.code == "webhook_error"


def test_deliver_connection_refused_is_transient() -> None:
    # A bound socket that never listens: connecting to it is refused, and no one can take the port.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        with pytest.raises(WebhookError) as info:
            deliver(f"http://127.0.0.1:{port}/hook", "article.ready", BODY, SECRET)
    assert info.value.transient and info.value.status is None


def test_deliver_timeout_is_transient(receiver: Receiver) -> None:
    started = time.monotonic()
    with pytest.raises(WebhookError) as info:
        deliver(f"{receiver.base}/slow", "article.ready", BODY, SECRET, timeout_s=0.5)
    assert info.value.transient and info.value.status is None
    assert "timed out" in str(info.value)
    assert time.monotonic() - started < 1.4


@pytest.mark.parametrize(
    "url", ["ftp://example.org/hook", "file:///etc/passwd", "example.org/hook", "http:///nohost"]
)
def test_deliver_bad_url_is_permanent(url: str) -> None:
    with pytest.raises(WebhookError) as info:
        deliver(url, "article.ready", BODY, SECRET)
    assert not info.value.transient


def test_deliver_refuses_bad_event_names(receiver: Receiver) -> None:
    with pytest.raises(ValueError):
        deliver(f"{receiver.base}/hook", "article.ready\r\nX-Evil: 1", BODY, SECRET)
    assert receiver.received == []


# --- callback URLs and backoff --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://example.org/hooks/audio", "http://127.0.0.1:8080/h?x=1", "HTTPS://Example.org"],
)
def test_validate_callback_url_accepts(url: str) -> None:
    assert validate_callback_url(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "",
        "ftp://example.org/hook",
        "javascript:alert(1)",
        "//example.org/hook",
        "https://",
        "http://:80/x",
        "https://example.org:99999/",
        "https://example.org:port/",
        "https://exa mple.org/",
        "https://example.org/\r\nX-Evil: 1",
    ],
)
def test_validate_callback_url_rejects(url: str) -> None:
    with pytest.raises(InputError, match="callback URL"):
        validate_callback_url(url)


def test_backoff_grows_and_is_capped() -> None:
    waits = [backoff_s(n) for n in range(1, 13)]
    assert waits[:4] == [2.0, 4.0, 8.0, 16.0]
    assert all(a <= b for a, b in itertools.pairwise(waits))
    assert waits[-1] == 600.0 and max(waits) == 600.0
    assert backoff_s(5000) == 600.0  # no overflow for absurd attempt counts
    assert backoff_s(3, base_s=1.0, cap_s=3.0) == 3.0
    assert backoff_s(3) == backoff_s(3)  # deterministic
    with pytest.raises(ValueError):
        backoff_s(0)
