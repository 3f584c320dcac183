"""What rendering needs from the place finished audio lands, so another store can stand in.

Every process of a deployment (the API, `serve`'s embedded worker, `audio-service worker` on
other machines) must write to one store they all read. The default, `cache.AudioStore`, is a
folder: local, or a shared volume mounted at the same path on every node. An object store fits
the same shape: `begin` spools to a local .part file (listeners on this node follow it while it
grows), `commit` uploads it under its sha256 and the timings beside it, `exists`/`remove` map to
HEAD/DELETE on the object. Serving would then redirect to (or proxy) the object's URL; the HTTP
layer uses `AudioStore.path` for local files today, which is the one place that would change.
"""

from __future__ import annotations

from typing import Protocol

from audio_service.store.local import PartialAudio


class AudioStorage(Protocol):
    def begin(self, key: str) -> PartialAudio:
        """A new partial file for the render `key`; readers may follow it while it grows."""
        ...

    def commit(self, partial: PartialAudio, timings_json: str) -> str:
        """Publish a finished render under its content hash; returns the hash."""
        ...

    def abandon(self, partial: PartialAudio) -> None:
        """Drop a partial file; nothing of it becomes reachable."""
        ...

    def exists(self, digest: str) -> bool: ...

    def remove(self, digest: str) -> int:
        """Delete a stored render and its sidecars; returns the bytes freed."""
        ...
