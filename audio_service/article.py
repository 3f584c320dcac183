"""Article model and loaders for JSON, plain text and HTML input."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Article:
    """A cleaned article: every string here is fit to be spoken (after normalisation)."""

    title: str
    body: tuple[str, ...]  # paragraphs, in order, already cleaned of furniture
    subtitle: str = ""
    byline: str = ""
    published: str = ""  # ISO 8601 where known, else as given
    updated: str = ""
    language: str = ""  # "en-GB", "en-US" or "" (the voice decides)
    voice: str = ""  # voice id requested by the article, or "" for the default
