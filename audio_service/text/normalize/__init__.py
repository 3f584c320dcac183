"""Normalisation: written news English into the words a newsreader says (en-GB or en-US)."""

from __future__ import annotations

import logging
import re

from audio_service.text.normalize.abbrev import normalize_abbreviations, normalize_roman
from audio_service.text.normalize.acronyms import normalize_acronyms
from audio_service.text.normalize.dates import normalize_dates, normalize_years
from audio_service.text.normalize.money import normalize_money_and_units
from audio_service.text.normalize.numbers import normalize_numbers
from audio_service.text.normalize.web import (
    normalize_markup_and_web,
    normalize_slashes,
    normalize_symbols,
)

logger = logging.getLogger(__name__)

LOCALES = ("en-GB", "en-US")

# "Covid-19", "mid-2022", "over-50s": the hyphen joins a word to a number that is read alone.
# Patterns open with a character rather than a lookbehind so the engine can skip to candidates.
_WORD_NUMBER_HYPHEN_RE = re.compile(r"-(?<=[A-Za-z]{2}-)(?=\d)")
_SPACES_RE = re.compile(r"[ \t]{2,}")
_SPACE_BEFORE_PUNCT_RE = re.compile(r"[ \t]+(?=[,.;:!?](?:\s|$))")
_LINE_EDGE_RE = re.compile(r"[ \t]*\n[ \t]*")
# Emptied clauses leave ", ," behind; one comma gives the same pause.
_REPEATED_PUNCT_RE = re.compile(r"([,;:!?])(?:[ \t]*\1)+")
_LONG_ELLIPSIS_RE = re.compile(r"\.{4,}")
# Cheap tests that a _tidy pass has anything to do; most text needs none of them.
_SPACE_PUNCT_HINT_RE = re.compile(r"[,.;:!?](?<=[ \t][,.;:!?])")
_LINE_EDGE_HINTS = (" \n", "\t\n", "\n ", "\n\t")


def _locale(locale: str) -> str:
    """Anything American is en-US; everything else is read the British way (the default)."""
    return "en-US" if locale.strip().lower().replace("_", "-").startswith("en-us") else "en-GB"


def _tidy(text: str) -> str:
    if "  " in text or "\t" in text:
        text = _SPACES_RE.sub(" ", text)
    if _SPACE_PUNCT_HINT_RE.search(text):
        text = _SPACE_BEFORE_PUNCT_RE.sub("", text)
    text = _REPEATED_PUNCT_RE.sub(r"\1", text)
    if "...." in text:
        text = _LONG_ELLIPSIS_RE.sub("...", text)
    if any(edge in text for edge in _LINE_EDGE_HINTS):
        text = _LINE_EDGE_RE.sub("\n", text)
    return text.strip(" \t")


def normalize(text: str, locale: str = "en-GB") -> str:
    """Turn cleaned news text into plain speakable words, keeping sentence punctuation.

    Pure and deterministic; never raises on a str. The passes run from the most specific
    shape to the most general (addresses, then abbreviations, dates and times, money and
    units, Roman numerals, years, then any remaining number), so each number is claimed by
    the first pass that understands it and later passes only see what is left.
    """
    loc = _locale(locale)
    try:
        text = normalize_markup_and_web(text)
        text = _WORD_NUMBER_HYPHEN_RE.sub(" ", text)
        text = normalize_abbreviations(text, loc)
        text = normalize_dates(text, loc)
        text = normalize_money_and_units(text, loc)
        text = normalize_roman(text, loc)
        text = normalize_symbols(text)
        text = normalize_years(text, loc)
        text = normalize_numbers(text, loc)
        text = normalize_slashes(text)
        text = normalize_acronyms(text)
        return _tidy(text)
    except (ValueError, IndexError, KeyError, RecursionError) as exc:  # pragma: no cover
        # A reading bug must not lose the article: say the text as written instead.
        logger.warning("normalisation failed, using text as written: %s", exc)
        return _tidy(text)
