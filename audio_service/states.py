"""The state vocabularies: of an article's audio, a render job, a batch item, a job's run."""

from __future__ import annotations

import enum

# StrEnum members compare and hash equal to their values, so rows written before these
# existed, JSON bodies, metric labels and log lines keep exactly the strings they had.


class ArticleStatus(enum.StrEnum):
    """The latest version of an article (index `articles.status`)."""

    QUEUED = "queued"  # waiting for a render (also after its audio was evicted)
    RENDERING = "rendering"  # a render of this version is running
    READY = "ready"  # this version's audio is stored and served
    FAILED = "failed"  # the render gave up; older audio, if any, is still served


class JobState(enum.StrEnum):
    """A render job in the ledger (`jobs.state`), keyed by render key."""

    NEW = "new"  # the row was just made; the enqueue or claim that made it moves it on
    QUEUED = "queued"  # in the job queue, or waiting for a retry
    RUNNING = "running"  # claimed under a lease by one process
    DONE = "done"  # rendered and stored
    FAILED = "failed"  # gave up: the error says why
    STOPPED = "stopped"  # the process shut down mid-render; resume queues it again
    SUPERSEDED = "superseded"  # a newer version of the article came in, or it was deleted


class BatchItemStatus(enum.StrEnum):
    """One article of a batch, as a batch's status reports it."""

    QUEUED = "queued"
    RENDERING = "rendering"
    READY = "ready"
    SKIPPED = "skipped"  # its audio was already current when the batch came in
    SUPERSEDED = "superseded"  # a newer version of the article came in, or it was deleted
    FAILED = "failed"  # unreadable input, or its render failed


class JobOutcome(enum.StrEnum):
    """What one run of a queue job ended as (job log lines and the jobs metric's label)."""

    # Render jobs
    RENDERED = "rendered"
    CURRENT = "current"  # the audio was already there: nothing to do
    SUPERSEDED = "superseded"
    ELSEWHERE = "elsewhere"  # another process rendered it meanwhile
    RETRYING = "retrying"  # failed for a reason that may pass; queued again (also webhooks)
    STOPPED = "stopped"
    FAILED = "failed"  # (also podcast builds)
    TAKEN_BACK = "taken_back"  # the keeper requeued a job whose process went away
    RETRY = "retry"  # a retry was scheduled, with backoff
    # Webhook jobs
    DELIVERED = "delivered"
    GAVE_UP = "gave_up"
    NO_CALLBACK = "no callback"  # the batch has no callback URL (any more)
    # Podcast builds
    BUILT = "built"
    REUSED = "reused"  # same stories as the stored episode: nothing encoded
