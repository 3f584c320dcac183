"""The service behind the HTTP API: articles, renders, the store and eviction, without HTTP."""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from audio_service.article import Article, load_article
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import ENGINES, usable_voices
from audio_service.errors import NotFoundError
from audio_service.jobs.ledger import Ledger, new_owner
from audio_service.jobs.queue import JobQueue
from audio_service.metrics import Metrics
from audio_service.render.renderer import Renderer
from audio_service.service.render_queue import LiveRender, RenderQueue
from audio_service.service.runner import QueueJobs
from audio_service.store.index import ArticleRow, Index
from audio_service.store.local import AudioStore
from audio_service.voices import VoiceDef, load_voices, pick_voice

log = logging.getLogger(__name__)


def example_paths() -> list[Path]:
    """The example articles shipped with the package (written for this project)."""
    folder = resources.files("audio_service").joinpath("examples")
    return sorted(
        Path(str(p)) for p in folder.iterdir() if p.name.endswith((".json", ".txt", ".html"))
    )


def article_to_json(article: Article) -> str:
    return json.dumps(asdict(article), ensure_ascii=False, sort_keys=True)


def article_from_json(data: str) -> Article:
    raw = json.loads(data)
    raw["body"] = tuple(raw["body"])
    return Article(**raw)


class Service(QueueJobs):
    """Owns the pool, renderer, store, index and queue of one running service."""

    def __init__(self, settings: Settings, *, workers: int | None = None) -> None:
        self.settings = settings
        self.voices, self.default_voice = usable_voices(
            load_voices(settings.voices_dir), settings.default_voice
        )
        self.metrics = Metrics()
        self.store = AudioStore(settings.data_dir)
        removed = self.store.clean_temp()
        if removed:
            log.info("removed %d half-written files left by an earlier run", removed)
        self.index = Index(settings.data_dir / "index.sqlite3")
        engines = sorted({v.engine for v in self.voices.values()} & set(ENGINES))
        self.pool = SynthPool(
            workers or settings.workers, settings.synth_timeout_s, ENGINES, warm=engines
        )
        self.renderer = Renderer.for_settings(self.pool, settings)
        self.scripter = self.renderer.scripter
        self.ledger = Ledger(settings.data_dir / "index.sqlite3")
        self.owner = new_owner()
        self.jobs = JobQueue(settings, self.ledger)
        self.queue = RenderQueue(
            self.renderer,
            self.store,
            self.index,
            self.ledger,
            self.owner,
            concurrency=settings.render_concurrency,
            max_queued=settings.max_queued_renders,
            lease_s=settings.lease_s,
            on_done=self._render_done,
            retry=self._retry_later,
        )
        self._sending: Counter[str] = Counter()
        self._sending_lock = threading.Lock()
        self.metrics.job_queue_depth.set_function(self._queue_depth)
        self._stopping = threading.Event()
        self._last_tick = datetime.now(UTC)
        self._keeper = threading.Thread(target=self._keep, name="lease-keeper", daemon=True)
        self._keeper.start()

    def warm_up(self) -> None:
        """Start engines and calibrate voices now, so the first listener does not wait."""
        for voice in self.voices.values():
            if voice.engine in ENGINES:
                self.renderer.gain_db(voice)

    def add_examples(self) -> None:
        """Publish the bundled example articles (ids = file names) so there is audio to play."""
        for path in example_paths():
            article = load_article(path, max_chars=self.settings.max_article_chars)
            self.put_article(path.stem, article)

    def resume(self) -> int:
        """Queue renders a stopped process left unfinished (their partial files are gone).

        Jobs the ledger shows queued or running are left alone: the queue still holds them,
        another process runs them, or the keeper takes them back when their lease runs out.
        """
        resumed = 0
        for status in ("queued", "rendering"):
            for row in self.index.articles(status):
                job = self.ledger.job(row.render_key)
                if job is not None and job.state in ("queued", "running"):
                    continue
                if self.jobs.enqueue_render(row.id, row.render_key):
                    resumed += 1
        return resumed

    def close(self) -> None:
        # Stopping the pool makes running renders fail fast; they go back on the shared queue
        # (resume), where another worker, or this one's next start, takes them.
        self._stopping.set()
        self.jobs.stop(timeout_s=0)
        self.queue.close()
        self.pool.close()
        self.queue.join()
        self.jobs.stop(timeout_s=5)
        self._keeper.join(timeout=5)
        with contextlib.suppress(Exception):  # a vanished queue server must not block the exit
            self.resume()
        self.ledger.close()
        self.index.close()

    def _render_done(self, key: str, voice: str, seconds: float, ok: bool) -> None:
        self.metrics.render_done(voice, seconds, ok)
        self.metrics.queue_depth.set(self.queue.depth)
        if ok:
            self.evict()
        job = self.ledger.job(key)
        if ok or (job is not None and job.state == "failed"):
            self.notify(key, "article.ready" if ok else "article.failed")

    # Articles

    def voice_for(self, article: Article, voice_id: str | None = None) -> VoiceDef:
        return pick_voice(self.voices, voice_id or article.voice or self.default_voice.id)

    def render_key(self, article: Article, voice: VoiceDef, article_id: str) -> str:
        inputs = self.renderer.cache_inputs(article, voice, article_id)
        blob = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    def put_article(self, article_id: str, article: Article) -> ArticleRow:
        """Create or update; only changed content (or voice) leads to a new render, at once."""
        row, current = self.record(article_id, article)
        if not current:
            self.ensure_render(row)
        return self.get(article_id)

    def record(self, article_id: str, article: Article) -> tuple[ArticleRow, bool]:
        """Store the article's latest version; True when its audio is already current."""
        voice = self.voice_for(article)
        key = self.render_key(article, voice, article_id)
        current = self.index.article(article_id)
        if current is not None and current.render_key == key and current.status != "failed":
            self.metrics.cache.labels("hit").inc()
            if current.status == "ready" or self._live_elsewhere(key):
                return current, current.status == "ready"
        stored = self.index.render(key)
        if stored is not None and self.store.exists(stored.digest):
            self.metrics.cache.labels("hit").inc()
            self.index.put_article(article_id, voice.id, article_to_json(article), key, "ready")
            self.index.publish(key, stored.digest, stored.duration_ms)
            return self.get(article_id), True
        self.metrics.cache.labels("miss").inc()
        row = self.index.put_article(article_id, voice.id, article_to_json(article), key, "queued")
        return row, False

    def _live_elsewhere(self, key: str) -> bool:
        job = self.ledger.job(key)
        return job is not None and job.state in ("queued", "running")

    def get(self, article_id: str) -> ArticleRow:
        row = self.index.article(article_id)
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return row

    def ensure_render(self, row: ArticleRow) -> LiveRender | None:
        """The live render of the article's latest version, starting one if none runs.

        The row is read again: a render that finished since the caller read it has already
        published (it publishes before it leaves the queue), so it is not started twice.
        """
        row = self.index.article(row.id) or row
        if row.status in ("ready", "failed"):
            return None
        live = self.queue.live(row.render_key)
        if live is None:
            article = article_from_json(row.article_json)
            live = self.queue.submit(row.render_key, article, self.voices[row.voice], row.id)
            self.metrics.queue_depth.set(self.queue.depth)
        return live

    def requeue(self, row: ArticleRow) -> ArticleRow:
        """The article's audio went missing (evicted): mark its latest version for rendering."""
        self.index.set_status(row.render_key, "queued")
        return self.get(row.id)

    def delete(self, article_id: str) -> None:
        row = self.index.delete_article(article_id)
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        if row.digest and not self.index.digest_in_use(row.digest):
            self.store.remove(row.digest)
            self.index.forget_render(row.digest)

    # Ad-hoc speech

    def speech(
        self, text: str, voice_id: str, speed: float
    ) -> tuple[str, str | None, LiveRender | None]:
        """Render (or find) text spoken at a speed: (key, stored digest, live render)."""
        voice = pick_voice(self.voices, voice_id)
        if speed != 1.0:
            voice = replace(voice, rate_wpm=max(80, min(450, round(voice.rate_wpm * speed))))
        article = Article(title="", body=(text,))
        key = self.render_key(article, voice, "")
        stored = self.index.render(key)
        if stored is not None and self.store.exists(stored.digest):
            self.metrics.cache.labels("hit").inc()
            return key, stored.digest, None
        self.metrics.cache.labels("miss").inc()
        return key, None, self.queue.submit(key, article, voice)

    # Sending and eviction

    @contextlib.contextmanager
    def sending(self, digest: str) -> Iterator[Path]:
        """Mark a stored file as being sent so eviction leaves it alone meanwhile."""
        with self._sending_lock:
            self._sending[digest] += 1
        try:
            self.index.touch_render(digest)
            yield self.store.path(digest)
        finally:
            with self._sending_lock:
                self._sending[digest] -= 1
                if self._sending[digest] <= 0:
                    del self._sending[digest]

    def evict(self) -> int:
        """Drop least recently used renders over the byte budget.

        An article's current audio is never evicted, nor is a file being sent.
        """
        budget = self.settings.cache_max_mb * 1024 * 1024
        total = self.index.stored_bytes()
        evicted = 0
        if total <= budget:
            return 0
        for render in self.index.renders_by_age():
            if total <= budget:
                break
            with self._sending_lock:
                busy = render.digest in self._sending
            if busy or self.index.digest_in_use(render.digest):
                continue
            self.store.remove(render.digest)
            self.index.forget_render(render.digest)
            total -= render.size
            evicted += 1
        self.metrics.evictions.inc(evicted)
        if total > budget:
            log.warning("audio store over budget (%d bytes) with only current audio left", total)
        return evicted
