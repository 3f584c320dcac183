"""The job ledger: who renders what right now (leases), and the batches that asked for it.

It lives in the index's SQLite file, which every process of one deployment shares (the data
folder is the shared volume). A render is claimed with a lease that its process renews while it
works; a lease that runs out, or whose process on this host is gone, is taken back and the job
goes to the queue again. So a killed worker loses nothing and no render key runs twice at once.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_service.jobs.owners import owner_is_gone
from audio_service.states import BatchItemStatus, JobState
from audio_service.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    render_key TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- a JobState
    owner TEXT,                     -- host:pid:token of the process running it
    lease_until REAL,
    part_path TEXT,                 -- the growing MP3, for followers in other processes
    attempts INTEGER NOT NULL DEFAULT 0,
    completions INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    enqueued REAL,
    started REAL,
    finished REAL
);
CREATE INDEX IF NOT EXISTS jobs_state ON jobs(state);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,
    created REAL NOT NULL,
    source TEXT NOT NULL,
    callback_url TEXT
);
CREATE TABLE IF NOT EXISTS batch_items (
    batch_id TEXT NOT NULL,
    article_id TEXT NOT NULL,
    render_key TEXT,                -- NULL when the item could not be read
    outcome TEXT NOT NULL,          -- at submit: queued, skipped (already current), failed
    error TEXT,
    seconds_estimate REAL,
    notified TEXT,                  -- the webhook event already sent for it
    PRIMARY KEY (batch_id, article_id)
);
CREATE INDEX IF NOT EXISTS batch_items_key ON batch_items(render_key);
CREATE TABLE IF NOT EXISTS consumers (
    owner TEXT PRIMARY KEY,         -- a process that runs queue jobs
    seen REAL NOT NULL
);
"""


@dataclass(frozen=True)
class JobRow:
    render_key: str
    article_id: str
    state: JobState
    owner: str | None
    lease_until: float | None
    part_path: str | None
    attempts: int
    completions: int
    error: str | None
    enqueued: float | None
    started: float | None
    finished: float | None

    @classmethod
    def of(cls, row: sqlite3.Row) -> JobRow:
        fields: dict[str, Any] = dict(row)
        fields["state"] = JobState(fields["state"])
        return cls(**fields)


@dataclass(frozen=True)
class BatchEntry:
    """A batch item as recorded, with its render job's state; batch/runs.py makes the status
    of it (it also needs to know whether the render is stored, which the index knows)."""

    article_id: str
    render_key: str | None  # None when the item could not be read
    outcome: BatchItemStatus  # at submit: queued, skipped or failed
    error: str | None  # why it failed at submit
    seconds_estimate: float | None
    job_state: JobState | None  # None when no job was ever recorded for the key
    job_error: str | None


@dataclass(frozen=True)
class Notice:
    batch_id: str
    article_id: str
    callback_url: str


class Ledger(SqliteDb):
    """Atomic claims on the shared index file; every statement is its own transaction."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        # Podcast build locks once lived here as "podcast:..." jobs, where the keeper would
        # take a dead process's lock back as a render; they are in jobs/locks.py now.
        self._run("DELETE FROM jobs WHERE render_key LIKE 'podcast:%'")

    # Jobs

    def job(self, key: str) -> JobRow | None:
        rows = self._all("SELECT * FROM jobs WHERE render_key = ?", key)
        return JobRow.of(rows[0]) if rows else None

    def _ensure(self, key: str, article_id: str, now: float) -> None:
        # Under self._lock, by the caller.
        self._db.execute(
            """INSERT INTO jobs (render_key, article_id, state, enqueued)
               VALUES (?, ?, ?, ?) ON CONFLICT(render_key) DO NOTHING""",
            (key, article_id, JobState.NEW, now),
        )

    def enqueued(self, key: str, article_id: str) -> bool:
        """Record that a job for `key` is in the queue; False when it is already queued or
        running (so nobody enqueues the same key twice)."""
        now = time.time()
        with self._lock:
            self._ensure(key, article_id, now)
            cur = self._db.execute(
                """UPDATE jobs SET state = ?, article_id = ?, enqueued = ?, error = NULL
                   WHERE render_key = ? AND state NOT IN (?, ?)""",
                (JobState.QUEUED, article_id, now, key, JobState.QUEUED, JobState.RUNNING),
            )
            return cur.rowcount == 1

    def claim(self, key: str, article_id: str, owner: str, lease_s: float) -> bool:
        """Take the render of `key`; False when a live lease elsewhere holds it.

        A lease whose process on this host is gone is taken over at once, not after it
        runs out."""
        if self._claim(key, article_id, owner, lease_s):
            return True
        held = self.job(key)
        if held is None or held.owner is None or not owner_is_gone(held.owner):
            return False
        self.take_back(held)
        return self._claim(key, article_id, owner, lease_s)

    def _claim(self, key: str, article_id: str, owner: str, lease_s: float) -> bool:
        now = time.time()
        with self._lock:
            self._ensure(key, article_id, now)
            cur = self._db.execute(
                """UPDATE jobs SET state = ?, owner = ?, lease_until = ?, started = ?,
                       attempts = attempts + 1, error = NULL, part_path = NULL, article_id = ?
                   WHERE render_key = ? AND NOT (state = ? AND lease_until > ?)""",
                (
                    JobState.RUNNING,
                    owner,
                    now + lease_s,
                    now,
                    article_id,
                    key,
                    JobState.RUNNING,
                    now,
                ),
            )
            return cur.rowcount == 1

    def set_part(self, key: str, owner: str, path: Path) -> None:
        self._run(
            "UPDATE jobs SET part_path = ? WHERE render_key = ? AND owner = ?",
            str(path),
            key,
            owner,
        )

    def renew(self, owner: str, lease_s: float) -> int:
        """Extend every lease this process holds (its heartbeat)."""
        return self._run(
            "UPDATE jobs SET lease_until = ? WHERE owner = ? AND state = ?",
            time.time() + lease_s,
            owner,
            JobState.RUNNING,
        )

    def finish(self, key: str, owner: str, state: JobState, error: str | None = None) -> bool:
        """End a claim: done, failed, stopped, or queued again (to be retried)."""
        done = 1 if state == JobState.DONE else 0
        return (
            self._run(
                """UPDATE jobs SET state = ?, error = ?, finished = ?, owner = NULL,
                       lease_until = NULL, part_path = NULL, completions = completions + ?
                   WHERE render_key = ? AND owner = ?""",
                state,
                error,
                time.time(),
                done,
                key,
                owner,
            )
            == 1
        )

    def finish_unclaimed(self, key: str, state: JobState) -> None:
        """Close a queued job that turned out to need no render (current or superseded)."""
        self._run(
            """UPDATE jobs SET state = ?, finished = ? WHERE render_key = ?
                   AND state IN (?, ?)""",
            state,
            time.time(),
            key,
            JobState.NEW,
            JobState.QUEUED,
        )

    def stale(self) -> list[JobRow]:
        """Running jobs whose lease ran out or whose process on this host is gone."""
        now = time.time()
        rows = self._all("SELECT * FROM jobs WHERE state = ?", JobState.RUNNING)
        jobs = [JobRow.of(r) for r in rows]
        return [
            r
            for r in jobs
            if (r.lease_until or 0) < now or (r.owner is not None and owner_is_gone(r.owner))
        ]

    def take_back(self, job: JobRow) -> bool:
        """Return a stale job to the queue; True for the one process that wins the race."""
        return (
            self._run(
                """UPDATE jobs SET state = ?, owner = NULL, lease_until = NULL,
                       part_path = NULL, enqueued = ? WHERE render_key = ? AND state = ?
                       AND owner IS ?""",
                JobState.QUEUED,
                time.time(),
                job.render_key,
                JobState.RUNNING,
                job.owner,
            )
            == 1
        )

    def consuming(self, owner: str) -> None:
        """This process runs queue jobs (its keeper calls this every few seconds)."""
        self._run(
            "INSERT OR REPLACE INTO consumers (owner, seen) VALUES (?, ?)", owner, time.time()
        )

    def consumers(self, within_s: float) -> list[str]:
        """Processes that ran queue jobs within the last `within_s` seconds."""
        rows = self._all("SELECT owner FROM consumers WHERE seen > ?", time.time() - within_s)
        return [str(r["owner"]) for r in rows if not owner_is_gone(str(r["owner"]))]

    def counts(self) -> dict[JobState, int]:
        rows = self._all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {JobState(r["state"]): int(r["n"]) for r in rows}

    # Batches

    def add_batch(
        self,
        batch_id: str,
        source: str,
        callback_url: str | None,
        items: Sequence[tuple[str, str | None, BatchItemStatus, str | None, float | None]],
    ) -> None:
        """Items: (article id, render key, outcome, error, estimated seconds of audio)."""
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.execute(
                    "INSERT INTO batches (id, created, source, callback_url) VALUES (?, ?, ?, ?)",
                    (batch_id, time.time(), source, callback_url),
                )
                self._db.executemany(
                    """INSERT OR REPLACE INTO batch_items (batch_id, article_id, render_key,
                           outcome, error, seconds_estimate) VALUES (?, ?, ?, ?, ?, ?)""",
                    [(batch_id, *item) for item in items],
                )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def batch(self, batch_id: str) -> tuple[sqlite3.Row, list[BatchEntry]] | None:
        """The batch's head row and its items in the order given, with their jobs' states."""
        head = self._all("SELECT * FROM batches WHERE id = ?", batch_id)
        if not head:
            return None
        rows = self._all(
            """SELECT b.article_id, b.render_key, b.outcome, b.error, b.seconds_estimate,
                      j.state AS job_state, j.error AS job_error
               FROM batch_items b
               LEFT JOIN jobs j ON j.render_key = b.render_key
               WHERE b.batch_id = ? ORDER BY b.rowid""",
            batch_id,
        )
        return head[0], [_entry(r) for r in rows]

    def notices(self, key: str, event: str) -> list[Notice]:
        """Batch items waiting for `event` about `key` on a callback; each is returned once."""
        with self._lock:
            rows = self._db.execute(
                """SELECT b.batch_id, b.article_id, h.callback_url FROM batch_items b
                   JOIN batches h ON h.id = b.batch_id
                   WHERE b.render_key = ? AND h.callback_url IS NOT NULL
                     AND b.notified IS NOT ?""",
                (key, event),
            ).fetchall()
            self._db.execute(
                """UPDATE batch_items SET notified = ? WHERE render_key = ? AND batch_id IN
                       (SELECT id FROM batches WHERE callback_url IS NOT NULL)""",
                (event, key),
            )
        return [Notice(r["batch_id"], r["article_id"], r["callback_url"]) for r in rows]


def _entry(row: sqlite3.Row) -> BatchEntry:
    state = row["job_state"]
    return BatchEntry(
        row["article_id"],
        row["render_key"],
        BatchItemStatus(row["outcome"]),
        row["error"],
        row["seconds_estimate"],
        None if state is None else JobState(state),
        row["job_error"],
    )
