"""The SOURCE of `audio-service batch`: a folder of articles, a JSON Lines file or an RSS/Atom
feed (a file or an http(s) URL), read into one `SourceItem` per article.

A problem with the SOURCE as a whole raises InputError; a problem with one article becomes a
SourceItem with `error` set, so one bad item never stops the others.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import time
import urllib.parse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import feedparser  # type: ignore[import-untyped,unused-ignore]
import httpx

from audio_service import ids
from audio_service.article import Article, load_article, parse_html, parse_json
from audio_service.errors import InputError
from audio_service.text.byline import BY_PREFIX
from audio_service.text.clean import clean_text

#: What a batch article id looks like (also a safe file name on every platform).
ARTICLE_ID_PATTERN = ids.ARTICLE_ID_RE
MAX_ID_CHARS = 128
FOLDER_SUFFIXES = (".json", ".txt", ".html")
JSONL_SUFFIXES = (".jsonl", ".ndjson")
FEED_SUFFIXES = (".xml", ".rss", ".atom")
FETCH_TIMEOUT_S = 20.0
ACCEPTS = (
    "SOURCE must be a folder of .json/.txt/.html articles, a .jsonl/.ndjson file, "
    "an RSS or Atom feed file (.xml/.rss/.atom), or an http(s) feed URL"
)
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_FEED_START = (b"<rss", b"<feed", b"<?xml")
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class SourceItem:
    """One article of a SOURCE, or why it could not be read."""

    id: str
    article: Article | None  # None when the item could not be read
    error: str | None = None  # why, e.g. "line 7: not valid JSON (Expecting value)"
    origin: str = ""  # file path, "file.jsonl:7" or the entry link, for messages


def safe_id(raw: str) -> str:
    """`raw` (a path, guid or URL) as an id matching ARTICLE_ID_PATTERN."""
    text = raw.strip()
    url = urllib.parse.urlsplit(text)
    if url.scheme.lower() in ("http", "https") and url.netloc:
        # The path says which story; the host is the same for every item of a feed.
        parts = [p for p in url.path.split("/") if p] or [url.netloc]
        if url.query:
            parts.append(url.query)
        while len(parts) > 1 and len("-".join(parts)) > MAX_ID_CHARS:
            parts.pop(0)  # keep the last segments, the most specific ones
        text = "-".join(parts)
    cleaned = _UNSAFE.sub("-", text).strip("-._")[:MAX_ID_CHARS].rstrip("-._")
    if not cleaned:
        return "item-" + hashlib.sha256(raw.encode()).hexdigest()[:16]
    return cleaned


def _dedupe(items: list[SourceItem]) -> list[SourceItem]:
    """Give a repeated id "-2", "-3"... in order (case-insensitively, for file systems)."""
    seen: set[str] = set()
    out: list[SourceItem] = []
    for item in items:
        new_id, number = item.id, 1
        while new_id.lower() in seen:
            number += 1
            suffix = f"-{number}"
            new_id = item.id[: MAX_ID_CHARS - len(suffix)].rstrip("-._") + suffix
        seen.add(new_id.lower())
        out.append(item if new_id == item.id else replace(item, id=new_id))
    return out


# --- folder and JSON Lines ------------------------------------------------------------------


def _read_folder(root: Path, max_chars: int) -> list[SourceItem]:
    files = [
        path
        for path in root.rglob("*")
        if path.suffix.lower() in FOLDER_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(root).parts)
        and path.is_file()
    ]
    items = []
    for path in sorted(files, key=lambda p: p.relative_to(root).as_posix()):
        article_id = safe_id("-".join(path.relative_to(root).with_suffix("").parts))
        try:
            article = load_article(path, max_chars=max_chars)
        except InputError as exc:
            items.append(SourceItem(article_id, None, str(exc), str(path)))
        else:
            items.append(SourceItem(article_id, article, origin=str(path)))
    return items


def _jsonl_item(raw: bytes, number: int, max_chars: int) -> SourceItem:
    fallback = f"line-{number}"
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return SourceItem(fallback, None, f"line {number}: not valid JSON ({why})")
    if not isinstance(obj, dict):
        kind = type(obj).__name__
        return SourceItem(fallback, None, f"line {number}: not a JSON object ({kind})")
    raw_id = obj.get("id")
    article_id = safe_id(raw_id) if isinstance(raw_id, str) and raw_id.strip() else fallback
    try:
        return SourceItem(article_id, parse_json(raw, max_chars=max_chars))
    except InputError as exc:
        return SourceItem(article_id, None, f"line {number}: {exc}")


def _read_jsonl(path: Path, max_chars: int) -> list[SourceItem]:
    items = []
    try:
        with path.open("rb") as handle:
            for number, line in enumerate(handle, start=1):
                line = line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line
                if line.strip():
                    item = _jsonl_item(line, number, max_chars)
                    items.append(replace(item, origin=f"{path}:{number}"))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    return items


# --- feeds ----------------------------------------------------------------------------------


def _fetch(url: str, max_bytes: int) -> tuple[bytes, dict[str, str]]:
    """The body of a 2xx response (at most max_bytes) and the headers feedparser can use."""
    chunks: list[bytes] = []
    size = 0
    headers = {"user-agent": "audio-service batch", "accept": "application/rss+xml, */*"}
    try:
        with (
            httpx.Client(follow_redirects=True, timeout=FETCH_TIMEOUT_S, headers=headers) as client,
            client.stream("GET", url) as response,
        ):
            if not response.is_success:
                raise InputError(f"cannot fetch feed {url}: HTTP {response.status_code}")
            too_large = InputError(f"feed {url} is too large: the limit is {max_bytes} bytes")
            if int(response.headers.get("content-length") or 0) > max_bytes:
                raise too_large
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                chunks.append(chunk)
            meta = {"content-location": str(response.url)}
            if "content-type" in response.headers:
                meta["content-type"] = response.headers["content-type"]
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise InputError(f"cannot fetch feed {url}: {str(exc) or type(exc).__name__}") from exc
    return b"".join(chunks), meta


def _body_html(entry: Any) -> str:
    """The entry's longest HTML content, else any content, else its summary, as HTML."""
    contents = [c for c in entry.get("content") or [] if (c.get("value") or "").strip()]
    html_ones = [c for c in contents if c.get("type", "text/html") in _HTML_TYPES]
    details = [max(html_ones or contents, key=lambda c: len(c["value"]))] if contents else []
    if not details and (entry.get("summary") or "").strip():
        details = [entry.get("summary_detail") or {"value": entry["summary"]}]
    if not details:
        return ""
    value: str = details[0]["value"]
    if details[0].get("type", "text/html") in _HTML_TYPES:
        return value
    blocks = re.split(r"\n\s*\n", value)  # plain text: one paragraph per blank-line block
    return "".join(f"<p>{html.escape(b.strip())}</p>" for b in blocks if b.strip())


def _iso(entry: Any, name: str) -> str:
    # dict.get: FeedParserDict.get would answer "updated" with "published" (deprecated).
    parsed = dict.get(entry, f"{name}_parsed")
    if isinstance(parsed, time.struct_time):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", parsed)  # feedparser gives UTC
    return clean_text(str(dict.get(entry, name) or ""))


def _feed_item(entry: Any, number: int, fallback_origin: str, max_chars: int) -> SourceItem:
    link = str(entry.get("link") or "")
    article_id = safe_id(str(entry.get("id") or link or f"item-{number}"))
    origin = link or f"{fallback_origin}#item-{number}"
    body = _body_html(entry)
    try:
        if not body.strip():
            raise InputError("feed item has no body text")
        article = parse_html(body, title=str(entry.get("title") or ""), max_chars=max_chars)
        if not article.body:
            raise InputError("feed item has no body text")
    except InputError as exc:
        return SourceItem(article_id, None, str(exc), origin)
    author = BY_PREFIX.sub("", clean_text(str(entry.get("author") or "")))
    article = replace(
        article,
        byline=author or article.byline,
        published=_iso(entry, "published") or article.published,
        updated=_iso(entry, "updated") or article.updated,
    )
    return SourceItem(article_id, article, origin=origin)


def _read_feed(
    data: bytes, origin: str, max_chars: int, headers: dict[str, str] | None = None
) -> list[SourceItem]:
    parsed = feedparser.parse(io.BytesIO(data), response_headers=headers or {})
    if not parsed.get("version"):
        problem = parsed.get("bozo_exception")
        detail = f" ({problem})" if problem else ""
        raise InputError(f"{origin} is not an RSS or Atom feed{detail}; {ACCEPTS}")
    entries = parsed.get("entries") or []
    return [_feed_item(entry, n, origin, max_chars) for n, entry in enumerate(entries, start=1)]


def _sniff_feed(path: Path) -> bool:
    with path.open("rb") as handle:
        head = handle.read(1024)
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().lower().startswith(_FEED_START)


# --- entry point ----------------------------------------------------------------------------


def read_source(source: str, *, max_chars: int, max_bytes: int = 20 * 2**20) -> list[SourceItem]:
    """Every article in SOURCE, in a stable order, with unique ids (see the module docstring)."""
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        data, headers = _fetch(source, max_bytes)
        return _dedupe(_read_feed(data, source, max_chars, headers))
    if "://" in source:
        raise InputError(f"unsupported URL scheme {scheme!r} in {source}; {ACCEPTS}")
    path = Path(source)
    if path.is_dir():
        return _dedupe(_read_folder(path, max_chars))
    if not path.is_file():
        raise InputError(f"no such file or folder: {source}; {ACCEPTS}")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        return _dedupe(_read_jsonl(path, max_chars))
    try:
        if suffix not in FEED_SUFFIXES and not _sniff_feed(path):
            raise InputError(f"unsupported SOURCE {source}; {ACCEPTS}")
        if path.stat().st_size > max_bytes:
            raise InputError(f"feed {source} is too large: the limit is {max_bytes} bytes")
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {source}: {exc.strerror or exc}") from exc
    return _dedupe(_read_feed(data, source, max_chars))
