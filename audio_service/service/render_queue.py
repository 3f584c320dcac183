"""The in-process render queue: bounded, single-flight per render key, followable while running."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from audio_service.errors import AudioServiceError, EngineError, OverloadedError
from audio_service.jobs.ledger import Ledger
from audio_service.render.renderer import Renderer
from audio_service.render.script import Script
from audio_service.states import ArticleStatus, JobState
from audio_service.store.base import AudioStorage
from audio_service.store.index import Index

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
    remote: bool = False  # rendered by another process; followed through the ledger
    transient: bool = False  # the failure may pass on a retry (engine trouble)

    @property
    def ok(self) -> bool:
        return self.done.is_set() and self.error is None


RenderHook = Callable[[str, str, float, bool], None]  # (render key, voice id, seconds, ok)
RetryHook = Callable[[str, str, int], bool]  # (render key, article id, attempts) -> retried
WATCH_S = 0.05  # how often a render held by another process is looked at


class RenderQueue:
    """Runs renders on a few threads; synthesis itself happens in the worker processes.

    The same render key asked for many times at once is rendered exactly once: every
    caller gets the same LiveRender, and the ledger's lease keeps other processes (workers
    on this or other machines) from rendering it meanwhile; a render another process holds
    is followed, not repeated. A full queue refuses work instead of piling it up.
    """

    def __init__(
        self,
        renderer: Renderer,
        store: AudioStorage,
        index: Index,
        ledger: Ledger,
        owner: str,
        *,
        concurrency: int,
        max_queued: int,
        lease_s: float,
        on_done: RenderHook | None = None,
        retry: RetryHook | None = None,
    ) -> None:
        self.renderer = renderer
        self.store = store
        self.index = index
        self.ledger = ledger
        self.owner = owner
        self.lease_s = lease_s
        self.max_queued = max_queued
        self._retry = retry
        self._executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="render")
        self._lock = threading.Lock()
        self._live: dict[str, LiveRender] = {}
        # Renders waiting for a thread, oldest first; one executor task per entry takes the
        # most wanted one when a thread frees (a listener's article before a publish's).
        self._waiting: list[tuple[LiveRender, Script]] = []
        self._wanted: set[str] = set()
        self._on_done = on_done
        self._closing = threading.Event()

    @property
    def depth(self) -> int:
        with self._lock:
            return len(self._live)

    def live(self, key: str) -> LiveRender | None:
        with self._lock:
            return self._live.get(key)

    def submit(self, key: str, script: Script) -> LiveRender:
        with self._lock:
            existing = self._live.get(key)
            if existing is not None:
                return existing
            if len(self._live) >= self.max_queued:
                raise OverloadedError(
                    f"render queue is full ({self.max_queued} renders waiting); try again shortly"
                )
            claimed = self.ledger.claim(key, script.article_id, self.owner, self.lease_s)
            job = self._live[key] = LiveRender(key=key, remote=not claimed)
        if claimed:
            with self._lock:
                self._waiting.append((job, script))
            self._executor.submit(self._next)
        else:
            threading.Thread(target=self._watch, args=(job,), daemon=True).start()
        return job

    def want(self, key: str) -> None:
        """A listener waits for `key`: if its render has not started, it goes first."""
        with self._lock:
            if any(job.key == key for job, _ in self._waiting):
                self._wanted.add(key)

    def _next(self) -> None:
        with self._lock:
            if not self._waiting:
                return
            first = next(
                (i for i, (job, _) in enumerate(self._waiting) if job.key in self._wanted), 0
            )
            job, script = self._waiting.pop(first)
            self._wanted.discard(job.key)
        self._run(job, script)

    def _watch(self, job: LiveRender) -> None:
        """Follow a render that another process holds until it ends, through the ledger."""
        try:
            row = self.ledger.job(job.key)
            while row is not None and row.state == JobState.RUNNING and not self._closing.is_set():
                if job.path is None and row.part_path:
                    job.path = Path(row.part_path)
                    job.started.set()
                time.sleep(WATCH_S)
                row = self.ledger.job(job.key)
            stored = self.index.render(job.key)
            if stored is not None:
                job.digest, job.duration_ms = stored.digest, stored.duration_ms
            else:
                job.error = (row.error if row else None) or "the render stopped in another process"
        finally:
            with self._lock:
                self._live.pop(job.key, None)
            job.done.set()

    def _run(self, job: LiveRender, script: Script) -> None:
        article_id, voice = script.article_id, script.voice
        partial = self.store.begin(job.key)
        job.path = partial.path
        self.ledger.set_part(job.key, self.owner, partial.path)
        job.started.set()
        self.index.set_status(job.key, ArticleStatus.RENDERING)
        state: JobState = JobState.FAILED
        error: str | None = None
        seconds = 0.0
        try:
            result = self.renderer.render(script, partial)
            seconds = result.seconds
            digest = self.store.commit(partial, result.timings.to_json())
            self.index.add_render(job.key, digest, partial.size, result.timings.duration_ms)
            self.index.publish(job.key, digest, result.timings.duration_ms)
            job.digest, job.duration_ms = digest, result.timings.duration_ms
            state = JobState.DONE
        except Exception as exc:  # a render thread must never die silently
            self.store.abandon(partial)
            state, error = self._failed(job, exc, article_id)
        finally:
            self.ledger.finish(job.key, self.owner, state, error)
            with self._lock:
                self._live.pop(job.key, None)
            job.done.set()
            if self._on_done is not None:
                self._on_done(job.key, voice.id, seconds, state == JobState.DONE)

    def _failed(self, job: LiveRender, exc: Exception, article_id: str) -> tuple[JobState, str]:
        """Record why a render ended early; returns the ledger state and error."""
        job.transient = isinstance(exc, EngineError)
        if self._closing.is_set():
            # Stopped by a shutdown: Service.close hands it back to the queue (resume).
            job.error = f"service stopped during the render ({type(exc).__name__})"
            self.index.set_status(job.key, ArticleStatus.QUEUED)
            return JobState.STOPPED, job.error
        if isinstance(exc, AudioServiceError):
            job.error = str(exc)
            log.warning("render %s failed: %s", job.key[:12], exc)
        else:
            job.error = f"internal error: {type(exc).__name__}"
            log.error("render %s crashed", job.key[:12], exc_info=exc)
        row = self.ledger.job(job.key)
        attempts = row.attempts if row else 1
        if job.transient and self._retry is not None and self._retry(job.key, article_id, attempts):
            self.index.set_status(job.key, ArticleStatus.QUEUED, job.error)
            return JobState.QUEUED, job.error
        self.index.set_status(job.key, ArticleStatus.FAILED, job.error)
        return JobState.FAILED, job.error

    def close(self) -> None:
        """Refuse new work and drop what has not started; running renders end on their own."""
        self._closing.set()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def join(self) -> None:
        self._executor.shutdown(wait=True)
