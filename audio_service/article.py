"""Article model and loaders for JSON, plain text and HTML input."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from audio_service.errors import ArticleError, ArticleTooLargeError
from audio_service.text.byline import BY_PREFIX, byline_name
from audio_service.text.clean import clean_text, drop_furniture, has_speakable, load_furniture_rules
from audio_service.text.html import html_article

# 50,000 words of news English is about 330,000 characters; markup needs room on top.
MAX_ARTICLE_CHARS = 1_000_000
FORMATS = ("json", "text", "html")
_FORMAT_ALIASES = {"txt": "text", "md": "text", "markdown": "text", "htm": "html"}
_EXTENSIONS = {
    ".json": "json",
    ".txt": "text",
    ".md": "text",
    ".markdown": "text",
    ".html": "html",
    ".htm": "html",
}


@dataclass(frozen=True)
class Article:
    """A cleaned article: every string here is fit to be spoken (after normalisation)."""

    title: str
    body: tuple[str, ...]  # paragraphs, in order, already cleaned of furniture
    subtitle: str = ""
    byline: str = ""  # the name(s) only, without a leading "By"
    published: str = ""  # ISO 8601 where known, else as given
    updated: str = ""
    language: str = ""  # "en-GB", "en-US" or "" (the voice decides)
    voice: str = ""  # voice id requested by the article, or "" for the default


# --- shared steps -------------------------------------------------------------------------

_LANGUAGES = {"en-gb": "en-GB", "en-uk": "en-GB", "en-us": "en-US", "en": ""}


def _decode(data: bytes | str, max_chars: int) -> str:
    if isinstance(data, bytes):
        # UTF-8 needs at most 4 bytes a character: reject the hopeless before decoding.
        if len(data) > 4 * max_chars:
            raise ArticleTooLargeError(
                f"article is too large: {len(data)} bytes, the limit is {max_chars} characters"
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ArticleError(f"article is not valid UTF-8 (byte {exc.start})") from None
    else:
        text = data
    if len(text) > max_chars:
        raise ArticleTooLargeError(
            f"article is too large: {len(text)} characters, the limit is {max_chars} characters"
        )
    return text.removeprefix("\ufeff")


def _language(value: str) -> str:
    key = value.strip().replace("_", "-").lower()
    if key in _LANGUAGES:
        return _LANGUAGES[key]
    if not key or key.startswith("en-"):
        return ""  # another English: the voice's own locale reads it well enough
    raise ArticleError(f"field 'language' must be en-GB, en-US or en, not {value!r}")


def _finish(
    title: str,
    paragraphs: list[str],
    *,
    fmt: str,
    subtitle: str = "",
    byline: str = "",
    published: str = "",
    updated: str = "",
    language: str = "",
    voice: str = "",
) -> Article:
    """Drop furniture from cleaned fields, and refuse an article with nothing to say."""
    rules = load_furniture_rules()
    speakable = [p for p in paragraphs if has_speakable(p)]
    body = drop_furniture(speakable, rules, headlines=fmt in rules.headline_formats)
    article = Article(
        title=title,
        body=tuple(body),
        subtitle=subtitle,
        byline=BY_PREFIX.sub("", byline),
        published=published,
        updated=updated,
        language=_language(language),
        voice=voice,
    )
    if not has_speakable(article.title) and not article.body:
        raise ArticleError("article has no speakable text")
    return article


# --- JSON -----------------------------------------------------------------------------------

_HTML_BLOCK = re.compile(
    r"<(?:p|div|br|h[1-6]|blockquote|ul|ol|li|section|article|figure|table)\b", re.IGNORECASE
)
_BLANK_LINE = re.compile(r"\n[ \t\f\v\u00a0]*\n")


def _string(obj: dict[str, Any], name: str) -> str:
    value = obj.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ArticleError(f"field {name!r} must be a string, not {type(value).__name__}")
    return value


def _split_blocks(text: str) -> list[str]:
    """Paragraphs separated by blank lines; line breaks inside one are just spaces."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return [block for block in _BLANK_LINE.split(text) if block.strip()]


def parse_json(data: bytes | str, *, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """A JSON object: title, body (text, list of paragraphs or HTML) and optional metadata."""
    text = _decode(data, max_chars)
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ArticleError(
            f"article is not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:
        raise ArticleError(f"article is not valid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise ArticleError(f"a JSON article must be an object, not {type(obj).__name__}")
    if "body" not in obj:
        raise ArticleError("field 'body' is required")
    title = _string(obj, "title")
    body = obj["body"]
    if isinstance(body, list):
        paragraphs: list[str] = []
        for index, item in enumerate(body):
            if not isinstance(item, str):
                raise ArticleError(
                    f"field 'body' item {index} must be a string, not {type(item).__name__}"
                )
            paragraphs.extend(clean_text(p) for p in _split_blocks(item))
    elif isinstance(body, str):
        if _HTML_BLOCK.search(body):
            title, paragraphs, _ = html_article(body, clean_text(title))
        else:
            paragraphs = [clean_text(p) for p in _split_blocks(body)]
    elif body is None:
        paragraphs = []
    else:
        raise ArticleError(
            f"field 'body' must be a string or a list of strings, not {type(body).__name__}"
        )
    return _finish(
        clean_text(title),
        paragraphs,
        fmt="json",
        **{
            name: clean_text(_string(obj, name))
            for name in ("subtitle", "byline", "published", "updated", "language", "voice")
        },
    )


# --- plain text -----------------------------------------------------------------------------

_MONTH = (
    r"(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_WEEKDAY = r"(?:(?:mon|tue|wed|thu|fri|sat|sun)[a-z]{0,6}\.?,?\s+)?"
_TIME = (
    r"(?:,?\s*(?:at\s+)?(?P<h>\d{1,2})[:.](?P<mi>\d{2})\s*(?P<ampm>[ap]\.?m\.?)?"
    r"(?:\s*(?:[A-Z]{2,4}|\([A-Z]{2,4}\)))?)?"
)
_DATES = tuple(
    re.compile(_WEEKDAY + pattern + _TIME, re.IGNORECASE)
    for pattern in (
        r"(?P<d>\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+(?P<y>\d{4})",
        _MONTH + r"\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y>\d{4})",
        r"(?P<y>\d{4})-(?P<m>\d{2})-(?P<d>\d{2})",
    )
)
_DATE_LABEL = re.compile(
    r"^(?P<label>(?:first\s+)?published|posted|(?:last\s+)?updated|modified)"
    r"(?:\s+(?:on|at))?\s*:?\s*",
    re.IGNORECASE,
)
_DATE_PARTS = re.compile(r"\s*[|\u2022\u00b7]\s*|\s+(?=(?:last\s+)?updated\b)", re.IGNORECASE)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")


def _date(text: str) -> str | None:
    """One date (and time) written out in full -> ISO 8601, or None if it is anything else."""
    for pattern in _DATES:
        match = pattern.fullmatch(text.strip())
        if match is None:
            continue
        parts = match.groupdict()
        month = int(parts["m"]) if parts.get("m") else _MONTHS.index(parts["mon"][:3].lower()) + 1
        hour = int(parts["h"] or 0)
        if parts["ampm"]:
            hour = hour % 12 + (12 if parts["ampm"][0].lower() == "p" else 0)
        try:
            when = datetime(int(parts["y"]), month, int(parts["d"]), hour, int(parts["mi"] or 0))
        except ValueError:
            return None
        return when.strftime("%Y-%m-%dT%H:%M" if parts["h"] else "%Y-%m-%d")
    return None


def _dateline(line: str) -> tuple[str, str] | None:
    """(published, updated) when the whole line is dates, labels and separators."""
    if len(line.split()) > 16 or not any(ch.isdigit() for ch in line):
        return None
    published = updated = ""
    for part in _DATE_PARTS.split(line):
        label = _DATE_LABEL.match(part)
        when = _date(part[label.end() :] if label else part)
        if when is None:
            return None
        if label and label["label"].lower().endswith(("updated", "modified")):
            updated = updated or when
        elif not published:
            published = when
        else:
            updated = updated or when
    return published, updated


def parse_text(data: bytes | str, *, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """Plain text or markdown: title line, optional dateline/byline/standfirst, paragraphs."""
    rules = load_furniture_rules()
    lines = _decode(data, max_chars).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    # The title is the first line; a furniture line above it ("Advertisement") is not.
    title, number = "", 0
    while number < len(lines) and not title:
        title = clean_text(lines[number])
        number += 1
        if not has_speakable(title) or rules.is_furniture(title):
            title = ""
    if not title:
        raise ArticleError("article has no speakable text")
    rest = [clean_text(b) for b in _split_blocks("\n".join(lines[number:]))]
    fields = {"published": "", "updated": "", "byline": "", "subtitle": ""}
    # Header lines sit between the title and the byline; a standfirst counts only when a
    # byline closes the header, so a story's first paragraph is never taken for one.
    window = rest[:4]
    closing = next((i for i, b in enumerate(window) if byline_name(b) is not None), -1)
    start = 0
    for index, block in enumerate(window):
        dates = _dateline(block)
        if dates is not None:
            fields["published"] = fields["published"] or dates[0]
            fields["updated"] = fields["updated"] or dates[1]
        elif rules.is_furniture(block):
            pass
        elif index == closing:
            fields["byline"] = byline_name(block) or ""
        elif index < closing and not fields["subtitle"] and len(block.split()) <= 60:
            fields["subtitle"] = block
        else:
            break
        start = index + 1
    return _finish(title, rest[start:], fmt="text", **fields)


# --- HTML -----------------------------------------------------------------------------------


def parse_html(
    data: bytes | str, title: str = "", *, max_chars: int = MAX_ARTICLE_CHARS
) -> Article:
    """An HTML article body: paragraphs, crossheads, quotes and list items, without furniture."""
    title, paragraphs, fields = html_article(_decode(data, max_chars), clean_text(title))
    return _finish(title, paragraphs, fmt="html", **fields)


# --- entry points ---------------------------------------------------------------------------


def parse_article(data: bytes | str, fmt: str, *, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """Parse an article in one of FORMATS ("json", "text", "html")."""
    fmt = _FORMAT_ALIASES.get(fmt.lower(), fmt.lower())
    if fmt == "json":
        return parse_json(data, max_chars=max_chars)
    if fmt == "text":
        return parse_text(data, max_chars=max_chars)
    if fmt == "html":
        return parse_html(data, max_chars=max_chars)
    raise ArticleError(f"unknown article format {fmt!r}; expected one of {', '.join(FORMATS)}")


def load_article(path: Path, *, max_chars: int = MAX_ARTICLE_CHARS) -> Article:
    """Read an article file; the extension (.json, .txt, .md, .html, .htm) says the format."""
    fmt = _EXTENSIONS.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(_EXTENSIONS))
        raise ArticleError(f"{path.name}: unknown article extension; expected one of {known}")
    try:
        if path.stat().st_size > 4 * max_chars:
            raise ArticleTooLargeError(
                f"{path.name} is too large: the limit is {max_chars} characters"
            )
        data = path.read_bytes()
    except OSError as exc:
        raise ArticleError(f"cannot read article {path}: {exc.strerror or exc}") from exc
    return parse_article(data, fmt, max_chars=max_chars)


def article_to_json(article: Article) -> str:
    """The stored form of an article (the index keeps each article's latest version)."""
    return json.dumps(asdict(article), ensure_ascii=False, sort_keys=True)


def article_from_json(data: str) -> Article:
    raw = json.loads(data)
    raw["body"] = tuple(raw["body"])
    return Article(**raw)
