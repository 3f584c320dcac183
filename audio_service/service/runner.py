"""The service's side of the job queue: running render, webhook and schedule jobs, the lease
keeper, and retries. Mixed into Service, which owns the parts used here."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, cast

from audio_service.config import Settings
from audio_service.jobs.ledger import Ledger
from audio_service.jobs.queue import JobQueue, job_log
from audio_service.jobs.webhooks import WebhookError, backoff_s, deliver, event_body
from audio_service.metrics import Metrics
from audio_service.service.render_queue import LiveRender
from audio_service.store.index import ArticleRow, Index
from audio_service.store.local import AudioStore

if TYPE_CHECKING:
    from audio_service.service.core import Service

log = logging.getLogger(__name__)
JOB_STATES = ("queued", "running", "done", "failed", "stopped", "superseded")


class QueueJobs:
    settings: Settings
    index: Index
    ledger: Ledger
    jobs: JobQueue
    metrics: Metrics
    store: AudioStore
    owner: str
    _stopping: threading.Event
    _last_tick: datetime

    if TYPE_CHECKING:  # Service's own methods, used here

        def get(self, article_id: str) -> ArticleRow: ...

        def ensure_render(self, row: ArticleRow) -> LiveRender | None: ...

    def _queue_depth(self) -> float:
        try:
            return float(self.jobs.depth())
        except Exception:  # a scrape must not fail because the queue is unreachable
            return float("nan")

    def _keep(self) -> None:
        """Heartbeat this process's leases; take back jobs whose process went away."""
        interval = max(0.5, min(2.0, self.settings.lease_s / 3))
        while not self._stopping.wait(interval):
            try:
                self.ledger.renew(self.owner, self.settings.lease_s)
                if self.jobs.consuming:
                    self.ledger.consuming(self.owner)
                for job in self.ledger.stale():
                    if job.owner != self.owner and self.ledger.take_back(job):
                        job_log(
                            kind="render",
                            outcome="taken_back",
                            key=job.render_key[:16],
                            article=job.article_id,
                            owner=job.owner,
                            by=self.owner,
                        )
                        self.jobs.enqueue_render(job.article_id, job.render_key, dedupe=False)
                counts = self.ledger.counts()
                for state in {*JOB_STATES, *counts}:  # states that emptied must read 0
                    self.metrics.jobs_by_state.labels(state).set(counts.get(state, 0))
            except Exception:  # the keeper must outlive a locked or vanished database
                log.exception("lease keeper: unexpected error; going on")

    def _retry_later(self, key: str, article_id: str, attempts: int) -> bool:
        """A render failed for a reason that may pass: try again later, with backoff."""
        if attempts > self.settings.job_retries:
            return False
        delay = backoff_s(attempts)
        job_log(
            kind="render",
            outcome="retry",
            key=key[:16],
            article=article_id,
            attempt=attempts,
            delay_s=delay,
        )
        self.jobs.enqueue_render(article_id, key, delay_s=delay)
        return True

    def start_jobs(self, threads: int | None = None) -> None:
        self._last_tick = datetime.now(UTC)
        threads = threads or self.settings.job_threads
        self.jobs.start(threads, self.run_job, self.run_webhook, self.run_schedule)

    def run_schedule(self) -> list[str]:
        """Build the podcast episodes whose schedule came due since the last look."""
        from audio_service.podcast.schedule import run_due

        now = datetime.now(UTC)
        since, self._last_tick = self._last_tick, now
        return run_due(cast("Service", self), since, now)

    def run_job(self, article_id: str, key: str) -> str:
        """Render one article version unless it is current, superseded or rendered elsewhere."""
        started = time.perf_counter()
        outcome = self._render_job(article_id, key)
        seconds = time.perf_counter() - started
        self.metrics.jobs.labels("render", outcome).inc()
        self.metrics.job_seconds.labels("render").observe(seconds)
        job = self.ledger.job(key)
        job_log(
            kind="render",
            outcome=outcome,
            article=article_id,
            key=key[:16],
            seconds=round(seconds, 3),
            attempts=job.attempts if job else 0,
            error=job.error if job and outcome == "failed" else None,
            worker=self.owner,
        )
        return outcome

    def _render_job(self, article_id: str, key: str) -> str:
        row = self.index.article(article_id)
        if row is None or row.render_key != key:
            # Deleted, or a newer version came in (it has a job of its own).
            self.ledger.finish_unclaimed(key, "superseded")
            return "superseded"
        stored = self.index.render(key)
        if stored is not None and self.store.exists(stored.digest):
            if row.status != "ready":
                self.index.publish(key, stored.digest, stored.duration_ms)
            self.ledger.finish_unclaimed(key, "done")
            return "current"
        if row.status == "failed":
            self.index.set_status(key, "queued")
            row = self.get(article_id)
        live: LiveRender | None = None
        for _ in range(3):
            live = self.ensure_render(row)
            if live is None:
                return "current"
            live.done.wait()
            if not live.remote:
                break
            if live.error is None:
                return "elsewhere"  # another process rendered it
            # The process that held it went away; it is ours to render if nobody took it.
            row = self.get(article_id)
        if live is None or live.error is None:
            return "rendered"
        job = self.ledger.job(key)
        state = job.state if job is not None else "failed"
        return {"queued": "retrying", "stopped": "stopped"}.get(state, "failed")

    def notify(self, key: str, event: str) -> int:
        """Queue the webhook of every batch waiting to hear about this render."""
        notices = self.ledger.notices(key, event)
        for notice in notices:
            self.jobs.enqueue_webhook(notice.batch_id, notice.article_id, key, event, 1, 0)
        return len(notices)

    def run_webhook(
        self, batch_id: str, article_id: str, key: str, event: str, attempt: int
    ) -> str:
        found = self.ledger.batch(batch_id)
        url = found[0]["callback_url"] if found else None
        if not url or found is None:
            return "no callback"
        # An article that could not be read has no row (or an older one): say why it failed.
        unread = next((i.error for i in found[1] if i.article_id == article_id and not key), None)
        row = None if unread else self.index.article(article_id)
        base = self.settings.public_url.rstrip("/")
        payload = {
            "batch_id": batch_id,
            "article_id": article_id,
            "status": "ready" if event == "article.ready" else "failed",
            "audio_url": f"{base}/v1/articles/{article_id}/audio.mp3",
            "digest": row.digest if row else None,
            "duration_ms": row.duration_ms if row else None,
            "error": unread or (row.error if row and event == "article.failed" else None),
        }
        body = event_body(
            event, payload, event_id=f"{batch_id}:{article_id}:{event}", created=time.time()
        )
        try:
            deliver(url, event, body, self.settings.webhook_secret)
            outcome = "delivered"
        except WebhookError as exc:
            if exc.transient and attempt <= self.settings.job_retries:
                delay = backoff_s(attempt)
                self.jobs.enqueue_webhook(batch_id, article_id, key, event, attempt + 1, delay)
                outcome = "retrying"
            else:
                outcome = "gave_up"
            job_log(
                kind="webhook",
                outcome=outcome,
                batch=batch_id,
                article=article_id,
                attempt=attempt,
                error=str(exc),
            )
            self.metrics.jobs.labels("webhook", outcome).inc()
            return outcome
        job_log(
            kind="webhook", outcome=outcome, batch=batch_id, article=article_id, attempt=attempt
        )
        self.metrics.jobs.labels("webhook", outcome).inc()
        return outcome
