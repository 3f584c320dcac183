"""The index's rows come back with their status vocabulary; stored renders found in bulk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from audio_service.states import ArticleStatus
from audio_service.store.index import Index


def test_article_status_reads_back_as_the_enum(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    row = index.put_article("a", "voice", "{}", "k", ArticleStatus.QUEUED)
    assert row.status is ArticleStatus.QUEUED
    index.publish("k", "d" * 64, 1000)
    again = index.article("a")
    assert again is not None and again.status is ArticleStatus.READY
    assert [r.id for r in index.articles(ArticleStatus.READY)] == ["a"]


def test_rendered_is_chunked_under_the_variable_limit(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    keys = [f"k{n}" for n in range(25)]
    for key in keys[::3]:
        index.add_render(key, key.ljust(64, "0"), 10, 100)
    index._db.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 4)  # 25 keys: 7 queries
    assert index.rendered([*keys, "k0", "missing"]) == set(keys[::3])
    assert index.rendered([]) == set()
