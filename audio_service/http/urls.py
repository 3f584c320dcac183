"""The one place that spells the service's URLs: articles, their sidecars, audio, podcast feeds."""

from __future__ import annotations


class Urls:
    """URLs under one base: "" gives the relative URLs the API answers with, a public URL
    (``https://audio.example``) the absolute ones feeds and webhooks need."""

    __slots__ = ("base",)

    def __init__(self, base: str = "") -> None:
        self.base = base.rstrip("/")

    def article(self, article_id: str) -> str:
        return f"{self.base}/v1/articles/{article_id}"

    def article_audio(self, article_id: str) -> str:
        return f"{self.article(article_id)}/audio.mp3"

    def article_timings(self, article_id: str) -> str:
        return f"{self.article(article_id)}/timings.json"

    def article_captions(self, article_id: str) -> str:
        return f"{self.article(article_id)}/captions.vtt"

    def article_player(self, article_id: str) -> str:
        return f"{self.article(article_id)}/player"

    def immutable_audio(self, digest: str) -> str:
        return f"{self.base}/v1/audio/{digest}.mp3"

    def feed(self, feed_id: str) -> str:
        return f"{self.base}/v1/podcasts/{feed_id}/feed.xml"

    def episode_sidecar(self, feed_id: str, date: str, name: str) -> str:
        return f"{self.base}/v1/podcasts/{feed_id}/episodes/{date}/{name}"
