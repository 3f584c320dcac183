"""The job runner: render and webhook jobs from the queue, retries, and the lease keeper."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Protocol

from audio_service.config import Settings
from audio_service.errors import OverloadedError
from audio_service.jobs.ledger import Ledger
from audio_service.jobs.locks import Locks
from audio_service.jobs.queue import JobQueue, job_log
from audio_service.jobs.webhooks import WebhookError, backoff_s, deliver, event_body
from audio_service.metrics import Metrics
from audio_service.service.lifecycle import Lifecycle, Start
from audio_service.service.render_queue import LiveRender
from audio_service.states import ArticleStatus, JobOutcome, JobState

log = logging.getLogger(__name__)

REFUSED_CAP_S = 60.0  # a full queue drains in seconds to minutes: look again at least this often


class Links(Protocol):
    """Where the service's audio is published (http/urls.py spells the URLs)."""

    def article_audio(self, article_id: str) -> str: ...


class JobRunner:
    """Runs what the shared queue hands this process, and keeps its leases alive."""

    def __init__(
        self,
        settings: Settings,
        articles: Lifecycle,
        ledger: Ledger,
        locks: Locks,
        jobs: JobQueue,
        metrics: Metrics,
        owner: str,
        links: Links,
    ) -> None:
        self.settings = settings
        self.articles = articles
        self.ledger = ledger
        self.locks = locks
        self.jobs = jobs
        self.metrics = metrics
        self.owner = owner
        self.links = links

    # The lease keeper

    def keep(self, stopping: threading.Event) -> None:
        """Heartbeat this process's leases; take back jobs whose process went away."""
        interval = max(0.5, min(2.0, self.settings.lease_s / 3))
        while not stopping.wait(interval):
            try:
                self.keep_once()
            except Exception:  # the keeper must outlive a locked or vanished database
                log.exception("lease keeper: unexpected error; going on")

    def keep_once(self) -> None:
        self.ledger.renew(self.owner, self.settings.lease_s)
        self.locks.renew(self.owner, self.settings.lease_s)
        if self.jobs.consuming:
            self.ledger.consuming(self.owner)
        for job in self.ledger.stale():
            if job.owner != self.owner and self.ledger.take_back(job):
                job_log(
                    kind="render",
                    outcome=JobOutcome.TAKEN_BACK,
                    key=job.render_key[:16],
                    article=job.article_id,
                    owner=job.owner,
                    by=self.owner,
                )
                self.jobs.enqueue_render(job.article_id, job.render_key, dedupe=False)
        counts = self.ledger.counts()
        shown = {s for s in JobState if s is not JobState.NEW}
        for state in {*shown, *counts}:  # states that emptied must read 0
            self.metrics.jobs_by_state.labels(state).set(counts.get(state, 0))

    def queue_depth(self) -> float:
        try:
            return float(self.jobs.depth())
        except Exception:  # a scrape must not fail because the queue is unreachable
            return float("nan")

    # Render jobs

    def retry_later(self, key: str, article_id: str, attempts: int) -> bool:
        """A render failed for a reason that may pass: try again later, with backoff."""
        if attempts > self.settings.job_retries:
            return False
        delay = backoff_s(attempts)
        job_log(
            kind="render",
            outcome=JobOutcome.RETRY,
            key=key[:16],
            article=article_id,
            attempt=attempts,
            delay_s=delay,
        )
        self.jobs.enqueue_render(article_id, key, delay_s=delay)
        return True

    def refused(
        self, article_id: str, key: str, refusals: int = 0, *, in_job: bool = False
    ) -> JobOutcome:
        """A render the full queue turned away `refusals` times before this one: queue it
        again after a backoff, or after `refused_retries` tries say on the article that it
        failed (a PUT starts it again). Outside a render job (`in_job`: the job's own
        message is spent), a key already queued or rendering elsewhere needs nothing: that
        job gets there itself."""
        attempt = refusals + 1
        if attempt > self.settings.refused_retries:
            error = (
                f"the render queue stayed full through {attempt} tries; "
                "PUT the article again to retry"
            )
            self.articles.index.set_status(key, ArticleStatus.FAILED, error)
            self.ledger.finish_unclaimed(key, JobState.FAILED)
            self.notify(key, "article.failed")
            return JobOutcome.FAILED
        if not in_job and not self.ledger.enqueued(key, article_id):
            return JobOutcome.RETRYING
        delay = backoff_s(attempt, cap_s=REFUSED_CAP_S)
        job_log(
            kind="render",
            outcome=JobOutcome.RETRY,
            key=key[:16],
            article=article_id,
            refusals=attempt,
            delay_s=delay,
        )
        self.jobs.enqueue("render", article_id, key, attempt, delay_s=delay)
        return JobOutcome.RETRY

    def run_job(self, article_id: str, key: str, refusals: int = 0) -> JobOutcome:
        """Render one article version unless it is current, superseded or rendered elsewhere.
        `refusals`: how often a full render queue turned this render away already."""
        started = time.perf_counter()
        try:
            outcome = self._render_job(article_id, key)
        except OverloadedError:
            # The lifecycle has marked the article; retry later or report (never lose it).
            outcome = self.refused(article_id, key, refusals, in_job=True)
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
            error=job.error if job and outcome == JobOutcome.FAILED else None,
            worker=self.owner,
        )
        return outcome

    def _render_job(self, article_id: str, key: str) -> JobOutcome:
        row = self.articles.index.article(article_id)
        if row is None or row.render_key != key:
            # Deleted, or a newer version came in (it has a job of its own).
            self.ledger.finish_unclaimed(key, JobState.SUPERSEDED)
            return JobOutcome.SUPERSEDED
        live: LiveRender | None = None
        for _ in range(3):
            now = self.articles.resolve_audio(row, Start.ALWAYS)
            if now.current:
                self.ledger.finish_unclaimed(key, JobState.DONE)
                return JobOutcome.CURRENT
            live = now.live
            if live is None:
                return JobOutcome.CURRENT
            live.done.wait()
            if not live.remote:
                break
            if live.error is None:
                return JobOutcome.ELSEWHERE  # another process rendered it
            # The process that held it went away; it is ours to render if nobody took it.
            row = self.articles.get(article_id)
        if live is None or live.error is None:
            return JobOutcome.RENDERED
        job = self.ledger.job(key)
        state = job.state if job is not None else JobState.FAILED
        if state == JobState.QUEUED:
            return JobOutcome.RETRYING
        return JobOutcome.STOPPED if state == JobState.STOPPED else JobOutcome.FAILED

    # Webhooks

    def notify(self, key: str, event: str) -> int:
        """Queue the webhook of every batch waiting to hear about this render."""
        notices = self.ledger.notices(key, event)
        for notice in notices:
            self.jobs.enqueue_webhook(notice.batch_id, notice.article_id, key, event, 1, 0)
        return len(notices)

    def run_webhook(
        self, batch_id: str, article_id: str, key: str, event: str, attempt: int
    ) -> JobOutcome:
        found = self.ledger.batch(batch_id)
        url = found[0]["callback_url"] if found else None
        if not url or found is None:
            return JobOutcome.NO_CALLBACK
        # An article that could not be read has no row (or an older one): say why it failed.
        unread = next((i.error for i in found[1] if i.article_id == article_id and not key), None)
        row = None if unread else self.articles.index.article(article_id)
        payload = {
            "batch_id": batch_id,
            "article_id": article_id,
            "status": "ready" if event == "article.ready" else "failed",
            "audio_url": self.links.article_audio(article_id),
            "digest": row.digest if row else None,
            "duration_ms": row.duration_ms if row else None,
            "error": unread or (row.error if row and event == "article.failed" else None),
        }
        body = event_body(
            event, payload, event_id=f"{batch_id}:{article_id}:{event}", created=time.time()
        )
        try:
            deliver(url, event, body, self.settings.webhook_secret)
            outcome = JobOutcome.DELIVERED
        except WebhookError as exc:
            if exc.transient and attempt <= self.settings.job_retries:
                delay = backoff_s(attempt)
                self.jobs.enqueue_webhook(batch_id, article_id, key, event, attempt + 1, delay)
                outcome = JobOutcome.RETRYING
            else:
                outcome = JobOutcome.GAVE_UP
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

    def on_render_done(self, key: str, ok: bool, evict: Callable[[], int]) -> None:
        """After a render here: free space, and tell the batches that wait for it."""
        if ok:
            evict()
        job = self.ledger.job(key)
        if ok or (job is not None and job.state == JobState.FAILED):
            self.notify(key, "article.ready" if ok else "article.failed")
