"""The text pipeline: Article + voice -> the spoken segments (normalise, lexicon, segment)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path

from audio_service.article import Article
from audio_service.segment import Segment, segment_article
from audio_service.text.lexicon import Lexicon, load_lexicon
from audio_service.text.normalize import normalize
from audio_service.voices import VoiceDef


class Scripter:
    """Writes the script of an article for a voice; caches lexicons until told to reload."""

    def __init__(self, lexicon_dir: Path) -> None:
        self.lexicon_dir = lexicon_dir
        self._lexicons = cache(self._load)

    def _load(self, locale: str, voice_id: str) -> Lexicon:
        return load_lexicon(self.lexicon_dir, locale, voice_id)

    def reload(self) -> None:
        """Read lexicon files again on next use (after a rule was added or removed)."""
        self._lexicons.cache_clear()

    def lexicon(self, locale: str, voice: VoiceDef) -> Lexicon:
        return self._lexicons(locale, voice.id)

    @staticmethod
    def locale(article: Article, voice: VoiceDef) -> str:
        return article.language or voice.locale

    def speaker(self, locale: str, voice: VoiceDef) -> Callable[[str], str]:
        lexicon = self.lexicon(locale, voice)
        return lambda text: lexicon.apply(normalize(text, locale))

    def script(self, article: Article, voice: VoiceDef) -> list[Segment]:
        """Exactly what will be spoken, in order, with the pause after each segment."""
        return segment_article(article, voice, self.speaker(self.locale(article, voice), voice))
