"""The job ledger: who renders what right now (leases), and the batches that asked for it.

It lives in the index's SQLite file, which every process of one deployment shares (the data
folder is the shared volume). A render is claimed with a lease that its process renews while it
works; a lease that runs out, or whose process on this host is gone, is taken back and the job
goes to the queue again. So a killed worker loses nothing and no render key runs twice at once.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from audio_service.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    render_key TEXT PRIMARY KEY,
    article_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- queued, running, done, failed
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
    outcome TEXT NOT NULL,          -- queued, skipped (already current), failed (bad input)
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

HOST = socket.gethostname()


def new_owner() -> str:
    """A name for this process's claims: host and pid say where it runs, the token which run."""
    return f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_gone(owner: str) -> bool:
    """True only when the owner ran on this host and its pid no longer exists."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != HOST or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass(frozen=True)
class JobRow:
    render_key: str
    article_id: str
    state: str
    owner: str | None
    lease_until: float | None
    part_path: str | None
    attempts: int
    completions: int
    error: str | None
    enqueued: float | None
    started: float | None
    finished: float | None


@dataclass(frozen=True)
class BatchItem:
    article_id: str
    render_key: str | None
    status: str  # queued, rendering, ready, skipped, superseded, failed
    error: str | None
    seconds_estimate: float | None


@dataclass(frozen=True)
class Notice:
    batch_id: str
    article_id: str
    callback_url: str


class Ledger(SqliteDb):
    """Atomic claims on the shared index file; every statement is its own transaction."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    # Jobs

    def job(self, key: str) -> JobRow | None:
        rows = self._all("SELECT * FROM jobs WHERE render_key = ?", key)
        return JobRow(**dict(rows[0])) if rows else None

    def _ensure(self, key: str, article_id: str, now: float) -> None:
        # Under self._lock, by the caller.
        self._db.execute(
            """INSERT INTO jobs (render_key, article_id, state, enqueued)
               VALUES (?, ?, 'new', ?) ON CONFLICT(render_key) DO NOTHING""",
            (key, article_id, now),
        )

    def enqueued(self, key: str, article_id: str) -> bool:
        """Record that a job for `key` is in the queue; False when it is already queued or
        running (so nobody enqueues the same key twice)."""
        now = time.time()
        with self._lock:
            self._ensure(key, article_id, now)
            cur = self._db.execute(
                """UPDATE jobs SET state = 'queued', article_id = ?, enqueued = ?, error = NULL
                   WHERE render_key = ? AND state NOT IN ('queued', 'running')""",
                (article_id, now, key),
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
                """UPDATE jobs SET state = 'running', owner = ?, lease_until = ?, started = ?,
                       attempts = attempts + 1, error = NULL, part_path = NULL, article_id = ?
                   WHERE render_key = ? AND NOT (state = 'running' AND lease_until > ?)""",
                (owner, now + lease_s, now, article_id, key, now),
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
            "UPDATE jobs SET lease_until = ? WHERE owner = ? AND state = 'running'",
            time.time() + lease_s,
            owner,
        )

    def finish(self, key: str, owner: str, state: str, error: str | None = None) -> bool:
        """End a claim: done, failed, or queued again (stopped, or to be retried)."""
        done = 1 if state == "done" else 0
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

    def finish_unclaimed(self, key: str, state: str) -> None:
        """Close a queued job that turned out to need no render (current or superseded)."""
        self._run(
            """UPDATE jobs SET state = ?, finished = ? WHERE render_key = ?
                   AND state IN ('new', 'queued')""",
            state,
            time.time(),
            key,
        )

    def stale(self) -> list[JobRow]:
        """Running jobs whose lease ran out or whose process on this host is gone."""
        now = time.time()
        rows = [JobRow(**dict(r)) for r in self._all("SELECT * FROM jobs WHERE state = 'running'")]
        return [
            r
            for r in rows
            if (r.lease_until or 0) < now or (r.owner is not None and owner_is_gone(r.owner))
        ]

    def take_back(self, job: JobRow) -> bool:
        """Return a stale job to the queue; True for the one process that wins the race."""
        return (
            self._run(
                """UPDATE jobs SET state = 'queued', owner = NULL, lease_until = NULL,
                       part_path = NULL, enqueued = ? WHERE render_key = ? AND state = 'running'
                       AND owner IS ?""",
                time.time(),
                job.render_key,
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

    def counts(self) -> dict[str, int]:
        rows = self._all("SELECT state, COUNT(*) AS n FROM jobs GROUP BY state")
        return {str(r["state"]): int(r["n"]) for r in rows}

    # Batches

    def add_batch(
        self,
        batch_id: str,
        source: str,
        callback_url: str | None,
        items: list[tuple[str, str | None, str, str | None, float | None]],
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

    def batch(self, batch_id: str) -> tuple[sqlite3.Row, list[BatchItem]] | None:
        head = self._all("SELECT * FROM batches WHERE id = ?", batch_id)
        if not head:
            return None
        rows = self._all(
            """SELECT b.article_id, b.render_key, b.outcome, b.error, b.seconds_estimate,
                      j.state AS job_state, j.error AS job_error,
                      r.render_key IS NOT NULL AS rendered
               FROM batch_items b
               LEFT JOIN jobs j ON j.render_key = b.render_key
               LEFT JOIN renders r ON r.render_key = b.render_key
               WHERE b.batch_id = ? ORDER BY b.rowid""",
            batch_id,
        )
        return head[0], [_item(r) for r in rows]

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


def _item(row: sqlite3.Row) -> BatchItem:
    outcome, state = row["outcome"], row["job_state"]
    error = row["error"]
    if outcome == "failed":
        status = "failed"
    elif row["rendered"] or state == "done":
        status = "skipped" if outcome == "skipped" else "ready"
    elif state == "failed":
        status, error = "failed", row["job_error"]
    elif state == "running":
        status = "rendering"
    elif state == "superseded":
        status = "superseded"  # a newer version of the article came in (or it was deleted)
    else:
        status = "queued"
    return BatchItem(row["article_id"], row["render_key"], status, error, row["seconds_estimate"])
