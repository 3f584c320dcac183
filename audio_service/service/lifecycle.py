"""The article's lifecycle: what its audio is right now, and what to do about it (one home).

Every caller that asks "is this article's audio there, rendering, or failed?" asks here: the
HTTP routes (through resolve_audio), the queue's render jobs, batches and the podcast. Nothing
else combines the index, the store and the render queue to answer it.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from audio_service.article import Article, article_from_json, article_to_json
from audio_service.engines.registry import VoiceChoice
from audio_service.errors import NotFoundError, OverloadedError
from audio_service.jobs.ledger import Ledger
from audio_service.metrics import Metrics
from audio_service.render.renderer import Renderer
from audio_service.render.script import Script
from audio_service.service.render_queue import LiveRender, RenderQueue
from audio_service.states import ArticleStatus, JobState
from audio_service.store.index import ArticleRow, Index, RenderRow
from audio_service.store.local import AudioStore
from audio_service.text.lexicon import COMMON_SCOPE
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)

RefusedHook = Callable[[str, str], None]  # (article id, render key) of a refused render


class Start(Enum):
    """When resolve_audio may start a render of the article's latest version."""

    NEVER = "never"  # only look (batch plans, status pages)
    IF_SILENT = "if_silent"  # a listener: only when there is no audio to play meanwhile
    ALWAYS = "always"  # a render job: the latest version must be rendered, a failure retried


@dataclass(frozen=True)
class AudioNow:
    """What an article's audio is at this moment."""

    row: ArticleRow
    current: bool  # the latest version's audio is stored
    digest: str | None  # the audio a listener gets now (the latest, or an earlier version's)
    live: LiveRender | None  # the render of the latest version, here or followed elsewhere
    error: str | None  # why the latest version failed

    @property
    def failed(self) -> bool:
        return self.row.status == ArticleStatus.FAILED and not self.current


@dataclass(frozen=True)
class Recorded:
    row: ArticleRow
    current: bool  # its audio was already there: nothing to render
    script: Script  # made once: it keyed the cache and renders the audio


class Lifecycle:
    """Articles in the index, their audio in the store, their renders in the queue."""

    def __init__(
        self,
        renderer: Renderer,
        store: AudioStore,
        index: Index,
        ledger: Ledger,
        queue: RenderQueue,
        metrics: Metrics,
        voices: VoiceChoice,
        on_refused: RefusedHook | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.index = index
        self.ledger = ledger
        self.queue = queue
        self.metrics = metrics
        self.choice = voices
        self.voices = voices.usable
        self.default_voice = voices.default
        self._on_refused = on_refused

    def voice_for(self, article: Article, voice_id: str | None = None) -> VoiceDef:
        """The asked voice, else the article's own, else the voice of its language."""
        return self.choice.for_article(article.language, voice_id or article.voice)

    def get(self, article_id: str) -> ArticleRow:
        row = self.index.article(article_id)
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return row

    def listing(
        self, status: str | None, query: str | None, after: str | None, limit: int
    ) -> list[ArticleRow]:
        """A page of articles in id order, as the index has them (starts no render)."""
        state = ArticleStatus(status) if status else None
        return self.index.page(status=state, query=query, after=after, limit=limit)

    def stored(self, key: str) -> RenderRow | None:
        """The finished audio of a render key, if the store still has its file."""
        render = self.index.render(key)
        return render if render is not None and self.store.exists(render.digest) else None

    def script(self, article: Article, article_id: str, voice_id: str | None = None) -> Script:
        return self.renderer.script(article, self.voice_for(article, voice_id), article_id)

    def record(self, article_id: str, article: Article) -> Recorded:
        """Store the article's latest version; `current` when its audio is already there."""
        script = self.script(article, article_id)
        key = self.renderer.render_key(script)
        voice = script.voice
        latest = self.index.article(article_id)
        if (
            latest is not None
            and latest.render_key == key
            and latest.status != ArticleStatus.FAILED
        ):
            self.metrics.cache.labels("hit").inc()
            if latest.status == ArticleStatus.READY or self._live_elsewhere(key):
                return Recorded(latest, latest.status == ArticleStatus.READY, script)
        stored = self.stored(key)
        if stored is not None:
            self.metrics.cache.labels("hit").inc()
            self.index.put_article(
                article_id, voice.id, article_to_json(article), key, ArticleStatus.READY
            )
            self.index.publish(key, stored.digest, stored.duration_ms)
            return Recorded(self.get(article_id), True, script)
        self.metrics.cache.labels("miss").inc()
        row = self.index.put_article(
            article_id, voice.id, article_to_json(article), key, ArticleStatus.QUEUED
        )
        return Recorded(row, False, script)

    def _live_elsewhere(self, key: str) -> bool:
        job = self.ledger.job(key)
        return job is not None and job.state in (JobState.QUEUED, JobState.RUNNING)

    def put(self, article_id: str, article: Article) -> ArticleRow:
        """Create or update; only changed content (or voice) leads to a new render, at once."""
        recorded = self.record(article_id, article)
        if not recorded.current:
            self.resolve_audio(recorded.row, Start.ALWAYS, script=recorded.script)
        return self.get(article_id)

    def resolve_audio(
        self, row: ArticleRow, start: Start = Start.IF_SILENT, *, script: Script | None = None
    ) -> AudioNow:
        """The article's audio now; starts (or follows) the latest version's render as
        `start` allows. `script`, when the caller has it, saves making it again."""
        row = self.index.article(row.id) or row  # a render may have published since
        key = row.render_key
        if (done := self.stored(key)) is not None:
            if row.status != ArticleStatus.READY or row.digest != done.digest:
                self.index.publish(key, done.digest, done.duration_ms)
                row = self.get(row.id)
            return AudioNow(row, True, done.digest, None, None)
        serving = row.digest if row.digest and self.store.exists(row.digest) else None
        failed = row.status == ArticleStatus.FAILED
        idle = failed and start is not Start.ALWAYS
        if start is Start.NEVER or idle or (start is Start.IF_SILENT and serving):
            return AudioNow(row, False, serving, self.queue.live(key), row.error)
        if failed or row.status == ArticleStatus.READY:
            # Failed and asked again by a job, or "ready" with its file gone (removed by
            # hand, evicted): the latest version is to be rendered again.
            self.index.set_status(key, ArticleStatus.QUEUED)
            row = self.get(row.id)
        live = self.queue.live(key)
        if live is None:
            if script is None:
                article = article_from_json(row.article_json)
                script = self.renderer.script(article, self.voices[row.voice], row.id)
            try:
                live = self.queue.submit(key, script)
            except OverloadedError as exc:
                self._refused(row, str(exc))
                raise
            self.metrics.queue_depth.set(self.queue.depth)
        if start is Start.IF_SILENT:
            self.queue.want(key)  # a listener waits for it: ahead of renders nobody hears yet
        return AudioNow(row, False, serving, live, None)

    def _refused(self, row: ArticleRow, why: str) -> None:
        """The full queue turned the render away: say so on the article, and hand it to the
        hook (the job runner), which retries it later or reports it; the caller still
        answers 503. Without this the article would read "queued" with nothing queued."""
        error = f"render refused, {why}; it is retried in the background"
        self.index.set_status(row.render_key, ArticleStatus.QUEUED, error)
        if self._on_refused is not None:
            self._on_refused(row.id, row.render_key)

    def relexicon(self, scope: str, word: str) -> list[tuple[str, str]]:
        """After the rule for `word` in lexicon `scope` changed: give every article whose
        audio it changes a new latest version (same text, new render key; the old audio is
        served until the new one publishes). Returns the (article id, render key) pairs
        that need a render; a version whose audio is stored already is published at once.

        Cheap: SQL narrows to articles whose text holds every word of the rule, then only
        those in the rule's scope (common, their locale, their voice) get a script made;
        the render key, which hashes the rules each article uses, says whether it changed.
        """
        parts = [json.dumps(p, ensure_ascii=False)[1:-1] for p in word.split()]
        # LIKE folds ASCII only: match the ASCII runs of a word, a superset of its matches.
        ascii_runs = [run for p in parts for run in re.split(r"[^\x00-\x7f]+", p) if run]
        voice = scope if scope in self.voices else None
        todo: list[tuple[str, str]] = []
        for row in self.index.mentioning(ascii_runs, voice):
            voice_def = self.voices.get(row.voice)
            if voice_def is None:  # its voice was removed: nothing can render it anyway
                continue
            article = article_from_json(row.article_json)
            locale = self.renderer.scripter.locale(article, voice_def)
            if scope not in (COMMON_SCOPE, locale, row.voice):
                continue
            key = self.renderer.render_key(self.renderer.script(article, voice_def, row.id))
            if key == row.render_key or not self.index.rekey(row.id, row.render_key, key):
                continue  # the rule changes nothing here, or a newer version came in
            if (done := self.stored(key)) is not None:
                self.index.publish(key, done.digest, done.duration_ms)
            else:
                todo.append((row.id, key))
        return todo

    def delete(self, article_id: str) -> None:
        row = self.index.delete_article(article_id)
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        if row.digest and not self.index.digest_in_use(row.digest):
            self.store.remove(row.digest)
            self.index.forget_render(row.digest)
