"""HTTP request header logic for file responses: Range, conditional requests, ETags and dates.

Pure functions of header bytes and the file's validators (strong ETag, mtime, size); nothing here
sends anything. Behaviour worth knowing (all allowed by RFC 9110 section 14):
- Range grammar comes from werkzeug. A Range with an unknown unit or a syntax error is ignored
  (200, full body), and so is one werkzeug refuses: ranges out of ascending order, or ``bytes=-0``.
- Overlapping or adjacent ranges are coalesced; if one range remains the answer is a plain 206.
  More than ``MAX_RANGES`` ranges are ignored (200, full body); unsatisfiable parts are dropped and
  only when none is left is the answer 416 with ``Content-Range: bytes */LEN``.
- A Range on an empty file is ignored (200 with an empty body).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from werkzeug.http import (
    http_date,
    parse_date,
    parse_etags,
    parse_if_range_header,
    parse_range_header,
    quote_etag,
)

#: Beyond this many ranges a request looks like abuse more than seeking; it gets the full body.
MAX_RANGES = 16

_WANTED = frozenset(
    (b"range", b"if-range", b"if-match", b"if-none-match", b"if-modified-since",
     b"if-unmodified-since")
)  # fmt: skip
_SIMPLE_RANGE = re.compile(rb"bytes=(\d+)-(\d*)")


@functools.lru_cache(maxsize=4096)
def http_date_bytes(seconds: int) -> bytes:
    """An IMF-fixdate (``Sun, 06 Nov 1994 08:49:37 GMT``) for Last-Modified, cached."""
    return http_date(seconds).encode("ascii")


def strong_etag(etag: str) -> bytes:
    """The caller's strong ETag, quoted if it came bare."""
    return (etag if etag.startswith('"') else quote_etag(etag)).encode("latin-1")


def request_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[bytes, bytes]:
    """The few request headers this module reads; repeated ones are joined as a list."""
    found: dict[bytes, bytes] = {}
    for name, value in raw:
        if name in _WANTED:
            found[name] = value if name not in found else found[name] + b", " + value
    return found


def byte_ranges(value: bytes, size: int) -> list[tuple[int, int]] | None:
    """Half-open spans to send, ``[]`` when none is satisfiable, None when Range is ignored."""
    if size == 0:
        return None
    # The one shape players send, decided here at a fraction of the general parser's cost.
    if simple := _SIMPLE_RANGE.fullmatch(value):
        begin, last = int(simple[1]), simple[2]
        if last and int(last) < begin:  # werkzeug's syntax error, so ignored the same way
            return None
        return [(begin, min(int(last) + 1, size) if last else size)] if begin < size else []
    parsed = parse_range_header(value.decode("latin-1"))
    if parsed is None or parsed.units != "bytes" or len(parsed.ranges) > MAX_RANGES:
        return None
    spans: list[tuple[int, int]] = []
    for begin, stop in parsed.ranges:
        if begin < 0:  # a suffix longer than the file means the whole file
            spans.append((max(size + begin, 0), size))
        elif begin < size:  # a last-byte-pos past the end is clamped
            spans.append((begin, size if stop is None else min(stop, size)))
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, stop in spans:
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return merged


def precondition(headers: dict[bytes, bytes], etag: bytes, mtime: int) -> int:
    """RFC 9110 section 13.2.2 steps 1-4 for GET/HEAD: 0 to go on, else 412 or 304."""
    tag = etag.decode("latin-1")[1:-1]
    if (if_match := headers.get(b"if-match")) is not None:
        if not parse_etags(if_match.decode("latin-1")).contains(tag):  # strong; `*` matches
            return 412
    elif (since := headers.get(b"if-unmodified-since")) is not None:
        date = parse_date(since.decode("latin-1"))
        if date is not None and mtime > date.timestamp():
            return 412
    if (none_match := headers.get(b"if-none-match")) is not None:
        if parse_etags(none_match.decode("latin-1")).contains_weak(tag):  # weak; `*` matches
            return 304
    elif (since := headers.get(b"if-modified-since")) is not None:
        date = parse_date(since.decode("latin-1"))
        if date is not None and mtime <= date.timestamp():
            return 304
    return 0


def if_range_holds(value: bytes, etag: bytes, mtime: int) -> bool:
    """If-Range: a strong ETag equal to ours, or a date equal to Last-Modified."""
    value = value.strip()
    if value.startswith(b'"'):  # werkzeug drops W/, so compare the raw strong tag ourselves
        return value == etag
    date = parse_if_range_header(value.decode("latin-1")).date
    return date is not None and int(date.timestamp()) == mtime
