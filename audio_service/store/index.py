"""The SQLite index: articles, their versions and status, and the stored renders."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audio_service.errors import AudioServiceError
from audio_service.states import ArticleStatus
from audio_service.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    voice TEXT NOT NULL,
    article_json TEXT NOT NULL,
    render_key TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,           -- an ArticleStatus, of the latest version
    error TEXT,
    digest TEXT,
    ready_version INTEGER,
    duration_ms INTEGER,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS renders (
    render_key TEXT PRIMARY KEY,
    digest TEXT NOT NULL,
    size INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL,
    created REAL NOT NULL,
    last_used REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS renders_last_used ON renders(last_used);
"""


def _contains_folded(haystack: str | None, needle: str) -> bool:
    # SQLite's LIKE folds ASCII only; a newsroom searches "Zürich" and "ZÜRICH" alike.
    return haystack is not None and needle.casefold() in haystack.casefold()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@dataclass(frozen=True)
class ArticleRow:
    id: str
    voice: str
    article_json: str
    render_key: str  # of the latest version
    version: int
    status: ArticleStatus  # of the latest version
    error: str | None
    digest: str | None  # audio served now: the latest ready version, which may be older
    ready_version: int | None
    duration_ms: int | None
    created: float
    updated: float

    @classmethod
    def of(cls, row: sqlite3.Row) -> ArticleRow:
        fields: dict[str, Any] = dict(row)
        fields["status"] = ArticleStatus(fields["status"])
        return cls(**fields)

    @property
    def title(self) -> str:
        title = json.loads(self.article_json).get("title", "")
        return title if isinstance(title, str) else ""


@dataclass(frozen=True)
class RenderRow:
    render_key: str
    digest: str
    size: int
    duration_ms: int
    created: float
    last_used: float


class Index(SqliteDb):
    """Articles and renders; every query here is a few microseconds."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)
        with self._lock:
            self._db.create_function("contains_folded", 2, _contains_folded, deterministic=True)

    # Articles

    def article(self, article_id: str) -> ArticleRow | None:
        row = self._one("SELECT * FROM articles WHERE id = ?", article_id)
        return ArticleRow.of(row) if row else None

    def articles(self, status: ArticleStatus | None = None) -> list[ArticleRow]:
        if status is None:
            rows = self._all("SELECT * FROM articles ORDER BY id")
        else:
            rows = self._all("SELECT * FROM articles WHERE status = ? ORDER BY id", status)
        return [ArticleRow.of(r) for r in rows]

    def page(
        self,
        *,
        status: ArticleStatus | None = None,
        query: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> list[ArticleRow]:
        """Up to `limit` articles in id order, those after the id `after`; `query` matches
        id or title, case-insensitively. Id order walks the primary key, so a page costs
        `limit` rows however many articles there are (the query filter scans)."""
        where: list[str] = ["1"]
        args: list[object] = []
        if status is not None:
            where.append("status = ?")
            args.append(str(status))
        if query:
            where.append(
                "(contains_folded(id, ?) OR contains_folded(json_extract(article_json, "
                "'$.title'), ?))"
            )
            args += [query, query]
        if after is not None:
            where.append("id > ?")
            args.append(after)
        sql = f"SELECT * FROM articles WHERE {' AND '.join(where)} ORDER BY id LIMIT ?"
        return [ArticleRow.of(r) for r in self._all(sql, *args, limit)]

    def mentioning(self, parts: Sequence[str], voice: str | None = None) -> list[ArticleRow]:
        """Articles whose stored JSON contains every one of `parts` (ASCII case folded, as
        SQLite's LIKE does), of one voice or any: a cheap superset of the articles a
        lexicon rule can touch, for the caller to check exactly."""
        where: list[str] = ["1"]
        args: list[object] = []
        for part in parts:
            where.append("article_json LIKE ? ESCAPE '\\'")
            args.append(f"%{_like_escape(part)}%")
        if voice is not None:
            where.append("voice = ?")
            args.append(voice)
        sql = f"SELECT * FROM articles WHERE {' AND '.join(where)} ORDER BY id"
        return [ArticleRow.of(r) for r in self._all(sql, *args)]

    def rekey(self, article_id: str, old_key: str, new_key: str) -> bool:
        """Make `new_key` the latest version of an article whose latest is still `old_key`
        (same text, new audio: a lexicon rule changed); False when a newer version came
        in meanwhile. The audio served so far stays until the new render publishes."""
        return (
            self._run(
                """UPDATE articles SET render_key = ?, version = version + 1, status = ?,
                       error = NULL, updated = ? WHERE id = ? AND render_key = ?""",
                new_key,
                ArticleStatus.QUEUED,
                time.time(),
                article_id,
                old_key,
            )
            == 1
        )

    def put_article(
        self,
        article_id: str,
        voice: str,
        article_json: str,
        render_key: str,
        status: ArticleStatus,
    ) -> ArticleRow:
        """Record a new latest version; the audio served so far stays until replaced."""
        now = time.time()
        with self._lock:
            self._db.execute(
                """INSERT INTO articles (id, voice, article_json, render_key, version, status,
                       created, updated) VALUES (?, ?, ?, ?, 1, ?, ?, ?)
                   ON CONFLICT(id) DO UPDATE SET voice = excluded.voice,
                       article_json = excluded.article_json, render_key = excluded.render_key,
                       version = articles.version + 1, status = excluded.status, error = NULL,
                       updated = excluded.updated""",
                (article_id, voice, article_json, render_key, status, now, now),
            )
        row = self.article(article_id)
        if row is None:  # written just above under the same lock-free id: cannot happen
            raise AudioServiceError(f"index lost article {article_id!r} while writing it")
        return row

    def set_status(self, render_key: str, status: ArticleStatus, error: str | None = None) -> None:
        self._run(
            "UPDATE articles SET status = ?, error = ?, updated = ? WHERE render_key = ?",
            status,
            error,
            time.time(),
            render_key,
        )

    def publish(self, render_key: str, digest: str, duration_ms: int) -> None:
        """Point every article whose latest version has this key at the finished audio."""
        self._run(
            """UPDATE articles SET status = ?, error = NULL, digest = ?, duration_ms = ?,
                   ready_version = version, updated = ? WHERE render_key = ?""",
            ArticleStatus.READY,
            digest,
            duration_ms,
            time.time(),
            render_key,
        )

    def delete_article(self, article_id: str) -> ArticleRow | None:
        row = self.article(article_id)
        if row is not None:
            self._run("DELETE FROM articles WHERE id = ?", article_id)
        return row

    def digest_in_use(self, digest: str) -> bool:
        return self._one("SELECT 1 FROM articles WHERE digest = ?", digest) is not None

    # Renders

    def render(self, render_key: str) -> RenderRow | None:
        row = self._one("SELECT * FROM renders WHERE render_key = ?", render_key)
        return RenderRow(**dict(row)) if row else None

    def rendered(self, keys: Collection[str]) -> set[str]:
        """Which of `keys` have a stored render: one query per SQLite's limit of bound
        variables (a whole batch at once with any recent SQLite)."""
        wanted = list(dict.fromkeys(keys))
        found: set[str] = set()
        with self._lock:
            step = self._db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
            for start in range(0, len(wanted), step):
                chunk = wanted[start : start + step]
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT render_key FROM renders WHERE render_key IN ({marks})", chunk
                )
                found.update(str(r["render_key"]) for r in rows)
        return found

    def add_render(self, render_key: str, digest: str, size: int, duration_ms: int) -> None:
        now = time.time()
        self._run(
            """INSERT OR REPLACE INTO renders (render_key, digest, size, duration_ms, created,
                   last_used) VALUES (?, ?, ?, ?, ?, ?)""",
            render_key,
            digest,
            size,
            duration_ms,
            now,
            now,
        )

    def touch_render(self, digest: str) -> None:
        self._run("UPDATE renders SET last_used = ? WHERE digest = ?", time.time(), digest)

    def forget_render(self, digest: str) -> None:
        self._run("DELETE FROM renders WHERE digest = ?", digest)

    def renders_by_age(self) -> list[RenderRow]:
        return [RenderRow(**dict(r)) for r in self._all("SELECT * FROM renders ORDER BY last_used")]

    def stored_bytes(self) -> int:
        row = self._one("SELECT COALESCE(SUM(size), 0) AS total FROM renders")
        return int(row["total"]) if row else 0
