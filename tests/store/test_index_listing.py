"""The index's pages of articles, its cheap search for a lexicon word, and its re-keying."""

from __future__ import annotations

from pathlib import Path

from audio_service.article import Article, article_to_json
from audio_service.states import ArticleStatus
from audio_service.store.index import Index


def add(index: Index, article_id: str, title: str, body: str, voice: str = "v") -> None:
    stored = article_to_json(Article(title=title, body=(body,)))
    index.put_article(article_id, voice, stored, f"key-{article_id}", ArticleStatus.QUEUED)


def test_pages_follow_the_id_after_the_cursor_with_filters(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    for n, title in enumerate(("Ärger im Rat", "100% turnout", "Quiet day", "snake_case")):
        add(index, f"a{n}", title, "Text.")
    index.publish("key-a2", "d" * 64, 1000)
    assert [r.id for r in index.page(limit=2)] == ["a0", "a1"]
    assert [r.id for r in index.page(after="a1", limit=10)] == ["a2", "a3"]
    assert [r.id for r in index.page(status=ArticleStatus.READY)] == ["a2"]
    assert [r.id for r in index.page(query="ÄRGER")] == ["a0"]
    assert [r.id for r in index.page(query="%")] == ["a1"]  # a character, not a wildcard
    assert [r.id for r in index.page(query="e_c")] == ["a3"]
    assert [r.id for r in index.page(query="A3")] == ["a3"]
    assert index.page(query="nothing like it") == []
    assert index.article("a0") is not None and index.article("a0").title == "Ärger im Rat"  # type: ignore[union-attr]


def test_mentioning_is_a_superset_of_the_word_s_articles(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    add(index, "one", "Wexcombe", "Met on Monday.")
    add(index, "two", "News", "In WEXCOMBE today.", voice="w")
    add(index, "three", "News", "Nothing here.")
    add(index, "four", "New York", "The New\nYork office.")
    add(index, "five", "Rates", "Up 50% today.")
    assert [r.id for r in index.mentioning(["wexcombe"])] == ["one", "two"]
    assert [r.id for r in index.mentioning(["wexcombe"], voice="w")] == ["two"]
    assert {r.id for r in index.mentioning(["New", "York"])} == {"four"}
    assert [r.id for r in index.mentioning(["50%"])] == ["five"]
    assert index.mentioning(["5_%"]) == []


def test_rekey_only_replaces_the_version_it_read(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    add(index, "a", "Title", "Body.")
    index.publish("key-a", "d" * 64, 1000)
    assert index.rekey("a", "key-a", "key-new")
    row = index.article("a")
    assert row is not None
    assert (row.render_key, row.version, row.status) == ("key-new", 2, ArticleStatus.QUEUED)
    assert (row.digest, row.ready_version) == ("d" * 64, 1)  # the old audio is still served
    assert not index.rekey("a", "key-a", "key-other")  # a newer version came in meanwhile
