"""The one spelling of every client-given id: article ids, feed ids, lexicon scopes, batch ids.

Each id comes as a pattern body (for messages), an anchored pattern string (for the HTTP layer's
path and field validation, whose regex engine reads ``$`` as the end of text) and a compiled
regex whose ``match`` covers the whole string (Python's ``$`` would accept a trailing newline).
Feed ids and lexicon scopes become file names, so they never start with a dot.
"""

from __future__ import annotations

import re

ARTICLE_ID = r"[A-Za-z0-9._-]{1,128}"
FEED_ID = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}"
LEXICON_SCOPE = r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}"
BATCH_ID = r"[0-9a-f]{16}"


def anchored(body: str) -> str:
    """`body` as a pattern string that must match the whole value (JSON Schema, pydantic)."""
    return f"^{body}$"


def _whole(body: str) -> re.Pattern[str]:
    return re.compile(rf"(?:{body})\Z")


ARTICLE_ID_RE = _whole(ARTICLE_ID)
FEED_ID_RE = _whole(FEED_ID)
LEXICON_SCOPE_RE = _whole(LEXICON_SCOPE)
BATCH_ID_RE = _whole(BATCH_ID)


def is_article_id(value: str) -> bool:
    return ARTICLE_ID_RE.match(value) is not None


def is_feed_id(value: str) -> bool:
    return FEED_ID_RE.match(value) is not None


def is_lexicon_scope(value: str) -> bool:
    return LEXICON_SCOPE_RE.match(value) is not None


def is_batch_id(value: str) -> bool:
    return BATCH_ID_RE.match(value) is not None
