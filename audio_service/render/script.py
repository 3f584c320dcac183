"""The Script: an article's spoken segments and lexicon version, made once per render."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from audio_service.article import Article
from audio_service.text.lexicon import Lexicon, load_lexicon
from audio_service.text.normalize import normalize
from audio_service.text.segment import Segment, segment_article
from audio_service.voices import VoiceDef


@dataclass(frozen=True)
class Script:
    """Exactly what will be spoken for one article and voice, and what it was made from.

    Made once per render: the same value keys the cache (Renderer.cache_inputs) and is
    rendered (Renderer.render), so the text pipeline never runs twice for one request.
    """

    article: Article  # as written: the tags and captions come from it
    article_id: str  # "" for ad-hoc speech and podcast parts
    voice: VoiceDef
    locale: str
    segments: tuple[Segment, ...]
    lexicon_version: str  # of the rules this article uses, so a rule elsewhere changes nothing


class Scripter:
    """Writes the script of an article for a voice: segment the written text, then normalise
    and apply the lexicon to each chunk.

    Lexicon rules come from the shipped folder and then the publisher's own (later wins).
    They are cached, and read again when any lexicon file changes, so a rule added by the
    CLI or the API applies to the next render without a restart.
    """

    def __init__(self, *lexicon_dirs: Path) -> None:
        self.lexicon_dirs = lexicon_dirs
        self._lexicons = cache(self._load)
        self._stamp = self._files_stamp()

    def _load(self, locale: str, voice_id: str) -> Lexicon:
        return load_lexicon(self.lexicon_dirs, locale, voice_id)

    def _files_stamp(self) -> tuple[tuple[str, int], ...]:
        return tuple(
            (str(path), path.stat().st_mtime_ns)
            for directory in self.lexicon_dirs
            if directory.is_dir()
            for path in sorted(directory.glob("*.tsv"))
        )

    def reload(self) -> None:
        """Read lexicon files again on next use."""
        self._lexicons.cache_clear()

    def lexicon(self, locale: str, voice: VoiceDef) -> Lexicon:
        stamp = self._files_stamp()
        if stamp != self._stamp:
            self._stamp = stamp
            self.reload()
        return self._lexicons(locale, voice.id)

    @staticmethod
    def locale(article: Article, voice: VoiceDef) -> str:
        return article.language or voice.locale

    def speaker(self, locale: str, voice: VoiceDef) -> Callable[[str], str]:
        lexicon = self.lexicon(locale, voice)
        return lambda text: lexicon.apply(normalize(text, locale))

    def script(self, article: Article, voice: VoiceDef, article_id: str = "") -> Script:
        """The article's script for this voice (the one run of the text pipeline)."""
        locale = self.locale(article, voice)
        lexicon = self.lexicon(locale, voice)
        written = "\n".join((article.title, article.subtitle, article.byline, *article.body))
        segments = segment_article(article, voice, lambda t: lexicon.apply(normalize(t, locale)))
        return Script(
            article=article,
            article_id=article_id,
            voice=voice,
            locale=locale,
            segments=tuple(segments),
            lexicon_version=lexicon.applied_version(written),
        )
