"""Audio on disk: a content-addressed store and atomic writes; nothing half-written is reachable."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

TEMP_PREFIX = ".tmp-"
# nginx's workers run as another user and read stored audio and sidecars straight from disk, so
# what is published is world-readable whatever the process umask (mkstemp alone gives 0600).
FILE_MODE = 0o644
DIR_MODE = 0o755


def make_dirs(path: Path) -> None:
    """Create `path` and its missing parents as DIR_MODE, whatever the umask.

    Folders that already exist keep their mode: the data dir's owner may have chosen it.
    """
    missing: list[Path] = []
    while not path.is_dir():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for folder in reversed(missing):
        try:
            folder.mkdir()
        except FileExistsError:  # another process made it first; it sets the mode
            continue
        folder.chmod(DIR_MODE)


@contextlib.contextmanager
def atomic_write(path: Path, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """Write to a temp file beside `path`; only a complete, synced file replaces it.

    The file gets `mode` before it is renamed, so no reader ever meets it private. On any
    error the temp file is removed and an existing file at `path` is untouched.
    """
    make_dirs(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=path.parent)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise
    with contextlib.suppress(OSError):
        # Persist the rename itself.
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


DIGEST_LEN = 64
STALE_TEMP_S = 6 * 3600  # a temp file untouched this long has no live writer
_HOST_TAG = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:8]


def _writer_gone(name: str) -> bool:
    """True when `name` is a partial render of a process on this host that has ended."""
    parts = name.split(".")
    if len(parts) < 4 or parts[1] != _HOST_TAG or not parts[2].isdigit():
        return False
    try:
        os.kill(int(parts[2]), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def is_digest(value: str) -> bool:
    return len(value) == DIGEST_LEN and all(c in "0123456789abcdef" for c in value)


class PartialAudio:
    """An MP3 being written: readers may follow it while it grows; only commit() publishes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: BinaryIO = path.open("wb")
        self._hash = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self._handle.write(data)
        self._hash.update(data)
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        # Followers read the file by name, so bytes must reach the OS promptly.
        self._handle.flush()

    @property
    def digest(self) -> str:
        return self._hash.hexdigest()

    def sync_and_close(self) -> None:
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self._handle.close()

    def close(self) -> None:
        self._handle.close()


class AudioStore:
    """Content-addressed audio under DATA_DIR/audio/<2 hex>/<sha256>.mp3, with sidecars.

    File names come only from hashes; nothing a client sends becomes a path.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.audio_dir = root / "audio"
        self.tmp_dir = root / "tmp"
        make_dirs(self.audio_dir)
        make_dirs(self.tmp_dir)

    def clean_temp(self) -> int:
        """Remove what a crash left half-written; never reachable, but it takes space.

        Other processes (workers) may be writing here right now, so only files of a process
        on this host that no longer runs go at once; anything else only once it is stale.
        """
        removed = 0
        now = time.time()
        strays = [*self.tmp_dir.glob("*"), *self.audio_dir.glob(f"*/{TEMP_PREFIX}*")]
        for stray in strays:
            with contextlib.suppress(OSError):
                if _writer_gone(stray.name) or now - stray.stat().st_mtime > STALE_TEMP_S:
                    stray.unlink()
                    removed += 1
        return removed

    def path(self, digest: str) -> Path:
        if not is_digest(digest):
            raise ValueError("not a sha256 digest")
        return self.audio_dir / digest[:2] / f"{digest}.mp3"

    def timings_path(self, digest: str) -> Path:
        return self.path(digest).with_suffix(".timings.json")

    def exists(self, digest: str) -> bool:
        return is_digest(digest) and self.path(digest).is_file()

    def begin(self, key: str) -> PartialAudio:
        # The name says which process writes it, so clean_temp can tell a live file. It stays
        # private (0600) while it grows: only this service reads a render in progress.
        prefix = f"{key[:16]}.{_HOST_TAG}.{os.getpid()}."
        fd, name = tempfile.mkstemp(prefix=prefix, suffix=".part", dir=self.tmp_dir)
        os.close(fd)
        return PartialAudio(Path(name))

    def commit(self, partial: PartialAudio, timings_json: str) -> str:
        """Publish a finished render: sync it, then move it to its content address."""
        partial.sync_and_close()
        digest = partial.digest
        target = self.path(digest)
        make_dirs(target.parent)
        with atomic_write(self.timings_path(digest)) as handle:
            handle.write(timings_json.encode())
        # Same content already stored: keep the existing file (readers may hold it open).
        if target.exists():
            partial.path.unlink(missing_ok=True)
        else:
            partial.path.chmod(FILE_MODE)  # before the rename: published means readable
            partial.path.replace(target)
        return digest

    def abandon(self, partial: PartialAudio) -> None:
        partial.close()
        partial.path.unlink(missing_ok=True)

    def remove(self, digest: str) -> int:
        """Delete one stored render; returns the bytes freed. Open readers keep their bytes."""
        freed = 0
        for path in (self.path(digest), self.timings_path(digest)):
            with contextlib.suppress(FileNotFoundError):
                freed += path.stat().st_size
                path.unlink()
        return freed
