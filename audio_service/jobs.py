"""The in-process render queue: bounded, single-flight per render key, followable while running."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from audio_service.article import Article
from audio_service.cache import AudioStore
from audio_service.errors import AudioServiceError, OverloadedError
from audio_service.index import Index
from audio_service.render import Renderer
from audio_service.voices import VoiceDef

log = logging.getLogger(__name__)


@dataclass
class LiveRender:
    """A render in progress. Readers follow `path` while it grows, until `done` is set."""

    key: str
    path: Path | None = None  # the growing .part file, once started
    done: threading.Event = field(default_factory=threading.Event)
    started: threading.Event = field(default_factory=threading.Event)
    digest: str | None = None
    duration_ms: int | None = None
    error: str | None = None
    readers: int = 0

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.error is None


RenderHook = Callable[[str, float, bool], None]  # (voice id, seconds, ok)


class RenderQueue:
    """Runs renders on a few threads; synthesis itself happens in the worker processes.

    The same render key asked for many times at once is rendered exactly once: every
    caller gets the same LiveRender. A full queue refuses work instead of piling it up.
    """

    def __init__(
        self,
        renderer: Renderer,
        store: AudioStore,
        index: Index,
        concurrency: int,
        max_queued: int,
        on_done: RenderHook | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.index = index
        self.max_queued = max_queued
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="render")
        self._lock = threading.Lock()
        self._live: dict[str, LiveRender] = {}
        self._on_done = on_done
        self._closing = threading.Event()

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._live)

    def live(self, key: str) -> LiveRender | None:
        with self._lock:
            return self._live.get(key)

    def submit(
        self, key: str, article: Article, voice: VoiceDef, article_id: str = ""
    ) -> LiveRender:
        with self._lock:
            existing = self._live.get(key)
            if existing is not None:
                return existing
            if len(self._live) >= self.max_queued:
                raise OverloadedError(
                    f"render queue is full ({self.max_queued} renders waiting); try again shortly"
                )
            job = self._live[key] = LiveRender(key=key)
        self._executor.submit(self._run, job, article, voice, article_id)
        return job

    def _run(self, job: LiveRender, article: Article, voice: VoiceDef, article_id: str) -> None:
        partial = self.store.begin(job.key)
        job.path = partial.path
        job.started.set()
        self.index.set_status(job.key, "rendering")
        ok = False
        seconds = 0.0
        try:
            result = self.renderer.render(article, voice, partial, article_id=article_id)
            seconds = result.seconds
            digest = self.store.commit(partial, result.timings.to_json())
            self.index.add_render(job.key, digest, partial.size, result.timings.duration_ms)
            self.index.publish(job.key, digest, result.timings.duration_ms)
            job.digest, job.duration_ms = digest, result.timings.duration_ms
            ok = True
        except Exception as exc:  # a render thread must never die silently
            self.store.abandon(partial)
            if self._closing.is_set():
                # Stopped by a shutdown: left queued, so the next start resumes it.
                job.error = f"service stopped during the render ({type(exc).__name__})"
                self.index.set_status(job.key, "queued")
            elif isinstance(exc, AudioServiceError):
                job.error = str(exc)
                self.index.set_status(job.key, "failed", job.error)
                log.warning("render %s failed: %s", job.key[:12], exc)
            else:
                job.error = f"internal error: {type(exc).__name__}"
                self.index.set_status(job.key, "failed", job.error)
                log.exception("render %s crashed", job.key[:12])
        finally:
            with self._lock:
                self._live.pop(job.key, None)
            job.done.set()
            if self._on_done is not None:
                self._on_done(voice.id, seconds, ok)

    def close(self) -> None:
        """Refuse new work and drop what has not started; running renders end on their own."""
        self._closing.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def join(self) -> None:
        self._executor.shutdown(wait=True)
