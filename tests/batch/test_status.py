"""A batch's item statuses: the ledger's jobs and the index's stored renders, combined."""

from __future__ import annotations

import time
from pathlib import Path

from audio_service.batch.runs import BatchItem, item_status
from audio_service.jobs.ledger import Ledger
from audio_service.jobs.owners import new_owner
from audio_service.states import BatchItemStatus, JobState
from audio_service.store.index import Index


def statuses(ledger: Ledger, index: Index, batch_id: str) -> list[BatchItem]:
    """What batch.runs.status() reports for the items, without a whole Service."""
    found = ledger.batch(batch_id)
    assert found is not None
    _, entries = found
    rendered = index.rendered([e.render_key for e in entries if e.render_key])
    return [item_status(e, e.render_key in rendered) for e in entries]


def test_a_superseded_batch_item_counts_as_finished(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    ledger = Ledger(tmp_path / "i.sqlite3")
    ledger.enqueued("old-key", "art")
    ledger.add_batch("b1", "test", None, [("art", "old-key", BatchItemStatus.QUEUED, None, 60.0)])
    items = statuses(ledger, index, "b1")
    assert [i.status for i in items] == ["queued"]
    ledger.finish_unclaimed("old-key", JobState.SUPERSEDED)
    items = statuses(ledger, index, "b1")
    assert [i.status for i in items] == ["superseded"]


def test_each_status_from_its_job_and_stored_render(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    ledger = Ledger(tmp_path / "i.sqlite3")
    owner = new_owner()
    for key in ("k-run", "k-fail", "k-done"):
        assert ledger.claim(key, key, owner, lease_s=30)
    ledger.finish("k-fail", owner, JobState.FAILED, "engine broke")
    ledger.finish("k-done", owner, JobState.DONE)
    index.add_render("k-stored", "d" * 64, 100, 1000)
    queued, skipped, failed = BatchItemStatus.QUEUED, BatchItemStatus.SKIPPED, "failed"
    rows = [
        ("unread", None, BatchItemStatus.FAILED, "not valid JSON", None),
        ("running", "k-run", queued, None, 1.0),
        ("broken", "k-fail", queued, None, 1.0),
        ("done", "k-done", queued, None, 1.0),
        ("stored", "k-stored", queued, None, 1.0),  # stored, its job row long gone
        ("current", "k-stored", skipped, None, 1.0),
        ("waiting", "k-none", queued, None, 1.0),
    ]
    ledger.add_batch(
        "b", "test", None, [(i, k, BatchItemStatus(o), e, s) for i, k, o, e, s in rows]
    )
    items = statuses(ledger, index, "b")
    assert [(i.article_id, i.status, i.error) for i in items] == [
        ("unread", failed, "not valid JSON"),
        ("running", "rendering", None),
        ("broken", "failed", "engine broke"),
        ("done", "ready", None),
        ("stored", "ready", None),
        ("current", "skipped", None),
        ("waiting", "queued", None),
    ]
    assert all(isinstance(i.status, BatchItemStatus) for i in items)


def test_status_of_a_5000_item_batch_is_quick(tmp_path: Path) -> None:
    index = Index(tmp_path / "i.sqlite3")
    ledger = Ledger(tmp_path / "i.sqlite3")
    keys = [f"key-{n:05d}" for n in range(5000)]
    for key in keys[::2]:
        index.add_render(key, key.ljust(64, "0"), 100, 1000)
    rows = [(f"a{n}", key, BatchItemStatus.QUEUED, None, 1.0) for n, key in enumerate(keys)]
    ledger.add_batch("big", "test", None, rows)
    started = time.perf_counter()
    items = statuses(ledger, index, "big")
    took = time.perf_counter() - started
    assert [i.status for i in items[:4]] == ["ready", "queued", "ready", "queued"]
    assert len(items) == 5000 and took < 1.0, took
