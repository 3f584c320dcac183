"""Named locks under a lease, shared by every process of a deployment (podcast builds).

They live in their own table of the index's SQLite file, apart from the ledger's render jobs:
the lease keeper takes stale *render* jobs back and queues them again, which a lock held by a
process that died must never be. A lock held by a process on this host that is gone, or whose
lease ran out, is taken over by the next process that asks for it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from audio_service.jobs.owners import owner_is_gone
from audio_service.store.sqlite import SqliteDb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY,
    owner TEXT,                     -- host:pid:token of the holder; NULL once released
    lease_until REAL
);
"""


@dataclass(frozen=True)
class Lock:
    name: str
    owner: str | None  # None: free (released), the row stays as a record that it was taken
    lease_until: float | None


class Locks(SqliteDb):
    """Atomic acquire and release; every statement is its own transaction."""

    def __init__(self, path: Path) -> None:
        super().__init__(path, _SCHEMA)

    def get(self, name: str) -> Lock | None:
        row = self._one("SELECT name, owner, lease_until FROM locks WHERE name = ?", name)
        return Lock(row["name"], row["owner"], row["lease_until"]) if row else None

    def acquire(self, name: str, owner: str, lease_s: float) -> bool:
        """Take the lock `name` for `lease_s` seconds; False while another live lease holds it
        (or this owner already holds it: locks are not re-entrant)."""
        now = time.time()
        taken = self._run(
            """INSERT INTO locks (name, owner, lease_until) VALUES (?, ?, ?)
               ON CONFLICT(name) DO UPDATE SET owner = excluded.owner,
                   lease_until = excluded.lease_until
               WHERE locks.owner IS NULL OR locks.lease_until IS NULL
                   OR locks.lease_until <= ?""",
            name,
            owner,
            now + lease_s,
            now,
        )
        if taken == 1:
            return True
        held = self.get(name)
        if held is None or held.owner is None or not owner_is_gone(held.owner):
            return False
        # Its process is gone: take it over now rather than after the lease; the owner check
        # lets exactly one of several processes that saw the same dead holder win.
        return (
            self._run(
                "UPDATE locks SET owner = ?, lease_until = ? WHERE name = ? AND owner = ?",
                owner,
                time.time() + lease_s,
                name,
                held.owner,
            )
            == 1
        )

    def release(self, name: str, owner: str) -> bool:
        """Free the lock if `owner` still holds it; False when it was taken over meanwhile."""
        return (
            self._run(
                "UPDATE locks SET owner = NULL, lease_until = NULL WHERE name = ? AND owner = ?",
                name,
                owner,
            )
            == 1
        )

    def renew(self, owner: str, lease_s: float) -> int:
        """Extend every lock this process holds (the lease keeper's heartbeat)."""
        return self._run(
            "UPDATE locks SET lease_until = ? WHERE owner = ?", time.time() + lease_s, owner
        )
