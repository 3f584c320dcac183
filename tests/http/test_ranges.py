"""Range requests on a real uvicorn: single and multipart 206, ignored ranges, 416, If-Range."""

from __future__ import annotations

import random
import re
from email.utils import formatdate

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.support.delivery import (  # noqa: F401 - fixtures
    DATA,
    SIZE,
    Store,
    client_fixture,
    data_fixture,
    etag_of,
    store_fixture,
    url_fixture,
)


def parse_multipart(response: httpx.Response) -> list[tuple[str, str, bytes]]:
    """(Content-Type, Content-Range, body) of each part of a multipart/byteranges body."""
    match = re.fullmatch(r"multipart/byteranges; boundary=(\S+)", response.headers["content-type"])
    assert match, response.headers["content-type"]
    boundary, body = match[1].encode(), response.content
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    parts = []
    for segment in body[len(boundary) + 2 : -len(boundary) - 8].split(b"\r\n--" + boundary):
        head, _, part = segment.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        fields = dict(line.split(": ", 1) for line in head.decode().split("\r\n"))
        parts.append((fields["Content-Type"], fields["Content-Range"], part))
    return parts


def check_parts(response: httpx.Response, data: bytes) -> set[int]:
    """Every part's bytes equal the file at its Content-Range; returns the byte offsets covered."""
    assert int(response.headers["content-length"]) == len(response.content)
    if response.headers["content-type"].startswith("multipart/"):
        parts = parse_multipart(response)
    else:
        parts = [("audio/mpeg", response.headers["content-range"], response.content)]
    covered: set[int] = set()
    for content_type, content_range, body in parts:
        assert content_type == "audio/mpeg"
        match = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+)", content_range)
        assert match, content_range
        first, last, total = map(int, match.groups())
        assert total == len(data) and body == data[first : last + 1]
        assert not covered & set(range(first, last + 1)), "parts overlap"
        covered |= set(range(first, last + 1))
    return covered


def test_safari_probe_gets_two_bytes(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url, headers={"Range": "bytes=0-1"})
    assert response.status_code == 206 and response.content == data[:2]
    assert response.headers["content-range"] == f"bytes 0-1/{SIZE}"
    assert response.headers["content-length"] == "2"


@pytest.mark.parametrize(
    ("spec", "first", "last"),
    [
        ("bytes=-500", SIZE - 500, SIZE - 1),
        ("bytes=100-", 100, SIZE - 1),
        (f"bytes=1000-{SIZE + 5000}", 1000, SIZE - 1),  # last-byte-pos past the end is clamped
        (f"bytes=-{SIZE + 10}", 0, SIZE - 1),  # a suffix longer than the file is all of it
        (f"bytes={SIZE - 1}-{SIZE - 1}", SIZE - 1, SIZE - 1),
        ("bytes=0-9,10-19", 0, 19),  # adjacent ranges are coalesced into one part
        ("bytes=0-99,-" + str(SIZE), 0, SIZE - 1),  # so are overlapping ones
        (f"bytes=5-9,{SIZE}-", 5, 9),  # an unsatisfiable part is dropped
    ],
)
def test_single_part_ranges(
    client: httpx.Client, url: str, data: bytes, spec: str, first: int, last: int
) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 206, spec
    assert response.headers["content-range"] == f"bytes {first}-{last}/{SIZE}"
    assert response.content == data[first : last + 1]


def test_multiple_ranges_are_multipart(client: httpx.Client, url: str, data: bytes) -> None:
    response = client.get(url, headers={"Range": "bytes=0-9, 200-299,-5"})
    assert response.status_code == 206
    assert [r for _, r, _ in parse_multipart(response)] == [
        f"bytes 0-9/{SIZE}",
        f"bytes 200-299/{SIZE}",
        f"bytes {SIZE - 5}-{SIZE - 1}/{SIZE}",
    ]
    assert check_parts(response, data) == {*range(10), *range(200, 300), *range(SIZE - 5, SIZE)}
    assert client.get(url, headers={"Range": "bytes=0-0"}).status_code == 206  # link still usable


@pytest.mark.parametrize(
    "spec",
    [
        "items=0-1",
        "bytes=abc",
        "bytes=5-2",
        "bytes=-0",
        "bytes=10-19,0-9",
        "bytes=0-1;2-3",
        "bytes=" + ",".join(f"{i * 10}-{i * 10 + 1}" for i in range(17)),
    ],
)
def test_ignored_range_headers_give_the_full_body(
    client: httpx.Client, url: str, data: bytes, spec: str
) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 200 and response.content == data, spec


@pytest.mark.parametrize(
    "spec", [f"bytes={SIZE}-", f"bytes={SIZE + 5}-{SIZE + 10}", f"bytes={SIZE}-{SIZE},{SIZE + 1}-"]
)
def test_unsatisfiable_is_416(client: httpx.Client, url: str, spec: str) -> None:
    response = client.get(url, headers={"Range": spec})
    assert response.status_code == 416 and response.content == b""
    assert response.headers["content-range"] == f"bytes */{SIZE}"
    assert "cache-control" not in response.headers  # a cache must not keep it for the URL


def test_if_range(client: httpx.Client, url: str, data: bytes) -> None:
    last_modified = client.head(url).headers["last-modified"]
    matching = [etag_of(url), last_modified]
    stale = ["W/" + etag_of(url), '"other"', formatdate(0, usegmt=True), "garbage"]
    for value in matching + stale:
        response = client.get(url, headers={"Range": "bytes=10-19", "If-Range": value})
        if value in matching:
            assert response.status_code == 206 and response.content == data[10:20], value
        else:
            assert response.status_code == 200 and response.content == data, value


@given(
    cuts=st.lists(st.integers(0, SIZE + 50), min_size=1, max_size=10, unique=True),
    open_end=st.booleans(),
    suffix=st.none() | st.integers(1, SIZE + 50),
)
@settings(max_examples=120, deadline=None)
def test_random_ranges_match_slices(
    client: httpx.Client, url: str, cuts: list[int], open_end: bool, suffix: int | None
) -> None:
    # Ascending, non-overlapping int-ranges, then an open range or a suffix: the forms werkzeug
    # accepts (it ignores others, e.g. a suffix after an open range, which RFC 9110 allows).
    cuts.sort()
    specs = [f"{a}-{b - 1}" for a, b in zip(cuts[::2], cuts[1::2], strict=False) if b > a]
    wanted = {
        i for a, b in zip(cuts[::2], cuts[1::2], strict=False) for i in range(a, min(b, SIZE))
    }
    if open_end and len(cuts) % 2:
        specs.append(f"{cuts[-1]}-")
        wanted |= set(range(cuts[-1], SIZE))
    elif suffix is not None:
        specs.append(f"-{suffix}")
        wanted |= set(range(max(SIZE - suffix, 0), SIZE))
    if not specs:
        return
    response = client.get(url, headers={"Range": "bytes=" + ",".join(specs)})
    if not wanted:
        assert response.status_code == 416
    else:
        assert response.status_code == 206
        assert check_parts(response, DATA) == wanted


def test_big_file_multipart_spans_chunks(client: httpx.Client, store: Store) -> None:
    data = random.Random(3).randbytes(3 * 1024 * 1024 + 7)
    response = client.get(
        f"/v1/audio/{store.add(data)}.mp3", headers={"Range": "bytes=1-1500000,1600000-3145000,-3"}
    )
    assert response.status_code == 206
    assert check_parts(response, data) == {
        *range(1, 1500001),
        *range(1600000, 3145001),
        *range(len(data) - 3, len(data)),
    }
