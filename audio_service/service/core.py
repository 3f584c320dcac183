"""The composition root: Service holds one running instance's parts, built by build_service().

Building a Service starts nothing; `start()` spawns the synthesis workers and the lease
keeper, `start_jobs()` consumes the shared queue in this process, `close()` stops it all.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from importlib import resources
from pathlib import Path

from audio_service.article import Article, load_article
from audio_service.config import Settings
from audio_service.engines.pool import SynthPool
from audio_service.engines.registry import Engines, VoiceChoice, builtin_engines, choose_voices
from audio_service.jobs.ledger import Ledger
from audio_service.jobs.locks import Locks
from audio_service.jobs.owners import new_owner
from audio_service.jobs.queue import Handler, JobQueue
from audio_service.metrics import Metrics
from audio_service.render.renderer import Renderer
from audio_service.render.script import Scripter
from audio_service.service.lifecycle import Lifecycle
from audio_service.service.podcasts import Podcasts
from audio_service.service.render_queue import LiveRender, RenderQueue
from audio_service.service.runner import JobRunner, Links
from audio_service.states import ArticleStatus, JobState
from audio_service.store.eviction import Evictor
from audio_service.store.index import Index
from audio_service.store.local import AudioStore
from audio_service.voices import Pauses, pick_voice

log = logging.getLogger(__name__)


def example_paths() -> list[Path]:
    """The example articles shipped with the package (written for this project)."""
    folder = resources.files("audio_service").joinpath("examples")
    return sorted(
        Path(str(p)) for p in folder.iterdir() if p.name.endswith((".json", ".txt", ".html"))
    )


@dataclass(frozen=True)
class Speech:
    """Ad-hoc speech: its render key, and either the stored digest or the live render."""

    key: str
    digest: str | None
    live: LiveRender | None
    # Speed the voice's rate could not reach (beyond 80..450 wpm), left to the delivery.
    tempo: float = 1.0


class Service:
    """One running instance: its parts, injected, and what starts and stops them."""

    def __init__(
        self,
        settings: Settings,
        *,
        voices: VoiceChoice,
        pool: SynthPool,
        store: AudioStore,
        index: Index,
        ledger: Ledger,
        locks: Locks,
        jobs: JobQueue,
        links: Links,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.choice = voices
        self.voices, self.default_voice = voices.usable, voices.default
        self.pool, self.store, self.index = pool, store, index
        self.ledger, self.locks, self.jobs = ledger, locks, jobs
        self.metrics = metrics or Metrics()
        self.owner = new_owner()
        self.renderer = Renderer.for_settings(pool, settings)
        self.scripter: Scripter = self.renderer.scripter
        self.evictor = Evictor(store, index, settings.cache_max_mb * 1024 * 1024)
        self.queue = RenderQueue(
            self.renderer,
            store,
            index,
            ledger,
            self.owner,
            concurrency=settings.render_concurrency,
            max_queued=settings.max_queued_renders,
            lease_s=settings.lease_s,
            on_done=self._render_done,
            retry=self._retry_later,
        )
        self.articles = Lifecycle(
            self.renderer,
            store,
            index,
            ledger,
            self.queue,
            self.metrics,
            voices,
            on_refused=self._refused,
        )
        self.runner = JobRunner(
            settings, self.articles, ledger, locks, jobs, self.metrics, self.owner, links
        )
        self.podcasts = Podcasts(settings, self.articles, locks, self.metrics, self.owner)
        self._stopping = threading.Event()
        self._keeper: threading.Thread | None = None

    def start(self) -> Service:
        """Clean up after an earlier run, spawn the synthesis workers and the lease keeper."""
        removed = self.store.clean_temp()
        if removed:
            log.info("removed %d half-written files left by an earlier run", removed)
        self.pool.start()
        self.metrics.job_queue_depth.set_function(self.runner.queue_depth)
        self._keeper = threading.Thread(
            target=self.runner.keep, args=(self._stopping,), name="lease-keeper", daemon=True
        )
        self._keeper.start()
        return self

    def start_jobs(self, threads: int | None = None) -> None:
        """Consume the shared queue here: render and webhook jobs, and the minute tick."""
        r = self.runner
        threads = threads or self.settings.job_threads
        handlers: dict[str, Handler] = {"render": r.run_job, "webhook": r.run_webhook}
        self.jobs.start(threads, handlers, self.podcasts.run_schedule)

    def warm_up(self) -> None:
        """Start engines and calibrate voices now, so the first listener does not wait."""
        self.pool.warm_all()  # every process, the express one too, with its models loaded
        # The voices articles get without asking; others calibrate on their first render.
        for voice in self.choice.defaults():
            self.renderer.gain_db(voice)

    def add_examples(self) -> None:
        """Publish the bundled example articles (ids = file names) so there is audio to play."""
        for path in example_paths():
            article = load_article(path, max_chars=self.settings.max_article_chars)
            self.articles.put(path.stem, article)

    def resume(self) -> int:
        """Queue renders a stopped process left unfinished (their partial files are gone).

        Jobs the ledger shows queued or running are left alone: the queue still holds them,
        another process runs them, or the keeper takes them back when their lease runs out.
        """
        resumed = 0
        for status in (ArticleStatus.QUEUED, ArticleStatus.RENDERING):
            for row in self.index.articles(status):
                job = self.ledger.job(row.render_key)
                if job is not None and job.state in (JobState.QUEUED, JobState.RUNNING):
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
        if self._keeper is not None:
            self._keeper.join(timeout=5)
        with contextlib.suppress(Exception):  # a vanished queue server must not block the exit
            self.resume()
        self.ledger.close()
        self.locks.close()
        self.index.close()

    def _render_done(self, key: str, voice: str, seconds: float, ok: bool) -> None:
        self.metrics.render_done(voice, seconds, ok)
        self.metrics.queue_depth.set(self.queue.depth)
        self.runner.on_render_done(key, ok, self.evict)

    def _retry_later(self, key: str, article_id: str, attempts: int) -> bool:
        return self.runner.retry_later(key, article_id, attempts)

    def _refused(self, article_id: str, key: str) -> None:
        self.runner.refused(article_id, key)

    def relexicon(self, scope: str, word: str) -> int:
        """Re-render, through the job queue, the articles a changed lexicon rule touches;
        returns how many renders were queued."""
        todo = self.articles.relexicon(scope, word)
        queued = sum(self.jobs.enqueue_render(article_id, key) for article_id, key in todo)
        log.info("lexicon %s/%s changed: %d renders queued", scope, word, queued)
        return queued

    def evict(self) -> int:
        evicted = self.evictor.evict()
        self.metrics.evictions.inc(evicted)
        return evicted

    @contextlib.contextmanager
    def sending(self, digest: str) -> Iterator[Path]:
        """Mark a stored file as being sent so eviction leaves it alone meanwhile."""
        with self.evictor.sending(digest) as path:
            yield path

    def speech(self, text: str, voice_id: str, speed: float) -> Speech:
        """Render (or find) text spoken at a speed."""
        voice = pick_voice(self.voices, voice_id)
        tempo = 1.0
        if speed != 1.0:
            # The engine's own rate sounds best; pauses follow it, and what the rate's range
            # cannot reach is left as a tempo change for the delivery (ffmpeg, pitch kept).
            rate = max(80, min(450, round(voice.rate_wpm * speed)))
            reached = rate / voice.rate_wpm
            paused = {
                f.name: round(getattr(voice.pauses, f.name) / reached) for f in fields(Pauses)
            }
            voice = replace(voice, rate_wpm=rate, pauses=Pauses(**paused))
            if abs(speed / reached - 1.0) > 0.02:  # rounding to whole wpm is not worth a transcode
                tempo = speed / reached
        script = self.renderer.script(Article(title="", body=(text,)), voice)
        key = self.renderer.render_key(script)
        stored = self.articles.stored(key)
        if stored is not None:
            self.metrics.cache.labels("hit").inc()
            return Speech(key, stored.digest, None, tempo)
        self.metrics.cache.labels("miss").inc()
        return Speech(key, None, self.queue.submit(key, script), tempo)


def build_service(
    settings: Settings,
    links: Links,
    *,
    engines: Engines | None = None,
    workers: int | None = None,
    metrics: Metrics | None = None,
) -> Service:
    """The parts of a service from its settings (nothing is started: see Service.start)."""
    engines = engines if engines is not None else builtin_engines()
    voices = choose_voices(settings, engines)
    # Workers load the default voices' engines at start; another engine loads in a worker
    # on its first use (Kokoro costs ~2.5 s and ~300 MB per process: not for nothing).
    warm = sorted({v.engine for v in voices.defaults()} & set(engines))
    pool = SynthPool(
        workers or settings.workers,
        settings.synth_timeout_s,
        engines,
        warm=warm,
        express=settings.express_workers,
    )
    database = settings.data_dir / "index.sqlite3"
    ledger = Ledger(database)
    return Service(
        settings,
        voices=voices,
        pool=pool,
        store=AudioStore(settings.data_dir),
        index=Index(database),
        ledger=ledger,
        locks=Locks(database),
        jobs=JobQueue(settings, ledger),
        links=links,
        metrics=metrics,
    )
