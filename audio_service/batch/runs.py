"""Batches: many articles recorded at once, their renders queued (or run here), their progress.

The same code serves `audio-service batch` and `POST /v1/batches`. An article whose audio is
already current is skipped; one that cannot be read is reported, never fatal to the others.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from audio_service.article import Article
from audio_service.batch.sources import SourceItem
from audio_service.errors import InputError, NotFoundError
from audio_service.jobs.ledger import BatchEntry
from audio_service.jobs.webhooks import backoff_s, validate_callback_url
from audio_service.service.core import Service
from audio_service.states import BatchItemStatus, JobOutcome, JobState

PAUSE_S_PER_PARAGRAPH = 0.6  # about what the script's pauses add, for estimates
STATUSES = tuple(BatchItemStatus)  # in the order counts are shown
FINAL = (
    BatchItemStatus.READY,
    BatchItemStatus.SKIPPED,
    BatchItemStatus.SUPERSEDED,
    BatchItemStatus.FAILED,
)


@dataclass(frozen=True)
class BatchItem:
    article_id: str
    render_key: str | None
    status: BatchItemStatus
    error: str | None
    seconds_estimate: float | None


def item_status(entry: BatchEntry, rendered: bool) -> BatchItem:
    """A recorded batch item's status now, from its job's state and whether its render key
    has stored audio (`rendered`, from the index)."""
    state, error = entry.job_state, entry.error
    if entry.outcome == BatchItemStatus.FAILED:
        status = BatchItemStatus.FAILED
    elif rendered or state == JobState.DONE:
        skipped = entry.outcome == BatchItemStatus.SKIPPED
        status = BatchItemStatus.SKIPPED if skipped else BatchItemStatus.READY
    elif state == JobState.FAILED:
        status, error = BatchItemStatus.FAILED, entry.job_error
    elif state == JobState.RUNNING:
        status = BatchItemStatus.RENDERING
    elif state == JobState.SUPERSEDED:
        status = BatchItemStatus.SUPERSEDED  # a newer version of the article came in (or deleted)
    else:
        status = BatchItemStatus.QUEUED
    return BatchItem(entry.article_id, entry.render_key, status, error, entry.seconds_estimate)


@dataclass(frozen=True)
class BatchStatus:
    id: str
    created: float
    source: str
    callback_url: str | None
    items: list[BatchItem]

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(item.status for item in self.items)
        return {s: counts.get(s, 0) for s in STATUSES}

    @property
    def finished(self) -> bool:
        return all(item.status in FINAL for item in self.items)


def estimate_seconds(article: Article, rate_wpm: int) -> float:
    """Rough spoken length: words at the voice's rate plus the pauses between paragraphs."""
    words = sum(len(p.split()) for p in (article.title, *article.body))
    return words / rate_wpm * 60 + PAUSE_S_PER_PARAGRAPH * (len(article.body) + 1)


@dataclass(frozen=True)
class PlannedItem:
    id: str
    key: str | None
    current: bool
    seconds: float
    error: str | None


def plan(svc: Service, items: list[SourceItem], voice: str | None = None) -> list[PlannedItem]:
    """What a batch would do, without recording anything (`--dry-run`)."""
    planned = []
    for item in items:
        if item.article is None:
            planned.append(PlannedItem(item.id, None, False, 0.0, item.error))
            continue
        article = _with_voice(item.article, voice)
        try:
            script = svc.articles.script(article, item.id)
            key = svc.renderer.render_key(script)
        except InputError as exc:
            planned.append(PlannedItem(item.id, None, False, 0.0, str(exc)))
            continue
        current = svc.articles.stored(key) is not None
        seconds = estimate_seconds(article, script.voice.rate_wpm)
        planned.append(PlannedItem(item.id, key, current, seconds, None))
    return planned


def _with_voice(article: Article, voice: str | None) -> Article:
    return replace(article, voice=voice) if voice else article


def submit(
    svc: Service,
    items: list[SourceItem],
    source: str,
    *,
    callback_url: str | None = None,
    voice: str | None = None,
    enqueue: bool = True,
) -> str:
    """Record every article, queue the renders that are needed; returns the batch id.

    With enqueue=False nothing is queued: the caller renders the batch itself (`--local`).
    """
    if callback_url:
        validate_callback_url(callback_url)
    batch_id = uuid.uuid4().hex[:16]
    rows: list[tuple[str, str | None, BatchItemStatus, str | None, float | None]] = []
    to_queue: list[tuple[str, str]] = []
    for item in items:
        if item.article is None:
            rows.append((item.id, None, BatchItemStatus.FAILED, item.error or "unreadable", None))
            continue
        article = _with_voice(item.article, voice)
        try:
            recorded = svc.articles.record(item.id, article)
        except InputError as exc:
            rows.append((item.id, None, BatchItemStatus.FAILED, str(exc), None))
            continue
        row = recorded.row
        seconds = estimate_seconds(article, recorded.script.voice.rate_wpm)
        outcome = BatchItemStatus.SKIPPED if recorded.current else BatchItemStatus.QUEUED
        rows.append((item.id, row.render_key, outcome, None, seconds))
        if not recorded.current:
            to_queue.append((item.id, row.render_key))
    svc.ledger.add_batch(batch_id, source, callback_url, rows)
    if enqueue:
        for article_id, key in to_queue:
            svc.jobs.enqueue_render(article_id, key)
    if callback_url:
        for article_id, current_key, outcome, _, _ in rows:
            if current_key is not None and outcome == BatchItemStatus.SKIPPED:
                svc.runner.notify(current_key, "article.ready")
            elif outcome == BatchItemStatus.FAILED:  # unreadable: its callback says so at once
                svc.jobs.enqueue_webhook(batch_id, article_id, "", "article.failed", 1, 0)
    return batch_id


def status(svc: Service, batch_id: str) -> BatchStatus:
    """Every item's status: three queries in all, however large the batch."""
    found = svc.ledger.batch(batch_id)
    if found is None:
        raise NotFoundError(f"no batch with id {batch_id!r}")
    head, entries = found
    rendered = svc.index.rendered([e.render_key for e in entries if e.render_key])
    items = [item_status(e, e.render_key in rendered) for e in entries]
    return BatchStatus(
        batch_id, float(head["created"]), str(head["source"]), head["callback_url"], items
    )


def render_here(
    svc: Service,
    batch_id: str,
    threads: int,
    on_progress: Callable[[BatchStatus], None] | None = None,
) -> BatchStatus:
    """Render a batch's queued articles in this process with all its synthesis workers."""
    todo = [
        (i.article_id, i.render_key)
        for i in status(svc, batch_id).items
        if i.status in (BatchItemStatus.QUEUED, BatchItemStatus.RENDERING) and i.render_key
    ]

    def run(article_id: str, key: str) -> JobOutcome:
        # No queue consumer here, so retries of engine failures happen in this thread.
        outcome = svc.runner.run_job(article_id, key)
        for attempt in range(1, svc.settings.job_retries + 1):
            if outcome != JobOutcome.RETRYING:
                break
            time.sleep(backoff_s(attempt))
            outcome = svc.runner.run_job(article_id, key)
        return outcome

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="batch") as pool:
        futures = [pool.submit(run, article_id, key) for article_id, key in todo]
        while not all(f.done() for f in futures):
            if on_progress is not None:
                on_progress(status(svc, batch_id))
            time.sleep(0.2)
        for future in futures:
            future.result()
    return status(svc, batch_id)
