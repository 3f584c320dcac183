"""Named locks under a lease, on a real SQLite file shared by several connections."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from audio_service.jobs.ledger import Ledger
from audio_service.jobs.locks import Locks
from audio_service.jobs.owners import HOST, new_owner
from tests.jobs.test_ledger import dead_owner


def test_one_of_many_racing_connections_wins(tmp_path: Path) -> None:
    locks = [Locks(tmp_path / "i.sqlite3") for _ in range(8)]
    wins: list[int] = []
    barrier = threading.Barrier(len(locks))

    def race(n: int) -> None:
        barrier.wait()
        if locks[n].acquire("podcast:daily:2026-01-02", f"{HOST}:1:{n}", lease_s=30):
            wins.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(locks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    held = locks[0].get("podcast:daily:2026-01-02")
    assert held is not None and held.owner == f"{HOST}:1:{wins[0]}"


def test_a_lease_that_ran_out_is_taken_over_and_renewed_one_is_not(tmp_path: Path) -> None:
    a, b = Locks(tmp_path / "i.sqlite3"), Locks(tmp_path / "i.sqlite3")
    other, me = "elsewhere:1:abc", new_owner()
    assert a.acquire("x", other, lease_s=0.3)
    assert a.acquire("y", other, lease_s=0.3)
    assert not b.acquire("x", me, lease_s=30)  # held, and its host is not ours to check
    assert not a.acquire("x", other, lease_s=30)  # not re-entrant
    time.sleep(0.2)
    assert a.renew(other, lease_s=0.3) == 2
    time.sleep(0.2)
    assert not b.acquire("x", me, lease_s=30)  # renewed: still held
    time.sleep(0.2)
    assert b.acquire("x", me, lease_s=30)  # ran out
    assert not a.release("x", other)  # the old holder no longer has it
    assert b.get("x").owner == me  # type: ignore[union-attr]


def test_a_lock_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    locks = Locks(tmp_path / "i.sqlite3")
    gone, me = dead_owner(), new_owner()
    assert locks.acquire("x", gone, lease_s=3600)
    assert locks.acquire("x", me, lease_s=30)
    assert locks.get("x").owner == me  # type: ignore[union-attr]
    assert not locks.acquire("x", new_owner(), lease_s=30)  # a live holder keeps it


def test_release_frees_it_for_the_next_owner(tmp_path: Path) -> None:
    locks = Locks(tmp_path / "i.sqlite3")
    first, second = new_owner(), new_owner()
    assert locks.get("x") is None
    assert locks.acquire("x", first, lease_s=30)
    assert not locks.release("x", second)  # only its holder releases it
    assert locks.release("x", first)
    freed = locks.get("x")
    assert freed is not None and freed.owner is None  # the row stays: it was taken once
    assert locks.acquire("x", second, lease_s=30)


def test_locks_are_not_render_jobs(tmp_path: Path) -> None:
    locks, ledger = Locks(tmp_path / "i.sqlite3"), Ledger(tmp_path / "i.sqlite3")
    assert locks.acquire("podcast:daily:2026-01-02", dead_owner(), lease_s=0.01)
    time.sleep(0.05)
    assert ledger.stale() == [] and ledger.job("podcast:daily:2026-01-02") is None
    assert ledger.counts() == {}
