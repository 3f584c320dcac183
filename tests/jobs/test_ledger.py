"""The job ledger's claims and leases, on a real SQLite file shared by several connections."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from audio_service.jobs.ledger import Ledger
from audio_service.jobs.owners import HOST, new_owner, owner_is_gone
from audio_service.states import JobState


def dead_owner() -> str:
    """The owner name of a process on this host that has already exited."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return f"{HOST}:{proc.stdout.strip()}:deadbeef"


def test_one_claim_wins_among_many_connections(tmp_path: Path) -> None:
    path = tmp_path / "index.sqlite3"
    ledgers = [Ledger(path) for _ in range(8)]
    wins: list[int] = []
    barrier = threading.Barrier(len(ledgers))

    def race(n: int) -> None:
        barrier.wait()
        if ledgers[n].claim("k1", "a1", f"{HOST}:1:{n}", lease_s=30):
            wins.append(n)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(ledgers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    job = ledgers[0].job("k1")
    assert job is not None and job.state == "running" and job.attempts == 1


def test_lease_runs_out_and_is_taken_back_once(tmp_path: Path) -> None:
    a, b = Ledger(tmp_path / "i.sqlite3"), Ledger(tmp_path / "i.sqlite3")
    me, other = new_owner(), "elsewhere:1:abc"
    assert a.claim("k", "art", other, lease_s=0.2)
    assert not b.claim("k", "art", me, lease_s=30)  # held, and the host is not ours to check
    assert a.stale() == []
    time.sleep(0.3)
    stale = b.stale()
    assert [j.render_key for j in stale] == ["k"]
    assert b.take_back(stale[0]) is True
    assert a.take_back(stale[0]) is False  # the race has one winner
    assert b.job("k").state == "queued"  # type: ignore[union-attr]
    assert b.claim("k", "art", me, lease_s=30)
    assert b.finish("k", me, JobState.DONE)
    job = a.job("k")
    assert job is not None and job.state == "done" and job.completions == 1 and job.attempts == 2


def test_renewed_lease_stays(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "i.sqlite3")
    owner = new_owner()
    assert ledger.claim("k", "art", owner, lease_s=0.3)
    for _ in range(4):
        time.sleep(0.1)
        assert ledger.renew(owner, lease_s=0.3) == 1
    assert ledger.stale() == []


def test_claim_of_a_dead_process_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "i.sqlite3")
    gone = dead_owner()
    assert owner_is_gone(gone)
    assert not owner_is_gone(new_owner())
    assert not owner_is_gone("another-host:1:x")
    assert ledger.claim("k", "art", gone, lease_s=3600)
    assert [j.owner for j in ledger.stale()] == [gone]  # long lease, but its process is gone
    me = new_owner()
    assert ledger.claim("k", "art", me, lease_s=30)
    assert ledger.job("k").owner == me  # type: ignore[union-attr]
    assert not ledger.finish("k", gone, JobState.DONE)  # the old owner can no longer finish it


def test_enqueued_once_until_it_ends(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "i.sqlite3")
    assert ledger.enqueued("k", "art") is True
    assert ledger.enqueued("k", "art") is False  # already queued
    owner = new_owner()
    assert ledger.claim("k", "art", owner, lease_s=30)
    assert ledger.enqueued("k", "art") is False  # running
    ledger.finish("k", owner, JobState.FAILED, "engine broke")
    assert ledger.enqueued("k", "art") is True  # a new attempt may be queued
    assert ledger.counts() == {"queued": 1}


def test_consumers_are_the_live_ones(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "i.sqlite3")
    me, gone = new_owner(), dead_owner()
    ledger.consuming(me)
    ledger.consuming(gone)
    assert ledger.consumers(within_s=10) == [me]
