"""Bylines: telling a "By NAME" line from a sentence that starts with "By", and taking the name."""

from __future__ import annotations

import re

from audio_service.text.clean import has_terminal_punctuation

#: "By " at the start of a byline, which the spoken byline leaves out.
BY_PREFIX = re.compile(r"^by\s+", re.IGNORECASE)


def byline_name(line: str) -> str | None:
    """The name from a "By NAME" line, or None for a sentence that merely starts with "By"."""
    match = BY_PREFIX.match(line)
    if match is None:
        return None
    name = line[match.end() :].strip()
    words = name.split()
    if not words or len(words) > 10 or not words[0][0].isupper():
        return None
    if words[0].lower() in {"the", "a", "an", "then", "now", "this", "that", "late", "early"}:
        return None
    return None if has_terminal_punctuation(name) else name
