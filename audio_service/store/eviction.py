"""Eviction of stored audio over its byte budget, sparing current audio and files being sent."""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from audio_service.store.index import Index
from audio_service.store.local import AudioStore

log = logging.getLogger(__name__)


class Evictor:
    """Drops least recently used renders when the store passes `budget_bytes`.

    An article's current audio is never evicted, nor is a file while it is being sent.
    """

    def __init__(self, store: AudioStore, index: Index, budget_bytes: int) -> None:
        self.store = store
        self.index = index
        self.budget_bytes = budget_bytes
        self._sending: Counter[str] = Counter()
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def sending(self, digest: str) -> Iterator[Path]:
        """Mark a stored file as being sent (and recently used) while the block runs."""
        with self._lock:
            self._sending[digest] += 1
        try:
            self.index.touch_render(digest)
            yield self.store.path(digest)
        finally:
            with self._lock:
                self._sending[digest] -= 1
                if self._sending[digest] <= 0:
                    del self._sending[digest]

    def evict(self) -> int:
        """Remove renders, oldest use first, until the store fits; returns how many went."""
        total = self.index.stored_bytes()
        evicted = 0
        if total <= self.budget_bytes:
            return 0
        for render in self.index.renders_by_age():
            if total <= self.budget_bytes:
                break
            with self._lock:
                busy = render.digest in self._sending
            if busy or self.index.digest_in_use(render.digest):
                continue
            self.store.remove(render.digest)
            self.index.forget_render(render.digest)
            total -= render.size
            evicted += 1
        if total > self.budget_bytes:
            log.warning("audio store over budget (%d bytes) with only current audio left", total)
        return evicted
